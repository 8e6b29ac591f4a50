package usage

import (
	"context"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
)

func TestCountersMarkFlushedNeverLowers(t *testing.T) {
	c := Loaded(3, 10)
	if c.Writes() != 3 || c.Reads() != 10 || c.Flushed() != 10 {
		t.Fatalf("loaded %d %d %d", c.Writes(), c.Reads(), c.Flushed())
	}
	c.AddReads(5)
	c.AddWrites(2)
	c.MarkFlushed(12)
	c.MarkFlushed(11) // a flush that read an older value finished last
	if c.Writes() != 5 || c.Reads() != 15 || c.Flushed() != 12 {
		t.Fatalf("after: %d %d %d", c.Writes(), c.Reads(), c.Flushed())
	}
}

// TestFlush: a flush persists the pending read units of live namespaces
// only, and marks them flushed.
func TestFlush(t *testing.T) {
	ctx := context.Background()
	s, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 4 << 20, NumMemtables: 2, NumCompactors: 2, Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ir := storage.IndexRecord{ID: 1, Dimension: 2, Metric: "cosine"}
	err = s.Update(ctx, func(t *storage.Txn) error {
		if err := t.Set(storage.IndexKey("ix"), ir.Encode()); err != nil {
			return err
		}
		return t.Set(storage.NamespaceKey(1, "live"), (&storage.NamespaceRecord{ID: 2}).Encode())
	})
	if err != nil {
		t.Fatal(err)
	}
	live := Entry{IndexName: "ix", IndexID: 1, Name: "live", ID: 2, Counters: Loaded(0, 4)}
	gone := Entry{IndexName: "ix", IndexID: 1, Name: "gone", ID: 3, Counters: Loaded(0, 0)}
	live.Counters.AddReads(3)
	gone.Counters.AddReads(9)
	f := NewFlusher(s, func(yield func(Entry) bool) { _ = yield(live) && yield(gone) })
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if live.Counters.Flushed() != 7 || gone.Counters.Flushed() != 0 {
		t.Fatalf("flushed %d and %d, want 7 and 0", live.Counters.Flushed(), gone.Counters.Flushed())
	}
	stored := func(ns uint32) (v uint64, ok bool) {
		err := s.View(func(t *storage.Txn) error {
			b, found, err := t.GetCopy(storage.ReadUnitsKey(1, ns))
			if ok = found; err != nil || !found {
				return err
			}
			v, err = storage.DecodeUint64(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return v, ok
	}
	if v, ok := stored(2); !ok || v != 7 {
		t.Fatalf("live namespace: stored %d (%v), want 7", v, ok)
	}
	if _, ok := stored(3); ok {
		t.Fatal("a dropped namespace's read units were written")
	}
}

type quiet struct{}

func (quiet) Errorf(string, ...any)   {}
func (quiet) Warningf(string, ...any) {}
func (quiet) Infof(string, ...any)    {}
func (quiet) Debugf(string, ...any)   {}

func TestUnits(t *testing.T) {
	for _, c := range []struct {
		bytes uint64
		wu    int
	}{{0, 5}, {1, 5}, {5000, 5}, {5001, 6}, {1 << 20, 1049}} {
		if got := WriteUnits(c.bytes); got != c.wu {
			t.Errorf("WriteUnits(%d) = %d, want %d", c.bytes, got, c.wu)
		}
	}
	if Kilobytes(0) != 0 || Kilobytes(1) != 1 || Kilobytes(1000) != 1 || Kilobytes(1001) != 2 {
		t.Error("Kilobytes does not round up to whole KB")
	}
	for n, want := range map[int]int{0: 1, 1: 1, 10: 1, 11: 2, 100: 10} {
		if got := FetchReadUnits(n); got != want {
			t.Errorf("FetchReadUnits(%d) = %d, want %d", n, got, want)
		}
	}
	if QueryReadUnits(0) != 1 || QueryReadUnits(1e9) != 1 || QueryReadUnits(1e9+1) != 2 {
		t.Error("QueryReadUnits is not 1 per started GB, at least 1")
	}
}
