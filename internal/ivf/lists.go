package ivf

import (
	"fmt"

	"github.com/vectordb-go/vectordb/simd"
)

// DeadSlot marks a removed entry in a list's slots.
const DeadSlot = ^uint32(0)

// noEntry marks a slot with no entry in Lists.where.
const noEntry = ^uint64(0)

// Lists are the inverted lists of a Quantizer: list j holds a copy of each
// vector assigned to centroid j, rows of Stride floats (zero-padded past
// Dim) in a 64-byte aligned buffer, and the caller's slot number of each.
// Every slot has at most one entry. Not safe for concurrent use with
// writers.
type Lists struct {
	q      *Quantizer
	stride int
	lists  []list
	where  []uint64 // slot -> list<<32 | position, or noEntry
	live   int
}

type list struct {
	vecs  []float32 // len(slots) rows of stride floats
	slots []uint32  // DeadSlot where removed
	dead  int
}

// NewLists returns empty lists for q, with rows of stride floats (at least
// q.Dim()).
func NewLists(q *Quantizer, stride int) *Lists {
	if stride < q.dim {
		panic(fmt.Sprintf("ivf: stride %d below dimension %d", stride, q.dim))
	}
	return &Lists{q: q, stride: stride, lists: make([]list, q.nlist)}
}

// Quantizer returns the lists' quantizer.
func (l *Lists) Quantizer() *Quantizer { return l.q }

// Stride is the row stride of the lists' vectors.
func (l *Lists) Stride() int { return l.stride }

// Len is the number of live entries.
func (l *Lists) Len() int { return l.live }

// Reserve sizes each list j for size[j] more entries, so that a bulk
// build allocates each list once.
func (l *Lists) Reserve(size []int) {
	for j, n := range size {
		ls := &l.lists[j]
		need := len(ls.slots) + n
		if cap(ls.slots) < need {
			ls.grow(need, l.stride)
		}
	}
}

func (ls *list) grow(rows, stride int) {
	vecs := simd.AlignedFloats(rows * stride)
	copy(vecs, ls.vecs)
	ls.vecs = vecs[:len(ls.slots)*stride]
	slots := make([]uint32, len(ls.slots), rows)
	copy(slots, ls.slots)
	ls.slots = slots
}

// Add puts slot, with vector vec (of length Dim), in list j, replacing any
// entry slot had.
func (l *Lists) Add(slot uint32, vec []float32, j int) {
	l.Remove(slot)
	ls := &l.lists[j]
	if len(ls.slots) == cap(ls.slots) {
		ls.grow(max(8, 2*cap(ls.slots)), l.stride)
	}
	pos := len(ls.slots)
	ls.slots = append(ls.slots, slot)
	ls.vecs = ls.vecs[:(pos+1)*l.stride]
	row := ls.vecs[pos*l.stride : (pos+1)*l.stride]
	copy(row, vec)
	clear(row[len(vec):])
	for int(slot) >= len(l.where) {
		l.where = append(l.where, noEntry)
	}
	l.where[slot] = uint64(j)<<32 | uint64(pos)
	l.live++
}

// ListOf returns the list holding slot, or -1.
func (l *Lists) ListOf(slot uint32) int {
	if int(slot) >= len(l.where) || l.where[slot] == noEntry {
		return -1
	}
	return int(l.where[slot] >> 32)
}

// Remove removes slot's entry, if it has one, and reports whether it had.
// A list with more dead entries than live ones is compacted.
func (l *Lists) Remove(slot uint32) bool {
	if int(slot) >= len(l.where) || l.where[slot] == noEntry {
		return false
	}
	w := l.where[slot]
	l.where[slot] = noEntry
	ls := &l.lists[w>>32]
	ls.slots[uint32(w)] = DeadSlot
	ls.dead++
	l.live--
	if ls.dead >= 16 && 2*ls.dead > len(ls.slots) {
		l.compact(int(w >> 32))
	}
	return true
}

// compact drops list j's dead entries.
func (l *Lists) compact(j int) {
	ls := &l.lists[j]
	out := 0
	for pos, slot := range ls.slots {
		if slot == DeadSlot {
			continue
		}
		if out != pos {
			copy(ls.vecs[out*l.stride:(out+1)*l.stride], ls.vecs[pos*l.stride:(pos+1)*l.stride])
			ls.slots[out] = slot
			l.where[slot] = uint64(j)<<32 | uint64(out)
		}
		out++
	}
	ls.slots = ls.slots[:out]
	ls.vecs = ls.vecs[:out*l.stride]
	ls.dead = 0
}

// Renumber changes every entry's slot to newSlot(slot), after the caller
// has renumbered its slots (a compaction). Every live slot must map to a
// distinct new slot.
func (l *Lists) Renumber(newSlot func(old uint32) uint32) {
	maxSlot := -1
	for j := range l.lists {
		ls := &l.lists[j]
		for pos, s := range ls.slots {
			if s != DeadSlot {
				ls.slots[pos] = newSlot(s)
				maxSlot = max(maxSlot, int(ls.slots[pos]))
			}
		}
	}
	l.where = make([]uint64, maxSlot+1)
	for i := range l.where {
		l.where[i] = noEntry
	}
	for j := range l.lists {
		for pos, s := range l.lists[j].slots {
			if s != DeadSlot {
				l.where[s] = uint64(j)<<32 | uint64(pos)
			}
		}
	}
}

// List returns list j: its rows (len(slots) rows of Stride floats) and
// the slot of each row, DeadSlot for removed ones. They are valid until
// the next change.
func (l *Lists) List(j int) (vecs []float32, slots []uint32) {
	ls := &l.lists[j]
	return ls.vecs, ls.slots
}

// ListLen returns the number of live entries of list j.
func (l *Lists) ListLen(j int) int { return len(l.lists[j].slots) - l.lists[j].dead }

// Imbalance is sum(size^2) * nlist / live^2 over the live list sizes: 1
// when every list has the same size, larger as they diverge. A scan's
// expected cost is proportional to it.
func (l *Lists) Imbalance() float64 {
	if l.live == 0 {
		return 1
	}
	var sq float64
	for j := range l.lists {
		n := float64(l.ListLen(j))
		sq += n * n
	}
	return sq * float64(len(l.lists)) / (float64(l.live) * float64(l.live))
}

// MemBytes is the approximate memory the lists hold, centroids included.
func (l *Lists) MemBytes() int64 {
	b := int64(len(l.q.cents)+len(l.q.cnorm))*4 + int64(cap(l.where))*8
	for j := range l.lists {
		b += int64(cap(l.lists[j].vecs))*4 + int64(cap(l.lists[j].slots))*4
	}
	return b
}
