package vectordb

import (
	"context"
	"fmt"

	"github.com/vectordb-go/vectordb/storage"
)

// hot returns the namespace's segment, loading it from storage on first
// use. Concurrent callers share one load. The load holds writeMu, so no
// write can slip between the snapshot it reads and the segment's
// publication; writers of this namespace wait for it.
func (ns *namespace) hot(ctx context.Context) (*segment, error) {
	if s := ns.seg.Load(); s != nil {
		return s, nil
	}
	ns.writeMu.Lock()
	defer ns.writeMu.Unlock()
	if s := ns.seg.Load(); s != nil {
		return s, nil
	}
	s, live, err := ns.load(ctx)
	if err != nil {
		return nil, err
	}
	if live {
		ns.seg.Store(s)
	}
	return s, nil
}

// loadCheckEvery is how many rows a load reads between context checks.
const loadCheckEvery = 4096

// load reads the namespace's vectors in key order, decoding each straight
// into its arena row. A namespace dropped since the caller resolved it
// (DeleteNamespace, DeleteAll or DeleteIndex, whose data the janitor may
// be removing) loads as empty and not live, and must not be published.
// REQUIRES: ns.writeMu held.
func (ns *namespace) load(ctx context.Context) (seg *segment, live bool, err error) {
	ix := ns.ix
	rows := 0
	err = ix.db.store.View(func(t *storage.Txn) error {
		if live, err = checkLive(t, ns); err != nil || !live {
			seg = newSegment(ix.dim, ix.metric, 0)
			return err
		}
		seg = newSegment(ix.dim, ix.metric, int(ns.records.Load()))
		err := t.Iterate(storage.IterOptions{Prefix: storage.VectorPrefix(ix.id, ns.id)}, func(k, v []byte) (bool, error) {
			if rows++; rows%loadCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return false, err
				}
			}
			id, err := storage.RecordIDFromKey(k)
			if err != nil {
				return false, err
			}
			view, err := storage.ParseVector(v)
			if err != nil {
				return false, err
			}
			if view.Dim != ix.dim {
				return false, fmt.Errorf("%w: record %q has dimension %d in an index of dimension %d", ErrCorrupt, id, view.Dim, ix.dim)
			}
			seg.appendLocked(string(id), &view)
			return true, nil
		})
		if err != nil {
			return err
		}
		// Then the metadata, into the filter index.
		err = t.Iterate(storage.IterOptions{Prefix: storage.MetadataPrefix(ix.id, ns.id)}, func(k, v []byte) (bool, error) {
			id, err := storage.RecordIDFromKey(k)
			if err != nil {
				return false, err
			}
			slot, ok := seg.slots[string(id)]
			if !ok {
				return false, fmt.Errorf("%w: metadata without a record: %q", ErrCorrupt, id)
			}
			md, _, err := storage.DecodeMetadata(v)
			if err != nil {
				return false, err
			}
			seg.meta[slot] = md
			seg.indexLocked(slot, md)
			return true, nil
		})
		seg.mergeAllLocked()
		return err
	})
	if err != nil {
		return nil, false, storageErr(err)
	}
	if live && int64(seg.live) != ns.records.Load() {
		return nil, false, fmt.Errorf("%w: namespace %q holds %d records, its counter says %d", ErrCorrupt, ns.name, seg.live, ns.records.Load())
	}
	return seg, live, nil
}

// appendLocked adds a record decoded from storage. Unlike putLocked it
// decodes straight into the arena row, with no intermediate copy.
// REQUIRES: mu held for writing, or the segment not yet shared.
func (s *segment) appendLocked(id string, v *storage.VectorView) {
	slot := s.newSlotLocked(id)
	row := s.rowLocked(slot)
	v.DenseInto(row[:s.dim])
	s.norms[slot] = norm(row[:s.dim])
	if s.metric == DotProduct {
		s.sparse[slot].idx, s.sparse[slot].val = v.Sparse()
	}
}
