package transfer

import (
	"context"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

type quiet = testutil.QuietLogger

// openStore opens an in-memory store.
func openStore(t *testing.T) *storage.Store {
	t.Helper()
	st, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 4 << 20, NumMemtables: 2, NumCompactors: 2, Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// view returns the stored form of values and sparse values.
func view(t testing.TB, values []float32, idx []uint32, sv []float32) storage.VectorView {
	t.Helper()
	b := storage.AppendVector(nil, &storage.VectorRecord{Values: values, SparseIndices: idx, SparseValues: sv})
	v, err := storage.ParseVector(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var ctx = context.Background()
