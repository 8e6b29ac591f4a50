package memory

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is a member's accounting, held by the caller inside the member so
// that marking a use takes no lock. The zero Entry is ready.
type Entry struct {
	// While a member: the bytes accounted to it. Changed only under the
	// set's lock, so that the set's total is always the members' sum.
	accounted atomic.Int64
	// The last use, in Unix nanoseconds, for the LRU order.
	lastUse atomic.Int64
}

// Touch records a use now.
func (e *Entry) Touch() { e.lastUse.Store(time.Now().UnixNano()) }

// Accounted returns the bytes accounted to the member; 0 once it has left
// the set.
func (e *Entry) Accounted() int64 { return e.accounted.Load() }

// HotSet tracks the members held in memory against a budget. K identifies
// a member (vectordb: a namespace generation); the caller's entry function
// maps it to its Entry. All methods are safe for concurrent use.
type HotSet[K comparable] struct {
	budget int64 // hot budget in bytes; 0: none
	entry  func(K) *Entry

	mu        sync.Mutex
	members   map[K]struct{} // guarded by mu
	used      atomic.Int64   // sum of the members' accounted bytes
	evictions atomic.Uint64
}

// NewHotSet returns an empty set with a hot budget of budget bytes (0 or
// less: none); entry returns a member's Entry and must always return the
// same one for the same key.
func NewHotSet[K comparable](budget int64, entry func(K) *Entry) *HotSet[K] {
	return &HotSet[K]{budget: max(0, budget), entry: entry, members: make(map[K]struct{})}
}

// Add makes k a member, touched now, unless live, called under the set's
// lock, reports false. Callers that retire members set their own flag
// before calling RemoveIf, which takes the same lock: an Add racing it
// either sees the flag or is removed by it. Add does not account bytes:
// Account does.
func (h *HotSet[K]) Add(k K, live func() bool) bool {
	h.entry(k).Touch()
	h.mu.Lock()
	defer h.mu.Unlock()
	if live != nil && !live() {
		return false
	}
	h.members[k] = struct{}{}
	return true
}

// Account sets k's accounted bytes to b. A key that is not a member
// (evicted or removed meanwhile) is left alone, so that its bytes are
// never added back.
func (h *HotSet[K]) Account(k K, b int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.members[k]; !ok {
		return
	}
	if old := h.entry(k).accounted.Swap(b); old != b {
		h.used.Add(b - old)
	}
}

// Remove forgets k and its accounted bytes, if it is a member.
func (h *HotSet[K]) Remove(k K) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(k)
}

// RemoveIf forgets every member for which match reports true; match runs
// under the set's lock and must not call back into the set.
func (h *HotSet[K]) RemoveIf(match func(K) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.members {
		if match(k) {
			h.removeLocked(k)
		}
	}
}

// REQUIRES: h.mu held.
func (h *HotSet[K]) removeLocked(k K) {
	if _, ok := h.members[k]; ok {
		delete(h.members, k)
		h.used.Add(-h.entry(k).accounted.Swap(0))
	}
}

// Over reports whether the members' bytes exceed the budget.
func (h *HotSet[K]) Over() bool {
	return h.budget > 0 && h.used.Load() > h.budget
}

// Enforce, when the set is over budget, offers members other than keep to
// evict, least recently used first, until the accounted bytes are under
// EvictTarget of the budget. evict is called without the set's lock; it
// may decline (the member is busy), and otherwise must Remove the member
// itself, under whatever lock keeps it from being added back meanwhile,
// and report whether the eviction is to be counted (see Evictions).
func (h *HotSet[K]) Enforce(keep K, evict func(K) bool) {
	if !h.Over() {
		return
	}
	type cand struct {
		k    K
		used int64
	}
	h.mu.Lock()
	cands := make([]cand, 0, len(h.members))
	for k := range h.members {
		if k != keep {
			cands = append(cands, cand{k, h.entry(k).lastUse.Load()})
		}
	}
	h.mu.Unlock()
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.used, b.used) })
	target := int64(float64(h.budget) * EvictTarget)
	for _, c := range cands {
		if h.used.Load() <= target {
			return
		}
		if evict(c.k) {
			h.evictions.Add(1)
		}
	}
}

// Len returns the number of members.
func (h *HotSet[K]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.members)
}

// Bytes returns the members' accounted bytes.
func (h *HotSet[K]) Bytes() int64 { return h.used.Load() }

// Budget returns the hot budget; 0 means none.
func (h *HotSet[K]) Budget() int64 { return h.budget }

// Evictions returns how many counted evictions Enforce has made.
func (h *HotSet[K]) Evictions() uint64 { return h.evictions.Load() }
