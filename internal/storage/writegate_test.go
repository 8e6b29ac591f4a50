package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb/internal/testutil"
)

// TestWriteGate: a drop waits for the transactions in flight and holds
// new ones back until it ends; both waits give up with their context and
// leave the gate as it was.
func TestWriteGate(t *testing.T) {
	var g writeGate
	bg := context.Background()
	if err := g.enter(bg); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- g.close(bg) }()
	// The drop must wait for the transaction in flight; a new
	// transaction must wait for the drop once it has begun.
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.idle != nil })
	select {
	case err := <-closed:
		t.Fatalf("close returned %v with a transaction in flight", err)
	default:
	}
	short, cancel := context.WithCancel(bg)
	cancel()
	if err := g.enter(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("enter during a drop with a done context: %v", err)
	}
	g.exit()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	// Held back until the drop ends (a done context proves the wait: an
	// open gate admits it).
	if err := g.enter(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("enter during a drop: %v", err)
	}
	entered := make(chan error, 1)
	go func() { entered <- g.enter(bg) }()
	g.open()
	if err := <-entered; err != nil {
		t.Fatal(err)
	}

	// A drop whose context ends while it waits leaves the gate open.
	if err := g.close(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("close with a done context and a transaction in flight: %v", err)
	}
	g.exit()
	if err := g.enter(short); err != nil {
		t.Fatalf("enter after an abandoned drop: %v", err)
	}
	g.exit()
	if g.drop != nil || g.idle != nil || g.active != 0 {
		t.Fatalf("gate not restored: %+v", &g)
	}
}

// TestDropPrefixUnderWrites: writers never stop while prefixes are
// dropped under them. Badger alone could deadlock here (a commit stamped
// as the drop blocked writes); every call must return, and the dropped
// prefix must be empty after its drop.
func TestDropPrefixUnderWrites(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := s.Update(ctx, func(tx *Txn) error {
					return tx.Set(VectorKey(1, uint32(w), fmt.Sprint(i)), make([]byte, 512))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for round := range 40 {
		ns := uint32(round % 4)
		if err := s.DropPrefix(ctx, NamespaceDataPrefix(1, ns)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// With the writers gone, a drop leaves its prefix empty.
	if err := s.DropPrefix(ctx, NamespaceDataPrefix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if empty, err := s.PrefixEmpty(NamespaceDataPrefix(1, 0)); err != nil || !empty {
		t.Fatalf("prefix not empty after its drop: %v, %v", empty, err)
	}
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "the condition holds", cond)
}
