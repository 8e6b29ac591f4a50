package testutil

import (
	"math"
	"math/rand/v2"
)

// Rand returns a deterministic generator for seed.
func Rand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// RandVec returns dim values uniform in [-1, 1), one of them raised by
// 0.5 so that the vector is never all near zero (cosine is defined).
func RandVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	v[r.IntN(dim)] += 0.5 // never all near zero
	return v
}

// Fill returns dim copies of v.
func Fill(dim int, v float32) []float32 {
	out := make([]float32, dim)
	for i := range out {
		out[i] = v
	}
	return out
}

// BitsEqual reports whether a and b hold bit-identical values (NaN and
// -0 included): what a round trip through storage must give back.
func BitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
