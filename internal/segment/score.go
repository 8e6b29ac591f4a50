package segment

import "math"

// cosineScore is Pinecone's float32 formula. dot and the squared norms are
// float32 sums; the roots are taken separately, as the formula writes them.
func cosineScore(dot, qNormSq, vNorm float32) float32 {
	return dot / (sqrt32(qNormSq) * vNorm)
}

// sqrt32 is the correctly rounded float32 square root (the float64 root of
// a float32, rounded once, is exact).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// Sparse is a validated sparse vector, sorted by index.
type Sparse struct {
	Idx []uint32
	Val []float32
}

// Dot is the dot product of two index-sorted sparse vectors.
func (a Sparse) Dot(b Sparse) float32 {
	var s float32
	i, j := 0, 0
	for i < len(a.Idx) && j < len(b.Idx) {
		switch {
		case a.Idx[i] < b.Idx[j]:
			i++
		case a.Idx[i] > b.Idx[j]:
			j++
		default:
			s += a.Val[i] * b.Val[j]
			i++
			j++
		}
	}
	return s
}
