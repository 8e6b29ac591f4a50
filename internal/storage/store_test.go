package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vectordb-go/vectordb/internal/testutil"
)

func testOptions(dir string) Options {
	return Options{Dir: dir, InMemory: dir == "", MemTableSize: 4 << 20, NumMemtables: 2, NumCompactors: 2, Logger: quiet{}}
}

type quiet = testutil.QuietLogger

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecondOpenIsLocked(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	defer s.Close()
	if _, err := Open(testOptions(dir)); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: err = %v, want ErrLocked", err)
	}
}

func TestCallerErrorsPassThrough(t *testing.T) {
	s := openTest(t, "")
	defer s.Close()
	mine := errors.New("mine")
	if err := s.Update(context.Background(), func(*Txn) error { return fmt.Errorf("wrapped: %w", mine) }); !errors.Is(err, mine) {
		t.Fatalf("Update lost the caller's error: %v", err)
	}
	if err := s.View(func(*Txn) error { return mine }); err != mine {
		t.Fatalf("View changed the caller's error: %v", err)
	}
}

// TestUpdateStopsRetryingWhenDone: a transaction that conflicts on every
// attempt is retried while its context lives, and no more once it is
// done: Update then returns the context's error, having committed
// nothing.
func TestUpdateStopsRetryingWhenDone(t *testing.T) {
	s := openTest(t, "")
	defer s.Close()
	key := VectorKey(1, 1, "k")
	conflicting := func(attempts *int, after func()) func(*Txn) error {
		return func(tx *Txn) error {
			*attempts++
			if _, err := tx.Get(key, nil); err != nil { // in the read set
				return err
			}
			// Another writer commits the key first: this attempt conflicts.
			if err := s.Update(context.Background(), func(o *Txn) error { return o.Set(key, []byte{byte(*attempts)}) }); err != nil {
				return err
			}
			after()
			return tx.Set(VectorKey(1, 1, "mine"), []byte("x"))
		}
	}
	var attempts int
	if err := s.Update(context.Background(), conflicting(&attempts, func() {})); !errors.Is(err, ErrConflict) || attempts != conflictRetries {
		t.Fatalf("live context: err = %v after %d attempts, want ErrConflict after %d", err, attempts, conflictRetries)
	}
	ctx, cancel := context.WithCancel(context.Background())
	attempts = 0
	if err := s.Update(ctx, conflicting(&attempts, cancel)); !errors.Is(err, context.Canceled) || attempts != 1 {
		t.Fatalf("cancelled context: err = %v after %d attempts, want context.Canceled after 1", err, attempts)
	}
	err := s.View(func(tx *Txn) error {
		if found, err := tx.Get(VectorKey(1, 1, "mine"), nil); found || err != nil {
			t.Fatalf("a conflicting transaction committed: found %v, %v", found, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTxnTooBigIsTranslated(t *testing.T) {
	s := openTest(t, "")
	defer s.Close()
	val := make([]byte, 64<<10)
	err := s.Update(context.Background(), func(t *Txn) error {
		for i := 0; ; i++ {
			if err := t.Set(VectorKey(1, 1, fmt.Sprint(i)), val); err != nil {
				return err
			}
		}
	})
	if !errors.Is(err, ErrTxnTooBig) {
		t.Fatalf("err = %v, want ErrTxnTooBig", err)
	}
}

func TestDeletePrefixLeavesNeighbours(t *testing.T) {
	s := openTest(t, "")
	defer s.Close()
	// Namespaces 1 and 256 of index 1: their ids share no byte-prefix
	// relation, but a string-prefix layout would have let "1" swallow
	// "1x"; the fixed-width layout must keep them apart.
	put := func(ns uint32, n int) {
		err := s.Update(context.Background(), func(t *Txn) error {
			for i := range n {
				if err := t.Set(VectorKey(1, ns, fmt.Sprintf("id%05d", i)), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(1, 3000)
	put(256, 10)
	put(2, 10)
	// A tiny chunk size forces many transactions.
	if err := s.DeletePrefix(context.Background(), NamespaceDataPrefix(1, 1), 1000); err != nil {
		t.Fatal(err)
	}
	if empty, err := s.PrefixEmpty(NamespaceDataPrefix(1, 1)); err != nil || !empty {
		t.Fatalf("namespace 1 not empty after DeletePrefix: %v %v", empty, err)
	}
	for _, ns := range []uint32{2, 256} {
		n := 0
		err := s.View(func(t *Txn) error {
			return t.Iterate(IterOptions{Prefix: NamespaceDataPrefix(1, ns), KeysOnly: true}, func(_, _ []byte) (bool, error) {
				n++
				return true, nil
			})
		})
		if err != nil || n != 10 {
			t.Fatalf("namespace %d has %d keys after deleting namespace 1 (%v), want 10", ns, n, err)
		}
	}
}

func TestIterateStartAndStop(t *testing.T) {
	s := openTest(t, "")
	defer s.Close()
	err := s.Update(context.Background(), func(t *Txn) error {
		for _, id := range []string{"a", "b", "c", "d"} {
			if err := t.Set(VectorKey(1, 1, id), []byte(id)); err != nil {
				return err
			}
		}
		return t.Set(VectorKey(1, 2, "a"), []byte("other"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = s.View(func(t *Txn) error {
		return t.Iterate(IterOptions{Prefix: VectorPrefix(1, 1), Start: VectorKey(1, 1, "b")}, func(k, v []byte) (bool, error) {
			got = append(got, string(v))
			return len(got) < 2, nil
		})
	})
	if err != nil || fmt.Sprint(got) != "[b c]" {
		t.Fatalf("Iterate = %v %v, want [b c]", got, err)
	}
	// A start before the prefix starts at the prefix.
	got = nil
	err = s.View(func(t *Txn) error {
		return t.Iterate(IterOptions{Prefix: VectorPrefix(1, 1), Start: []byte{0}}, func(k, v []byte) (bool, error) {
			got = append(got, string(v))
			return true, nil
		})
	})
	if err != nil || fmt.Sprint(got) != "[a b c d]" {
		t.Fatalf("Iterate from before prefix = %v %v", got, err)
	}
}

// TestDeletePrefixRespectsTxnCaps deletes more keys than one transaction
// may hold, with a byte budget far above the cap: DeletePrefix must split
// by Badger's entry and byte caps itself.
func TestDeletePrefixRespectsTxnCaps(t *testing.T) {
	s := openTest(t, "")
	defer s.Close()
	n := int(s.MaxTxnEntries()) * 2
	for b := 0; b < n; b += 1000 {
		err := s.Update(context.Background(), func(t *Txn) error {
			for i := b; i < b+1000; i++ {
				if err := t.Set(VectorKey(1, 1, fmt.Sprintf("%08d", i)), nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeletePrefix(context.Background(), NamespaceDataPrefix(1, 1), 1<<30); err != nil {
		t.Fatal(err)
	}
	if empty, err := s.PrefixEmpty(NamespaceDataPrefix(1, 1)); err != nil || !empty {
		t.Fatalf("not empty: %v %v", empty, err)
	}
}

func TestRunValueLogGC(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	if err := s.RunValueLogGC(0.5); !errors.Is(err, ErrNoGarbage) {
		t.Fatalf("gc of an empty value log: %v", err)
	}
	m := openTest(t, "")
	defer m.Close()
	if err := m.RunValueLogGC(0.5); !errors.Is(err, ErrNoGarbage) {
		t.Fatalf("gc in memory: %v", err)
	}
}

func TestNewFileErrorIsRecognised(t *testing.T) {
	err := fmt.Errorf("while opening memtables: while opening fid: 3 error: %v", errors.New("Create a new file"))
	if !isNewFileError(err) {
		t.Fatal("the Badger #2207 error is not recognised")
	}
	if isNewFileError(errors.New("permission denied")) {
		t.Fatal("an unrelated error is taken for #2207")
	}
}

// TestUpdateRetriesConflicts: concurrent read-modify-write transactions on
// one key conflict in Badger; Update retries them, so no increment is lost
// and no caller sees ErrConflict.
func TestUpdateRetriesConflicts(t *testing.T) {
	s, err := Open(testOptions(""))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := []byte("counter")
	const goroutines, each = 4, 200
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				err := s.Update(context.Background(), func(tx *Txn) error {
					v, _, err := tx.GetCopy(key)
					if err != nil {
						return err
					}
					n := uint64(0)
					if v != nil {
						n, _ = DecodeUint64(v)
					}
					return tx.Set(key, EncodeUint64(n+1))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var got uint64
	if err := s.View(func(tx *Txn) error {
		v, _, err := tx.GetCopy(key)
		got, _ = DecodeUint64(v)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got != goroutines*each {
		t.Fatalf("counter %d, want %d: increments lost", got, goroutines*each)
	}
}
