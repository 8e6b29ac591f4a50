package simd

import (
	"fmt"
	"unsafe"
)

// kernels is one implementation of every kernel. Dot and l2 take slices of
// equal length; the batch kernels take a query of length n, rows holding
// len(out) rows of stride floats (the last may be just n long), and write
// one score per row into out. Callers have validated all of it.
type kernels struct {
	name     string
	dot      func(a, b []float32) float32
	l2       func(a, b []float32) float32
	dotBatch func(q, rows []float32, stride int, out []float32)
	l2Batch  func(q, rows []float32, stride int, out []float32)
}

// impls lists the implementations this build and CPU can run, best first;
// the last is always the reference. active is the one in use.
var (
	impls  []*kernels
	active *kernels
)

func init() {
	for _, k := range available() {
		if selfTest(k) == nil {
			impls = append(impls, k)
		}
	}
	impls = append(impls, &reference)
	active = impls[0]
}

// selfTest checks k against the reference on small problems that cross
// every block and tail boundary of the kernels (lengths 1 to 70, one to
// five rows, padded strides, and single pairs). Assembly is only used once it has passed
// on the CPU at hand: the test suite checks every path thoroughly, but
// only on the CPUs it runs on, and this guard costs microseconds at init.
func selfTest(k *kernels) error {
	var buf [6 * 72]float32
	x := uint32(1)
	for i := range buf {
		x = x*1664525 + 1013904223 // an LCG: deterministic, no imports
		buf[i] = float32(int32(x>>8)%2000)/1000 - 1
	}
	var got, want [5]float32
	for n := 1; n <= 70; n++ {
		q, rows := buf[:n], buf[72:]
		for op, pair := range []func(a, b []float32) float32{k.dot, k.l2} {
			ref := []func(a, b []float32) float32{dotGeneric, l2Generic}[op]
			if d := pair(q, rows[:n]) - ref(q, rows[:n]); d > 1e-4 || d < -1e-4 {
				return fmt.Errorf("simd: %s pair kernel %d wrong at length %d", k.name, op, n)
			}
		}
		for count := 1; count <= 5; count++ {
			for op, kernel := range []func(q, rows []float32, stride int, out []float32){k.dotBatch, k.l2Batch} {
				ref := []func(q, rows []float32, stride int, out []float32){dotBatchGeneric, l2BatchGeneric}[op]
				kernel(q, rows, n+1, got[:count])
				ref(q, rows, n+1, want[:count])
				for i := range count {
					if d := got[i] - want[i]; d > 1e-4 || d < -1e-4 {
						return fmt.Errorf("simd: %s kernel %d wrong at length %d, row %d: %v, want %v", k.name, op, n, i, got[i], want[i])
					}
				}
			}
		}
	}
	return nil
}

// Implementations returns the names of the implementations this build can
// run on this CPU, best (the one in use) first: some of "avx512", "avx2",
// then "generic".
func Implementations() []string {
	names := make([]string, len(impls))
	for i, k := range impls {
		names[i] = k.name
	}
	return names
}

// Dot returns the dot product of a and b, which must have equal lengths.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("simd: Dot of lengths %d and %d", len(a), len(b)))
	}
	if len(a) < shortLen {
		return dotGeneric(a, b)
	}
	return active.dot(a, b)
}

// L2Squared returns the squared Euclidean distance between a and b, which
// must have equal lengths.
func L2Squared(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("simd: L2Squared of lengths %d and %d", len(a), len(b)))
	}
	if len(a) < shortLen {
		return l2Generic(a, b)
	}
	return active.l2(a, b)
}

// SquaredNorm returns the dot product of a with itself.
func SquaredNorm(a []float32) float32 {
	if len(a) < shortLen {
		return dotGeneric(a, a)
	}
	return active.dot(a, a)
}

// DotBatch writes into out[i] the dot product of q with row i of rows, a
// row-major matrix whose rows start stride floats apart: row i is
// rows[i*stride : i*stride+len(q)]. It panics if stride < len(q) or rows
// is too short for len(out) rows.
func DotBatch(q, rows []float32, stride int, out []float32) {
	checkBatch("DotBatch", q, rows, stride, out)
	if len(out) > 0 {
		active.dotBatch(q, rows, stride, out)
	}
}

// L2SquaredBatch is DotBatch for the squared Euclidean distance.
func L2SquaredBatch(q, rows []float32, stride int, out []float32) {
	checkBatch("L2SquaredBatch", q, rows, stride, out)
	if len(out) > 0 {
		active.l2Batch(q, rows, stride, out)
	}
}

func checkBatch(name string, q, rows []float32, stride int, out []float32) {
	if len(out) == 0 {
		return
	}
	if stride < len(q) {
		panic(fmt.Sprintf("simd: %s with stride %d shorter than the query (%d)", name, stride, len(q)))
	}
	if need := (len(out)-1)*stride + len(q); len(rows) < need {
		panic(fmt.Sprintf("simd: %s of %d rows needs %d floats, got %d", name, len(out), need, len(rows)))
	}
}

// AlignedFloats returns n zeroed float32s (capacity n) starting on a
// 64-byte boundary, so that rows of a multiple of 8 or 16 floats never
// straddle cache lines. The Go heap does not move objects, so the
// alignment holds.
func AlignedFloats(n int) []float32 {
	const align = 64 / 4
	// Most allocations come back aligned (every large object starts a
	// page, and most size classes from 64 bytes up are multiples of 64):
	// take those as they are, so that no allocation grows past its size
	// class, and pad only the rest.
	if buf := make([]float32, n); uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%64 == 0 || n == 0 {
		return buf
	}
	buf := make([]float32, n+align-1)
	off := 0
	if r := uintptr(unsafe.Pointer(unsafe.SliceData(buf))) % 64; r != 0 {
		off = int(64-r) / 4
	}
	return buf[off : off+n : off+n]
}
