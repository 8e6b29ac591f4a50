package ivf

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/vectordb-go/vectordb/simd"
)

// Metric is how a Quantizer compares vectors with centroids.
type Metric uint8

const (
	// L2 assigns and probes by squared Euclidean distance.
	L2 Metric = iota
	// Cosine assigns and probes by cosine similarity; centroids are unit
	// vectors.
	Cosine
	// Dot assigns by Euclidean distance and probes by inner product.
	Dot
)

// String names the metric.
func (m Metric) String() string {
	switch m {
	case L2:
		return "l2"
	case Cosine:
		return "cosine"
	case Dot:
		return "dot"
	}
	return fmt.Sprintf("Metric(%d)", uint8(m))
}

// Quantizer holds nlist trained centroids of dimension dim. It is
// immutable, and safe for concurrent use.
type Quantizer struct {
	metric     Metric
	dim, nlist int
	cents      []float32 // nlist rows of dim
	cnorm      []float32 // |c|^2 per centroid
}

// NewQuantizer returns the quantizer with the given centroids (nlist rows
// of dim floats, row-major), as Centroids returned them. It keeps
// centroids.
func NewQuantizer(metric Metric, dim int, centroids []float32) (*Quantizer, error) {
	if metric > Dot {
		return nil, fmt.Errorf("ivf: unknown metric %d", metric)
	}
	if dim < 1 || len(centroids) == 0 || len(centroids)%dim != 0 {
		return nil, fmt.Errorf("ivf: %d centroid floats do not make rows of dimension %d", len(centroids), dim)
	}
	q := &Quantizer{metric: metric, dim: dim, nlist: len(centroids) / dim, cents: centroids}
	q.cnorm = make([]float32, q.nlist)
	for j := range q.nlist {
		q.cnorm[j] = simd.SquaredNorm(q.centroid(j))
	}
	return q, nil
}

// Metric is how the quantizer compares vectors with its centroids.
func (q *Quantizer) Metric() Metric { return q.metric }

// Dim is the dimension of the centroids.
func (q *Quantizer) Dim() int { return q.dim }

// NList is the number of centroids, and so of lists.
func (q *Quantizer) NList() int { return q.nlist }

// Centroids returns the centroids, nlist rows of dim floats. The caller
// must not modify them.
func (q *Quantizer) Centroids() []float32 { return q.cents }

func (q *Quantizer) centroid(j int) []float32 { return q.cents[j*q.dim : (j+1)*q.dim] }

// Scratch is per-goroutine working memory for Assign and Probe.
type Scratch struct {
	scores []float32
	order  Order
}

func (q *Quantizer) scores(x []float32, s *Scratch) []float32 {
	if cap(s.scores) < q.nlist {
		s.scores = make([]float32, q.nlist)
	}
	sc := s.scores[:q.nlist]
	simd.DotBatch(x, q.cents, q.dim, sc)
	return sc
}

// Assign returns the list of the data vector x (of length Dim): its
// nearest centroid by Euclidean distance, or by cosine similarity under
// Cosine (which ignores the norm of x).
func (q *Quantizer) Assign(x []float32, s *Scratch) int {
	sc := q.scores(x, s)
	best := 0
	if q.metric == Cosine {
		for j, v := range sc {
			if v > sc[best] {
				best = j
			}
		}
		return best
	}
	// |x-c|^2 = |x|^2 + |c|^2 - 2 x.c, and |x|^2 is the same for every c.
	bd := q.cnorm[0] - 2*sc[0]
	for j := 1; j < len(sc); j++ {
		if d := q.cnorm[j] - 2*sc[j]; d < bd {
			best, bd = j, d
		}
	}
	return best
}

// AssignBatch assigns n rows of rows (row i at rows[i*stride:]) into out,
// split across GOMAXPROCS goroutines, each block admitted by gate (nil:
// all at once). It checks ctx every few thousand rows.
func (q *Quantizer) AssignBatch(ctx context.Context, gate Gate, rows []float32, stride, n int, out []int32) error {
	const block = 1024
	workers := min(runtime.GOMAXPROCS(0), (n+block-1)/block)
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			var s Scratch
			for {
				release, err := gate.Admit(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				lo := next
				next += block
				mu.Unlock()
				if lo >= n || ctx.Err() != nil {
					release()
					return
				}
				for i := lo; i < min(lo+block, n); i++ {
					out[i] = int32(q.Assign(rows[i*stride:i*stride+q.dim], &s))
				}
				release()
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// Probe ranks the lists for the query x: the returned Order yields the
// best lists first (nearest centroid by Euclidean distance under L2,
// highest dot product with the centroid otherwise). The Order lives in s
// and is valid until s is used again.
func (q *Quantizer) Probe(x []float32, s *Scratch) *Order {
	sc := q.scores(x, s)
	o := &s.order
	o.reset(q.nlist)
	for j, v := range sc {
		if q.metric == L2 {
			o.key[j] = q.cnorm[j] - 2*v // |x|^2 omitted: the same for every list
		} else {
			o.key[j] = -v
		}
	}
	return o
}

// Ranks writes into rank[j] the position of list j in x's probe order
// (0 for the list probed first), ties broken by list number. Calibration
// uses it to find how many lists a query must probe to reach each of its
// true neighbours.
func (q *Quantizer) Ranks(x []float32, s *Scratch, rank []int32) {
	o := q.Probe(x, s)
	o.Take(q.nlist)
	for pos, j := range o.idx {
		rank[j] = int32(pos)
	}
}
