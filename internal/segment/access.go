package segment

import (
	"fmt"

	"github.com/vectordb-go/vectordb/internal/ivf"
)

// Lock takes the segment's lock for writing: every method named
// ...Locked requires the lock, for writing where it says so.
func (s *Segment) Lock() { s.mu.Lock() }

// Unlock releases the write lock.
func (s *Segment) Unlock() { s.mu.Unlock() }

// RLock takes the lock for reading.
func (s *Segment) RLock() { s.mu.RLock() }

// RUnlock releases the read lock.
func (s *Segment) RUnlock() { s.mu.RUnlock() }

// Dim is the dimension. Dim, Stride and Metric are fixed at New; they
// need no lock.
func (s *Segment) Dim() int { return s.dim }

// Stride is the length of a row in the arena: dim rounded up to
// strideAlign.
func (s *Segment) Stride() int { return s.stride }

// Metric is the segment's metric, in the IVF package's terms.
func (s *Segment) Metric() ivf.Metric { return s.metric }

// ascending reports whether lower scores rank first.
func (s *Segment) ascending() bool { return s.metric == ivf.L2 }

// LenLocked is the number of slots in use, live or deleted: slots are
// 0 to LenLocked()-1.
// REQUIRES: mu held.
func (s *Segment) LenLocked() int { return s.n }

// LiveLocked is the number of live records.
// REQUIRES: mu held.
func (s *Segment) LiveLocked() int { return s.live }

// SlotLocked returns the slot of record id.
// REQUIRES: mu held.
func (s *Segment) SlotLocked(id string) (uint32, bool) {
	slot, ok := s.slots[id]
	return slot, ok
}

// IDLocked returns the id of slot, "" if it is deleted.
// REQUIRES: mu held.
func (s *Segment) IDLocked(slot uint32) string { return s.ids[slot] }

// SparseLocked returns slot's sparse values (empty unless dotproduct).
// REQUIRES: mu held.
func (s *Segment) SparseLocked(slot uint32) Sparse {
	if s.metric != ivf.Dot {
		return Sparse{}
	}
	return s.sparse[slot]
}

// EpochLocked counts the compactions (each renumbers the slots).
// REQUIRES: mu held.
func (s *Segment) EpochLocked() uint64 { return s.epoch }

// Indexed reports whether the metadata index is built (IndexLocked).
func (s *Segment) Indexed() bool { return s.indexed.Load() }

// IVFLocked returns the segment's IVF, nil until one is built or loaded.
// REQUIRES: mu held.
func (s *Segment) IVFLocked() *IVF { return s.ivf }

// AccountIVFLocked brings the IVF's accounted bytes up to date after
// writes.
// REQUIRES: mu held for writing.
func (s *Segment) AccountIVFLocked() {
	if s.ivf != nil {
		s.ivfBytes.Store(s.ivf.Lists.MemBytes())
	}
}

// Entry is a record's metadata, for IndexLocked.
type Entry struct {
	ID string
	MD map[string]any // stored form
}

// IndexLocked builds the metadata index from every record's metadata (in
// entries; records without an entry have none, ids not in the segment
// are skipped) and marks the segment indexed: from then on every write
// keeps the index current.
// REQUIRES: mu held for writing.
func (s *Segment) IndexLocked(entries []Entry) {
	s.bulk = true
	for _, e := range entries {
		if slot, ok := s.slots[e.ID]; ok {
			s.meta[slot] = e.MD
			s.indexLocked(slot, e.MD)
		}
	}
	s.bulk = false
	s.MergeAllLocked()
	s.indexed.Store(true)
	s.accountMetadataLocked()
}

// CheckLocked reports whether the segment holds records live records,
// each under one id, and its IVF is consistent (IVFConsistentLocked).
// REQUIRES: mu held.
func (s *Segment) CheckLocked(records int64) error {
	if int64(s.live) != records || len(s.slots) != s.live {
		return fmt.Errorf("hot segment holds %d live rows (%d ids) for %d stored records", s.live, len(s.slots), records)
	}
	return s.IVFConsistentLocked()
}

// FingerprintLocked renders the slot bookkeeping and metadata, for tests
// that check a refused call changed nothing.
// REQUIRES: mu held.
func (s *Segment) FingerprintLocked() string {
	return fmt.Sprintf("%d %d %v %v", s.n, s.live, s.slots, s.meta)
}

// NumStaleLocked returns the stale entries of field's numeric column and
// the count that triggers its merge, for tests of the merge policy.
// REQUIRES: mu held.
func (s *Segment) NumStaleLocked(field string) (stale, mergeAt int) {
	fi := s.fields[field]
	if fi == nil {
		return 0, 0
	}
	return fi.nums.stale, fi.nums.mergeAt()
}
