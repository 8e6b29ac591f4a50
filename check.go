package vectordb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/storage"
)

// Check verifies that the database is consistent, and returns an error
// wrapping ErrCorrupt that describes the first inconsistency it finds:
//
//   - every key in a namespace's data range belongs to a namespace of the
//     catalog, or lies under a pending drop;
//   - each namespace's stored records agree with its persisted and
//     in-memory counters (count and bytes), and every metadata entry
//     belongs to a record;
//   - a hot namespace's segment holds exactly the stored records, with
//     bit-identical values, and its IVF lists exactly its live rows;
//   - the storage engine's table checksums verify.
//
// Check reads everything: it is meant for tests and for operators, not for
// a hot path. It holds each namespace's writer lock while it checks that
// namespace, so writes to it wait; other namespaces are not disturbed.
func (db *DB) Check(ctx context.Context) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	db.mu.Lock()
	indexes := make([]*indexState, 0, len(db.mu.indexes))
	for _, ix := range db.mu.indexes {
		indexes = append(indexes, ix)
	}
	db.mu.Unlock()
	for _, ix := range indexes {
		var nss []*namespaceState
		ix.namespaces.Range(func(_, v any) bool {
			nss = append(nss, v.(*namespaceState))
			return true
		})
		for _, ns := range nss {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := ns.check(ctx); err != nil {
				return fmt.Errorf("%w: index %q, namespace %q: %v", ErrCorrupt, ix.name, ns.name, err)
			}
		}
	}
	if err := db.store.View(storage.CheckOrphans); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := db.store.VerifyChecksum(); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// check verifies one namespace: its stored records against its counters
// and, if hot, its segment.
func (ns *namespaceState) check(ctx context.Context) error {
	ns.writeMu.Lock()
	defer ns.writeMu.Unlock()
	if ns.dropped {
		return nil
	}
	ix := ns.ix
	return ix.db.store.View(func(t *storage.Txn) error {
		live, err := checkLive(t, ns)
		if err != nil || !live {
			return err // dropped since the listing
		}
		stored, ok, err := t.GetCopy(storage.StatsKey(ix.id, ns.id))
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("no stored counters")
		}
		st, err := storage.DecodeStats(stored)
		if err != nil {
			return err
		}
		metaSize := map[string]int{}
		err = storage.ScanRecords(ctx, t, storage.MetadataPrefix(ix.id, ns.id), func(id, v []byte) error {
			n, err := storage.MetadataJSONSize(v)
			metaSize[string(id)] = n
			return err
		})
		if err != nil {
			return err
		}
		seg := ns.seg.Load()
		if seg != nil {
			seg.RLock()
			defer seg.RUnlock()
		}
		var records int64
		var size uint64
		row := make([]float32, ix.dim)
		err = storage.ScanRecords(ctx, t, storage.VectorPrefix(ix.id, ns.id), func(id, v []byte) error {
			view, err := storage.ParseVector(v)
			if err != nil {
				return err
			}
			if view.Dim != ix.dim {
				return fmt.Errorf("record %q has dimension %d", id, view.Dim)
			}
			records++
			n := metaSize[string(id)]
			delete(metaSize, string(id))
			size += record.Size(string(id), n, view.Dim, view.NNZ)
			if seg == nil {
				return nil
			}
			slot, ok := seg.SlotLocked(string(id))
			if !ok {
				return fmt.Errorf("stored record %q is not in the hot segment", id)
			}
			view.DenseInto(row)
			if !bitsEqual(row, seg.RowLocked(slot)[:ix.dim]) {
				return fmt.Errorf("record %q: the hot segment's values differ from the stored ones", id)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for id := range metaSize {
			return fmt.Errorf("metadata without a record: %q", id)
		}
		switch {
		case records != ns.records.Load() || int64(st.Records) != records:
			return fmt.Errorf("%d stored records, counters say %d (memory) and %d (stored)", records, ns.records.Load(), st.Records)
		case size != ns.bytes.Load() || st.Bytes != size:
			return fmt.Errorf("%d bytes of records, counters say %d (memory) and %d (stored)", size, ns.bytes.Load(), st.Bytes)
		}
		if seg == nil {
			return nil
		}
		return seg.CheckLocked(records)
	})
}

// bitsEqual reports whether a and b hold the same float32 bit patterns.
func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
