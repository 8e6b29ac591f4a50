package vectordb

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

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

// Limits on records, from Pinecone's.
const (
	MaxIDBytes            = 512   // bytes in a record id
	MaxNamespaceNameBytes = 512   // bytes in a namespace name
	MaxSparseValues       = 2048  // non-zero entries in a sparse vector
	MaxMetadataBytes      = 40960 // metadata bytes, serialized as JSON
	MaxDimension          = 20000 // index dimension
	MaxTopK               = 10000 // topK of a query
	MaxListLimit          = 10000 // page size of List and ListNamespaces
	DefaultListLimit      = 100   // page size when Limit is 0
	minMagnitude          = 1e-8  // a vector needs one component at least this large
)

// DefaultNamespace is the canonical name of the default namespace, which
// "" also names. Results and descriptions report it under this name.
const DefaultNamespace = "__default__"

// checkID validates a record id.
func checkID(field, id string) error {
	switch {
	case id == "":
		return argErr(field, id, "must not be empty")
	case len(id) > MaxIDBytes:
		return argErrf(field, id, "is %d bytes, more than %d", len(id), MaxIDBytes)
	case strings.IndexByte(id, 0) >= 0:
		return argErr(field, id, "must not contain NUL bytes")
	}
	return nil
}

// canonicalNamespace validates a namespace name and maps the default
// namespace's spellings ("" and "__default__") to DefaultNamespace.
func canonicalNamespace(name string) (string, error) {
	switch {
	case name == "":
		return DefaultNamespace, nil
	case len(name) > MaxNamespaceNameBytes:
		return "", argErrf("namespace", name, "is %d bytes, more than %d", len(name), MaxNamespaceNameBytes)
	case strings.IndexByte(name, 0) >= 0:
		return "", argErr("namespace", name, "must not contain NUL bytes")
	}
	return name, nil
}

// checkVector validates dense values against the index dimension.
func checkVector(field string, v []float32, dim int) error {
	if len(v) != dim {
		return &DimensionError{Field: field, Want: dim, Got: len(v)}
	}
	// On the magnitude bits of an IEEE float32, comparisons order by
	// absolute value and NaN and the infinities are at the top: one integer
	// compare per value checks both rules.
	const infBits = 0x7f800000
	minBits := math.Float32bits(minMagnitude)
	big := false
	var sq float64
	for i, x := range v {
		b := math.Float32bits(x) &^ (1 << 31)
		if b >= infBits {
			return argErr(fmt.Sprintf("%s[%d]", field, i), x, "must be finite")
		}
		big = big || b >= minBits
		sq += float64(x) * float64(x)
	}
	if !big {
		return argErr(field, nil, "every component is below 1e-8 in magnitude; a vector needs at least one that is not")
	}
	if sq > maxSquaredNorm {
		return argErrf(field, nil, "its norm is %.3g, above %.3g: scores computed with it would overflow float32", math.Sqrt(sq), math.Sqrt(maxSquaredNorm))
	}
	return nil
}

// maxSquaredNorm bounds a vector's squared norm (dense, and sparse apart)
// so that every score stays finite in float32: a dot product is at most
// |q||v| and a squared distance at most 2(|q|^2+|v|^2), both then within
// MaxFloat32, and a hybrid score, the sum of two dot products, too.
const maxSquaredNorm = math.MaxFloat32 / 4

// normalizeSparse validates sp and returns a sorted copy; nil or empty
// input gives an empty segment.Sparse.
func normalizeSparse(field string, sp *SparseValues, metric Metric) (segment.Sparse, error) {
	if sp == nil || (len(sp.Indices) == 0 && len(sp.Values) == 0) {
		return segment.Sparse{}, nil
	}
	if metric != DotProduct {
		return segment.Sparse{}, argErrf(field, nil, "sparse values need a dotproduct index; this index uses %s", metric)
	}
	if len(sp.Indices) != len(sp.Values) {
		return segment.Sparse{}, argErrf(field, nil, "has %d indices but %d values", len(sp.Indices), len(sp.Values))
	}
	if len(sp.Indices) > MaxSparseValues {
		return segment.Sparse{}, argErrf(field, nil, "has %d entries, more than %d", len(sp.Indices), MaxSparseValues)
	}
	var sq float64
	for i, x := range sp.Values {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return segment.Sparse{}, argErr(fmt.Sprintf("%s.values[%d]", field, i), x, "must be finite")
		}
		sq += float64(x) * float64(x)
	}
	if sq > maxSquaredNorm {
		return segment.Sparse{}, argErrf(field+".values", nil, "their norm is %.3g, above %.3g: scores computed with them would overflow float32", math.Sqrt(sq), math.Sqrt(maxSquaredNorm))
	}
	order := make([]int, len(sp.Indices))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(sp.Indices[a], sp.Indices[b]) })
	out := segment.Sparse{Idx: make([]uint32, len(order)), Val: make([]float32, len(order))}
	for j, i := range order {
		if j > 0 && sp.Indices[i] == out.Idx[j-1] {
			return segment.Sparse{}, argErr(field+".indices", sp.Indices[i], "duplicate index")
		}
		out.Idx[j], out.Val[j] = sp.Indices[i], sp.Values[i]
	}
	return out, nil
}

// publicSparse returns a copy of s as SparseValues, nil when empty.
func publicSparse(s segment.Sparse) *SparseValues {
	if len(s.Idx) == 0 {
		return nil
	}
	return &SparseValues{Indices: slices.Clone(s.Idx), Values: slices.Clone(s.Val)}
}

// recordSize is a record's size as usage units count it: id, metadata as
// JSON, four bytes per dense value and eight per sparse entry.
func recordSize(id string, metaJSON int, dim int, nnz int) uint64 {
	return uint64(len(id) + metaJSON + 4*dim + 8*nnz)
}

// uniqueIDs validates ids and returns them without duplicates, in
// first-seen order.
func uniqueIDs(field string, ids []string, max int) ([]string, error) {
	if len(ids) == 0 {
		return nil, argErr(field, nil, "at least one id is required")
	}
	if len(ids) > max {
		return nil, &BatchTooLargeError{Field: field, Records: len(ids), MaxRecords: max}
	}
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		if err := checkID(fmt.Sprintf("%s[%d]", field, i), id); err != nil {
			return nil, err
		}
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out, nil
}
