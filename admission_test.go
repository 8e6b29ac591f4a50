package vectordb

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	keyA = tenantKey{ix: 1, name: "a"}
	keyB = tenantKey{ix: 1, name: "b"}
	keyC = tenantKey{ix: 2, name: "a"} // same name, other index
)

// acquireAsync starts an acquire and returns a channel that receives its
// result; it waits until the call is queued (or granted).
func acquireAsync(t *testing.T, s *scheduler, ctx context.Context, key tenantKey, bg bool) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	before := s.queued()
	go func() {
		if bg {
			done <- s.acquireBackground(ctx, key)
		} else {
			done <- s.acquire(ctx, key)
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
func (s *scheduler) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.waiting.Load()) + s.bgWaiting
}

// queuedFor counts key's calls waiting, foreground and background.
func (s *scheduler) queuedFor(key tenantKey) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tn := s.tenants[key]; tn != nil {
		return len(tn.waiters) + len(tn.bg)
	}
	return 0
}

// granted reports whether the call from acquireAsync whose result ch
// receives holds its slot; it must be the only call of key's that may be
// queued. The scheduler grants under mu, taking the call out of its
// queue, and only the test's own calls release slots, so the answer is
// settled when asked: a call still queued was not granted, and the
// result of one no longer queued is on its way (mustGrant waits for it).
func granted(t *testing.T, s *scheduler, ch <-chan error, key tenantKey) bool {
	t.Helper()
	if s.queuedFor(key) > 0 {
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

// idle checks that every slot is back and no state is left.
func (s *scheduler) checkIdle(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free != s.slots || len(s.tenants) != 0 || len(s.ring) != 0 || s.waiting.Load() != 0 || s.bgWaiting != 0 {
		t.Fatalf("scheduler not idle: free %d of %d, %d tenants, ring %d, waiting %d, bg %d",
			s.free, s.slots, len(s.tenants), len(s.ring), s.waiting.Load(), s.bgWaiting)
	}
}

func TestSchedulerNamespaceLimit(t *testing.T) {
	s := newScheduler(2, 1)
	if err := s.acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	// A second call of the same namespace waits, though a slot is free...
	a2 := acquireAsync(t, s, ctx, keyA, false)
	if granted(t, s, a2, keyA) {
		t.Fatal("a namespace got more slots than NamespaceConcurrency")
	}
	// ...which another namespace (also one of the same name in another
	// index) gets at once.
	if err := s.acquire(ctx, keyC); err != nil {
		t.Fatal(err)
	}
	s.release(keyC)
	if err := s.acquire(ctx, keyB); err != nil {
		t.Fatal(err)
	}
	s.release(keyA)
	mustGrant(t, a2, "queued call after release")
	s.release(keyA)
	s.release(keyB)
	s.checkIdle(t)
}

func TestSchedulerRoundRobin(t *testing.T) {
	s := newScheduler(1, 1)
	if err := s.acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	// Three more calls of A queue before one of B; B must not wait for
	// all of them.
	var order []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	queue := func(key tenantKey, name string) {
		ch := acquireAsync(t, s, ctx, key, false)
		wg.Go(func() {
			if err := <-ch; err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			s.release(key)
		})
	}
	queue(keyA, "a2")
	queue(keyA, "a3")
	queue(keyA, "a4")
	queue(keyB, "b1")
	s.release(keyA)
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
	s := newScheduler(1, 1)
	if err := s.acquire(context.Background(), keyA); err != nil {
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
	s.release(keyA)
	s.checkIdle(t)
}

func TestSchedulerBackgroundYieldsToForeground(t *testing.T) {
	s := newScheduler(1, 1)
	if err := s.acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	bg := acquireAsync(t, s, ctx, keyB, true)
	fg := acquireAsync(t, s, ctx, keyB, false)
	s.release(keyA)
	mustGrant(t, fg, "foreground")
	if granted(t, s, bg, keyB) {
		t.Fatal("background worker ran before a queued foreground call")
	}
	s.release(keyB)
	mustGrant(t, bg, "background after the foreground call")
	// tryExtra is refused while anyone waits, granted otherwise.
	fg2 := acquireAsync(t, s, ctx, keyA, false)
	if s.tryExtra(keyC) {
		t.Fatal("extra slot granted while a call waits")
	}
	s.release(keyB)
	mustGrant(t, fg2, "foreground after background")
	s.release(keyA)
	if !s.tryExtra(keyC) {
		t.Fatal("extra slot refused on an idle scheduler")
	}
	s.releaseExtra(keyC)
	s.checkIdle(t)
}

func TestSchedulerBackgroundShare(t *testing.T) {
	// Under a constant foreground queue, a background worker still gets
	// one slot in bgShare.
	s := newScheduler(1, 1)
	if err := s.acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	bg := acquireAsync(t, s, ctx, keyB, true)
	grants := 0
	for grants = 1; grants <= 2*bgShare; grants++ {
		fg := acquireAsync(t, s, ctx, keyA, false)
		s.release(keyA) // hands the only slot to fg, or to the background worker
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
			s.release(keyB)
			mustGrant(t, fg, "foreground after the background share")
			s.release(keyA)
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
	s := newScheduler(slots, perNS)
	keys := []tenantKey{keyA, keyB, keyC, {ix: 3, name: "z"}}
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
		s.release(keys[i])
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
					err = s.acquireBackground(ctx, keys[i])
				} else {
					err = s.acquire(ctx, keys[i])
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
				if r.IntN(3) == 0 && s.tryExtra(keys[i]) {
					if n := total.Add(1); n > slots {
						t.Errorf("%d slots held", n)
					}
					total.Add(-1)
					s.releaseExtra(keys[i])
				}
				if r.IntN(3) == 0 {
					held[i].Add(-1)
					total.Add(-1)
					s.yield(context.Background(), keys[i])
					take(i)
				}
				time.Sleep(time.Duration(r.IntN(50)) * time.Microsecond)
				give(i)
			}
		})
	}
	wg.Wait()
	s.checkIdle(t)
}

func TestNamespaceConcurrencyLimitsCalls(t *testing.T) {
	db := openMemWith(t, func(o *Options) { o.Concurrency, o.NamespaceConcurrency = 2, 1 })
	ix := mustIndex(t, db, "ix", 4, Euclidean)
	a, b := ix.Namespace("a"), ix.Namespace("b")
	for _, h := range []*Namespace{a, b} {
		if _, err := h.Upsert(ctx, []Record{{ID: "x", Values: []float32{1, 2, 3, 4}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Hold namespace a's only slot, as a long call of a would.
	if err := db.sched.acquire(ctx, a.key()); err != nil {
		t.Fatal(err)
	}
	q := QueryRequest{Vector: []float32{1, 2, 3, 4}, TopK: 1}
	if res, err := b.Query(ctx, q); err != nil || len(res.Matches) != 1 {
		t.Fatalf("b's query while a is busy: %v, %v", res, err)
	}
	// a's other calls queue for its slot (the scheduler lists them
	// waiting) until their context ends.
	for _, c := range []struct {
		what string
		call func(context.Context) error
	}{
		{"second call", func(c context.Context) error { _, err := a.Query(c, q); return err }},
		{"write", func(c context.Context) error {
			_, err := a.Upsert(c, []Record{{ID: "y", Values: []float32{1, 2, 3, 4}}})
			return err
		}},
	} {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.call(cctx) }()
		for deadline := time.Now().Add(30 * time.Second); db.sched.queuedFor(a.key()) == 0; time.Sleep(100 * time.Microsecond) {
			if len(done) > 0 || time.Now().After(deadline) {
				cancel()
				t.Fatalf("a's %s did not queue for its slot: %v", c.what, <-done)
			}
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("a's %s ran past NamespaceConcurrency: %v", c.what, err)
		}
	}
	db.sched.release(a.key())
	if res, err := a.Fetch(ctx, []string{"x", "y"}); err != nil || len(res.Records) != 1 {
		t.Fatalf("after release: %v, %v (the timed-out upsert must not have written)", res, err)
	}
	db.sched.checkIdle(t)
}

func TestConcurrencyOptions(t *testing.T) {
	for _, o := range []Options{
		{InMemory: true, Concurrency: -1},
		{InMemory: true, NamespaceConcurrency: -2},
		{InMemory: true, Concurrency: 2, NamespaceConcurrency: 3},
	} {
		_, err := Open("", &o)
		var ae *ArgumentError
		if !errors.As(err, &ae) {
			t.Errorf("Open with %+v: %v, want *ArgumentError", o, err)
		}
	}
	db := openMemWith(t, func(o *Options) { o.Concurrency = 1 })
	if db.opts.NamespaceConcurrency != 1 {
		t.Fatalf("default NamespaceConcurrency with Concurrency 1: %d", db.opts.NamespaceConcurrency)
	}
	db2 := openMemWith(t, func(o *Options) { o.Concurrency = 4 })
	if db2.opts.NamespaceConcurrency != 3 {
		t.Fatalf("default NamespaceConcurrency with Concurrency 4: %d", db2.opts.NamespaceConcurrency)
	}
}

// TestBackgroundBuildUnderLoad: with one slot for the whole DB and a
// caller querying without pause, the automatic IVF build (at background
// priority) still completes, on its share of the slot.
func TestBackgroundBuildUnderLoad(t *testing.T) {
	const n, dim = 3000, 16
	db := openMemWith(t, func(o *Options) { o.Concurrency, o.IVFMinRecords = 1, 1000 })
	ix := mustIndex(t, db, "c", dim, Euclidean)
	h := ix.Namespace("t")
	base, queries := ivfData(5, n, 20, dim, Euclidean)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := h.Query(ctx, QueryRequest{Vector: queries[(i%20)*dim : (i%20+1)*dim], TopK: 3}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	upsertAll(t, h, base, dim)
	waitIVF(t, ix, "t", anyIVF)
	close(stop)
	wg.Wait()
	db.sched.checkIdle(t)
}

// A background worker whose namespace is under its limit takes a free slot
// even while a namespace at its limit has calls queued.
func TestSchedulerBackgroundTakesFreeSlot(t *testing.T) {
	s := newScheduler(2, 1)
	if err := s.acquire(ctx, keyA); err != nil { // A at its limit, 1 slot free
		t.Fatal(err)
	}
	fg := acquireAsync(t, s, ctx, keyA, false) // A's second call queues: ring = [A]
	bg := acquireAsync(t, s, ctx, keyB, true)  // B's build worker: a slot is free, B holds none
	if !granted(t, s, bg, keyB) {
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Fatalf("B's background worker queued with free=%d, B running=%d (waits until A's long call ends)", s.free, s.tenants[keyB].running)
	}
	s.release(keyA)
	mustGrant(t, fg, "fg")
	s.release(keyA)
	s.release(keyB)
	s.checkIdle(t)
}

// A queued background worker of a namespace at its limit does not hold up
// another namespace's worker while a slot is free.
func TestSchedulerBackgroundNotBehindOthers(t *testing.T) {
	s := newScheduler(2, 1)
	if err := s.acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	bgA := acquireAsync(t, s, ctx, keyA, true) // A at limit: queues
	bgB := acquireAsync(t, s, ctx, keyB, true) // slot free, B idle
	if !granted(t, s, bgB, keyB) {
		t.Fatal("B's background worker queued behind A's with a free slot")
	}
	s.release(keyA)
	mustGrant(t, bgA, "bgA")
	s.release(keyA)
	s.release(keyB)
	s.checkIdle(t)
}

// checkInvariants checks the scheduler's bookkeeping: slots conserved,
// limits kept, ring membership, counters, no idle state kept, and no
// waiter left queued that a free slot could serve (for background
// waiters only when fgOnlyConservation is false: between a release and
// its dispatch they may briefly be).
func (s *scheduler) checkInvariants(t *testing.T, fgOnlyConservation bool) {
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
		s := newScheduler(cfg[0], cfg[1])
		keys := []tenantKey{keyA, keyB, keyC}
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
						err = s.acquireBackground(ctx, k)
					} else {
						err = s.acquire(ctx, k)
					}
					cancel()
					if err != nil {
						continue
					}
					n := (&admission{s: s, key: k}).ExtraWorkers(r.IntN(3))
					if r.IntN(2) == 0 {
						s.yield(context.Background(), k)
					}
					for range n {
						s.releaseExtra(k)
					}
					s.release(k)
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
	s := newScheduler(8, 2)
	for range 2 {
		if err := s.acquire(ctx, keyB); err != nil {
			t.Fatal(err)
		}
	}
	bq := acquireAsync(t, s, ctx, keyB, false) // B at its limit: queues
	if err := s.acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	if !s.tryExtra(keyA) {
		s.mu.Lock()
		t.Errorf("A refused a helper slot with %d of %d slots free (the only waiter is B's, at its limit)", s.free, s.slots)
		s.mu.Unlock()
	} else {
		s.releaseExtra(keyA)
	}
	s.release(keyA)
	s.release(keyB)
	mustGrant(t, bq, "B")
	s.release(keyB)
	s.release(keyB)
	s.checkIdle(t)
}

// TestSchedulerBorrowsIdleSlots: a namespace at its limit borrows an idle
// slot (its scan helpers and BuildIVF workers then use every core), and a
// call of another namespace that arrives meanwhile is contention: the
// borrowed slot, handed back, goes to it.
func TestSchedulerBorrowsIdleSlots(t *testing.T) {
	s := newScheduler(2, 1)
	if err := s.acquire(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	if !s.tryExtra(keyA) {
		t.Fatal("no idle slot lent to a namespace at its limit")
	}
	b := acquireAsync(t, s, ctx, keyB, false)
	if granted(t, s, b, keyB) {
		t.Fatal("granted with every slot held")
	}
	if !s.contended() {
		t.Fatal("a waiting call of another namespace is not contention")
	}
	if s.tryExtra(keyA) {
		t.Fatal("slot lent while a call waits")
	}
	s.releaseExtra(keyA)
	mustGrant(t, b, "the borrowed slot, handed back")
	s.release(keyA)
	s.release(keyB)
	s.checkIdle(t)
}
