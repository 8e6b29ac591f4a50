package segment

import (
	"context"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vectordb-go/vectordb/internal/filter"
	"github.com/vectordb-go/vectordb/simd"
)

// Query is a validated query, as QueryLocked takes it.
type Query struct {
	Vector     []float32 // the dense values, of length dim; unused if ID is set
	ID         string    // query with this record's values instead
	Sparse     Sparse    // the sparse part (dotproduct only)
	TopK       int
	NProbe     int  // lists to probe, 0 for the calibrated default
	Exact      bool // force the exact scan
	MinRecords int  // Options.IVFMinRecords: below it, the exact scan
}

// Hit is a query result: a record, its slot (valid while the lock is
// held) and its score.
type Hit struct {
	ID    string
	Slot  uint32
	Score float32
}

// QueryLocked runs q against the segment (restricted to the records fn
// matches, if fn is not nil) and returns the hits, best first. w lends
// helper goroutines to a large exact scan (nil: all it asks for). The
// error is a filter's (*filter.Error) or ctx's.
// REQUIRES: s.mu held for reading.
func (s *Segment) QueryLocked(ctx context.Context, w Workers, req *Query, fn *filter.Node) ([]Hit, error) {
	q := make([]float32, s.dim)
	if req.ID != "" {
		slot, ok := s.slots[req.ID]
		if !ok {
			return nil, nil
		}
		copy(q, s.RowLocked(slot))
	} else {
		copy(q, req.Vector)
	}
	var allowed *roaring.Bitmap
	if fn != nil {
		var err error
		if allowed, err = s.EvalLocked(ctx, fn); err != nil {
			return nil, err
		}
	}
	var hits []hit
	var err error
	if nprobe := s.nprobeLocked(req, allowed); nprobe > 0 {
		hits, err = s.searchIVFLocked(ctx, q, simd.SquaredNorm(q), req.TopK, nprobe, allowed)
	} else {
		hits, err = s.SearchLocked(ctx, w, q, simd.SquaredNorm(q), req.Sparse, req.TopK, allowed)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Hit, len(hits))
	for i, h := range hits {
		out[i] = Hit{ID: s.ids[h.slot], Slot: h.slot, Score: h.score}
	}
	return out, nil
}
