package ivf

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"

	"github.com/vectordb-go/vectordb/simd"
)

// TrainConfig tunes Train. Zero fields take the defaults.
type TrainConfig struct {
	// NList is the number of centroids. Required.
	NList int
	// MaxIterations bounds the Lloyd iterations. Default 10.
	MaxIterations int
	// Seed makes training deterministic.
	Seed uint64
	// SeedSample is how many sample points per centroid k-means++ seeds
	// from. Default 4.
	SeedSample int
	// Gate admits each block of the parallel loops. Default: none, every
	// block runs at once.
	Gate Gate
}

// Defaults of TrainConfig.
const (
	DefaultMaxIterations = 10
	DefaultSeedSample    = 4
	// convergedFraction: training stops once an iteration moves fewer than
	// this fraction of the points to another centroid.
	convergedFraction = 0.002
)

// Train runs k-means on sample (n rows of dim floats, row-major; n >= 1)
// and returns the quantizer of its centroids. Under Cosine it normalizes
// sample in place and keeps unit centroids (spherical k-means). nlist is
// capped at n.
//
// Seeding is k-means++ over a random subsample of SeedSample points per
// centroid, which costs one Lloyd iteration's worth of work instead of
// nlist/SeedSample times that; the Lloyd iterations then skip most
// distance computations with Hamerly's bounds (an upper bound on each
// point's distance to its centroid and a lower bound on the distance to
// every other one, both kept valid by the triangle inequality as the
// centroids move). A cluster left empty takes over half of the largest.
func Train(ctx context.Context, metric Metric, dim int, sample []float32, cfg TrainConfig) (*Quantizer, error) {
	if metric > Dot {
		return nil, fmt.Errorf("ivf: unknown metric %d", metric)
	}
	if dim < 1 || len(sample) < dim || len(sample)%dim != 0 {
		return nil, fmt.Errorf("ivf: %d sample floats do not make rows of dimension %d", len(sample), dim)
	}
	if cfg.NList < 1 {
		return nil, errors.New("ivf: TrainConfig.NList must be at least 1")
	}
	if cfg.MaxIterations <= 0 {
		cfg.MaxIterations = DefaultMaxIterations
	}
	if cfg.SeedSample <= 0 {
		cfg.SeedSample = DefaultSeedSample
	}
	n := len(sample) / dim
	k := min(cfg.NList, n)
	if metric == Cosine {
		for i := range n {
			normalize(sample[i*dim : (i+1)*dim])
		}
	}
	km := &kmeans{
		ctx: ctx, gate: cfg.Gate, dim: dim, n: n, k: k, x: sample, spherical: metric == Cosine,
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	if err := km.seed(cfg.SeedSample); err != nil {
		return nil, err
	}
	if err := km.run(ctx, cfg.MaxIterations); err != nil {
		return nil, err
	}
	return NewQuantizer(metric, dim, km.c)
}

func normalize(v []float32) {
	if nv := simd.SquaredNorm(v); nv > 0 {
		blas32.Scal(1/float32(math.Sqrt(float64(nv))), blas32.Vector{N: len(v), Inc: 1, Data: v})
	}
}

type kmeans struct {
	ctx       context.Context // checked between blocks of points
	gate      Gate            // admits each block of parallel
	dim, n, k int
	x         []float32 // n points
	xnorm     []float32 // |x|^2
	c         []float32 // k centroids
	cnorm     []float32
	spherical bool
	rng       *rand.Rand

	assign []int32   // point -> centroid
	upper  []float32 // >= distance to its centroid
	lower  []float32 // <= distance to any other centroid
}

func (km *kmeans) point(i int) []float32    { return km.x[i*km.dim : (i+1)*km.dim] }
func (km *kmeans) centroid(j int) []float32 { return km.c[j*km.dim : (j+1)*km.dim] }

// seed picks the first centroids by greedy k-means++ over a random
// subsample: each step draws a few candidates with probability
// proportional to their squared distance to the nearest centroid so far,
// and keeps the one that lowers the sum of those distances most. (Plain
// k-means++ often leaves a cluster without a seed at the end, when the
// points of the last unseeded clusters weigh no more than the rest.) The
// distances of the kept candidate are those the next step needs, so a
// step costs one pass over the subsample per candidate, split across
// GOMAXPROCS goroutines.
func (km *kmeans) seed(perCentroid int) error {
	const candidates = 2
	m := min(km.n, km.k*perCentroid)
	pick := km.rng.Perm(km.n)[:m]
	sub := make([]float32, m*km.dim)
	for i, p := range pick {
		copy(sub[i*km.dim:], km.point(p))
	}
	row := func(i int) []float32 { return sub[i*km.dim : (i+1)*km.dim] }
	km.c = make([]float32, km.k*km.dim)
	d2 := make([]float32, m) // squared distance to the nearest centroid so far
	var dist [candidates][]float32
	for c := range dist {
		dist[c] = make([]float32, m)
	}
	distances := func(c int, p []float32) {
		parallelRange(m, 4096, func(lo, hi int) {
			simd.L2SquaredBatch(p, sub[lo*km.dim:], km.dim, dist[c][lo:hi])
		})
	}
	first := km.rng.IntN(m)
	copy(km.centroid(0), row(first))
	distances(0, row(first))
	copy(d2, dist[0])
	for j := 1; j < km.k; j++ {
		if j%64 == 0 {
			if err := km.ctx.Err(); err != nil {
				return err
			}
		}
		var total float64
		for _, d := range d2 {
			total += float64(d)
		}
		best, bestTotal := 0, math.Inf(1)
		var cands [candidates]int
		for c := range candidates {
			cands[c] = km.rng.IntN(m)
			if total > 0 {
				r := km.rng.Float64() * total
				for i, d := range d2 {
					if r -= float64(d); r <= 0 {
						cands[c] = i
						break
					}
				}
			}
			distances(c, row(cands[c]))
			var t float64
			for i, d := range dist[c] {
				t += float64(min(d2[i], d))
			}
			if t < bestTotal {
				best, bestTotal = c, t
			}
		}
		copy(km.centroid(j), row(cands[best]))
		for i, d := range dist[best] {
			d2[i] = min(d2[i], d)
		}
	}
	return nil
}

// parallelRange calls fn on consecutive ranges of at least minBlock of
// [0, n), one per GOMAXPROCS goroutine, and waits.
func parallelRange(n, minBlock int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/minBlock))
	if workers == 1 {
		fn(0, n)
		return
	}
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min(n, (w+1)*per)
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// run does Lloyd iterations until convergence or maxIter.
func (km *kmeans) run(ctx context.Context, maxIter int) error {
	km.xnorm = make([]float32, km.n)
	for i := range km.n {
		km.xnorm[i] = simd.SquaredNorm(km.point(i))
	}
	km.assign = make([]int32, km.n)
	km.upper = make([]float32, km.n)
	km.lower = make([]float32, km.n)
	km.refreshNorms()
	// The first pass computes every distance.
	km.parallel(km.n, func(lo, hi int, scores []float32) int {
		for i := lo; i < hi; i++ {
			km.nearestTwo(i, scores)
		}
		return 0
	})
	old := make([]float32, len(km.c))
	half := make([]float32, km.k) // half the distance to the nearest other centroid
	move := make([]float32, km.k)
	for range maxIter {
		if err := ctx.Err(); err != nil {
			return err
		}
		copy(old, km.c)
		km.update()
		km.refreshNorms()
		var maxMove, secondMove float32
		maxAt := -1
		for j := range km.k {
			move[j] = float32(math.Sqrt(float64(simd.L2Squared(old[j*km.dim:(j+1)*km.dim], km.centroid(j)))))
			switch {
			case move[j] > maxMove:
				secondMove, maxMove, maxAt = maxMove, move[j], j
			case move[j] > secondMove:
				secondMove = move[j]
			}
		}
		km.halfGaps(half)
		changed := km.parallel(km.n, func(lo, hi int, scores []float32) int {
			changed := 0
			for i := lo; i < hi; i++ {
				a := km.assign[i]
				km.upper[i] += move[a]
				if int(a) == maxAt {
					km.lower[i] -= secondMove
				} else {
					km.lower[i] -= maxMove
				}
				bound := max(half[a], km.lower[i])
				if km.upper[i] <= bound {
					continue
				}
				km.upper[i] = km.dist(i, int(a))
				if km.upper[i] <= bound {
					continue
				}
				if km.nearestTwo(i, scores) != a {
					changed++
				}
			}
			return changed
		})
		if float64(changed) < convergedFraction*float64(km.n) {
			break
		}
	}
	return ctx.Err()
}

func (km *kmeans) refreshNorms() {
	if km.cnorm == nil {
		km.cnorm = make([]float32, km.k)
	}
	for j := range km.k {
		km.cnorm[j] = simd.SquaredNorm(km.centroid(j))
	}
}

// dist is the Euclidean distance from point i to centroid j.
func (km *kmeans) dist(i, j int) float32 {
	return float32(math.Sqrt(float64(simd.L2Squared(km.point(i), km.centroid(j)))))
}

// nearestTwo assigns point i to its nearest centroid, setting its exact
// upper bound and its lower bound from the second nearest, and returns the
// centroid.
func (km *kmeans) nearestTwo(i int, scores []float32) int32 {
	simd.DotBatch(km.point(i), km.c, km.dim, scores)
	b1, b2 := float32(math.Inf(1)), float32(math.Inf(1))
	best := 0
	for j, s := range scores {
		d := km.cnorm[j] - 2*s
		if d < b1 {
			b2, b1, best = b1, d, j
		} else if d < b2 {
			b2 = d
		}
	}
	km.assign[i] = int32(best)
	xn := km.xnorm[i]
	km.upper[i] = km.dist(i, best) // exact, immune to the expansion's rounding
	km.lower[i] = float32(math.Sqrt(float64(max(0, xn+b2))))
	if km.k == 1 {
		km.lower[i] = float32(math.Inf(1))
	}
	// The expanded form rounds; shave the lower bound so it stays a bound.
	km.lower[i] *= 1 - 1e-4
	return int32(best)
}

// halfGaps sets half[j] to half the distance from centroid j to its
// nearest other centroid: a point nearer than that to j is nearer to j
// than to any other.
func (km *kmeans) halfGaps(half []float32) {
	km.parallel(km.k, func(lo, hi int, scores []float32) int {
		for j := lo; j < hi; j++ {
			simd.DotBatch(km.centroid(j), km.c, km.dim, scores)
			best := float32(math.Inf(1))
			for o, s := range scores {
				if o != j {
					best = min(best, km.cnorm[j]+km.cnorm[o]-2*s)
				}
			}
			half[j] = float32(math.Sqrt(float64(max(0, best)))) / 2 * (1 - 1e-4)
		}
		return 0
	})
}

// update moves each centroid to the mean of its points (normalized when
// spherical) and gives each empty cluster half of the largest one.
func (km *kmeans) update() {
	workers := runtime.GOMAXPROCS(0)
	sums := make([][]float32, workers)
	counts := make([][]int, workers)
	var wg sync.WaitGroup
	per := (km.n + workers - 1) / workers
	for w := range workers {
		sums[w] = make([]float32, len(km.c))
		counts[w] = make([]int, km.k)
		wg.Go(func() {
			for i := w * per; i < min(km.n, (w+1)*per); i++ {
				a := int(km.assign[i])
				counts[w][a]++
				blas32.Axpy(1, blas32.Vector{N: km.dim, Inc: 1, Data: km.point(i)},
					blas32.Vector{N: km.dim, Inc: 1, Data: sums[w][a*km.dim : (a+1)*km.dim]})
			}
		})
	}
	wg.Wait()
	for w := 1; w < workers; w++ {
		blas32.Axpy(1, blas32.Vector{N: len(km.c), Inc: 1, Data: sums[w]}, blas32.Vector{N: len(km.c), Inc: 1, Data: sums[0]})
		for j, c := range counts[w] {
			counts[0][j] += c
		}
	}
	size := counts[0]
	for j := range km.k {
		if size[j] == 0 {
			continue
		}
		c := km.centroid(j)
		copy(c, sums[0][j*km.dim:(j+1)*km.dim])
		blas32.Scal(1/float32(size[j]), blas32.Vector{N: km.dim, Inc: 1, Data: c})
		if km.spherical {
			normalize(c)
		}
	}
	km.splitEmpty(size)
}

// splitEmpty moves each empty centroid next to the centroid of the
// largest cluster (chosen with probability by size, so that several empty
// ones spread out), pushing the two slightly apart; the next assignment
// splits that cluster between them.
func (km *kmeans) splitEmpty(size []int) {
	const eps = 1.0 / 1024
	for j := range km.k {
		if size[j] != 0 {
			continue
		}
		big := 0
		for o := range km.k {
			if size[o] > size[big] {
				big = o
			}
		}
		if size[big] < 2 {
			return
		}
		cj, cb := km.centroid(j), km.centroid(big)
		copy(cj, cb)
		for d := range km.dim {
			delta := eps * (km.rng.Float32() - 0.5) * (abs32(cb[d]) + eps)
			cj[d] += delta
			cb[d] -= delta
		}
		if km.spherical {
			normalize(cj)
			normalize(cb)
		}
		size[j] = size[big] / 2
		size[big] -= size[j]
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// parallel runs fn over [0, total) in blocks across GOMAXPROCS goroutines,
// each block admitted by km.gate and each goroutine with its own score
// buffer of k floats, and returns the sum of fn's
// results. It stops early, leaving blocks undone, once ctx is done: the
// caller then returns ctx's error.
func (km *kmeans) parallel(total int, fn func(lo, hi int, scores []float32) int) int {
	const block = 256
	var (
		mu    sync.Mutex
		next  int
		sum   int
		wg    sync.WaitGroup
		works = min(runtime.GOMAXPROCS(0), (total+block-1)/block)
	)
	for range works {
		wg.Go(func() {
			scores := make([]float32, km.k)
			part := 0
			for {
				release, err := km.gate.Admit(km.ctx)
				if err != nil {
					break
				}
				mu.Lock()
				lo := next
				next += block
				mu.Unlock()
				if lo >= total || km.ctx.Err() != nil {
					release()
					break
				}
				part += fn(lo, min(lo+block, total), scores)
				release()
			}
			mu.Lock()
			sum += part
			mu.Unlock()
		})
	}
	wg.Wait()
	return sum
}
