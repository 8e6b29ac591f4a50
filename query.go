package vectordb

import (
	"context"
	"slices"

	"github.com/vectordb-go/vectordb/internal/filter"
	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/sched"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// QueryRequest is a similarity query. Exactly one of Vector and ID is set.
type QueryRequest struct {
	// Vector is the query's dense values, of the index dimension.
	Vector []float32
	// ID queries with the stored dense values of that record; an unknown
	// id gives no matches.
	ID string
	// SparseVector adds a sparse part (dotproduct indexes only): each
	// score is the dense dot product plus the sparse one.
	SparseVector *SparseValues
	// Filter, if not empty, restricts the candidates to the records whose
	// metadata it matches (see Filter); the matches are still the TopK
	// best of those, however few the filter lets through.
	Filter Filter
	// TopK is the number of matches wanted, 1 to MaxTopK. Fewer come back
	// when the namespace holds fewer records.
	TopK int
	// IncludeValues and IncludeMetadata attach each match's values and
	// metadata.
	IncludeValues   bool
	IncludeMetadata bool
	// NProbe, if positive, is how many IVF lists to scan (capped at the
	// number of lists), instead of the namespace's calibrated default. A
	// filter widens either, by its selectivity to the power 1/4 (a filter
	// passing 1/16 of the records doubles it), which keeps filtered recall
	// about the unfiltered one. NProbe also makes a namespace below
	// Options.IVFMinRecords use its IVF, if it has one (see
	// Namespace.BuildIVF). A higher NProbe trades speed for recall; with
	// every list probed the result is the exact one.
	NProbe int
	// Exact forces the exact scan, even where an IVF index would serve.
	Exact bool
}

// Match is one query result. Values, SparseValues and Metadata are set only
// when the request asked for them; they are copies the caller owns.
type Match struct {
	ID           string
	Score        float32
	Values       []float32
	SparseValues *SparseValues
	Metadata     Metadata
}

// QueryResult holds a query's matches, best first: highest score for
// cosine and dotproduct, lowest for euclidean. Equal scores come in id
// order.
type QueryResult struct {
	Matches   []Match
	Namespace string
	Usage     Usage
}

// Query returns the TopK records most similar to the query, searching the
// namespace's hot segment (loading it on first use). A namespace of
// Options.IVFMinRecords records or more is searched through its IVF index
// once the index is built, probing the calibrated number of lists (see
// IVFDescription) unless the request says otherwise; smaller namespaces,
// queries with a sparse part, and filters that let few records through
// use the exact scan. Either way a filter is applied exactly: matches
// never fail it, and an IVF search probes further lists until it has TopK
// matches or has probed them all. Scores
// are computed in float32 as Pinecone does: cosine similarity, raw dot
// product, or squared Euclidean distance. A namespace that does not exist
// gives no matches.
func (h *Namespace) Query(ctx context.Context, req QueryRequest) (QueryResult, error) {
	adm, err := h.begin(ctx)
	if err != nil {
		return QueryResult{}, err
	}
	defer h.leave()
	ix := h.ix()
	sq, err := checkQuery(&req, ix)
	if err != nil {
		return QueryResult{}, err
	}
	var fn *filter.Node
	if len(req.Filter) > 0 {
		if fn, err = compileFilter(req.Filter); err != nil {
			return QueryResult{}, err
		}
	}
	res, ns, err := readGenerations(ix, h.name, func(ns *namespaceState) (QueryResult, bool, error) {
		res := QueryResult{Namespace: h.name, Usage: Usage{ReadUnits: 1}}
		if ns == nil {
			return res, true, nil
		}
		hot := ns.hot
		if fn != nil {
			hot = ns.hotIndexed
		}
		seg, err := hot(ctx)
		if err != nil {
			return QueryResult{}, false, err
		}
		if !req.IncludeMetadata {
			seg.RLock()
			res.Matches, err = queryLocked(ctx, seg, adm, &req, sq, fn, ix.db.opts.IVFMinRecords)
			empty := seg.LenLocked() == 0
			seg.RUnlock()
			// A load that found the generation dropped answers with an
			// empty segment it does not publish (an empty namespace
			// evicted meanwhile looks the same, and costs a short wait).
			return res, !empty || ns.seg.Load() == seg, err
		}
		// Metadata lives in storage, values in the segment.
		snap, ok := ns.readAgreeing(seg)
		for !ok { // evicted since the load: load it again
			if seg, err = hot(ctx); err != nil {
				return QueryResult{}, false, err
			}
			snap, ok = ns.readAgreeing(seg)
		}
		defer snap.Discard()
		live := false
		res.Matches, err = queryLocked(ctx, seg, adm, &req, sq, fn, ix.db.opts.IVFMinRecords)
		if err == nil {
			res.Matches, live, err = attachMetadata(snap, ns, res.Matches)
		}
		seg.RUnlock()
		return res, live, err
	})
	if err != nil {
		return QueryResult{}, err
	}
	if ns != nil {
		res.Usage.ReadUnits = usage.QueryReadUnits(ns.bytes.Load())
		ns.usage.AddReads(uint64(res.Usage.ReadUnits))
	}
	return res, nil
}

// checkQuery validates req and returns its sparse part.
func checkQuery(req *QueryRequest, ix *indexState) (segment.Sparse, error) {
	if req.TopK < 1 || req.TopK > MaxTopK {
		return segment.Sparse{}, argErrf("topK", req.TopK, "must be 1 to %d", MaxTopK)
	}
	switch {
	case req.Vector != nil && req.ID != "":
		return segment.Sparse{}, argErr("vector", nil, "set vector or id, not both")
	case req.Vector != nil:
		if err := record.CheckVector("vector", req.Vector, ix.dim); err != nil {
			return segment.Sparse{}, fromRecord(err)
		}
	case req.ID != "":
		if err := record.CheckID("id", req.ID); err != nil {
			return segment.Sparse{}, fromRecord(err)
		}
	default:
		return segment.Sparse{}, argErr("vector", nil, "set vector or id")
	}
	switch {
	case req.NProbe < 0:
		return segment.Sparse{}, argErr("nProbe", req.NProbe, "must not be negative")
	case req.NProbe > 0 && req.Exact:
		return segment.Sparse{}, argErr("nProbe", req.NProbe, "set nProbe or exact, not both")
	}
	return normalizeSparse("sparseVector", req.SparseVector, ix.metric)
}

// readAgreeing read-locks seg and returns a storage snapshot that agrees
// with it: while writeMu is held no write of the namespace sits between its
// commit and its apply, and the segment's read lock then keeps later
// writes out of the segment until the caller unlocks it. The caller must
// RUnlock seg.mu and Discard the snapshot. It reports false, locking
// nothing, if seg was evicted since the caller loaded it: writes since
// then are in storage but not in seg, so the caller must load again. (A
// dropped namespace's last segment is returned as is: the snapshot shows
// the namespace gone, and the caller answers empty.)
func (ns *namespaceState) readAgreeing(seg *segment.Segment) (*storage.Txn, bool) {
	ns.writeMu.Lock()
	defer ns.writeMu.Unlock()
	if !ns.dropped && ns.seg.Load() != seg {
		return nil, false
	}
	seg.RLock()
	return ns.ix.db.store.Snapshot(), true
}

// attachMetadata reads each match's metadata from snap and reports
// whether ns is live in it. A namespace no longer live in snap (dropped
// while the query ran) has no matches.
func attachMetadata(snap *storage.Txn, ns *namespaceState, matches []Match) ([]Match, bool, error) {
	live, err := checkLive(snap, ns)
	if err != nil || !live {
		return nil, false, storageErr(err)
	}
	for i := range matches {
		md, _, err := storage.ReadMetadata(snap, ns.ix.id, ns.id, matches[i].ID)
		if err != nil {
			return nil, false, storageErr(err)
		}
		matches[i].Metadata = md
	}
	return matches, true, nil
}

// queryLocked runs a validated query against seg and builds the matches.
// minRecords is Options.IVFMinRecords.
// REQUIRES: seg's lock held for reading.
func queryLocked(ctx context.Context, seg *segment.Segment, adm *sched.Ticket, req *QueryRequest, sq segment.Sparse, fn *filter.Node, minRecords int) ([]Match, error) {
	hits, err := seg.QueryLocked(ctx, adm, &segment.Query{
		Vector: req.Vector, ID: req.ID, Sparse: sq, TopK: req.TopK,
		NProbe: req.NProbe, Exact: req.Exact, MinRecords: minRecords,
	}, fn)
	if err != nil {
		return nil, fromFilterErr(err)
	}
	matches := make([]Match, len(hits))
	for i, h := range hits {
		m := &matches[i]
		m.ID, m.Score = h.ID, h.Score
		if req.IncludeValues {
			m.Values = slices.Clone(seg.RowLocked(h.Slot)[:seg.Dim()])
			m.SparseValues = publicSparse(seg.SparseLocked(h.Slot))
		}
	}
	return matches, nil
}
