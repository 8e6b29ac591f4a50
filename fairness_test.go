package vectordb

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Fairness through the public API; the scheduler's own tests are in
// internal/sched.

// checkSchedIdle checks that db's scheduler has every slot back.
func checkSchedIdle(t *testing.T, db *DB) {
	t.Helper()
	if err := db.sched.Idle(); err != nil {
		t.Fatal(err)
	}
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
	if err := db.sched.Acquire(ctx, a.key()); err != nil {
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
		for deadline := time.Now().Add(30 * time.Second); db.sched.Queued(a.key()) == 0; time.Sleep(100 * time.Microsecond) {
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
	db.sched.Release(a.key())
	if res, err := a.Fetch(ctx, []string{"x", "y"}); err != nil || len(res.Records) != 1 {
		t.Fatalf("after release: %v, %v (the timed-out upsert must not have written)", res, err)
	}
	checkSchedIdle(t, db)
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
	checkSchedIdle(t, db)
}
