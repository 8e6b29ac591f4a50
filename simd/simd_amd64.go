//go:build amd64 && !purego && !noasm

package simd

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// shortLen: single-pair calls on vectors shorter than this run the Go
// loop, which beats the call into assembly there: at 16 floats the loop
// takes 9.4 ns and AVX2 15 ns, at 24 floats 18 ns and 13 ns.
const shortLen = 20

// available returns the assembly implementations this CPU supports, best
// first. See simd_amd64.s for the kernels.
func available() []*kernels {
	var out []*kernels
	if cpu.X86.HasAVX512F {
		out = append(out, &avx512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		out = append(out, &avx2)
	}
	return out
}

// The assembly takes pointers and lengths; the wrappers below adapt
// slices. They call the assembly directly, not through a func value, so
// that go:noescape holds and nothing escapes. Zero-length vectors never
// reach the assembly.

var avx512 = kernels{
	name:     "avx512",
	dot:      func(a, b []float32) float32 { return pairCall(a, b, dotPairAVX512) },
	l2:       func(a, b []float32) float32 { return pairCall(a, b, l2PairAVX512) },
	dotBatch: func(q, rows []float32, stride int, out []float32) { batchCall(q, rows, stride, out, dotBatchAVX512) },
	l2Batch:  func(q, rows []float32, stride int, out []float32) { batchCall(q, rows, stride, out, l2BatchAVX512) },
}

var avx2 = kernels{
	name:     "avx2",
	dot:      func(a, b []float32) float32 { return pairCall(a, b, dotPairAVX2) },
	l2:       func(a, b []float32) float32 { return pairCall(a, b, l2PairAVX2) },
	dotBatch: func(q, rows []float32, stride int, out []float32) { batchCall(q, rows, stride, out, dotBatchAVX2) },
	l2Batch:  func(q, rows []float32, stride int, out []float32) { batchCall(q, rows, stride, out, l2BatchAVX2) },
}

// pairCall and batchCall are inlined into the closures above, so k is a
// direct call there.
func pairCall(a, b []float32, k func(a, b *float32, n int) float32) float32 {
	if len(a) == 0 {
		return 0
	}
	return k(unsafe.SliceData(a), unsafe.SliceData(b), len(a))
}

func batchCall(q, rows []float32, stride int, out []float32, k func(q, rows *float32, n, stride, count int, out *float32)) {
	if len(q) == 0 {
		clear(out)
		return
	}
	k(unsafe.SliceData(q), unsafe.SliceData(rows), len(q), stride, len(out), unsafe.SliceData(out))
}

// Implemented in simd_amd64.s. Each writes, for count rows starting stride
// floats apart, the score of the n-float query against the row's first n
// floats.

//go:noescape
func dotBatchAVX512(q, rows *float32, n, stride, count int, out *float32)

//go:noescape
func l2BatchAVX512(q, rows *float32, n, stride, count int, out *float32)

//go:noescape
func dotBatchAVX2(q, rows *float32, n, stride, count int, out *float32)

//go:noescape
func l2BatchAVX2(q, rows *float32, n, stride, count int, out *float32)

// Implemented in simd_amd64.s. Each returns the score of the n-float
// vectors a and b.

//go:noescape
func dotPairAVX512(a, b *float32, n int) float32

//go:noescape
func l2PairAVX512(a, b *float32, n int) float32

//go:noescape
func dotPairAVX2(a, b *float32, n int) float32

//go:noescape
func l2PairAVX2(a, b *float32, n int) float32
