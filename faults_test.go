package vectordb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
)

var errInjected = errors.New("injected storage fault")

// The hook is the storage package's; this file drives it.
var _ storage.FaultHook = nil

// TestFaultInjection fails the n-th storage operation of each public
// write, for n = 1, 2, ... until the write needs fewer: every call that
// meets a fault must return an error and leave the database exactly as it
// was (stored bytes and in-memory catalog), consistent by Check, and still
// writable; a call that succeeds despite a fault (retried, or a background
// task took it) must leave the database consistent.
func TestFaultInjection(t *testing.T) {
	ops := []struct {
		name string
		run  func(db *DB) error
	}{
		{"upsert new", func(db *DB) error {
			_, err := ns(db, "t").Upsert(ctx, []Record{{ID: "n1", Values: []float32{1, 1, 1, 1}, Metadata: Metadata{"c": "x"}}, {ID: "n2", Values: []float32{2, 2, 2, 2}}})
			return err
		}},
		{"upsert overwrite", func(db *DB) error {
			_, err := ns(db, "t").Upsert(ctx, []Record{{ID: "a", Values: []float32{9, 9, 9, 9}}})
			return err
		}},
		{"upsert new namespace", func(db *DB) error {
			_, err := ns(db, "fresh").Upsert(ctx, []Record{{ID: "a", Values: []float32{9, 9, 9, 9}}})
			return err
		}},
		{"update by id", func(db *DB) error {
			_, err := ns(db, "t").Update(ctx, UpdateRequest{ID: "a", Values: []float32{5, 5, 5, 5}, SetMetadata: Metadata{"u": 1}})
			return err
		}},
		{"update by filter", func(db *DB) error {
			_, err := ns(db, "t").Update(ctx, UpdateRequest{Filter: Filter{"c": "x"}, SetMetadata: Metadata{"u": 2}})
			return err
		}},
		{"delete", func(db *DB) error {
			_, err := ns(db, "t").Delete(ctx, []string{"a", "b"})
			return err
		}},
		{"delete by filter", func(db *DB) error {
			_, err := ns(db, "t").DeleteByFilter(ctx, Filter{"c": "x"})
			return err
		}},
		{"delete all", func(db *DB) error {
			_, err := ns(db, "t").DeleteAll(ctx)
			return err
		}},
		{"delete namespace", func(db *DB) error { return idx(db).DeleteNamespace(ctx, "t") }},
		{"create namespace", func(db *DB) error {
			_, err := idx(db).CreateNamespace(ctx, "made")
			return err
		}},
		{"set quota", func(db *DB) error {
			return idx(db).SetNamespaceQuota(ctx, "t", Quota{MaxRecords: 100})
		}},
		{"create index", func(db *DB) error {
			_, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "second", Dimension: 4})
			return err
		}},
		{"delete index", func(db *DB) error { return db.DeleteIndex(ctx, "ix") }},
		{"export and import", func(db *DB) error {
			var buf bytes.Buffer
			if _, err := ns(db, "t").Export(ctx, &buf); err != nil {
				return err
			}
			_, err := idx(db).ImportNamespace(ctx, "imported", &buf, nil)
			// A failed import's data go with a pending drop: let the
			// janitor finish before the database is compared.
			return afterDrops(db, err)
		}},
		{"JSON Lines export and import", func(db *DB) error {
			var buf bytes.Buffer
			if _, err := ns(db, "t").ExportJSONL(ctx, &buf); err != nil {
				return err
			}
			_, err := idx(db).ImportNamespaceJSONL(ctx, "imported", &buf, nil)
			return afterDrops(db, err)
		}},
		{"import replacing", func(db *DB) error {
			var buf bytes.Buffer
			if _, err := ns(db, "t").Export(ctx, &buf); err != nil {
				return err
			}
			_, err := idx(db).ImportNamespace(ctx, "t", &buf, &ImportOptions{Replace: true})
			return afterDrops(db, err)
		}},
		{"backup", func(db *DB) error {
			_, err := db.Backup(ctx, io.Discard)
			return err
		}},
		// Reads must fail cleanly too (and change nothing).
		{"fetch", func(db *DB) error {
			_, err := ns(db, "t").Fetch(ctx, []string{"a", "b"})
			return err
		}},
		{"query with metadata", func(db *DB) error {
			_, err := ns(db, "t").Query(ctx, QueryRequest{Vector: []float32{1, 2, 3, 4}, TopK: 2, IncludeMetadata: true})
			return err
		}},
		{"list", func(db *DB) error {
			_, err := ns(db, "t").List(ctx, ListRequest{})
			return err
		}},
		{"fetch by metadata", func(db *DB) error {
			_, err := ns(db, "t").FetchByMetadata(ctx, FetchByMetadataRequest{Filter: Filter{"c": "x"}})
			return err
		}},
	}
	total := 0
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			for n := 1; n < 500; n++ {
				db := openMemWith(t, func(o *Options) { o.ReadUnitsFlushInterval = 1 << 40 })
				ix := mustIndex(t, db, "ix", 4, Euclidean)
				if _, err := ix.Namespace("t").Upsert(ctx, []Record{
					{ID: "a", Values: []float32{1, 2, 3, 4}, Metadata: Metadata{"c": "x"}},
					{ID: "b", Values: []float32{4, 3, 2, 1}},
				}); err != nil {
					t.Fatal(err)
				}
				// Hot, with its metadata index, so that the segment is
				// part of what must not change.
				if _, err := ix.Namespace("t").Query(ctx, QueryRequest{Vector: []float32{1, 2, 3, 4}, TopK: 1, Filter: Filter{"c": "x"}}); err != nil {
					t.Fatal(err)
				}
				before := snapshot(t, db)
				var calls atomic.Int64
				var fired atomic.Bool
				db.store.SetFaultHook(func(string) error {
					if calls.Add(1) == int64(n) {
						fired.Store(true)
						return errInjected
					}
					return nil
				})
				err := op.run(db)
				db.store.SetFaultHook(nil)
				if err == nil && !fired.Load() {
					total += n - 1
					db.Close()
					return // the write needs fewer than n storage operations
				}
				if err != nil {
					if !errors.Is(err, errInjected) {
						t.Fatalf("fault at storage operation %d: %v, want the injected error", n, err)
					}
					if after := snapshot(t, db); !maps.Equal(after, before) {
						t.Fatalf("fault at storage operation %d: the failed call changed the database", n)
					}
				}
				if cerr := db.Check(ctx); cerr != nil {
					t.Fatalf("fault at storage operation %d (call returned %v): %v", n, err, cerr)
				}
				// Still writable, and the failed write can be redone.
				if err != nil {
					if err := op.run(db); err != nil {
						t.Fatalf("fault at storage operation %d: redoing the call: %v", n, err)
					}
					if err := db.Check(ctx); err != nil {
						t.Fatalf("fault at storage operation %d, after redoing: %v", n, err)
					}
				}
				db.Close()
			}
			t.Fatal("the write did not finish within 500 storage operations")
		})
	}
	t.Logf("%d injected faults across %d operations", total, len(ops))
}

func idx(db *DB) *Index {
	ix, err := db.Index("ix")
	if err != nil {
		panic(err)
	}
	return ix
}

func ns(db *DB, name string) *Namespace { return idx(db).Namespace(name) }

// afterDrops returns err, once the janitor has finished every pending
// drop if err is not nil. Should they not finish within a generous time,
// it returns an error that is not the injected one, failing the test.
func afterDrops(db *DB, err error) error {
	if err == nil {
		return nil
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		n, perr := db.pendingDrops()
		if perr == nil && n == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d drops still pending (%v) after the call failed with %v", n, perr, err)
		}
	}
}
