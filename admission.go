package vectordb

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vectordb-go/vectordb/internal/ivf"
)

// Fair admission. Every namespace operation runs under a slot of the DB's
// scheduler: at most Options.Concurrency slots are held at once across the
// DB, at most Options.NamespaceConcurrency by one namespace. A call that
// finds no slot for it queues behind its namespace, and each freed slot
// goes to the next namespace in a round robin of those waiting, so a
// namespace with many callers gets the same turns as one with a single
// caller. With the default limits one namespace can never take the last
// slot, so a quiet tenant's query starts at once however busy another is.
//
// Work that may use more cores borrows slots, beyond its namespace's
// limit, only while they are free and nobody waits (tryExtra), and hands
// them back as soon as someone does (contended): the limit reserves room
// for other tenants without idling the CPU when there are none. Long operations yield between steps (yield), and IVF
// builds run their workers at background priority (scheduler.gate): they
// get a slot when no operation waits for one, and one in bgShare while
// operations queue.
//
// Deadlock rule: nothing waits for a slot while holding a namespace lock
// (writeMu, a segment's mu), since an admitted call may be waiting for
// that lock. Hence yields happen before a write takes its locks, and
// build workers pass the gate before they take a segment's read lock.

// tenantKey names a namespace for admission. Namespaces are keyed by name,
// not identity, so that calls on a name being created or recreated queue
// together.
type tenantKey struct {
	ix   uint32
	name string
}

// tenant is one namespace's admission state.
// All fields are guarded by scheduler.mu.
type tenant struct {
	key      tenantKey
	running  int             // slots held, at most perNS
	borrowed int             // free slots lent beyond the limit (tryExtra)
	waiters  []chan struct{} // foreground calls queued, first come first served
	bg       []chan struct{} // background workers queued
	queued   bool            // in scheduler.ring
}

// scheduler shares the DB's slots among namespaces.
type scheduler struct {
	slots, perNS int

	mu      sync.Mutex
	free    int
	tenants map[tenantKey]*tenant
	ring    []*tenant // namespaces with a queued foreground call, in turn order

	bgWaiting int // queued background workers
	fgStreak  int // foreground grants since the last background one, while one waited

	// waiting counts queued foreground calls, read without mu by
	// contended.
	waiting atomic.Int64
}

func newScheduler(slots, perNS int) *scheduler {
	return &scheduler{slots: slots, perNS: perNS, free: slots, tenants: make(map[tenantKey]*tenant)}
}

// acquire waits for a slot for key. On success the caller must release it.
// It fails only with ctx's error.
func (s *scheduler) acquire(ctx context.Context, key tenantKey) error {
	s.mu.Lock()
	t := s.tenantLocked(key)
	if s.free > 0 && t.running < s.perNS && len(t.waiters) == 0 {
		s.grantLocked(t)
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	t.waiters = append(t.waiters, ch)
	s.waiting.Add(1)
	if !t.queued {
		t.queued = true
		s.ring = append(s.ring, t)
	}
	s.mu.Unlock()
	return s.await(ctx, t, ch, func() {
		t.waiters = removeChan(t.waiters, ch)
		s.waiting.Add(-1)
	})
}

// acquireBackground waits for a slot for key at background priority: it is
// granted while no foreground call waits, or when its share is due (see
// bgShare). The caller must release it.
func (s *scheduler) acquireBackground(ctx context.Context, key tenantKey) error {
	s.mu.Lock()
	t := s.tenantLocked(key)
	if s.free > 0 && t.running < s.perNS && len(s.ring) == 0 && s.bgWaiting == 0 {
		s.grantLocked(t)
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	t.bg = append(t.bg, ch)
	s.bgWaiting++
	s.dispatchLocked() // a free slot may still be this worker's, or another's
	s.mu.Unlock()
	return s.await(ctx, t, ch, func() {
		t.bg = removeChan(t.bg, ch)
		s.bgWaiting--
	})
}

// await waits until ch, queued for t, is closed (the slot granted) or ctx
// is done. In the latter case dequeue, run under mu, takes the call out of
// its queue, unless the grant raced the cancellation: then the slot is
// handed on. (A tenant with a queued call stays in the map, so t is
// current.)
func (s *scheduler) await(ctx context.Context, t *tenant, ch chan struct{}, dequeue func()) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	select {
	case <-ch:
		s.mu.Unlock()
		s.release(t.key) // granted while we gave up: hand the slot on
	default:
		dequeue()
		s.forgetLocked(t)
		s.dispatchLocked() // the queue may have emptied: background work may run
		s.mu.Unlock()
	}
	return ctx.Err()
}

// tryExtra borrows a free slot for key if no call that a slot could serve
// waits, beyond the namespace's limit if need be: the CPU is idle, and the
// borrower hands the slot back (releaseExtra) as soon as anyone waits
// (contended) or its short step ends. The caller must releaseExtra it.
func (s *scheduler) tryExtra(key tenantKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantLocked(key)
	if s.free > 0 && !s.servableLocked() {
		t.borrowed++
		s.free--
		return true
	}
	s.forgetLocked(t)
	return false
}

// releaseExtra gives back a slot borrowed with tryExtra.
func (s *scheduler) releaseExtra(key tenantKey) {
	s.mu.Lock()
	t := s.tenants[key]
	t.borrowed--
	s.free++
	s.dispatchLocked()
	s.forgetLocked(t)
	s.mu.Unlock()
}

// contended reports whether a foreground call waits that a freed slot
// would serve (one whose namespace is under its limit). The common case,
// nobody waiting, costs one atomic load.
func (s *scheduler) contended() bool {
	if s.waiting.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.servableLocked()
}

// servableLocked reports whether a queued foreground call's namespace is
// under its limit.
// REQUIRES: mu held.
func (s *scheduler) servableLocked() bool {
	for _, t := range s.ring {
		if t.running < s.perNS {
			return true
		}
	}
	return false
}

// yield lets waiting calls go first: if any wait, it gives a slot of
// key's up and queues for it again. It returns holding the slot whatever
// happens to ctx (the wait is for others' short steps), so the caller's
// release stays paired; the caller checks ctx itself.
func (s *scheduler) yield(ctx context.Context, key tenantKey) {
	if !s.contended() {
		return
	}
	s.release(key)
	s.acquire(context.WithoutCancel(ctx), key) // fails only when ctx is done
}

// release gives back a slot of key's and hands free slots to the waiting.
func (s *scheduler) release(key tenantKey) {
	s.mu.Lock()
	t := s.tenants[key]
	t.running--
	s.free++
	s.dispatchLocked()
	s.forgetLocked(t)
	s.mu.Unlock()
}

// bgShare: while foreground calls queue, every bgShare-th slot freed goes
// to a waiting background worker, so that IVF builds progress under any
// load.
const bgShare = 8

// dispatchLocked grants free slots: to queued foreground calls, one
// namespace at a time in ring order, and to background workers when no
// foreground call can take a slot or their share is due.
// REQUIRES: mu held.
func (s *scheduler) dispatchLocked() {
	for s.free > 0 {
		if s.bgWaiting > 0 && (len(s.ring) == 0 || s.fgStreak >= bgShare) && s.grantBackgroundLocked() {
			s.fgStreak = 0
			continue
		}
		if s.grantForegroundLocked() {
			if s.bgWaiting > 0 {
				s.fgStreak++
			}
			continue
		}
		// Every queued namespace is at its limit: a background worker of
		// another may still run.
		if s.bgWaiting == 0 || !s.grantBackgroundLocked() {
			return
		}
	}
}

// grantForegroundLocked grants the first queued call of the first
// namespace in the ring that is under its limit, and moves that namespace
// to the back of the ring (round robin). It reports whether it granted.
// REQUIRES: mu held.
func (s *scheduler) grantForegroundLocked() bool {
	for i, t := range s.ring {
		if t.running >= s.perNS {
			continue
		}
		ch := t.waiters[0]
		t.waiters = t.waiters[1:]
		s.waiting.Add(-1)
		s.grantLocked(t)
		close(ch)
		s.ring = append(s.ring[:i], s.ring[i+1:]...)
		if len(t.waiters) > 0 {
			s.ring = append(s.ring, t)
		} else {
			t.queued = false
		}
		return true
	}
	return false
}

// grantBackgroundLocked grants a queued background worker of a namespace
// under its limit, and reports whether it did.
// REQUIRES: mu held.
func (s *scheduler) grantBackgroundLocked() bool {
	for _, t := range s.tenants {
		if len(t.bg) > 0 && t.running < s.perNS {
			ch := t.bg[0]
			t.bg = t.bg[1:]
			s.bgWaiting--
			s.grantLocked(t)
			close(ch)
			return true
		}
	}
	return false
}

// REQUIRES: mu held.
func (s *scheduler) grantLocked(t *tenant) {
	t.running++
	s.free--
}

// tenantLocked returns key's state, creating it.
// REQUIRES: mu held.
func (s *scheduler) tenantLocked(key tenantKey) *tenant {
	t := s.tenants[key]
	if t == nil {
		t = &tenant{key: key}
		s.tenants[key] = t
	}
	return t
}

// forgetLocked drops t's state once it holds and awaits nothing, so that
// the map holds only active namespaces.
// REQUIRES: mu held.
func (s *scheduler) forgetLocked(t *tenant) {
	if t.running == 0 && t.borrowed == 0 && len(t.waiters) == 0 && len(t.bg) == 0 {
		if t.queued {
			s.ring = removeTenant(s.ring, t)
			t.queued = false
		}
		delete(s.tenants, t.key)
	} else if t.queued && len(t.waiters) == 0 {
		s.ring = removeTenant(s.ring, t)
		t.queued = false
	}
}

func removeChan(chs []chan struct{}, ch chan struct{}) []chan struct{} {
	for i, c := range chs {
		if c == ch {
			return append(chs[:i], chs[i+1:]...)
		}
	}
	return chs
}

func removeTenant(ring []*tenant, t *tenant) []*tenant {
	for i, r := range ring {
		if r == t {
			return append(ring[:i], ring[i+1:]...)
		}
	}
	return ring
}

// admission is a call's hold on the scheduler: Namespace.begin returns
// it, and the call passes it, as a parameter, to the code below it that
// may take more cores (parallel scans) or hand its slot over (bulk
// writes). A nil *admission is a call outside the scheduler: it never
// yields and may borrow every core it asks for. A call runs in one
// goroutine, so since needs no lock.
type admission struct {
	s     *scheduler
	key   tenantKey
	since time.Time // when the call got (or got back) its slot
}

// yieldQuantum is how long a call holds its slot before yield gives it
// up to waiting calls: turns are then worth about the same whether a call
// yields or runs to its end (a query is a millisecond or more on a large
// namespace), so a yielding bulk write keeps its share.
const yieldQuantum = time.Millisecond

// Yield gives waiting calls their turn between steps of a's call, if it
// has held its slot for yieldQuantum; ctx bounds the wait for the slot's
// return.
func (a *admission) Yield(ctx context.Context) {
	if a == nil || time.Since(a.since) < yieldQuantum {
		return
	}
	a.s.yield(ctx, a.key)
	a.since = time.Now()
}

// ExtraWorkers borrows up to n slots for helper goroutines of a's call
// and returns how many it got, each to be given back with GiveBack;
// outside the scheduler (a nil a) it grants all n.
func (a *admission) ExtraWorkers(n int) (got int) {
	if a == nil {
		return n
	}
	for got < n && a.s.tryExtra(a.key) {
		got++
	}
	return got
}

// GiveBack returns one slot that ExtraWorkers lent.
func (a *admission) GiveBack() {
	if a != nil {
		a.s.releaseExtra(a.key)
	}
}

// Contended reports whether a helper of a's call should hand its core
// back: other calls wait for a slot.
func (a *admission) Contended() bool { return a != nil && a.s.contended() }

// gate returns an ivf.Gate that admits each block of an IVF build as a
// slot of key's, at background priority unless foreground. A foreground
// build (BuildIVF, which a caller waits for) also borrows idle slots;
// a background one stays within the namespace's limit, since its blocks
// (milliseconds each) would delay another tenant's next call.
func (s *scheduler) gate(key tenantKey, foreground bool) ivf.Gate {
	return func(ctx context.Context) (func(), error) {
		if foreground && s.tryExtra(key) {
			return func() { s.releaseExtra(key) }, nil
		}
		acquire := s.acquireBackground
		if foreground {
			acquire = s.acquire
		}
		if err := acquire(ctx, key); err != nil {
			return nil, err
		}
		return func() { s.release(key) }, nil
	}
}
