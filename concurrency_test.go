package vectordb

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentTenants runs one writer per namespace, readers on every
// namespace, and namespace churn (delete and re-create) beside them, all at
// once. Each writer owns its namespace, so its final content is known;
// under -race this also checks the locking.
func TestConcurrentTenants(t *testing.T) {
	db := openDir(t, t.TempDir(), nil)
	defer db.Close()
	ix := mustIndex(t, db, "i", 8, Cosine)
	const tenants, rounds = 6, 60
	var wg sync.WaitGroup
	finals := make([]map[string][]float32, tenants)
	for w := range tenants {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			ns := ix.Namespace("tenant-" + strconv.Itoa(w))
			final := map[string][]float32{}
			for i := range rounds {
				switch r.IntN(5) {
				case 0:
					id := strconv.Itoa(r.IntN(20))
					if _, err := ns.Delete(ctx, []string{id}); err != nil {
						t.Error(err)
						return
					}
					delete(final, id)
				case 1:
					if _, err := ns.Query(ctx, QueryRequest{Vector: randVec(r, 8), TopK: 5}); err != nil {
						t.Error(err)
						return
					}
				default:
					var recs []Record
					for _, j := range r.Perm(20)[:1+r.IntN(5)] {
						id := strconv.Itoa(j)
						v := randVec(r, 8)
						v[0] = float32(i)
						recs = append(recs, Record{ID: id, Values: v})
						final[id] = v
					}
					if _, err := ns.Upsert(ctx, recs); err != nil {
						t.Error(err)
						return
					}
				}
			}
			finals[w] = final
		})
	}
	// Readers of every tenant, including ones being written.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			r := rand.New(rand.NewPCG(99, 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				ns := ix.Namespace("tenant-" + strconv.Itoa(r.IntN(tenants)))
				res, err := ns.Query(ctx, QueryRequest{Vector: randVec(r, 8), TopK: 3, IncludeValues: true})
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range res.Matches {
					if len(m.Values) != 8 {
						t.Errorf("torn match %+v", m)
					}
				}
				if _, err := ix.DescribeStats(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// Churn: a namespace deleted and re-created over and over.
	readers.Go(func() {
		churn := ix.Namespace("churn")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := churn.Upsert(ctx, []Record{{ID: "x", Values: fill(8, 1)}}); err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				if _, err := churn.DeleteAll(ctx); err != nil {
					t.Error(err)
				}
			} else if err := ix.DeleteNamespace(ctx, "churn"); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	for w, final := range finals {
		ns := ix.Namespace("tenant-" + strconv.Itoa(w))
		var ids []string
		for id := range final {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			continue
		}
		res, err := ns.Fetch(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for id, v := range final {
			if !slices.Equal(res.Records[id].Values, v) {
				t.Fatalf("tenant %d record %s = %v, want %v", w, id, res.Records[id].Values, v)
			}
		}
		d, _ := ix.DescribeNamespace(ctx, ns.Name())
		if d.RecordCount != int64(len(final)) {
			t.Fatalf("tenant %d count %d, want %d", w, d.RecordCount, len(final))
		}
	}
}

// TestConcurrentCreate races first upserts into one new namespace: exactly
// one namespace must come out, holding every record.
func TestConcurrentCreate(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Cosine)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			ns := ix.Namespace("new")
			if _, err := ns.Upsert(ctx, []Record{{ID: strconv.Itoa(w), Values: []float32{1, float32(w)}}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	page, err := ix.ListNamespaces(ctx, ListNamespacesRequest{})
	if err != nil || len(page.Namespaces) != 1 || page.Namespaces[0].RecordCount != 8 {
		t.Fatalf("namespaces = %+v %v", page, err)
	}
}

// TestConcurrentLoad races first queries on a cold namespace with writes:
// every query must see a consistent namespace and the final state all
// writes.
func TestConcurrentLoad(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "i", 16, Euclidean)
	var recs []Record
	for i := range 1000 {
		recs = append(recs, Record{ID: fmt.Sprint(i), Values: fill(16, float32(i+1))})
	}
	if _, err := ix.Namespace("t").Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDir(t, dir, nil)
	defer db.Close()
	ix, _ = db.Index("i")
	ns := ix.Namespace("t")
	var wg sync.WaitGroup
	for q := range 6 {
		wg.Go(func() {
			res, err := ns.Query(ctx, QueryRequest{Vector: fill(16, float32(q*100+1)), TopK: 1})
			if err != nil {
				t.Error(err)
				return
			}
			if len(res.Matches) != 1 || res.Matches[0].ID != fmt.Sprint(q*100) {
				t.Errorf("query %d = %+v", q, res.Matches)
			}
		})
	}
	wg.Go(func() {
		if _, err := ns.Upsert(ctx, []Record{{ID: "new", Values: fill(16, 5000)}}); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	res, err := ns.Query(ctx, QueryRequest{Vector: fill(16, 5000), TopK: 1})
	if err != nil || res.Matches[0].ID != "new" {
		t.Fatalf("write during load lost: %+v %v", res.Matches, err)
	}
}

// TestDropDoesNotDisturbOtherTenants deletes a large namespace, and a
// whole index, while another tenant writes continuously: the other tenant
// must see no error at all.
func TestDropDoesNotDisturbOtherTenants(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 40k records")
	}
	db := openDir(t, t.TempDir(), nil)
	defer db.Close()
	ix := mustIndex(t, db, "i", 64, Cosine)
	other := mustIndex(t, db, "other", 64, Cosine)
	big := make([]Record, 1000)
	for _, target := range []*Index{ix, other} {
		for b := range 20 {
			for i := range big {
				big[i] = Record{ID: fmt.Sprintf("%d-%d", b, i), Values: fill(64, 1)}
			}
			if _, err := target.Namespace("big").Upsert(ctx, big); err != nil {
				t.Fatal(err)
			}
		}
	}
	var (
		stop   atomic.Bool
		writes atomic.Int64
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		ns := ix.Namespace("busy")
		for i := 0; !stop.Load(); i++ {
			if _, err := ns.Upsert(ctx, []Record{{ID: strconv.Itoa(i % 100), Values: fill(64, float32(i%7+1))}}); err != nil {
				t.Errorf("other tenant's write failed during a drop: %v", err)
				return
			}
			writes.Add(1)
		}
	})
	// The drops start once the writer is under way, and it must go on
	// writing after them.
	progress := func(what string, past int64) int64 {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); writes.Load() <= past; time.Sleep(time.Millisecond) {
			if t.Failed() || time.Now().After(deadline) {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("the other tenant made no progress %s", what)
			}
		}
		return writes.Load()
	}
	before := progress("before the drops", 0)
	if err := ix.DeleteNamespace(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteIndex(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	waitDrops(t, db)
	progress("once the drops were done", before)
	stop.Store(true)
	wg.Wait()
}

// within fails the test if fn does not return within a generous bound:
// a liveness check (fn must not wait on the lock the test holds), not a
// timing measurement.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		fn()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s blocked", what)
	}
}

// TestDeleteIndexWaitsAlone holds an index's writer gate (a write in
// flight) while DeleteIndex waits for it: other indexes' catalog calls
// must not wait too.
func TestDeleteIndexWaitsAlone(t *testing.T) {
	db := openMem(t)
	a := mustIndex(t, db, "a", 2, Cosine)
	mustIndex(t, db, "b", 2, Cosine)
	a.ix.gate.RLock() // a writer of index a, mid-commit
	deleted := make(chan error, 1)
	go func() { deleted <- db.DeleteIndex(ctx, "a") }()
	// Wait until DeleteIndex waits for the gate: a pending writer lock
	// makes TryRLock fail.
	for deadline := time.Now().Add(30 * time.Second); a.ix.gate.TryRLock(); time.Sleep(time.Millisecond) {
		a.ix.gate.RUnlock()
		if len(deleted) > 0 {
			t.Fatalf("DeleteIndex returned (%v) while a write held the gate", <-deleted)
		}
		if time.Now().After(deadline) {
			t.Fatal("DeleteIndex never waited for the index's writer gate")
		}
	}
	within(t, "catalog calls during DeleteIndex", func() {
		if _, err := db.Index("b"); err != nil {
			t.Error(err)
		}
		if _, err := db.ListIndexes(ctx); err != nil {
			t.Error(err)
		}
		if _, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "c", Dimension: 2}); err != nil {
			t.Error(err)
		}
	})
	a.ix.gate.RUnlock()
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	_, err := db.Index("a")
	wantErr(t, err, ErrIndexNotFound)
}

// TestCreatorsDoNotWaitForEachOther holds one new namespace's creation
// (its first upsert mid-commit): creating and emptying other namespaces of
// the index must go on.
func TestCreatorsDoNotWaitForEachOther(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Cosine)
	if _, err := ix.Namespace("x").Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	unlock := ix.ix.lockName("new1")
	within(t, "other namespaces' catalog changes", func() {
		if _, err := ix.Namespace("new2").Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
			t.Error(err)
		}
		if _, err := ix.CreateNamespace(ctx, "new3"); err != nil {
			t.Error(err)
		}
		if _, err := ix.Namespace("x").DeleteAll(ctx); err != nil {
			t.Error(err)
		}
		if err := ix.DeleteNamespace(ctx, "new2"); err != nil {
			t.Error(err)
		}
	})
	// The held name's creator goes on once released.
	done := make(chan error, 1)
	go func() {
		_, err := ix.Namespace("new1").Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}})
		done <- err
	}()
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, _ := ix.DescribeStats(ctx)
	if len(st.Namespaces) != 3 || st.Namespaces["new1"].RecordCount != 1 || st.Namespaces["x"].RecordCount != 0 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestNamespaceIDsNeverRegress creates namespaces from many goroutines at
// once, reopens, and creates more: no id may be handed out twice.
func TestNamespaceIDsNeverRegress(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "i", 2, Cosine)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := ix.Namespace(fmt.Sprintf("w%d-%d", w, i)).Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	db.Close()
	db = openDir(t, dir, nil)
	defer db.Close()
	ix, _ = db.Index("i")
	if _, err := ix.Namespace("after").Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]string{}
	ix.ix.namespaces.Range(func(k, v any) bool {
		id := v.(*namespaceState).id
		if other, dup := seen[id]; dup {
			t.Errorf("namespaces %q and %q share id %d", other, k, id)
		}
		seen[id] = k.(string)
		return true
	})
	if len(seen) != 81 {
		t.Fatalf("%d namespaces, want 81", len(seen))
	}
}

// TestQueryMetadataMatchesValues races upserts that change a record's
// values and metadata together with queries that read both: a match must
// never pair the values of one version with the metadata of another.
func TestQueryMetadataMatchesValues(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 4, Euclidean).Namespace("t")
	version := func(i int) Record {
		return Record{ID: "a", Values: fill(4, float32(i)), Metadata: Metadata{"v": float64(i)}}
	}
	if _, err := ns.Upsert(ctx, []Record{version(1)}); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 2; !stop.Load(); i++ {
			if _, err := ns.Upsert(ctx, []Record{version(1 + i%2)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 3000 {
		res, err := ns.Query(ctx, QueryRequest{Vector: fill(4, 1), TopK: 1, IncludeValues: true, IncludeMetadata: true})
		if err != nil {
			t.Fatal(err)
		}
		if m := res.Matches[0]; float64(m.Values[0]) != m.Metadata["v"] {
			t.Fatalf("values %v with metadata %v", m.Values, m.Metadata)
		}
	}
	stop.Store(true)
	wg.Wait()
}

// TestLoadRacingDeleteIndex resolves a cold namespace, deletes its index
// and lets the janitor run, then loads: the load must see an empty
// namespace, not a partial one.
func TestLoadRacingDeleteIndex(t *testing.T) {
	db := openMem(t)
	h := mustIndex(t, db, "ix", 4, Cosine)
	recs := make([]Record, 50)
	for i := range recs {
		recs[i] = Record{ID: fmt.Sprint("r", i), Values: []float32{1, 2, 3, float32(i)}}
	}
	if _, err := h.Namespace("t").Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	ns := h.ix.lookup("t") // a query has resolved the namespace ...
	if err := db.DeleteIndex(ctx, "ix"); err != nil {
		t.Fatal(err)
	}
	waitDrops(t, db)        // ... the janitor removes the data ...
	seg, err := ns.hot(ctx) // ... and the query goes on
	if err != nil {
		t.Fatalf("load racing DeleteIndex: %v", err)
	}
	if seg.LiveLocked() != 0 || ns.seg.Load() != nil {
		t.Fatalf("a dropped namespace loaded %d records, published: %v", seg.LiveLocked(), ns.seg.Load() != nil)
	}
}
