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
	page, err := ix.ListNamespaces(ctx, ListNamespacesOptions{})
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
	time.Sleep(20 * time.Millisecond)
	if err := ix.DeleteNamespace(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteIndex(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	waitDrops(t, db)
	stop.Store(true)
	wg.Wait()
	if writes.Load() == 0 {
		t.Fatal("the other tenant made no progress")
	}
}
