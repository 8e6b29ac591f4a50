package simd

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
)

// naiveDot is the plain Go loop a caller would write: the baseline.
func naiveDot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func randFloats(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

var sink float32

// BenchmarkDot: one pair, data in L1. impl=naive is the plain loop,
// impl=gonum gonum's blas32.Dot, impl=public the exported Dot (with its
// short-vector fallback), the others each implementation's kernel.
func BenchmarkDot(b *testing.B) {
	for _, dim := range []int{8, 128, 384, 768, 1536} {
		x, y := randFloats(dim, 1), randFloats(dim, 2)
		run := func(name string, f func() float32) {
			b.Run(fmt.Sprintf("dim=%d/impl=%s", dim, name), func(b *testing.B) {
				b.SetBytes(int64(8 * dim))
				b.ReportAllocs()
				for b.Loop() {
					sink = f()
				}
			})
		}
		run("naive", func() float32 { return naiveDot(x, y) })
		gx := blas32.Vector{N: dim, Inc: 1, Data: x}
		gy := blas32.Vector{N: dim, Inc: 1, Data: y}
		run("gonum", func() float32 { return blas32.Dot(gx, gy) })
		run("public", func() float32 { return Dot(x, y) })
		for _, k := range impls {
			run(k.name, func() float32 { return k.dot(x, y) })
		}
	}
}

// BenchmarkDotBatch: one query against 64 rows of dimension 768 (192 KiB,
// in L2), four rows per kernel iteration.
func BenchmarkDotBatch(b *testing.B) {
	const dim, n = 768, 64
	q, rows := randFloats(dim, 3), randFloats(dim*n, 4)
	out := make([]float32, n)
	for _, k := range impls {
		b.Run("impl="+k.name, func(b *testing.B) {
			b.SetBytes(int64(4 * dim * n))
			for b.Loop() {
				k.dotBatch(q, rows, dim, out)
			}
		})
	}
}

// scanRows is the scan benchmarks' matrix: 100k rows of dimension 768
// (307 MB), far larger than any cache, built once.
var scanRows = sync.OnceValue(func() []float32 { return randFloats(100_000*768, 5) })

// BenchmarkScan scores one query against 100k x 768 rows with the best
// kernel, in blocks of 256 rows as the exact search does: cores=1 on one
// goroutine, cores=all split across GOMAXPROCS. Compare its MB/s with
// BenchmarkMemoryBandwidth, run in the same invocation.
func BenchmarkScan(b *testing.B) {
	const dim, block = 768, 256
	rows := scanRows()
	q := randFloats(dim, 6)
	n := len(rows) / dim
	scan := func(lo, hi int, out []float32) {
		for r := lo; r < hi; r += block {
			c := min(block, hi-r)
			DotBatch(q, rows[r*dim:(r+c)*dim], dim, out[:c])
		}
	}
	b.Run("cores=1", func(b *testing.B) {
		out := make([]float32, block)
		b.SetBytes(int64(len(rows) * 4))
		for b.Loop() {
			scan(0, n, out)
		}
	})
	b.Run("cores=all", func(b *testing.B) {
		w := runtime.GOMAXPROCS(0)
		b.SetBytes(int64(len(rows) * 4))
		for b.Loop() {
			var wg sync.WaitGroup
			for i := range w {
				wg.Go(func() {
					out := make([]float32, block)
					scan(i*n/w, (i+1)*n/w, out)
				})
			}
			wg.Wait()
		}
	})
}

// BenchmarkMemoryBandwidth reads the scan's matrix once, summing squares
// with the best kernel: the memory-bound ceiling the scan is held to.
func BenchmarkMemoryBandwidth(b *testing.B) {
	rows := scanRows()
	const chunk = 256 * 768
	b.SetBytes(int64(len(rows) * 4))
	for b.Loop() {
		var s float32
		for i := 0; i < len(rows); i += chunk {
			s += SquaredNorm(rows[i:min(i+chunk, len(rows))])
		}
		sink = s
	}
}
