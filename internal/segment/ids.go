package segment

import (
	"container/heap"

	"github.com/RoaringBitmap/roaring/v2"
)

// FirstIDsLocked returns, in order, the n smallest ids above after among
// the slots of b: a bounded heap, so a page costs O(matches log n) rather
// than a sort of every match.
// REQUIRES: s.mu held.
func (s *Segment) FirstIDsLocked(b *roaring.Bitmap, after string, n int) []string {
	h := &idHeap{}
	it := b.Iterator()
	for it.HasNext() {
		id := s.ids[it.Next()]
		if after != "" && id <= after {
			continue
		}
		if h.Len() < n {
			heap.Push(h, id)
		} else if id < (*h)[0] {
			(*h)[0] = id
			heap.Fix(h, 0)
		}
	}
	out := make([]string, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(string)
	}
	return out
}

// idHeap is a max-heap of ids: the root is the largest kept.
type idHeap []string

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
