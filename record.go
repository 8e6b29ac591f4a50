package vectordb

import (
	"slices"

	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/segment"
)

// Record is one vector with its id and optional sparse values and metadata.
type Record struct {
	// ID identifies the record within its namespace: 1 to 512 bytes, any
	// bytes but NUL.
	ID string
	// Values are the dense values; their length must be the index
	// dimension. They must be finite and not all of magnitude below 1e-8.
	Values []float32
	// SparseValues are optional sparse values, accepted on dotproduct
	// indexes only.
	SparseValues *SparseValues
	// Metadata is optional flat metadata; see Metadata.
	Metadata Metadata
}

// SparseValues is a sparse vector: parallel slices of unique indices and
// finite values, at most MaxSparseValues entries. vectordb stores them
// sorted by index and returns them that way.
type SparseValues struct {
	Indices []uint32
	Values  []float32
}

// Metadata is a record's flat metadata. Keys are non-empty UTF-8 strings
// not starting with '$'. Values are strings (UTF-8), numbers, booleans or
// lists of strings; vectordb stores every number as a float64 and every
// list as a []string, and returns them that way. Accepted on input: string,
// bool, all Go integer and float types, json.Number, []string and []any
// holding strings. Nil values, nested maps, other lists and non-finite
// numbers are rejected. A record's metadata is at most MaxMetadataBytes
// when serialized as JSON.
type Metadata map[string]any

// Limits on records, from Pinecone's. internal/record enforces the first
// four; a test holds its constants equal to these.
const (
	MaxIDBytes            = 512   // bytes in a record id
	MaxNamespaceNameBytes = 512   // bytes in a namespace name
	MaxSparseValues       = 2048  // non-zero entries in a sparse vector
	MaxMetadataBytes      = 40960 // metadata bytes, serialized as JSON
	MaxDimension          = 20000 // index dimension
	MaxTopK               = 10000 // topK of a query
	MaxListLimit          = 10000 // page size of List and ListNamespaces
	DefaultListLimit      = 100   // page size when Limit is 0
)

// DefaultNamespace is the canonical name of the default namespace, which
// "" also names. Results and descriptions report it under this name.
const DefaultNamespace = "__default__"

// canonicalNamespace validates a namespace name and maps the default
// namespace's spellings ("" and "__default__") to DefaultNamespace.
func canonicalNamespace(name string) (string, error) {
	if name == "" {
		return DefaultNamespace, nil
	}
	if err := record.CheckNamespace(name); err != nil {
		return "", fromRecord(err)
	}
	return name, nil
}

// normalizeSparse validates sp for an index of metric and returns a
// sorted copy; nil or empty input gives an empty segment.Sparse.
func normalizeSparse(field string, sp *SparseValues, metric Metric) (segment.Sparse, error) {
	if sp == nil {
		return segment.Sparse{}, nil
	}
	s, err := record.NormalizeSparse(field, sp.Indices, sp.Values, metric.schema(0))
	return segment.Sparse(s), fromRecord(err)
}

// schema is what an index of metric m and dimension dim requires of its
// records, for internal/record.
func (m Metric) schema(dim int) record.Schema {
	return record.Schema{Dim: dim, Metric: string(m), Sparse: m == DotProduct}
}

// publicSparse returns a copy of s as SparseValues, nil when empty.
func publicSparse(s segment.Sparse) *SparseValues {
	if len(s.Idx) == 0 {
		return nil
	}
	return &SparseValues{Indices: slices.Clone(s.Idx), Values: slices.Clone(s.Val)}
}
