package vectordb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// TestMemoryBudgetEvicts queries more namespaces than the budget holds:
// the least recently used go cold, the hot bytes stay near the budget,
// and every answer is the same as with no budget.
func TestMemoryBudgetEvicts(t *testing.T) {
	const dim, perNS, nss = 64, 100, 30
	budget := int64(200 << 10)
	db := openMemWith(t, func(o *Options) { o.MemoryBudget = budget; o.IVFMinRecords = -1 })
	free := openMemWith(t, func(o *Options) { o.MemoryBudget = -1 })
	ix, ixFree := mustIndex(t, db, "m", dim, Cosine), mustIndex(t, free, "m", dim, Cosine)
	r := rand.New(rand.NewPCG(1, 2))
	for n := range nss {
		var recs []Record
		for i := range perNS {
			recs = append(recs, Record{ID: fmt.Sprintf("r%d", i), Values: randVec(r, dim), Metadata: Metadata{"i": float64(i)}})
		}
		for _, x := range []*Index{ix, ixFree} {
			if _, err := x.Namespace(fmt.Sprintf("t%d", n)).Upsert(ctx, recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	var peak int64
	for round := range 3 {
		for n := range nss {
			name := fmt.Sprintf("t%d", n)
			req := QueryRequest{Vector: randVec(r, dim), TopK: 5}
			if round == 1 {
				req.Filter = Filter{"i": Filter{"$lt": 50}}
			}
			got, err := ix.Namespace(name).Query(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ixFree.Namespace(name).Query(ctx, req)
			sameMatches(t, name, got.Matches, want.Matches)
			st, _ := db.Stats(ctx)
			peak = max(peak, st.HotBytes)
		}
	}
	st, err := db.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.Stats(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stats with a done context: %v", err)
	}
	one := ix.ix.lookup("t0").mem.Accounted()
	if one == 0 {
		one = 64 << 10
	}
	t.Logf("budget %d, peak %d, now %+v", budget, peak, st)
	if st.Evictions == 0 || st.HotNamespaces >= nss {
		t.Fatalf("no eviction: %+v", st)
	}
	// Between loads the hot set may pass the budget by the namespace
	// being loaded, no more.
	if peak > budget+2*one {
		t.Errorf("hot bytes peaked at %d, budget %d", peak, budget)
	}
	// Descriptions say which namespaces are hot.
	hot := 0
	for d, err := range ix.Namespaces(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if d.Hot {
			hot++
		}
	}
	if hot != st.HotNamespaces {
		t.Errorf("%d namespaces describe themselves hot, Stats says %d", hot, st.HotNamespaces)
	}
}

// TestEvictionRaces runs writes, queries, filtered queries, deletes and
// namespace deletions on many namespaces under a budget that holds two of
// them, so evictions race everything; each goroutine owns its namespaces
// and checks at the end that every acknowledged write is there.
func TestEvictionRaces(t *testing.T) {
	const dim, workers, perWorker = 16, 4, 3
	db := openMemWith(t, func(o *Options) { o.MemoryBudget = 12 << 10; o.IVFMinRecords = 50 })
	ix := mustIndex(t, db, "race", dim, Euclidean)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			model := make([]map[string][]float32, perWorker)
			for i := range model {
				model[i] = map[string][]float32{}
			}
			for step := range 400 {
				k := r.IntN(perWorker)
				name := fmt.Sprintf("w%d-n%d", w, k)
				h := ix.Namespace(name)
				var err error
				switch op := r.IntN(10); {
				case op < 4:
					var recs []Record
					for _, i := range r.Perm(80)[:1+r.IntN(20)] {
						id := fmt.Sprintf("id%d", i)
						recs = append(recs, Record{ID: id, Values: randVec(r, dim), Metadata: Metadata{"k": float64(len(id))}})
					}
					if _, err = h.Upsert(ctx, recs); err == nil {
						for _, rc := range recs {
							model[k][rc.ID] = rc.Values
						}
					}
				case op < 6:
					_, err = h.Query(ctx, QueryRequest{Vector: randVec(r, dim), TopK: 3, Filter: Filter{"k": Filter{"$gte": 3}}})
				case op < 8:
					_, err = h.Query(ctx, QueryRequest{Vector: randVec(r, dim), TopK: 3})
				case op < 9:
					id := fmt.Sprintf("id%d", r.IntN(80))
					if _, err = h.Delete(ctx, []string{id}); err == nil {
						delete(model[k], id)
					}
				default:
					if step%3 == 0 {
						err = ix.DeleteNamespace(ctx, name)
						if errors.Is(err, ErrNamespaceNotFound) {
							err = nil
						}
						if err == nil {
							model[k] = map[string][]float32{}
						}
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
			for k := range perWorker {
				h := ix.Namespace(fmt.Sprintf("w%d-n%d", w, k))
				for id, v := range model[k] {
					res, err := h.Query(ctx, QueryRequest{ID: id, TopK: 1, IncludeValues: true, Exact: true})
					if err != nil || len(res.Matches) != 1 || res.Matches[0].ID != id || !slices.Equal(res.Matches[0].Values, v) {
						t.Errorf("%s/%s: %v, %v", h.Name(), id, res.Matches, err)
						return
					}
				}
				d, err := ix.DescribeNamespace(ctx, h.Name())
				if err == nil && d.RecordCount != int64(len(model[k])) {
					t.Errorf("%s: %d records, model %d", h.Name(), d.RecordCount, len(model[k]))
				}
			}
		})
	}
	wg.Wait()
	st, _ := db.Stats(ctx)
	if st.Evictions == 0 {
		t.Errorf("no evictions: the test missed its point (%+v)", st)
	}
}

// TestEvictedSegmentNotReadWithNewerStorage: a reader that loaded a
// segment which was then evicted, and written past, must not pair it with
// a newer storage snapshot (values from before the write, metadata from
// after); readAgreeing refuses, and Query reloads.
func TestEvictedSegmentNotReadWithNewerStorage(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "e", 4, Euclidean)
	h := ix.Namespace("t")
	if _, err := h.Upsert(ctx, []Record{{ID: "a", Values: fill(4, 1), Metadata: Metadata{"v": 1.0}}}); err != nil {
		t.Fatal(err)
	}
	ns := ix.ix.lookup("t")
	seg, err := ns.hot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.evict(ns)
	if ns.seg.Load() != nil {
		t.Fatal("not evicted")
	}
	if _, err := h.Upsert(ctx, []Record{{ID: "a", Values: fill(4, 2), Metadata: Metadata{"v": 2.0}}}); err != nil {
		t.Fatal(err)
	}
	if snap, ok := ns.readAgreeing(seg); ok {
		snap.Discard()
		seg.RUnlock()
		t.Fatal("readAgreeing paired an evicted segment with a newer snapshot")
	}
	res, err := h.Query(ctx, QueryRequest{Vector: fill(4, 2), TopK: 1, IncludeValues: true, IncludeMetadata: true})
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Values[0] != 2 || res.Matches[0].Metadata["v"] != 2.0 {
		t.Fatalf("query after eviction and write: %+v, %v", res.Matches, err)
	}
}

// TestEvictionSkipsBuildsAndDroppedIndexes: eviction leaves a namespace
// with a build running alone, and a load that publishes after its index
// was dropped is not counted.
func TestEvictionSkipsBuildsAndDroppedIndexes(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "s", 4, Euclidean)
	h := ix.Namespace("t")
	if _, err := h.Upsert(ctx, []Record{{ID: "a", Values: fill(4, 1)}}); err != nil {
		t.Fatal(err)
	}
	ns := ix.ix.lookup("t")
	seg, err := ns.hot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ns.buildMu.Lock() // as a running IVF build holds it
	db.evict(ns)
	ns.buildMu.Unlock()
	if ns.seg.Load() != seg {
		t.Fatal("evicted a namespace during its build")
	}
	// DeleteIndex forgets its hot namespaces; a load of one that raced it
	// and publishes afterwards must not be counted.
	if err := db.DeleteIndex(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	ns.writeMu.Lock()
	db.addHot(ns, seg)
	db.reaccount(ns, seg)
	ns.writeMu.Unlock()
	if st, _ := db.Stats(ctx); st.HotNamespaces != 0 || st.HotBytes != 0 {
		t.Fatalf("after DeleteIndex: %+v", st)
	}
}

// TestBudgetSharedWithStorage: the storage engine's reserve comes out of
// the budget, and memtables are sized from it unless set.
func TestBudgetSharedWithStorage(t *testing.T) {
	for _, c := range []struct {
		budget, memtable                   int64
		wantMemtable, wantReserve, wantHot int64
	}{
		{256 << 20, 0, 16 << 20, 11 * 16 << 20, 256<<20 - 11*16<<20},
		{1 << 30, 0, 32 << 20, 3*32<<20 + 192<<20, 1<<30 - 3*32<<20 - 192<<20},
		{8 << 30, 0, 64 << 20, 3*64<<20 + 192<<20, 8<<30 - 3*64<<20 - 192<<20},
		{8 << 30, 4 << 20, 4 << 20, 11 * 4 << 20, 8<<30 - 11*4<<20},
		{64 << 10, 0, 16 << 20, 11 * 16 << 20, 16 << 10}, // under the reserve: a quarter
	} {
		db := openMemWith(t, func(o *Options) { o.MemoryBudget, o.MemTableSize, o.NumMemtables = c.budget, c.memtable, 0 })
		st, err := db.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if db.opts.MemTableSize != c.wantMemtable || st.StorageReserve != c.wantReserve || st.HotBudget != c.wantHot || st.MemoryBudget != c.budget {
			t.Errorf("budget %d, memtable %d: memtable %d, stats %+v; want memtable %d, reserve %d, hot %d",
				c.budget, c.memtable, db.opts.MemTableSize, st, c.wantMemtable, c.wantReserve, c.wantHot)
		}
		db.Close()
	}
	db := openMemWith(t, func(o *Options) { o.MemoryBudget = -1 })
	if st, _ := db.Stats(ctx); st.HotBudget != 0 || st.MemoryBudget != 0 {
		t.Errorf("no budget: %+v", st)
	}
}
