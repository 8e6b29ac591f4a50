package vectordb_test

import (
	"testing"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/record"
)

// TestRecordLimits: internal/record enforces the public limits, with its
// own copies of the constants so that the public ones keep their values
// in the documentation.
func TestRecordLimits(t *testing.T) {
	for _, c := range []struct {
		name         string
		public, used int
	}{
		{"MaxIDBytes", vectordb.MaxIDBytes, record.MaxIDBytes},
		{"MaxNamespaceNameBytes", vectordb.MaxNamespaceNameBytes, record.MaxNamespaceNameBytes},
		{"MaxSparseValues", vectordb.MaxSparseValues, record.MaxSparseValues},
		{"MaxMetadataBytes", vectordb.MaxMetadataBytes, record.MaxMetadataBytes},
	} {
		if c.public != c.used {
			t.Errorf("vectordb.%s = %d, internal/record enforces %d", c.name, c.public, c.used)
		}
	}
}
