package vectordb

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
)

// errDropped: the namespace was dropped while its IVF was being persisted.
var errDropped = errors.New("vectordb: namespace dropped")

// ivfPartBytes caps one stored part of an IVF body.
const ivfPartBytes = 1 << 20

// persistIVF stores st, seg's IVF, so that a restart does not retrain: the
// centroids, and each record's list with a checksum of its values (see
// internal/storage/ivf.go). A namespace dropped meanwhile is left alone.
func (ns *namespace) persistIVF(ctx context.Context, seg *segment.Segment, st *segment.IVF) error {
	ix := ns.ix
	q := st.Lists.Quantizer()
	seg.RLock()
	if seg.IVFLocked() != st {
		seg.RUnlock()
		return nil // superseded
	}
	as := make([]storage.IVFAssignment, 0, st.Lists.Len())
	for j := range q.NList() {
		vecs, slots := st.Lists.List(j)
		for pos, slot := range slots {
			if slot != ivf.DeadSlot {
				off := pos * st.Lists.Stride()
				as = append(as, storage.IVFAssignment{ID: seg.IDLocked(slot), List: uint32(j), CRC: storage.VectorCRC(vecs[off : off+seg.Dim()])})
			}
		}
	}
	seg.RUnlock()
	slices.SortFunc(as, func(a, b storage.IVFAssignment) int { return strings.Compare(a.ID, b.ID) })
	body := storage.EncodeIVFBody(q.Centroids(), as)
	parts, h := storage.SplitIVFBody(body, min(ivfPartBytes, int(ix.db.store.MaxTxnBytes()/2)))
	// A new generation for every persist, the first re-persist of a
	// loaded index included, so the parts of the generation the header
	// names are never overwritten: a crash midway leaves the old index.
	var cur uint64
	err := ix.db.store.View(func(t *storage.Txn) error {
		v, ok, err := t.GetCopy(storage.IVFHeaderKey(ix.id, ns.id))
		if err != nil || !ok {
			return err
		}
		old, err := storage.DecodeIVFHeader(v)
		cur = old.Gen
		return err
	})
	if err != nil && !errors.Is(err, storage.ErrCorrupt) {
		return storageErr(err)
	}
	h.Gen = max(uint64(time.Now().UnixNano()), cur+1)
	h.Metric = uint8(q.Metric())
	h.Dim, h.NList = uint32(q.Dim()), uint32(q.NList())
	h.TrainedRecords, h.NProbe, h.Recall = uint64(st.Trained), uint32(st.NProbe), st.Recall
	h.Imbalance, h.BuiltAt, h.BuildNanos = st.Imbalance, st.BuiltAt.UnixNano(), int64(st.BuildTime)
	for i, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := ns.writeIVF(ctx, func(t *storage.Txn) error { return t.Set(storage.IVFPartKey(ix.id, ns.id, h.Gen, uint32(i)), p) })
		if err != nil {
			return ignoreDropped(err)
		}
	}
	if err := ns.writeIVF(ctx, func(t *storage.Txn) error { return t.Set(storage.IVFHeaderKey(ix.id, ns.id), h.Encode()) }); err != nil {
		return ignoreDropped(err)
	}
	ns.ivfDesc.Store(&ivfDescCache{describeIVF(st)})
	// Remove every other generation: the one replaced, and any a crash
	// left half written.
	var stale [][]byte
	err = ix.db.store.View(func(t *storage.Txn) error {
		return t.Iterate(storage.IterOptions{Prefix: storage.IVFPartsPrefix(ix.id, ns.id), KeysOnly: true}, func(k, _ []byte) (bool, error) {
			if gen, err := storage.IVFPartGen(k); err != nil || gen != h.Gen {
				stale = append(stale, slices.Clone(k))
			}
			return true, nil
		})
	})
	if err != nil {
		return storageErr(err)
	}
	for len(stale) > 0 {
		n := min(len(stale), 1000)
		err := ns.writeIVF(ctx, func(t *storage.Txn) error {
			for _, k := range stale[:n] {
				if err := t.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return ignoreDropped(err)
		}
		stale = stale[n:]
	}
	return nil
}

func ignoreDropped(err error) error {
	if errors.Is(err, errDropped) {
		return nil
	}
	return storageErr(err)
}

// writeIVF commits fn as a write of the namespace's IVF keys, under the
// same locks as record writes, so that nothing lands under the prefix of a
// dropped namespace (which the janitor may have cleared already).
func (ns *namespace) writeIVF(ctx context.Context, fn func(t *storage.Txn) error) error {
	ix := ns.ix
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	if ix.dropped.Load() {
		return errDropped
	}
	ns.writeMu.Lock()
	defer ns.writeMu.Unlock()
	if ns.dropped {
		return errDropped
	}
	return ix.db.store.Update(ctx, fn)
}

// loadIVF attaches the stored IVF, if any, to seg, freshly loaded in t
// (so its slots are in id order, as the stored assignments are). Records
// changed since the assignments were stored (their checksum differs) or
// written since are assigned again. It returns how many were. A stored
// IVF that does not match the index or fails its checksums is ignored,
// with a warning: it is derived data, and the next build replaces it.
func (ns *namespace) loadIVF(t *storage.Txn, seg *segment.Segment) (reassigned int, err error) {
	ix := ns.ix
	v, ok, err := t.GetCopy(storage.IVFHeaderKey(ix.id, ns.id))
	if err != nil || !ok {
		return 0, err
	}
	warn := func(err error) (int, error) {
		ix.db.opts.Logger.Warningf("ignoring the stored IVF index of namespace %q of index %q: %v", ns.name, ix.name, err)
		return 0, nil
	}
	h, err := storage.DecodeIVFHeader(v)
	if err != nil {
		return warn(err)
	}
	if int(h.Dim) != seg.Dim() || ivf.Metric(h.Metric) != seg.Metric() {
		return warn(errors.New("dimension or metric differ from the index's"))
	}
	// BodyLen is checked against the parts read; it is not trusted for an
	// allocation before that.
	body := make([]byte, 0, min(h.BodyLen, 64<<20))
	for i := range h.Parts {
		p, ok, err := t.GetCopy(storage.IVFPartKey(ix.id, ns.id, h.Gen, i))
		if err != nil {
			return 0, err
		}
		if !ok {
			return warn(errors.New("a body part is missing"))
		}
		body = append(body, p...)
	}
	cents, as, err := storage.DecodeIVFBody(&h, body)
	if err != nil {
		return warn(err)
	}
	q, err := ivf.NewQuantizer(ivf.Metric(h.Metric), seg.Dim(), cents)
	if err != nil {
		return warn(err)
	}
	// Merge the id-ordered assignments with the id-ordered slots.
	assign := make([]int32, seg.LenLocked())
	var scratch ivf.Scratch
	a := 0
	for slot := range uint32(seg.LenLocked()) {
		id := seg.IDLocked(slot)
		for a < len(as) && string(as[a].ID) < id {
			a++
		}
		row := seg.RowLocked(slot)[:seg.Dim()]
		if a < len(as) && string(as[a].ID) == id && as[a].CRC == storage.VectorCRC(row) {
			assign[slot] = int32(as[a].List)
		} else {
			assign[slot] = int32(q.Assign(row, &scratch))
			reassigned++
		}
	}
	lists := ivf.NewLists(q, seg.Stride())
	size := make([]int, q.NList())
	for _, j := range assign {
		size[j]++
	}
	lists.Reserve(size)
	for slot, j := range assign {
		lists.Add(uint32(slot), seg.RowLocked(uint32(slot))[:seg.Dim()], int(j))
	}
	st := headerState(&h)
	st.Lists = lists
	seg.SetIVFLocked(st)
	return reassigned, nil
}

// headerState is the ivfState a stored header describes, without lists.
func headerState(h *storage.IVFHeader) *segment.IVF {
	return &segment.IVF{
		NList: int(h.NList), NProbe: int(h.NProbe), Recall: h.Recall,
		Trained: int(h.TrainedRecords), Imbalance: h.Imbalance,
		BuiltAt: time.Unix(0, h.BuiltAt), BuildTime: time.Duration(h.BuildNanos),
	}
}

// storedIVF describes the stored IVF of a cold namespace, or returns nil.
// The answer is cached on the namespace (a description of many cold
// namespaces would otherwise read a key each), and replaced whenever the
// namespace stores a new index.
func (ns *namespace) storedIVF() *IVFDescription {
	if c := ns.ivfDesc.Load(); c != nil {
		return c.d
	}
	var d *IVFDescription
	_ = ns.ix.db.store.View(func(t *storage.Txn) error {
		v, ok, err := t.GetCopy(storage.IVFHeaderKey(ns.ix.id, ns.id))
		if err != nil || !ok {
			return err
		}
		h, err := storage.DecodeIVFHeader(v)
		if err != nil {
			return err
		}
		d = describeIVF(headerState(&h))
		return nil
	})
	ns.ivfDesc.CompareAndSwap(nil, &ivfDescCache{d})
	return d
}

// ivfDescCache holds a namespace's stored IVF description; d is nil when
// it has none.
type ivfDescCache struct{ d *IVFDescription }
