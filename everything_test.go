package vectordb_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

// TestEverythingAtOnceThenClose runs every public operation from many
// goroutines across a few namespaces (with namespace drops, IVF builds and
// evictions), then closes the database under them: each call either
// succeeds, fails with an error its documentation allows, or, once Close
// has begun, returns ErrClosed; afterwards the directory reopens
// consistent (run with -race).
func TestEverythingAtOnceThenClose(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.IVFMinRecords, o.MemoryBudget = 64, 32<<10
	db := openDir(t, dir, o)
	ix := mustIndex(t, db, "ix", 8, vectordb.Cosine)
	names := []string{"", "a", "b\xff", "c/d"}
	allowed := func(err error) bool {
		return err == nil || errors.Is(err, vectordb.ErrClosed) || errors.Is(err, vectordb.ErrNamespaceNotFound) ||
			errors.Is(err, vectordb.ErrQuotaExceeded) || errors.Is(err, vectordb.ErrNamespaceExists) || errors.Is(err, vectordb.ErrEmptyNamespace)
	}
	const buildIVF = 18 // a kind of its own among the calls of case 15
	var succeeded [19]atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 42))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h := ix.Namespace(names[r.IntN(len(names))])
				id := fmt.Sprint("r", r.IntN(200))
				var err error
				kind, called := r.IntN(18), true
				switch kind {
				case 0, 1, 2:
					recs := make([]vectordb.Record, 1+r.IntN(30))
					for j := range recs {
						recs[j] = vectordb.Record{ID: fmt.Sprint("r", (r.IntN(200)+j)%200), Values: randVec(r, 8), Metadata: vectordb.Metadata{"g": float64(j % 3)}}
					}
					_, err = h.Upsert(ctx, dedupeRecords(recs))
				case 3:
					_, err = h.Update(ctx, vectordb.UpdateRequest{ID: id, Values: randVec(r, 8), SetMetadata: vectordb.Metadata{"u": 1}})
				case 4:
					_, err = h.Update(ctx, vectordb.UpdateRequest{Filter: vectordb.Filter{"g": 1.0}, SetMetadata: vectordb.Metadata{"f": float64(i)}})
				case 5:
					_, err = h.Delete(ctx, []string{id, fmt.Sprint("r", r.IntN(200))})
				case 6:
					_, err = h.DeleteByFilter(ctx, vectordb.Filter{"g": 2.0})
				case 7:
					if called = r.IntN(4) == 0; called {
						_, err = h.DeleteAll(ctx)
					}
				case 8:
					if called = r.IntN(4) == 0; called {
						err = ix.DeleteNamespace(ctx, h.Name())
					}
				case 9:
					_, err = ix.CreateNamespace(ctx, h.Name())
				case 10, 11:
					_, err = h.Query(ctx, vectordb.QueryRequest{Vector: randVec(r, 8), TopK: 5, IncludeMetadata: r.IntN(2) == 0, Filter: vectordb.Filter{"g": float64(r.IntN(3))}})
				case 12:
					_, err = h.Fetch(ctx, []string{id})
				case 13:
					_, err = h.List(ctx, vectordb.ListRequest{Limit: 10})
				case 14:
					if _, err = ix.DescribeStats(ctx); err == nil {
						_, err = db.Stats(ctx)
					}
				case 16:
					var buf bytes.Buffer
					if _, err = h.Export(ctx, &buf); err == nil {
						_, err = ix.ImportNamespace(ctx, names[r.IntN(len(names))], &buf, &vectordb.ImportOptions{Replace: r.IntN(2) == 0})
					}
				case 17:
					if called = r.IntN(10) == 0; called {
						_, err = db.Backup(ctx, io.Discard)
					}
				case 15:
					if r.IntN(10) == 0 {
						kind = buildIVF
						_, err = h.BuildIVF(ctx)
					} else {
						err = ix.SetNamespaceQuota(ctx, h.Name(), vectordb.Quota{MaxRecords: 150})
					}
				}
				if !allowed(err) {
					t.Errorf("goroutine %d, step %d: %v", g, i, err)
					return
				}
				if called && err == nil {
					succeeded[kind].Add(1)
				}
			}
		})
	}
	// Close once every kind of call has succeeded at least once, while
	// they all go on.
	var kind int
	var least int64
	testutil.Poll(time.Minute, func() bool {
		kind, least = 0, succeeded[0].Load()
		for k := range succeeded {
			if n := succeeded[k].Load(); n < least {
				kind, least = k, n
			}
		}
		return least >= 1 || t.Failed()
	})
	if least < 1 {
		close(stop)
		wg.Wait()
		db.Close()
		t.Fatalf("calls of kind %d succeeded %d times before Close", kind, least)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close under load: %v", err)
	}
	close(stop)
	wg.Wait()
	db = openDir(t, dir, o)
	defer db.Close()
	waitDrops(t, db)
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// dedupeRecords keeps the last record of each id.
func dedupeRecords(recs []vectordb.Record) []vectordb.Record {
	seen := map[string]int{}
	out := recs[:0]
	for _, r := range recs {
		if i, ok := seen[r.ID]; ok {
			out[i] = r
			continue
		}
		seen[r.ID] = len(out)
		out = append(out, r)
	}
	return out
}
