package record

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// CheckVector validates dense values against the index dimension: the
// right length, finite, one component at least 1e-8 in magnitude, and a
// norm that keeps scores finite.
func CheckVector(field string, v []float32, dim int) error {
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

// Sparse is sparse values in stored form: sorted by index. Its fields
// are those of segment.Sparse, which it converts to.
type Sparse struct {
	Idx []uint32
	Val []float32
}

// Schema is what an index requires of its records.
type Schema struct {
	Dim    int    // the dense values' length
	Metric string // the index's metric, for messages
	Sparse bool   // whether it takes sparse values (a dotproduct index)
}

// NormalizeSparse validates sparse values for an index of schema s
// (parallel slices, at most MaxSparseValues entries, finite values,
// unique indices, a norm that keeps scores finite) and returns a copy
// sorted by index. No entries (nil or empty slices) is always valid and
// gives an empty Sparse.
func NormalizeSparse(field string, indices []uint32, values []float32, s Schema) (Sparse, error) {
	if len(indices) == 0 && len(values) == 0 {
		return Sparse{}, nil
	}
	if !s.Sparse {
		return Sparse{}, argErrf(field, nil, "sparse values need a dotproduct index; this index uses %s", s.Metric)
	}
	if len(indices) != len(values) {
		return Sparse{}, argErrf(field, nil, "has %d indices but %d values", len(indices), len(values))
	}
	if len(indices) > MaxSparseValues {
		return Sparse{}, argErrf(field, nil, "has %d entries, more than %d", len(indices), MaxSparseValues)
	}
	var sq float64
	for i, x := range values {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return Sparse{}, argErr(fmt.Sprintf("%s.values[%d]", field, i), x, "must be finite")
		}
		sq += float64(x) * float64(x)
	}
	if sq > maxSquaredNorm {
		return Sparse{}, argErrf(field+".values", nil, "their norm is %.3g, above %.3g: scores computed with them would overflow float32", math.Sqrt(sq), math.Sqrt(maxSquaredNorm))
	}
	order := make([]int, len(indices))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(indices[a], indices[b]) })
	idx, val := make([]uint32, len(order)), make([]float32, len(order))
	for j, i := range order {
		if j > 0 && indices[i] == idx[j-1] {
			return Sparse{}, argErr(field+".indices", indices[i], "duplicate index")
		}
		idx[j], val[j] = indices[i], values[i]
	}
	return Sparse{Idx: idx, Val: val}, nil
}
