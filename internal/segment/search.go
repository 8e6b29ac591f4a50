package segment

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/simd"
)

// Workers lends a search helper goroutines beyond the call's own: the
// scheduler's ticket of the call (sched.Ticket, root's admission).
type Workers interface {
	// ExtraWorkers borrows up to n slots for helpers and returns how
	// many it got, each to be given back with GiveBack.
	ExtraWorkers(n int) int
	// GiveBack returns one slot that ExtraWorkers lent.
	GiveBack()
	// Contended reports whether a helper should hand its core back.
	Contended() bool
}

// extraWorkers, giveBack and contended call w, if not nil; a nil w grants
// every helper asked for, as a call outside the scheduler gets.
func extraWorkers(w Workers, n int) int {
	if w == nil {
		return n
	}
	return w.ExtraWorkers(n)
}

func giveBack(w Workers) {
	if w != nil {
		w.GiveBack()
	}
}

func contended(w Workers) bool { return w != nil && w.Contended() }

// sparseScanRatio: a filtered search scores the allowed rows one by one
// when they are fewer than 1/sparseScanRatio of the live rows, and scans
// every row (skipping the others) otherwise. Measured with
// BenchmarkFilteredQuery on 2 cores: at 10% of 100k x 768 rows, one by one
// takes 5.8 ms against 15 ms for the (parallel) full scan; at 50%, 24.5 ms
// against 15.6 ms.
const sparseScanRatio = 4

// SearchLocked returns the k best rows for the query q (of length dim),
// best first, among the live rows or, if allowed is not nil, the allowed
// ones. qNormSq is |q|^2; sq is the sparse part (dotproduct only). Large
// scans are split across up to GOMAXPROCS goroutines, as many as the
// call's scheduler ticket w lets run (see Workers; nil: all), and ctx
// is checked between chunks.
// REQUIRES: mu held for reading.
func (s *Segment) SearchLocked(ctx context.Context, w Workers, q []float32, qNormSq float32, sq Sparse, k int, allowed *roaring.Bitmap) ([]hit, error) {
	if allowed != nil {
		c := int(allowed.GetCardinality())
		if c == 0 {
			return nil, nil
		}
		if c*sparseScanRatio < s.live {
			return s.searchAllowedLocked(ctx, q, qNormSq, sq, k, allowed)
		}
	}
	mask := s.maskOf(allowed)
	nchunks := (s.n + s.chunkRows - 1) >> s.chunkShift
	asc := s.ascending()
	workers := 1
	if s.n*s.stride >= parallelMinFloats {
		// Helpers beyond the call's own goroutine run on extra admission
		// slots, taken only while the CPU is free to take.
		workers += extraWorkers(w, min(runtime.GOMAXPROCS(0), nchunks)-1)
	}
	if workers <= 1 {
		t := newTopK(k, asc, s.ids)
		scores := make([]float32, s.chunkRows)
		for c := range nchunks {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s.scanChunkLocked(c, q, qNormSq, sq, mask, scores, t)
		}
		return t.sorted(), nil
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		tops = make([]*topK, workers)
	)
	scan := func(t *topK, helper bool) {
		scores := make([]float32, s.chunkRows)
		for {
			if helper && contended(w) {
				return // hand the core back; the others finish the scan
			}
			c := int(next.Add(1) - 1)
			if c >= nchunks || ctx.Err() != nil {
				return
			}
			s.scanChunkLocked(c, q, qNormSq, sq, mask, scores, t)
		}
	}
	for i := range workers {
		tops[i] = newTopK(k, asc, s.ids)
		if i > 0 {
			wg.Go(func() {
				defer giveBack(w)
				scan(tops[i], true)
			})
		}
	}
	scan(tops[0], false)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, t := range tops[1:] {
		tops[0].merge(t)
	}
	return tops[0].sorted(), nil
}

// score turns a row's raw kernel result into the metric's score.
// REQUIRES: mu held for reading.
func (s *Segment) scoreLocked(raw, qNormSq float32, sq Sparse, slot uint32) float32 {
	switch s.metric {
	case ivf.Cosine:
		return cosineScore(raw, qNormSq, s.norms[slot])
	case ivf.Dot:
		if len(sq.Idx) > 0 {
			return raw + sq.Dot(s.sparse[slot])
		}
	}
	return raw
}

// batchKernel scores rows (stride floats apart) against q into out: the
// squared distance for euclidean, the dot product otherwise (cosine then
// divides by the stored norms). Every search path scores through it, so a
// row gets the same bits whichever finds it.
func (s *Segment) batchKernel(q, rows []float32, stride int, out []float32) {
	if s.metric == ivf.L2 {
		simd.L2SquaredBatch(q, rows, stride, out)
	} else {
		simd.DotBatch(q, rows, stride, out)
	}
}

// scanChunkLocked scores chunk c into scores and offers each live row to t
// (each row set in mask, when mask is not nil).
// REQUIRES: mu held for reading.
func (s *Segment) scanChunkLocked(c int, q []float32, qNormSq float32, sq Sparse, mask []uint64, scores []float32, t *topK) {
	base := c << s.chunkShift
	n := min(s.chunkRows, s.n-base)
	rows := s.chunks[c]
	scores = scores[:n]
	// One batch kernel call per chunk; cosine then needs only the stored
	// norms, so the scan is one dot product per row whatever the metric.
	s.batchKernel(q, rows, s.stride, scores)
	for i, sc := range scores {
		slot := uint32(base + i)
		if s.deleted[slot/64]&(1<<(slot%64)) != 0 || (mask != nil && mask[slot/64]&(1<<(slot%64)) == 0) {
			continue
		}
		t.offer(hit{slot: slot, score: s.scoreLocked(sc, qNormSq, sq, slot)})
	}
}

// searchAllowedLocked scores only the allowed rows, one kernel call each:
// the plan for selective filters.
// REQUIRES: mu held for reading.
func (s *Segment) searchAllowedLocked(ctx context.Context, q []float32, qNormSq float32, sq Sparse, k int, allowed *roaring.Bitmap) ([]hit, error) {
	t := newTopK(k, s.ascending(), s.ids)
	var raw [1]float32
	it := allowed.Iterator()
	for i := 0; it.HasNext(); i++ {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		slot := it.Next()
		// A batch of one, not the pair kernels: the batch kernels score a
		// row the same bits wherever they meet it, so a record's score
		// does not depend on the plan.
		s.batchKernel(q, s.RowLocked(slot), s.stride, raw[:])
		t.offer(hit{slot: slot, score: s.scoreLocked(raw[0], qNormSq, sq, slot)})
	}
	return t.sorted(), nil
}

// ctxCheckEvery is how many rows a one-by-one scan scores between
// context checks.
const ctxCheckEvery = 4096
