package janitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

type quiet = testutil.QuietLogger

// warnings counts the janitor's warnings.
type warnings struct{ n atomic.Int64 }

func (w *warnings) Warningf(string, ...any) { w.n.Add(1) }

func openStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 4 << 20, NumMemtables: 2, NumCompactors: 2, Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fill writes n keys under prefix.
func fill(t *testing.T, s *storage.Store, prefix []byte, n int) {
	t.Helper()
	err := s.Update(context.Background(), func(tx *storage.Txn) error {
		for i := range n {
			if err := tx.Set(fmt.Appendf(append([]byte(nil), prefix...), "k%04d", i), make([]byte, 100)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// put records a drop of prefixes, as a catalog change would.
func put(t *testing.T, j *Janitor, s *storage.Store, prefixes ...[]byte) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx *storage.Txn) error {
		return j.Put(tx, &storage.DropRecord{Prefixes: prefixes})
	}); err != nil {
		t.Fatal(err)
	}
}

func empty(t *testing.T, s *storage.Store, p []byte) bool {
	t.Helper()
	ok, err := s.PrefixEmpty(p)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestProcessRemovesDroppedPrefixes: a pass removes every dropped prefix,
// by tombstones or DropPrefix, forgets the drops, and leaves other data.
func TestProcessRemovesDroppedPrefixes(t *testing.T) {
	for _, reclaim := range []int64{-1, 1, 1 << 40} { // tombstones only; DropPrefix always; above the size
		t.Run(fmt.Sprint(reclaim), func(t *testing.T) {
			s := openStore(t)
			j := New(s, Config{ReclaimMinBytes: reclaim, Logger: quiet{}})
			a, b, kept := storage.NamespaceDataPrefix(1, 1), storage.NamespaceDataPrefix(1, 2), storage.NamespaceDataPrefix(1, 3)
			fill(t, s, a, 10)
			fill(t, s, b, 500)
			fill(t, s, kept, 10)
			put(t, j, s, a)
			put(t, j, s, b)
			if n, err := j.Pending(); err != nil || n != 2 {
				t.Fatalf("pending %d, %v; want 2", n, err)
			}
			if err := j.process(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n, err := j.Pending(); err != nil || n != 0 {
				t.Fatalf("pending %d, %v after a pass; want 0", n, err)
			}
			if !empty(t, s, a) || !empty(t, s, b) || empty(t, s, kept) {
				t.Fatalf("dropped a empty %v, b empty %v; kept empty %v", empty(t, s, a), empty(t, s, b), empty(t, s, kept))
			}
		})
	}
}

// TestLoadIDs: ids found at open are never reused.
func TestLoadIDs(t *testing.T) {
	s := openStore(t)
	err := s.Update(context.Background(), func(tx *storage.Txn) error {
		for _, id := range []uint64{3, 7} {
			if err := tx.Set(storage.DropKey(id), (&storage.DropRecord{}).Encode()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	j := New(s, Config{Logger: quiet{}})
	if err := s.View(j.LoadIDs); err != nil {
		t.Fatal(err)
	}
	if j.NextID() != 8 {
		t.Fatalf("next id %d, want 8", j.NextID())
	}
	put(t, j, s, storage.NamespaceDataPrefix(2, 1))
	if j.NextID() != 9 {
		t.Fatalf("next id %d after a Put, want 9", j.NextID())
	}
	if n, err := j.Pending(); err != nil || n != 3 {
		t.Fatalf("pending %d, %v; want 3", n, err)
	}
}

// TestDropStaged: the data of imports left staged becomes pending drops,
// which a pass removes; a malformed staging key is corrupt.
func TestDropStaged(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	j := New(s, Config{Logger: quiet{}})
	if err := j.DropStaged(ctx); err != nil {
		t.Fatalf("nothing staged: %v", err)
	}
	staged, kept := storage.NamespaceDataPrefix(1, 5), storage.NamespaceDataPrefix(1, 6)
	fill(t, s, staged, 10)
	fill(t, s, kept, 10)
	if err := s.Update(ctx, func(tx *storage.Txn) error { return tx.Set(storage.StagingKey(1, 5), nil) }); err != nil {
		t.Fatal(err)
	}
	if err := j.DropStaged(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := j.Pending(); err != nil || n != 1 {
		t.Fatalf("pending %d, %v; want 1", n, err)
	}
	if !empty(t, s, storage.StagingPrefix()) {
		t.Fatal("the staging key is left")
	}
	if err := j.process(ctx); err != nil {
		t.Fatal(err)
	}
	if !empty(t, s, staged) || empty(t, s, kept) {
		t.Fatalf("staged empty %v, kept empty %v", empty(t, s, staged), empty(t, s, kept))
	}
	bad := append(storage.StagingPrefix(), 1)
	if err := s.Update(ctx, func(tx *storage.Txn) error { return tx.Set(bad, nil) }); err != nil {
		t.Fatal(err)
	}
	var ce *storage.CorruptError
	if err := j.DropStaged(ctx); !errors.As(err, &ce) || ce.What != "staging key 0701" {
		t.Fatalf("malformed staging key: %v", err)
	}
}

// waitFor waits, up to a generous deadline, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, testutil.Patience, what, cond)
}

// TestRunRetriesAndStops: Run works when woken, retries a failed pass by
// itself, and returns once its context ends.
func TestRunRetriesAndStops(t *testing.T) {
	s := openStore(t)
	var failing atomic.Bool
	injected := errors.New("injected")
	s.SetFaultHook(func(op string) error {
		if op == "update" && failing.Load() {
			return injected
		}
		return nil
	})
	var w warnings
	j := New(s, Config{ReclaimMinBytes: -1, Logger: &w})
	j.retry = time.Millisecond
	p := storage.NamespaceDataPrefix(1, 1)
	fill(t, s, p, 10)
	put(t, j, s, p)

	failing.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { j.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	j.Wake()
	waitFor(t, "a failed pass is logged", func() bool { return w.n.Load() > 0 })
	if n, err := j.Pending(); err != nil || n != 1 {
		t.Fatalf("pending %d, %v while failing; want 1", n, err)
	}
	failing.Store(false) // no Wake: the retry must come by itself
	waitFor(t, "the drop completes", func() bool {
		n, err := j.Pending()
		return err == nil && n == 0
	})
	if !empty(t, s, p) {
		t.Fatal("drop forgotten with data left")
	}

	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return once its context ended")
	}
}
