package sched

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var ctx = context.Background()

var (
	keyA = Key{Index: 1, Namespace: "a"}
	keyB = Key{Index: 1, Namespace: "b"}
	keyC = Key{Index: 2, Namespace: "a"} // same name, other index
)

// acquireAsync starts an acquire and returns a channel that receives its
// result; it waits until the call is queued (or granted).
func acquireAsync(t *testing.T, s *Scheduler, ctx context.Context, key Key, bg bool) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	before := s.queued()
	go func() {
		if bg {
			done <- s.AcquireBackground(ctx, key)
		} else {
			done <- s.Acquire(ctx, key)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.queued() == before && len(done) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("acquire neither queued nor returned")
		}
		time.Sleep(100 * time.Microsecond)
	}
	return done
}

// queued counts the calls waiting, foreground and background.
func (s *Scheduler) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.waiting.Load()) + s.bgWaiting
}

// granted reports whether the call from acquireAsync whose result ch
// receives holds its slot; it must be the only call of key's that may be
// queued. The scheduler grants under mu, taking the call out of its
// queue, and only the test's own calls release slots, so the answer is
// settled when asked: a call still queued was not granted, and the
// result of one no longer queued is on its way (mustGrant waits for it).
func granted(t *testing.T, s *Scheduler, ch <-chan error, key Key) bool {
	t.Helper()
	if s.Queued(key) > 0 {
		return false
	}
	mustGrant(t, ch, "a call out of its queue")
	return true
}

func mustGrant(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not granted", what)
	}
}

// checkIdle checks that every slot is back and no state is left.
func (s *Scheduler) checkIdle(t *testing.T) {
	t.Helper()
	if err := s.Idle(); err != nil {
		t.Fatal(err)
	}
}

func TestSchedulerNamespaceLimit(t *testing.T) {
	s := New(2, 1)
	if err := s.Acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	// A second call of the same namespace waits, though a slot is free...
	a2 := acquireAsync(t, s, ctx, keyA, false)
	if granted(t, s, a2, keyA) {
		t.Fatal("a namespace got more slots than NamespaceConcurrency")
	}
	// ...which another namespace (also one of the same name in another
	// index) gets at once.
	if err := s.Acquire(ctx, keyC); err != nil {
		t.Fatal(err)
	}
	s.Release(keyC)
	if err := s.Acquire(ctx, keyB); err != nil {
		t.Fatal(err)
	}
	s.Release(keyA)
	mustGrant(t, a2, "queued call after release")
	s.Release(keyA)
	s.Release(keyB)
	s.checkIdle(t)
}

func TestSchedulerRoundRobin(t *testing.T) {
	s := New(1, 1)
	if err := s.Acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	// Three more calls of A queue before one of B; B must not wait for
	// all of them.
	var order []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	queue := func(key Key, name string) {
		ch := acquireAsync(t, s, ctx, key, false)
		wg.Go(func() {
			if err := <-ch; err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			s.Release(key)
		})
	}
	queue(keyA, "a2")
	queue(keyA, "a3")
	queue(keyA, "a4")
	queue(keyB, "b1")
	s.Release(keyA)
	wg.Wait()
	want := []string{"a2", "b1", "a3", "a4"}
	if len(order) != len(want) {
		t.Fatalf("grant order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("grant order %v, want %v", order, want)
		}
	}
	s.checkIdle(t)
}

func TestSchedulerCancelWhileQueued(t *testing.T) {
	s := New(1, 1)
	if err := s.Acquire(context.Background(), keyA); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := acquireAsync(t, s, ctx, keyB, false)
	bg := acquireAsync(t, s, ctx, keyB, true)
	cancel()
	for _, ch := range []<-chan error{b, bg} {
		if err := <-ch; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled acquire: %v", err)
		}
	}
	s.Release(keyA)
	s.checkIdle(t)
}

func TestSchedulerBackgroundYieldsToForeground(t *testing.T) {
	s := New(1, 1)
	if err := s.Acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	bg := acquireAsync(t, s, ctx, keyB, true)
	fg := acquireAsync(t, s, ctx, keyB, false)
	s.Release(keyA)
	mustGrant(t, fg, "foreground")
	if granted(t, s, bg, keyB) {
		t.Fatal("background worker ran before a queued foreground call")
	}
	s.Release(keyB)
	mustGrant(t, bg, "background after the foreground call")
	// tryExtra is refused while anyone waits, granted otherwise.
	fg2 := acquireAsync(t, s, ctx, keyA, false)
	if s.TryExtra(keyC) {
		t.Fatal("extra slot granted while a call waits")
	}
	s.Release(keyB)
	mustGrant(t, fg2, "foreground after background")
	s.Release(keyA)
	if !s.TryExtra(keyC) {
		t.Fatal("extra slot refused on an idle scheduler")
	}
	s.ReleaseExtra(keyC)
	s.checkIdle(t)
}

func TestSchedulerBackgroundShare(t *testing.T) {
	// Under a constant foreground queue, a background worker still gets
	// one slot in bgShare.
	s := New(1, 1)
	if err := s.Acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	bg := acquireAsync(t, s, ctx, keyB, true)
	grants := 0
	for grants = 1; grants <= 2*bgShare; grants++ {
		fg := acquireAsync(t, s, ctx, keyA, false)
		s.Release(keyA) // hands the only slot to fg, or to the background worker
		var bgFirst bool
		select { // whichever was granted, however late its goroutine runs
		case err := <-bg:
			if err != nil {
				t.Fatal(err)
			}
			bgFirst = true
		case err := <-fg:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("neither the foreground nor the background call was granted")
		}
		if bgFirst {
			s.Release(keyB)
			mustGrant(t, fg, "foreground after the background share")
			s.Release(keyA)
			break
		}
	}
	if grants > bgShare+1 {
		t.Fatalf("background worker waited %d grants, want at most %d", grants, bgShare+1)
	}
	s.checkIdle(t)
}

// TestSchedulerStress runs many callers of a few namespaces with random
// cancellations, extras and yields, and checks the limits at every grant
// and that everything is returned at the end (run with -race).
func TestSchedulerStress(t *testing.T) {
	const slots, perNS = 3, 2
	s := New(slots, perNS)
	keys := []Key{keyA, keyB, keyC, {Index: 3, Namespace: "z"}}
	var held [4]atomic.Int32
	var total atomic.Int32
	take := func(i int) {
		if n := held[i].Add(1); n > perNS {
			t.Errorf("namespace %d holds %d slots", i, n)
		}
		if n := total.Add(1); n > slots {
			t.Errorf("%d slots held", n)
		}
	}
	give := func(i int) {
		held[i].Add(-1)
		total.Add(-1)
		s.Release(keys[i])
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for range 300 {
				i := r.IntN(len(keys))
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(200))*time.Microsecond)
				var err error
				if r.IntN(4) == 0 {
					err = s.AcquireBackground(ctx, keys[i])
				} else {
					err = s.Acquire(ctx, keys[i])
				}
				cancel()
				if err != nil {
					continue
				}
				take(i)
				// give back before the extra's checks would race with
				// the yield's: the counters are updated around each.
				// A borrowed slot may pass the namespace's limit (the CPU
				// is idle), never the total.
				if r.IntN(3) == 0 && s.TryExtra(keys[i]) {
					if n := total.Add(1); n > slots {
						t.Errorf("%d slots held", n)
					}
					total.Add(-1)
					s.ReleaseExtra(keys[i])
				}
				if r.IntN(3) == 0 {
					held[i].Add(-1)
					total.Add(-1)
					s.Yield(context.Background(), keys[i])
					take(i)
				}
				for range r.IntN(50) { // hold the slot a while, without the clock
					runtime.Gosched()
				}
				give(i)
			}
		})
	}
	wg.Wait()
	s.checkIdle(t)
}

// A background worker whose namespace is under its limit takes a free slot
// even while a namespace at its limit has calls queued.
func TestSchedulerBackgroundTakesFreeSlot(t *testing.T) {
	s := New(2, 1)
	if err := s.Acquire(ctx, keyA); err != nil { // A at its limit, 1 slot free
		t.Fatal(err)
	}
	fg := acquireAsync(t, s, ctx, keyA, false) // A's second call queues: ring = [A]
	bg := acquireAsync(t, s, ctx, keyB, true)  // B's build worker: a slot is free, B holds none
	if !granted(t, s, bg, keyB) {
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("B's background worker queued with free=%d, B running=%d (waits until A's long call ends)", s.free, s.tenants[keyB].running)
	}
	s.Release(keyA)
	mustGrant(t, fg, "fg")
	s.Release(keyA)
	s.Release(keyB)
	s.checkIdle(t)
}

// A queued background worker of a namespace at its limit does not hold up
// another namespace's worker while a slot is free.
func TestSchedulerBackgroundNotBehindOthers(t *testing.T) {
	s := New(2, 1)
	if err := s.Acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	bgA := acquireAsync(t, s, ctx, keyA, true) // A at limit: queues
	bgB := acquireAsync(t, s, ctx, keyB, true) // slot free, B idle
	if !granted(t, s, bgB, keyB) {
		t.Fatal("B's background worker queued behind A's with a free slot")
	}
	s.Release(keyA)
	mustGrant(t, bgA, "bgA")
	s.Release(keyA)
	s.Release(keyB)
	s.checkIdle(t)
}

// checkInvariants checks the scheduler's bookkeeping: slots conserved,
// limits kept, ring membership, counters, no idle state kept, and no
// waiter left queued that a free slot could serve (for background
// waiters only when fgOnlyConservation is false: between a release and
// its dispatch they may briefly be).
func (s *Scheduler) checkInvariants(t *testing.T, fgOnlyConservation bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	run, w, bg := 0, 0, 0
	inRing := map[*tenant]int{}
	for _, r := range s.ring {
		inRing[r]++
	}
	for k, tn := range s.tenants {
		if tn.key != k {
			t.Errorf("key mismatch")
		}
		if tn.running < 0 || tn.running > s.perNS {
			t.Errorf("running %d", tn.running)
		}
		run += tn.running + tn.borrowed
		w += len(tn.waiters)
		bg += len(tn.bg)
		if tn.running == 0 && tn.borrowed == 0 && len(tn.waiters) == 0 && len(tn.bg) == 0 {
			t.Errorf("idle tenant kept")
		}
		if (len(tn.waiters) > 0) != tn.queued || (inRing[tn] == 1) != tn.queued || inRing[tn] > 1 {
			t.Errorf("ring membership: waiters %d queued %v inRing %d", len(tn.waiters), tn.queued, inRing[tn])
		}
		if s.free > 0 && len(tn.waiters) > 0 && tn.running < s.perNS {
			t.Errorf("foreground waiter of %v not granted with %d free", k, s.free)
		}
		if !fgOnlyConservation && s.free > 0 && len(tn.bg) > 0 && tn.running < s.perNS && len(s.ring) == 0 {
			t.Errorf("background waiter of %v not granted with %d free", k, s.free)
		}
	}
	if len(inRing) != len(s.ring) {
		t.Errorf("dup in ring")
	}
	for r := range inRing {
		if s.tenants[r.key] != r {
			t.Errorf("ring tenant not in map")
		}
	}
	if s.free != s.slots-run || s.free < 0 {
		t.Errorf("free %d, slots %d, running %d", s.free, s.slots, run)
	}
	if int(s.waiting.Load()) != w || s.bgWaiting != bg {
		t.Errorf("waiting %d/%d bg %d/%d", s.waiting.Load(), w, s.bgWaiting, bg)
	}
}

func TestSchedulerInvariants(t *testing.T) {
	for _, cfg := range [][2]int{{1, 1}, {2, 1}, {3, 2}, {4, 4}} {
		s := New(cfg[0], cfg[1])
		keys := []Key{keyA, keyB, keyC}
		stop := make(chan struct{})
		checker := make(chan struct{})
		go func() {
			defer close(checker)
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.checkInvariants(t, true)
				if t.Failed() {
					return
				}
			}
		}()
		var wg sync.WaitGroup
		for g := range 12 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), 7))
				for range 400 {
					k := keys[r.IntN(len(keys))]
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(100))*time.Microsecond)
					var err error
					if r.IntN(3) == 0 {
						err = s.AcquireBackground(ctx, k)
					} else {
						err = s.Acquire(ctx, k)
					}
					cancel()
					if err != nil {
						continue
					}
					n := (&Ticket{s: s, key: k}).ExtraWorkers(r.IntN(3))
					if r.IntN(2) == 0 {
						s.Yield(context.Background(), k)
					}
					for range n {
						s.ReleaseExtra(k)
					}
					s.Release(k)
				}
			})
		}
		wg.Wait()
		close(stop)
		<-checker
		s.checkInvariants(t, false)
		s.checkIdle(t)
	}
}

// Waiters that no freed slot could serve (their namespace is at its limit)
// do not count as contention: another namespace still gets helper slots.
func TestSchedulerContendedIgnoresWaitersAtLimit(t *testing.T) {
	s := New(8, 2)
	for range 2 {
		if err := s.Acquire(ctx, keyB); err != nil {
			t.Fatal(err)
		}
	}
	bq := acquireAsync(t, s, ctx, keyB, false) // B at its limit: queues
	if err := s.Acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	if !s.TryExtra(keyA) {
		s.mu.Lock()
		t.Errorf("A refused a helper slot with %d of %d slots free (the only waiter is B's, at its limit)", s.free, s.slots)
		s.mu.Unlock()
	} else {
		s.ReleaseExtra(keyA)
	}
	s.Release(keyA)
	s.Release(keyB)
	mustGrant(t, bq, "B")
	s.Release(keyB)
	s.Release(keyB)
	s.checkIdle(t)
}

// TestSchedulerBorrowsIdleSlots: a namespace at its limit borrows an idle
// slot (its scan helpers and BuildIVF workers then use every core), and a
// call of another namespace that arrives meanwhile is contention: the
// borrowed slot, handed back, goes to it.
func TestSchedulerBorrowsIdleSlots(t *testing.T) {
	s := New(2, 1)
	if err := s.Acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	if !s.TryExtra(keyA) {
		t.Fatal("no idle slot lent to a namespace at its limit")
	}
	b := acquireAsync(t, s, ctx, keyB, false)
	if granted(t, s, b, keyB) {
		t.Fatal("granted with every slot held")
	}
	if !s.Contended() {
		t.Fatal("a waiting call of another namespace is not contention")
	}
	if s.TryExtra(keyA) {
		t.Fatal("slot lent while a call waits")
	}
	s.ReleaseExtra(keyA)
	mustGrant(t, b, "the borrowed slot, handed back")
	s.Release(keyA)
	s.Release(keyB)
	s.checkIdle(t)
}
