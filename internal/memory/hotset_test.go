package memory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// item is a test member.
type item struct {
	name string
	e    Entry
	busy bool // declines eviction
}

func newSet(budget int64) *HotSet[*item] {
	return NewHotSet(budget, func(it *item) *Entry { return &it.e })
}

// add makes it a member with b bytes, last used at stamp.
func add(t *testing.T, h *HotSet[*item], it *item, b, stamp int64) {
	t.Helper()
	if !h.Add(it, nil) {
		t.Fatalf("%s not added", it.name)
	}
	it.e.lastUse.Store(stamp) // a fixed LRU order, whatever the clock's resolution
	h.Account(it, b)
}

// TestHotSetAccounting: the total is the members' sum through adds,
// re-accounting, removals; a key that is not a member is never accounted.
func TestHotSetAccounting(t *testing.T) {
	h := newSet(0)
	a, b, c := &item{name: "a"}, &item{name: "b"}, &item{name: "c"}
	add(t, h, a, 10, 1)
	add(t, h, b, 20, 2)
	h.Account(a, 15)
	h.Account(c, 99) // not a member: ignored
	if h.Len() != 2 || h.Bytes() != 35 || c.e.Accounted() != 0 {
		t.Fatalf("len %d, bytes %d, c %d; want 2, 35, 0", h.Len(), h.Bytes(), c.e.Accounted())
	}
	if h.Add(c, func() bool { return false }) {
		t.Fatal("added a member whose live check failed")
	}
	h.Account(c, 5)
	h.Remove(a)
	h.Remove(a) // twice: no effect
	if h.Len() != 1 || h.Bytes() != 20 || a.e.Accounted() != 0 {
		t.Fatalf("after Remove: len %d, bytes %d, a %d", h.Len(), h.Bytes(), a.e.Accounted())
	}
	h.Account(a, 50) // removed: its bytes are not added back
	add(t, h, c, 7, 3)
	h.RemoveIf(func(it *item) bool { return it == b })
	if h.Len() != 1 || h.Bytes() != 7 {
		t.Fatalf("after RemoveIf: len %d, bytes %d", h.Len(), h.Bytes())
	}
	if h.Over() {
		t.Fatal("over a budget of none")
	}
}

// TestEnforceEvictsLeastRecentlyUsed: over budget, members go oldest
// first, except keep and those that decline, until the total is under
// EvictTarget of the budget; only counted evictions are counted.
func TestEnforceEvictsLeastRecentlyUsed(t *testing.T) {
	h := newSet(100)
	its := make([]*item, 6)
	for i := range its {
		its[i] = &item{name: fmt.Sprint(i)}
		add(t, h, its[i], 20, int64(10+i)) // 0 oldest, 5 newest
	}
	keep := its[0]
	its[1].busy = true
	var evicted []string
	evict := func(it *item) bool {
		if it.busy {
			return false
		}
		evicted = append(evicted, it.name)
		h.Remove(it)
		return it.name != "2" // say 2 was already cold: not counted
	}
	if !h.Over() {
		t.Fatalf("120 bytes not over a budget of 100")
	}
	h.Enforce(keep, evict)
	// 120 bytes, target 90: 2 and 3 go (1 is busy, 0 kept).
	if !slices.Equal(evicted, []string{"2", "3"}) || h.Bytes() != 80 || h.Evictions() != 1 {
		t.Fatalf("evicted %v, bytes %d, evictions %d; want [2 3], 80, 1", evicted, h.Bytes(), h.Evictions())
	}
	evicted = nil
	h.Enforce(keep, evict) // under budget: nothing to do
	if len(evicted) != 0 {
		t.Fatalf("evicted %v under budget", evicted)
	}
}

// TestHotSetConcurrent races adds, re-accounting, removals and
// enforcement; at the end the total is still the members' sum.
func TestHotSetConcurrent(t *testing.T) {
	h := newSet(500)
	its := make([]*item, 32)
	for i := range its {
		its[i] = &item{name: fmt.Sprint(i)}
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 2000 {
				it := its[r.IntN(len(its))]
				switch r.IntN(5) {
				case 0:
					h.Add(it, nil)
				case 1:
					h.Account(it, r.Int64N(100))
				case 2:
					h.Remove(it)
				case 3:
					it.e.Touch()
				default:
					h.Enforce(it, func(o *item) bool { h.Remove(o); return true })
				}
			}
		})
	}
	wg.Wait()
	var sum int64
	n := 0
	h.RemoveIf(func(it *item) bool { sum += it.e.Accounted(); n++; return false })
	if sum != h.Bytes() || n != h.Len() {
		t.Fatalf("members hold %d bytes (%d members), the set says %d (%d)", sum, n, h.Bytes(), h.Len())
	}
	for _, it := range its {
		if _, ok := h.members[it]; !ok && it.e.Accounted() != 0 {
			t.Fatalf("%s is not a member but has %d bytes accounted", it.name, it.e.Accounted())
		}
	}
}
