package segment

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/storage"
)

// The segment's side of a stored IVF (the records themselves, and the
// transactions that write and read them, are package storage's): each
// live row's list goes with its id and the checksum of its values, so
// that a load can match the assignments to its slots and tell which
// records have changed since.

// EncodeIVF returns st, the segment's IVF, as storage stores it: the
// header's description fields, and the body (the centroids, then each
// live record's list, in id order). ok is false if st is no longer the
// segment's IVF (a newer build superseded it).
func (s *Segment) EncodeIVF(st *IVF) (h storage.IVFHeader, body []byte, ok bool) {
	q := st.Lists.Quantizer()
	s.mu.RLock()
	if s.ivf != st {
		s.mu.RUnlock()
		return h, nil, false
	}
	as := make([]storage.IVFAssignment, 0, st.Lists.Len())
	for j := range q.NList() {
		vecs, slots := st.Lists.List(j)
		for pos, slot := range slots {
			if slot != ivf.DeadSlot {
				off := pos * st.Lists.Stride()
				as = append(as, storage.IVFAssignment{ID: s.ids[slot], List: uint32(j), CRC: storage.VectorCRC(vecs[off : off+s.dim])})
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(as, func(a, b storage.IVFAssignment) int { return strings.Compare(a.ID, b.ID) })
	h = storage.IVFHeader{
		Metric: uint8(q.Metric()), Dim: uint32(q.Dim()), NList: uint32(q.NList()),
		TrainedRecords: uint64(st.Trained), NProbe: uint32(st.NProbe), Recall: st.Recall,
		Imbalance: st.Imbalance, BuiltAt: st.BuiltAt.UnixNano(), BuildNanos: int64(st.BuildTime),
	}
	return h, storage.EncodeIVFBody(q.Centroids(), as), true
}

// LoadIVFLocked puts the stored IVF in service, its lists filled from the
// segment's rows, which must be in id order (as a load from storage
// leaves them): the stored assignments are merged with the slots.
// Records changed since the assignments were stored (their checksum
// differs) or written since are assigned again; it returns how many
// were. An error means the stored IVF does not fit the segment (its
// dimension, metric or centroids), and nothing was changed.
// REQUIRES: mu held for writing, or the segment not yet shared.
func (s *Segment) LoadIVFLocked(stored *storage.StoredIVF) (reassigned int, err error) {
	h := &stored.Header
	if int(h.Dim) != s.dim || ivf.Metric(h.Metric) != s.metric {
		return 0, errors.New("dimension or metric differ from the index's")
	}
	q, err := ivf.NewQuantizer(s.metric, s.dim, stored.Centroids)
	if err != nil {
		return 0, err
	}
	as := stored.Assignments
	assign := make([]int32, s.n)
	var scratch ivf.Scratch
	a := 0
	for slot := range uint32(s.n) {
		id := s.ids[slot]
		for a < len(as) && string(as[a].ID) < id {
			a++
		}
		row := s.RowLocked(slot)[:s.dim]
		if a < len(as) && string(as[a].ID) == id && as[a].CRC == storage.VectorCRC(row) {
			assign[slot] = int32(as[a].List)
		} else {
			assign[slot] = int32(q.Assign(row, &scratch))
			reassigned++
		}
	}
	lists := ivf.NewLists(q, s.stride)
	size := make([]int, q.NList())
	for _, j := range assign {
		size[j]++
	}
	lists.Reserve(size)
	for slot, j := range assign {
		lists.Add(uint32(slot), s.RowLocked(uint32(slot))[:s.dim], int(j))
	}
	st := HeaderIVF(h)
	st.Lists = lists
	s.ivf = st
	s.ivfBytes.Store(lists.MemBytes())
	return reassigned, nil
}

// HeaderIVF is the IVF a stored header describes, without lists: what a
// description of a namespace not in memory reports.
func HeaderIVF(h *storage.IVFHeader) *IVF {
	return &IVF{
		NList: int(h.NList), NProbe: int(h.NProbe), Recall: h.Recall,
		Trained: int(h.TrainedRecords), Imbalance: h.Imbalance,
		BuiltAt: time.Unix(0, h.BuiltAt), BuildTime: time.Duration(h.BuildNanos),
	}
}
