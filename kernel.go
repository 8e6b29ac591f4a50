package vectordb

// The distance kernels. Every scan in the package goes through these four
// functions, so that faster implementations can replace them in one place.
// They are plain Go: four independent accumulators let the CPU overlap the
// multiply-adds.

// dot returns the float32 dot product of a and b[:len(a)].
func dot(a, b []float32) float32 {
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

// l2sq returns the squared Euclidean distance between a and b[:len(a)].
func l2sq(a, b []float32) float32 {
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

// dotRows writes dot(q, row i) into out[i] for the len(out) rows of a
// row-major block with the given stride.
func dotRows(q, rows []float32, stride int, out []float32) {
	for i := range out {
		out[i] = dot(q, rows[i*stride:])
	}
}

// l2Rows writes l2sq(q, row i) into out[i] for the len(out) rows of a
// row-major block with the given stride.
func l2Rows(q, rows []float32, stride int, out []float32) {
	for i := range out {
		out[i] = l2sq(q, rows[i*stride:])
	}
}
