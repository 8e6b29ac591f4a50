package vectordb

import (
	"context"
	"fmt"

	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
)

// hot returns the namespace's segment, loading it from storage on first
// use. Concurrent callers share one load. The load holds writeMu, so no
// write can slip between the snapshot it reads and the segment's
// publication; writers of this namespace wait for it.
func (ns *namespaceState) hot(ctx context.Context) (*segment.Segment, error) {
	if s := ns.seg.Load(); s != nil {
		ns.mem.Touch()
		return s, nil
	}
	s, loaded, err := ns.loadLocked(ctx)
	if loaded {
		// Make room, now that this namespace's lock is released (eviction
		// takes other namespaces' locks and must not wait holding one).
		ns.ix.db.enforceBudget(ns)
	}
	return s, err
}

// loadLocked is hot's slow path: it loads the namespace under writeMu,
// unless another caller did meanwhile, and reports whether it loaded.
func (ns *namespaceState) loadLocked(ctx context.Context) (*segment.Segment, bool, error) {
	ns.writeMu.Lock()
	defer ns.writeMu.Unlock()
	if s := ns.seg.Load(); s != nil {
		ns.mem.Touch()
		return s, false, nil
	}
	s, live, reassigned, err := ns.load(ctx)
	if err != nil {
		return nil, false, err
	}
	if live {
		ns.seg.Store(s)
		ns.ix.db.addHot(ns, s)
		s.RLock()
		build := s.WantsBuildLocked(ns.ix.db.opts.IVFMinRecords)
		st := s.IVFLocked()
		live := s.LiveLocked()
		s.RUnlock()
		switch {
		case build:
			ns.startBuild(s)
		case st != nil && reassigned*10 > live:
			// Many records changed since the stored assignments: store
			// them again, so the next load does not redo the work.
			ns.background(func(ctx context.Context) { _ = ns.persistIVF(ctx, s, st) })
		}
	}
	return s, live, nil
}

// load reads the namespace's vectors in key order, decoding each straight
// into its arena row, and its stored IVF index if it has one (see
// loadIVF, which reports how many records it reassigned). A namespace dropped since the caller resolved it
// (DeleteNamespace, DeleteAll or DeleteIndex, whose data the janitor may
// be removing) loads as empty and not live, and must not be published.
// REQUIRES: ns.writeMu held.
func (ns *namespaceState) load(ctx context.Context) (seg *segment.Segment, live bool, reassigned int, err error) {
	ix := ns.ix
	err = ix.db.store.View(func(t *storage.Txn) error {
		if live, err = checkLive(t, ns); err != nil || !live {
			seg = newSegment(ix, 0)
			return err
		}
		seg = newSegment(ix, int(ns.records.Load()))
		err := storage.ScanRecords(ctx, t, storage.VectorPrefix(ix.id, ns.id), func(id, v []byte) error {
			view, err := storage.ParseVector(v)
			if err != nil {
				return err
			}
			if view.Dim != ix.dim {
				return fmt.Errorf("%w: record %q has dimension %d in an index of dimension %d", ErrCorrupt, id, view.Dim, ix.dim)
			}
			seg.AppendLocked(string(id), &view)
			return nil
		})
		if err != nil {
			return err
		}
		reassigned, err = ns.loadIVF(t, seg)
		return err
	})
	if err != nil {
		return nil, false, 0, storageErr(err)
	}
	if live && int64(seg.LiveLocked()) != ns.records.Load() {
		return nil, false, 0, fmt.Errorf("%w: namespace %q holds %d records, its counter says %d", ErrCorrupt, ns.name, seg.LiveLocked(), ns.records.Load())
	}
	return seg, live, reassigned, nil
}

// hotIndexed returns the namespace's segment with its metadata index
// built, loading the one and building the other on first use. The index
// is built only when a filter first needs it, so namespaces that are never
// filtered never pay for it. The build reads the metadata under writeMu,
// like a load, so it sees exactly the writes the segment has.
func (ns *namespaceState) hotIndexed(ctx context.Context) (*segment.Segment, error) {
	for {
		seg, err := ns.hot(ctx)
		if err != nil || seg.Indexed() {
			return seg, err
		}
		seg, retry, err := ns.indexLocked(ctx, seg)
		if !retry {
			return seg, err
		}
		// Evicted between the load and the index build: load it again.
	}
}

// indexLocked builds seg's metadata index under writeMu. It reports retry
// if seg was evicted meanwhile.
func (ns *namespaceState) indexLocked(ctx context.Context, seg *segment.Segment) (_ *segment.Segment, retry bool, err error) {
	ns.writeMu.Lock()
	defer ns.writeMu.Unlock()
	if seg.Indexed() {
		return seg, false, nil // another caller built it meanwhile
	}
	if ns.dropped {
		return emptyIndexed(ns.ix), false, nil
	}
	if ns.seg.Load() != seg {
		return nil, true, nil
	}
	var entries []segment.Entry
	ix := ns.ix
	live := true
	err = ix.db.store.View(func(t *storage.Txn) error {
		// Like load: a namespace dropped meanwhile (its index deleted) may
		// be half removed by the janitor; it reads as empty.
		var err error
		if live, err = checkLive(t, ns); err != nil || !live {
			return err
		}
		return storage.ScanRecords(ctx, t, storage.MetadataPrefix(ix.id, ns.id), func(id, v []byte) error {
			md, _, err := storage.DecodeMetadata(v)
			entries = append(entries, segment.Entry{ID: string(id), MD: md})
			return err
		})
	})
	if err != nil {
		return nil, false, storageErr(err)
	}
	if !live {
		return emptyIndexed(ns.ix), false, nil
	}
	seg.Lock()
	defer seg.Unlock()
	seg.IndexLocked(entries)
	ns.ix.db.reaccount(ns, seg)
	return seg, false, nil
}

// emptyIndexed is the segment a dropped namespace reads as: empty, with an
// (empty) index, never published.
func emptyIndexed(ix *indexState) *segment.Segment {
	s := newSegment(ix, 0)
	s.IndexLocked(nil) // not yet shared: no lock needed
	return s
}

// newSegment returns an empty segment for ix's records, with room for
// hint of them.
func newSegment(ix *indexState, hint int) *segment.Segment {
	return segment.New(ix.dim, ivfMetric(ix.metric), hint)
}
