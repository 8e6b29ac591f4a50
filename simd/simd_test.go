package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// use runs fn with impl forced as the active implementation.
func use(t testing.TB, k *kernels, fn func()) {
	t.Helper()
	saved := active
	active = k
	defer func() { active = saved }()
	fn()
}

// testLengths are every length 0..300 and the neighbourhoods of common
// embedding sizes, where block and tail boundaries meet.
func testLengths() []int {
	var ns []int
	for n := range 301 {
		ns = append(ns, n)
	}
	for _, c := range []int{512, 768, 1024, 1536} {
		ns = append(ns, c-1, c, c+1)
	}
	return ns
}

// canary fills the floats past the end of a slice under test: a kernel
// that reads them would produce enormous errors, one that writes them
// changes them.
const canary = float32(1e30)

// slab returns a slice of n random floats at the given offset (in floats)
// into a larger allocation whose other floats hold canary.
func slab(r *rand.Rand, n, offset int) (s, whole []float32) {
	whole = make([]float32, offset+n+32)
	for i := range whole {
		whole[i] = canary
	}
	s = whole[offset : offset+n : offset+n]
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s, whole
}

// refDot and refL2 are float64 references, with the bound on a float32
// result's error: a sum of n terms in float32 is off by at most about
// n*eps times the sum of the magnitudes (here with a margin of 2).
func refDot(a, b []float32) (float64, float64) {
	var s, mag float64
	for i := range a {
		p := float64(a[i]) * float64(b[i])
		s += p
		mag += math.Abs(p)
	}
	return s, 2 * float64(len(a)+1) * 0x1p-24 * mag
}

func refL2(a, b []float32) (float64, float64) {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	// The difference itself rounds once in float32 before it is squared.
	return s, 2 * float64(len(a)+3) * 0x1p-24 * s
}

func checkClose(t *testing.T, what string, got float32, want, tol float64) {
	t.Helper()
	if math.Abs(float64(got)-want) > tol+1e-30 {
		t.Fatalf("%s = %v, want %v (tolerance %v)", what, got, want, tol)
	}
}

func checkCanaries(t *testing.T, what string, whole, s []float32, offset int) {
	t.Helper()
	for i := range whole {
		if (i < offset || i >= offset+len(s)) && whole[i] != canary {
			t.Fatalf("%s wrote outside its slice at %d", what, i)
		}
	}
}

func TestImplementations(t *testing.T) {
	names := Implementations()
	if names[len(names)-1] != "generic" {
		t.Fatalf("Implementations() = %v: the reference must come last", names)
	}
	if active != impls[0] {
		t.Fatalf("active %s, want the best, %s", active.name, impls[0].name)
	}
	t.Logf("implementations on this CPU: %v", names)
}

func TestPairKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range impls {
		t.Run(k.name, func(t *testing.T) {
			for _, n := range testLengths() {
				for _, off := range []int{0, 1, 3, 7, 13} {
					a, wa := slab(r, n, off)
					b, wb := slab(r, n, (off+5)%16)
					want, tol := refDot(a, b)
					checkClose(t, fmt.Sprintf("dot n=%d off=%d", n, off), k.dot(a, b), want, tol)
					want, tol = refL2(a, b)
					checkClose(t, fmt.Sprintf("l2 n=%d off=%d", n, off), k.l2(a, b), want, tol)
					checkCanaries(t, "dot", wa, a, off)
					checkCanaries(t, "dot", wb, b, (off+5)%16)
				}
			}
		})
	}
}

func TestBatchKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range impls {
		t.Run(k.name, func(t *testing.T) {
			for _, n := range testLengths() {
				for _, pad := range []int{0, 1, 5} {
					stride := n + pad
					for _, count := range []int{0, 1, 3, 4, 5, 9} {
						off := (n + count) % 11
						q, _ := slab(r, n, 2)
						size := 0
						if count > 0 {
							size = (count-1)*stride + n
						}
						rows, wrows := slab(r, size, off)
						out, wout := slab(r, count, 3)
						k.dotBatch(q, rows, stride, out)
						for i := range count {
							want, tol := refDot(q, rows[i*stride:i*stride+n])
							checkClose(t, fmt.Sprintf("dotBatch n=%d stride=%d count=%d row %d", n, stride, count, i), out[i], want, tol)
						}
						k.l2Batch(q, rows, stride, out)
						for i := range count {
							want, tol := refL2(q, rows[i*stride:i*stride+n])
							checkClose(t, fmt.Sprintf("l2Batch n=%d stride=%d count=%d row %d", n, stride, count, i), out[i], want, tol)
						}
						checkCanaries(t, "batch out", wout, out, 3)
						checkCanaries(t, "batch rows", wrows, rows, off)
					}
				}
			}
		})
	}
}

// TestPublicAPI goes through the exported functions on every path,
// including the short-vector fallback and the argument checks.
func TestPublicAPI(t *testing.T) {
	for _, k := range impls {
		use(t, k, func() {
			a := []float32{1, 2, 3}
			b := []float32{4, 5, 6}
			if got := Dot(a, b); got != 32 {
				t.Fatalf("%s: Dot = %v", k.name, got)
			}
			if got := L2Squared(a, b); got != 27 {
				t.Fatalf("%s: L2Squared = %v", k.name, got)
			}
			if got := SquaredNorm(a); got != 14 {
				t.Fatalf("%s: SquaredNorm = %v", k.name, got)
			}
			long := make([]float32, 100)
			for i := range long {
				long[i] = 1
			}
			if got := Dot(long, long); got != 100 {
				t.Fatalf("%s: Dot(100 ones) = %v", k.name, got)
			}
			rows := []float32{1, 0, 9, 0, 1, 9, 1, 1}
			out := make([]float32, 3)
			DotBatch([]float32{1, 2}, rows, 3, out)
			if out[0] != 1 || out[1] != 2 || out[2] != 3 {
				t.Fatalf("%s: DotBatch = %v", k.name, out)
			}
			L2SquaredBatch([]float32{1, 2}, rows, 3, out)
			if out[0] != 4 || out[1] != 2 || out[2] != 1 {
				t.Fatalf("%s: L2SquaredBatch = %v", k.name, out)
			}
			DotBatch(nil, nil, 0, out)
			if out[0] != 0 || out[2] != 0 {
				t.Fatalf("%s: DotBatch of empty query = %v", k.name, out)
			}
		})
	}
	for name, f := range map[string]func(){
		"Dot lengths":      func() { Dot([]float32{1}, []float32{1, 2}) },
		"L2 lengths":       func() { L2Squared([]float32{1, 2}, nil) },
		"stride too small": func() { DotBatch([]float32{1, 2}, make([]float32, 8), 1, make([]float32, 2)) },
		"rows too short":   func() { L2SquaredBatch([]float32{1, 2}, make([]float32, 4), 3, make([]float32, 2)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestNoAllocations: the single-pair path must not allocate (its result
// goes through a stack slot into the assembly).
func TestNoAllocations(t *testing.T) {
	a := make([]float32, 768)
	out := make([]float32, 4)
	rows := make([]float32, 4*768)
	if n := testing.AllocsPerRun(100, func() {
		Dot(a, a)
		L2Squared(a, a)
		DotBatch(a, rows, 768, out)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}

// FuzzKernels compares every implementation with the reference on
// arbitrary bit patterns: denormals, zeros, huge magnitudes, and NaN and
// infinities, on which the kernels must merely not crash.
func FuzzKernels(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64}, uint8(1), uint8(0))
	f.Add(make([]byte, 4*70), uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, countByte, padByte uint8) {
		fl := make([]float32, len(data)/4)
		for i := range fl {
			fl[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		if len(fl) < 2 {
			return
		}
		half := len(fl) / 2
		a, b := fl[:half], fl[half:2*half]
		finite := true
		for _, x := range fl {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				finite = false
			}
		}
		count := int(countByte%5) + 1
		stride := half + int(padByte%3)
		n := half / count
		stride = max(n, min(stride, half/count))
		for _, k := range impls {
			gotDot, gotL2 := k.dot(a, b), k.l2(a, b)
			out := make([]float32, count)
			k.dotBatch(a[:n], b, stride, out)
			if !finite {
				continue // no crash is all that is asked
			}
			want, tol := refDot(a, b)
			if !math.IsInf(want, 0) && !math.IsInf(tol, 0) && !math.IsInf(float64(gotDot), 0) {
				checkClose(t, k.name+" dot", gotDot, want, tol)
			}
			want, tol = refL2(a, b)
			if !math.IsInf(want, 0) && !math.IsInf(tol, 0) && !math.IsInf(float64(gotL2), 0) {
				checkClose(t, k.name+" l2", gotL2, want, tol)
			}
			for i := range out {
				want, tol := refDot(a[:n], b[i*stride:i*stride+n])
				if !math.IsInf(want, 0) && !math.IsInf(tol, 0) && !math.IsInf(float64(out[i]), 0) {
					checkClose(t, k.name+" dotBatch", out[i], want, tol)
				}
			}
		}
	})
}

// TestSelfTest: every implementation this CPU supports passes the init
// self-test (one that failed would be silently skipped, so say it loudly
// here), and a wrong kernel fails it.
func TestSelfTest(t *testing.T) {
	for _, k := range available() {
		if err := selfTest(k); err != nil {
			t.Errorf("%s fails its self-test on this CPU: %v", k.name, err)
		}
	}
	broken := reference
	broken.l2Batch = func(q, rows []float32, stride int, out []float32) {
		l2BatchGeneric(q, rows, stride, out)
		if len(q) == 17 {
			out[len(out)-1]++
		}
	}
	if selfTest(&broken) == nil {
		t.Fatal("the self-test passed a wrong kernel")
	}
}

// TestBatchPositionIndependent checks that a row's score does not depend
// on where it sits in a batch, including a batch of one: the exact scan,
// the one-by-one filtered scan and the IVF lists hold the same row in
// different positions and must agree bit for bit.
func TestBatchPositionIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range impls {
		for _, n := range []int{1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 128, 767, 768} {
			stride := (n + 7) / 8 * 8
			const count = 9
			q := make([]float32, n)
			rows := make([]float32, count*stride)
			for i := range q {
				q[i] = r.Float32()*2 - 1
			}
			for i := range rows {
				rows[i] = r.Float32()*2 - 1
			}
			for op, batch := range []func(q, rows []float32, stride int, out []float32){k.dotBatch, k.l2Batch} {
				all := make([]float32, count)
				batch(q, rows, stride, all)
				pair := []func(a, b []float32) float32{k.dot, k.l2}[op]
				for i := range count {
					// Row i scored from every starting offset, alone and in
					// pairs, triples, ...: always the same bits.
					for start := 0; start <= i; start++ {
						part := make([]float32, i-start+1)
						batch(q, rows[start*stride:], stride, part)
						if math.Float32bits(part[i-start]) != math.Float32bits(all[i]) {
							t.Fatalf("%s op %d n=%d: row %d scores %v at position %d, %v at %d", k.name, op, n, i, part[i-start], i-start, all[i], i)
						}
					}
					// The pair kernels keep more chains in flight and may
					// round differently: close, not equal.
					if got := pair(q, rows[i*stride:i*stride+n]); math.Abs(float64(got-all[i])) > 1e-4*math.Max(1, math.Abs(float64(all[i]))) {
						t.Fatalf("%s op %d n=%d: row %d pair kernel %v, batch %v", k.name, op, n, i, got, all[i])
					}
				}
			}
		}
	}
}

func TestAlignedFloats(t *testing.T) {
	for _, n := range []int{0, 1, 3, 16, 20, 100, 384, 1000, 7680, 8192, 8193, 30720, 100000, 1 << 18} {
		for range 4 {
			v := AlignedFloats(n)
			if len(v) != n || cap(v) != n {
				t.Fatalf("AlignedFloats(%d): len %d cap %d", n, len(v), cap(v))
			}
			if n > 0 && uintptr(unsafe.Pointer(&v[0]))%64 != 0 {
				t.Fatalf("AlignedFloats(%d) not 64-byte aligned", n)
			}
			for i, x := range v {
				if x != 0 {
					t.Fatalf("AlignedFloats(%d)[%d] = %v", n, i, x)
				}
			}
		}
	}
}
