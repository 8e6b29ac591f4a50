// Package datagen generates synthetic embedding-like data sets for ANN
// benchmarks and tests, deterministically from a seed, and computes their
// exact ground truth.
//
// The data are meant to be harder than Gaussian blobs, like real
// embeddings: clusters of very uneven sizes (Zipf-distributed), grouped in
// a few super-clusters, overlapping (the spread within a cluster is 1.5
// times the spread between centres), each with its own anisotropic
// variance, and a variance spectrum that decays across dimensions
// (dimension d has standard deviation about (1+d)^-Decay), so that a few
// directions carry most of the signal.
package datagen

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/vectordb-go/vectordb/simd"
)

// Config describes a data set.
type Config struct {
	Dim      int
	Clusters int     // default 4*sqrt(N) / 8, at least 8
	Decay    float64 // spectrum decay exponent; default 0.5
	Overlap  float64 // within-cluster spread over between-centre spread; default 1.5
	Seed     uint64
	// Normalize makes every vector unit length (cosine data sets).
	Normalize bool
}

// Generator draws points from one data set's distribution.
type Generator struct {
	cfg     Config
	scale   []float64 // per dimension
	centers [][]float32
	spread  [][]float32 // per cluster, per dimension
	cum     []float64   // cumulative cluster weights
}

// New returns the generator of cfg's distribution, sized for about n base
// points.
func New(cfg Config, n int) *Generator {
	if cfg.Decay == 0 {
		cfg.Decay = 0.5
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = 1.5
	}
	if cfg.Clusters == 0 {
		cfg.Clusters = max(8, int(4*math.Sqrt(float64(n))/8))
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0xda7a))
	g := &Generator{cfg: cfg, scale: make([]float64, cfg.Dim)}
	for d := range g.scale {
		g.scale[d] = math.Pow(1+float64(d), -cfg.Decay)
	}
	// Super-clusters, then clusters around them.
	supers := max(2, int(math.Sqrt(float64(cfg.Clusters))))
	superC := make([][]float64, supers)
	for s := range superC {
		superC[s] = make([]float64, cfg.Dim)
		for d := range superC[s] {
			superC[s][d] = r.NormFloat64() * g.scale[d] * 1.5
		}
	}
	g.centers = make([][]float32, cfg.Clusters)
	g.spread = make([][]float32, cfg.Clusters)
	total := 0.0
	for c := range cfg.Clusters {
		sup := superC[r.IntN(supers)]
		g.centers[c] = make([]float32, cfg.Dim)
		g.spread[c] = make([]float32, cfg.Dim)
		for d := range cfg.Dim {
			g.centers[c][d] = float32(sup[d] + r.NormFloat64()*g.scale[d])
			// Anisotropic: each cluster stretches each direction by a
			// log-normal factor.
			g.spread[c][d] = float32(cfg.Overlap * g.scale[d] * math.Exp(0.4*r.NormFloat64()))
		}
		total += 1 / math.Pow(float64(c+1), 0.8) // Zipf-like sizes
		g.cum = append(g.cum, total)
	}
	for c := range g.cum {
		g.cum[c] /= total
	}
	return g
}

// Fill writes n points into out (n*Dim floats), drawn with the stream
// seed; the same seed gives the same points.
func (g *Generator) Fill(out []float32, seed uint64) {
	dim := g.cfg.Dim
	n := len(out) / dim
	const block = 4096
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for lo := 0; lo < n; lo += block {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := rand.New(rand.NewPCG(seed, uint64(lo)))
			for i := lo; i < min(n, lo+block); i++ {
				u := r.Float64()
				c := 0
				for c < len(g.cum)-1 && g.cum[c] < u {
					c++
				}
				v := out[i*dim : (i+1)*dim]
				for d := range v {
					v[d] = g.centers[c][d] + float32(r.NormFloat64())*g.spread[c][d]
				}
				if g.cfg.Normalize {
					if nv := simd.SquaredNorm(v); nv > 0 {
						inv := float32(1 / math.Sqrt(float64(nv)))
						for d := range v {
							v[d] *= inv
						}
					}
				}
			}
		})
	}
	wg.Wait()
}

// Metric selects the similarity of GroundTruth.
type Metric int

// The metrics, with vectordb's semantics.
const (
	Euclidean  Metric = iota // smallest squared distance first
	Cosine                   // largest cosine similarity first
	DotProduct               // largest inner product first
)

// GroundTruth returns, for each query, the indexes of its k nearest base
// points by m, best first (ties by index), using every CPU.
func GroundTruth(base, queries []float32, dim, k int, m Metric) [][]int32 {
	nq := len(queries) / dim
	nb := len(base) / dim
	norms := make([]float32, nb)
	if m == Cosine {
		for i := range nb {
			norms[i] = float32(math.Sqrt(float64(simd.SquaredNorm(base[i*dim : (i+1)*dim]))))
		}
	}
	out := make([][]int32, nq)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			scores := make([]float32, nb)
			for q := range next {
				qv := queries[q*dim : (q+1)*dim]
				if m == Euclidean {
					simd.L2SquaredBatch(qv, base, dim, scores)
					for i := range scores {
						scores[i] = -scores[i]
					}
				} else {
					simd.DotBatch(qv, base, dim, scores)
					if m == Cosine {
						qn := float32(math.Sqrt(float64(simd.SquaredNorm(qv))))
						for i := range scores {
							scores[i] /= qn * norms[i]
						}
					}
				}
				out[q] = topK(scores, k)
			}
		})
	}
	for q := range nq {
		next <- q
	}
	close(next)
	wg.Wait()
	return out
}

// topK returns the indexes of the k highest scores, best first.
func topK(scores []float32, k int) []int32 {
	h := &minHeap{s: scores}
	for i := range scores {
		if len(h.idx) < k {
			heap.Push(h, int32(i))
		} else if h.less(h.idx[0], int32(i)) {
			h.idx[0] = int32(i)
			heap.Fix(h, 0)
		}
	}
	res := make([]int32, len(h.idx))
	for i := len(res) - 1; i >= 0; i-- {
		res[i] = heap.Pop(h).(int32)
	}
	return res
}

// minHeap keeps the worst of the best at the root.
type minHeap struct {
	s   []float32
	idx []int32
}

// less orders worse first: lower score, then higher index.
func (h *minHeap) less(a, b int32) bool {
	if h.s[a] != h.s[b] {
		return h.s[a] < h.s[b]
	}
	return a > b
}
func (h *minHeap) Len() int           { return len(h.idx) }
func (h *minHeap) Less(i, j int) bool { return h.less(h.idx[i], h.idx[j]) }
func (h *minHeap) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *minHeap) Push(x any)         { h.idx = append(h.idx, x.(int32)) }
func (h *minHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}
