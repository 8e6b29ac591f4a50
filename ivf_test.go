package vectordb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb/benchmarks/datagen"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
)

// ivfData returns n base vectors and nq held-out queries of a generated
// data set (see benchmarks/datagen), normalized for cosine.
func ivfData(seed uint64, n, nq, dim int, m Metric) (base, queries []float32) {
	g := datagen.New(datagen.Config{Dim: dim, Seed: seed, Normalize: m == Cosine}, n)
	base, queries = make([]float32, n*dim), make([]float32, nq*dim)
	g.Fill(base, seed)
	g.Fill(queries, seed+1)
	return base, queries
}

func ivfID(i int) string { return fmt.Sprintf("r%06d", i) }

// upsertAll writes base as records r000000... with metadata g = i%7.
func upsertAll(t testing.TB, h *Namespace, base []float32, dim int) {
	t.Helper()
	n := len(base) / dim
	for lo := 0; lo < n; lo += 500 {
		var recs []Record
		for i := lo; i < min(n, lo+500); i++ {
			recs = append(recs, Record{ID: ivfID(i), Values: base[i*dim : (i+1)*dim], Metadata: Metadata{"g": float64(i % 7)}})
		}
		if _, err := h.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
}

// touch queries the namespace, which loads it: automatic IVF builds start
// only in hot namespaces.
func touch(t testing.TB, h *Namespace, dim int) {
	t.Helper()
	if _, err := h.Query(ctx, QueryRequest{Vector: fill(dim, 1), TopK: 1}); err != nil {
		t.Fatal(err)
	}
}

// waitIVF waits until the namespace's IVF satisfies ok.
func waitIVF(t testing.TB, ix *Index, name string, ok func(*IVFDescription) bool) IVFDescription {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := ix.DescribeNamespace(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if d.IVF != nil && ok(d.IVF) {
			return *d.IVF
		}
		if time.Now().After(deadline) {
			t.Fatalf("IVF of %q not ready: %+v", name, d.IVF)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func anyIVF(*IVFDescription) bool { return true }

// sameMatches fails unless a and b hold the same ids and scores in the
// same order.
func sameMatches(t testing.TB, what string, a, b []Match) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d matches vs %d", what, len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Score != b[i].Score {
			t.Fatalf("%s: match %d is %s %v vs %s %v", what, i, a[i].ID, a[i].Score, b[i].ID, b[i].Score)
		}
	}
}

// checkIVF fails unless the namespace is hot with an IVF that holds
// exactly its live rows (see ivfConsistent).
func checkIVF(t testing.TB, ix *Index, name string) {
	t.Helper()
	seg := ix.ix.lookup(name).seg.Load()
	seg.RLock()
	defer seg.RUnlock()
	if seg.IVFLocked() == nil {
		t.Fatal("no IVF")
	}
	if err := seg.IVFConsistentLocked(); err != nil {
		t.Fatal(err)
	}
}

// allListsEqualExact fails unless probing every list answers each of the
// first nq queries exactly as the exact scan does.
func allListsEqualExact(t testing.TB, h *Namespace, queries []float32, dim, nq, lists int, what string) {
	t.Helper()
	for i := range nq {
		qv := queries[i*dim : (i+1)*dim]
		exact, err := h.Query(ctx, QueryRequest{Vector: qv, TopK: 10, Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		all, err := h.Query(ctx, QueryRequest{Vector: qv, TopK: 10, NProbe: lists})
		if err != nil {
			t.Fatal(err)
		}
		sameMatches(t, what, all.Matches, exact.Matches)
	}
}

// recallOf is the recall@10 of req (its Vector set from each query in
// turn) against the exact scan with the same filter.
func recallOf(t testing.TB, h *Namespace, queries []float32, dim int, req QueryRequest) float64 {
	t.Helper()
	found, total := 0, 0
	for i := range len(queries) / dim {
		req.Vector, req.TopK = queries[i*dim:(i+1)*dim], 10
		exact, err := h.Query(ctx, QueryRequest{Vector: req.Vector, TopK: 10, Filter: req.Filter, Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.Query(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range exact.Matches {
			total++
			if slices.ContainsFunc(got.Matches, func(g Match) bool { return g.ID == e.ID }) {
				found++
			}
		}
	}
	return float64(found) / float64(total)
}

func TestIVFAllListsEqualsExact(t *testing.T) {
	const n, dim, nq = 3000, 24, 25
	for _, m := range []Metric{Euclidean, Cosine, DotProduct} {
		t.Run(string(m), func(t *testing.T) {
			seed := uint64(11)
			t.Logf("seed %d", seed)
			db := openMemWith(t, func(o *Options) { o.IVFMinRecords = 1000 })
			ix := mustIndex(t, db, "ivf", dim, m)
			h := ix.Namespace("t")
			base, queries := ivfData(seed, n, nq, dim, m)
			upsertAll(t, h, base, dim)
			touch(t, h, dim)
			d := waitIVF(t, ix, "t", func(d *IVFDescription) bool { return d.TrainedRecords == n })
			if d.Lists != segment.NListFor(n) || d.NProbe < 1 || d.NProbe > d.Lists || d.EstimatedRecall < 0.95 {
				t.Fatalf("IVF description %+v", d)
			}
			checkIVF(t, ix, "t")
			filters := []Filter{nil, {"g": Filter{"$in": []any{1, 2}}}, {"g": 3.0}}
			for i := range nq {
				qv := queries[i*dim : (i+1)*dim]
				for _, f := range filters {
					exact, err := h.Query(ctx, QueryRequest{Vector: qv, TopK: 10, Filter: f, Exact: true})
					if err != nil {
						t.Fatal(err)
					}
					all, err := h.Query(ctx, QueryRequest{Vector: qv, TopK: 10, Filter: f, NProbe: d.Lists})
					if err != nil {
						t.Fatal(err)
					}
					sameMatches(t, fmt.Sprintf("query %d filter %v", i, f), all.Matches, exact.Matches)
					// The default plan returns TopK matches too, and the
					// filter holds for each.
					def, err := h.Query(ctx, QueryRequest{Vector: qv, TopK: 10, Filter: f, IncludeMetadata: true})
					if err != nil {
						t.Fatal(err)
					}
					if len(def.Matches) != 10 {
						t.Fatalf("default plan gave %d matches", len(def.Matches))
					}
					for _, mt := range def.Matches {
						if f != nil && !slices.Contains([]float64{1, 2, 3}, mt.Metadata["g"].(float64)) {
							t.Fatalf("match %s fails filter %v", mt.ID, f)
						}
					}
				}
			}
		})
	}
}

// TestIVFCalibration checks that the calibrated recall estimate holds on
// held-out queries.
func TestIVFCalibration(t *testing.T) {
	n, dim, nq := 20000, 32, 1000
	if testing.Short() {
		n, nq = 8000, 500
	}
	for _, m := range []Metric{Euclidean, Cosine, DotProduct} {
		t.Run(string(m), func(t *testing.T) {
			seed := uint64(5)
			t.Logf("seed %d", seed)
			db := openMemWith(t, func(o *Options) { o.IVFMinRecords = -1 })
			ix := mustIndex(t, db, "cal", dim, m)
			h := ix.Namespace("t")
			base, queries := ivfData(seed, n, nq, dim, m)
			upsertAll(t, h, base, dim)
			d, err := h.BuildIVF(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d.EstimatedRecall < 0.95 {
				t.Fatalf("estimated recall %v below the 0.95 target", d.EstimatedRecall)
			}
			// BuildIVF's namespace is below IVFMinRecords (off): the
			// calibrated nprobe applies when named.
			recall := recallOf(t, h, queries, dim, QueryRequest{NProbe: d.NProbe})
			t.Logf("nlist %d nprobe %d: estimated recall %.4f, held-out %.4f", d.Lists, d.NProbe, d.EstimatedRecall, recall)
			if math.Abs(recall-d.EstimatedRecall) > 0.02 {
				t.Errorf("held-out recall %.4f vs estimate %.4f", recall, d.EstimatedRecall)
			}
		})
	}
}

func TestIVFPersistedAcrossReopen(t *testing.T) {
	const n, dim = 3000, 16
	dir := t.TempDir()
	o := testOptions()
	o.IVFMinRecords = 1000
	db := openDir(t, dir, o)
	ix := mustIndex(t, db, "p", dim, Euclidean)
	h := ix.Namespace("t")
	base, queries := ivfData(3, n, 10, dim, Euclidean)
	upsertAll(t, h, base, dim)
	touch(t, h, dim)
	before := waitIVF(t, ix, "t", func(d *IVFDescription) bool { return d.TrainedRecords == n })
	// Change some records after the build: their stored assignments go
	// stale, and the load must reassign them.
	var recs []Record
	for i := range 100 {
		recs = append(recs, Record{ID: ivfID(i), Values: queries[(i%10)*dim : (i%10+1)*dim]})
	}
	if _, err := h.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Delete(ctx, []string{ivfID(200), ivfID(201)}); err != nil {
		t.Fatal(err)
	}
	// Close straight after the build: it must wait for the persist
	// rather than cancel it, or the reopen below would retrain.
	db.Close()

	db = openDir(t, dir, o)
	defer db.Close()
	ix, _ = db.Index("p")
	h = ix.Namespace("t")
	d, err := ix.DescribeNamespace(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if d.Hot || d.IVF == nil || !d.IVF.BuiltAt.Equal(before.BuiltAt) || d.IVF.NProbe != before.NProbe || d.IVF.Lists != before.Lists {
		t.Fatalf("cold description %+v, IVF %+v; before close %+v", d, d.IVF, before)
	}
	allListsEqualExact(t, h, queries, dim, 10, before.Lists, "after reopen")
	after := waitIVF(t, ix, "t", anyIVF)
	if !after.BuiltAt.Equal(before.BuiltAt) {
		t.Errorf("the load retrained: built at %v, before %v", after.BuiltAt, before.BuiltAt)
	}
	checkIVF(t, ix, "t")
}

func TestIVFRebuildsOnGrowth(t *testing.T) {
	const dim = 8
	db := openMemWith(t, func(o *Options) { o.IVFMinRecords = 200 })
	ix := mustIndex(t, db, "g", dim, Cosine)
	h := ix.Namespace("t")
	base, _ := ivfData(9, 1000, 1, dim, Cosine)
	upsertAll(t, h, base[:300*dim], dim)
	touch(t, h, dim)
	first := waitIVF(t, ix, "t", anyIVF)
	if first.TrainedRecords < 200 {
		t.Fatalf("first build trained on %d records", first.TrainedRecords)
	}
	upsertAll(t, h, base, dim)
	waitIVF(t, ix, "t", func(d *IVFDescription) bool { return d.TrainedRecords >= 2*first.TrainedRecords })
	checkIVF(t, ix, "t")
	// DeleteAll empties the namespace and drops its IVF.
	if _, err := h.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	if d, _ := ix.DescribeNamespace(ctx, "t"); d.IVF != nil {
		t.Errorf("emptied namespace still has an IVF: %+v", d.IVF)
	}
}

// TestIVFRebuildAskedDuringBackgroundWork: growth that asks for a
// rebuild while another build or persist holds the namespace is not lost
// when no write follows.
func TestIVFRebuildAskedDuringBackgroundWork(t *testing.T) {
	const dim = 8
	db := openMemWith(t, func(o *Options) { o.IVFMinRecords = 200 })
	ix := mustIndex(t, db, "g", dim, Euclidean)
	h := ix.Namespace("t")
	base, _ := ivfData(10, 1000, 1, dim, Euclidean)
	upsertAll(t, h, base[:300*dim], dim)
	touch(t, h, dim)
	first := waitIVF(t, ix, "t", anyIVF)
	ns := ix.ix.lookup("t")
	ns.buildMu.Lock() // wait for the first build's goroutine to finish
	ns.buildMu.Unlock()
	started, release := make(chan struct{}), make(chan struct{})
	ns.background(func(context.Context) { close(started); <-release })
	<-started
	upsertAll(t, h, base, dim) // asks for a rebuild, and finds buildMu held
	if d, _ := ix.DescribeNamespace(ctx, "t"); d.IVF.TrainedRecords != first.TrainedRecords {
		t.Fatalf("rebuilt while buildMu was held: %+v", d.IVF)
	}
	close(release)
	waitIVF(t, ix, "t", func(d *IVFDescription) bool { return d.TrainedRecords >= 2*first.TrainedRecords })
	checkIVF(t, ix, "t")
}

// TestIVFBuildDuringWrites builds while other goroutines write and query;
// the index must end up holding exactly the live records.
func TestIVFBuildDuringWrites(t *testing.T) {
	// Also with one admission slot for the whole DB: the build's workers
	// then queue with the writers and queries they race (internal/sched).
	for _, slots := range []int{0, 1} {
		t.Run(fmt.Sprint("concurrency=", slots), func(t *testing.T) { testIVFBuildDuringWrites(t, slots) })
	}
}

func testIVFBuildDuringWrites(t *testing.T, slots int) {
	const n, dim = 4000, 16
	db := openMemWith(t, func(o *Options) { o.IVFMinRecords, o.Concurrency = -1, slots })
	ix := mustIndex(t, db, "c", dim, Euclidean)
	h := ix.Namespace("t")
	base, queries := ivfData(4, n, 50, dim, Euclidean)
	upsertAll(t, h, base, dim)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := ivfID((i*7 + w*1000) % (n + 500))
				var err error
				switch w {
				case 0:
					_, err = h.Upsert(ctx, []Record{{ID: id, Values: queries[(i%50)*dim : (i%50+1)*dim]}})
				case 1:
					_, err = h.Delete(ctx, []string{id})
				default:
					_, err = h.Query(ctx, QueryRequest{Vector: queries[(i%50)*dim : (i%50+1)*dim], TopK: 5})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 3 {
		if _, err := h.BuildIVF(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	checkIVF(t, ix, "t")
	d := waitIVF(t, ix, "t", anyIVF)
	allListsEqualExact(t, h, queries, dim, 10, d.Lists, "after concurrent build")
}

func TestIVFBadInput(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "b", 4, Euclidean)
	h := ix.Namespace("t")
	for _, req := range []QueryRequest{
		{Vector: fill(4, 1), TopK: 1, NProbe: -1},
		{Vector: fill(4, 1), TopK: 1, NProbe: 2, Exact: true},
	} {
		_, err := h.Query(ctx, req)
		var ae *ArgumentError
		if !errors.As(err, &ae) || ae.Field != "nProbe" {
			t.Errorf("Query(%+v): %v, want an ArgumentError on nProbe", req, err)
		}
	}
	if _, err := h.BuildIVF(ctx); !errors.Is(err, ErrNamespaceNotFound) {
		t.Errorf("BuildIVF of a missing namespace: %v", err)
	}
	if _, err := Open("", &Options{InMemory: true, IVFTargetRecall: 1.5}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("IVFTargetRecall 1.5: %v", err)
	}
}

// TestIVFBuildDuringCompaction deletes most records while builds run, so
// that the segment compacts (renumbering its slots) under them: a build
// must start over, never install lists with stale slot numbers.
func TestIVFBuildDuringCompaction(t *testing.T) {
	const n, dim = 6000, 8
	db := openMemWith(t, func(o *Options) { o.IVFMinRecords = -1 })
	ix := mustIndex(t, db, "k", dim, DotProduct)
	h := ix.Namespace("t")
	base, queries := ivfData(8, n, 10, dim, DotProduct)
	upsertAll(t, h, base, dim)
	if _, err := h.BuildIVF(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		for lo := 0; lo < n*3/4; lo += 100 {
			var ids []string
			for i := lo; i < lo+100; i++ {
				ids = append(ids, ivfID(i))
			}
			if _, err := h.Delete(ctx, ids); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 3 {
		if _, err := h.BuildIVF(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seg := ix.ix.lookup("t").seg.Load()
	seg.RLock()
	compacted := seg.EpochLocked() > 0
	seg.RUnlock()
	if !compacted {
		t.Fatal("the deletes did not compact the segment: the test missed its point")
	}
	checkIVF(t, ix, "t")
	d := waitIVF(t, ix, "t", anyIVF)
	allListsEqualExact(t, h, queries, dim, 10, d.Lists, "after compaction")
}

// TestIVFStoredDamage: a stored index with a corrupt header is ignored
// (and rebuilt), never a crash or a failed load.
func TestIVFStoredDamage(t *testing.T) {
	const n, dim = 2000, 8
	dir := t.TempDir()
	o := testOptions()
	o.IVFMinRecords = -1
	db := openDir(t, dir, o)
	ix := mustIndex(t, db, "d", dim, Euclidean)
	h := ix.Namespace("t")
	base, queries := ivfData(6, n, 5, dim, Euclidean)
	upsertAll(t, h, base, dim)
	if _, err := h.BuildIVF(ctx); err != nil {
		t.Fatal(err)
	}
	ns := ix.ix.lookup("t")
	key := storage.IVFHeaderKey(ix.ix.id, ns.id)
	var hdr storage.IVFHeader
	err := db.store.View(func(tx *storage.Txn) error {
		v, _, err := tx.GetCopy(key)
		if err == nil {
			hdr, err = storage.DecodeIVFHeader(v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, damage := range []func(h *storage.IVFHeader){
		func(h *storage.IVFHeader) { h.BodyLen = 1 << 62 },
		func(h *storage.IVFHeader) { h.BodyCRC++ },
		func(h *storage.IVFHeader) { h.Parts += 3 },
		func(h *storage.IVFHeader) { h.Dim++ },
	} {
		bad := hdr
		damage(&bad)
		db := openDir(t, dir, o)
		if err := db.store.Update(ctx, func(tx *storage.Txn) error { return tx.Set(key, bad.Encode()) }); err != nil {
			t.Fatal(err)
		}
		ix, _ := db.Index("d")
		h := ix.Namespace("t")
		res, err := h.Query(ctx, QueryRequest{Vector: queries[:dim], TopK: 5})
		if err != nil || len(res.Matches) != 5 {
			t.Fatalf("query with a damaged stored index (%+v): %d matches, %v", bad, len(res.Matches), err)
		}
		if d, _ := ix.DescribeNamespace(ctx, "t"); d.IVF != nil {
			t.Errorf("damaged stored index was loaded: %+v", d.IVF)
		}
		db.Close()
	}
}

// TestIVFRepersistNewGeneration: a load that reassigns many records
// stores the index again under a new generation, leaving no parts of the
// old one, and the next load needs no reassignment.
func TestIVFRepersistNewGeneration(t *testing.T) {
	const n, dim = 3000, 8
	dir := t.TempDir()
	o := testOptions()
	o.IVFMinRecords = -1
	db := openDir(t, dir, o)
	ix := mustIndex(t, db, "g", dim, Cosine)
	h := ix.Namespace("t")
	base, queries := ivfData(12, n, 1, dim, Cosine)
	upsertAll(t, h, base, dim)
	if _, err := h.BuildIVF(ctx); err != nil {
		t.Fatal(err)
	}
	// Change a fifth of the records: their stored assignments go stale.
	var recs []Record
	for i := range n / 5 {
		recs = append(recs, Record{ID: ivfID(i), Values: base[((i+7)%n)*dim : ((i+7)%n+1)*dim]})
	}
	for lo := 0; lo < len(recs); lo += 500 {
		if _, err := h.Upsert(ctx, recs[lo:min(len(recs), lo+500)]); err != nil {
			t.Fatal(err)
		}
	}
	gens := func(db *DB, ix *Index) (header uint64, parts map[uint64]bool) {
		ns := ix.ix.lookup("t")
		parts = map[uint64]bool{}
		err := db.store.View(func(tx *storage.Txn) error {
			v, _, err := tx.GetCopy(storage.IVFHeaderKey(ix.ix.id, ns.id))
			if err != nil {
				return err
			}
			hd, err := storage.DecodeIVFHeader(v)
			header = hd.Gen
			if err != nil {
				return err
			}
			return tx.Iterate(storage.IterOptions{Prefix: storage.IVFPartsPrefix(ix.ix.id, ns.id), KeysOnly: true}, func(k, _ []byte) (bool, error) {
				g, err := storage.IVFPartGen(k)
				parts[g] = true
				return true, err
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return header, parts
	}
	first, _ := gens(db, ix)
	db.Close()

	db = openDir(t, dir, o)
	ix, _ = db.Index("g")
	ns := ix.ix.lookup("t")
	if _, err := ix.Namespace("t").Query(ctx, QueryRequest{Vector: queries, TopK: 3}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		// The re-persist runs under buildMu: once it is free again, it is done.
		ns.buildMu.Lock()
		ns.buildMu.Unlock()
		if g, _ := gens(db, ix); g != first || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	second, parts := gens(db, ix)
	if second == first || len(parts) != 1 || !parts[second] {
		t.Fatalf("after the re-persist: header generation %d (before %d), part generations %v", second, first, parts)
	}
	db.Close()

	db = openDir(t, dir, o)
	defer db.Close()
	ix, _ = db.Index("g")
	ns = ix.ix.lookup("t")
	var reassigned int
	ns.writeMu.Lock()
	_, _, reassigned, err := ns.load(ctx)
	ns.writeMu.Unlock()
	if err != nil || reassigned != 0 {
		t.Fatalf("load after the re-persist reassigned %d records (%v)", reassigned, err)
	}
}

// TestIVFFilteredRecall: a filtered query at the default nprobe keeps
// about the recall of an unfiltered one (the probe widens with the
// filter's selectivity).
func TestIVFFilteredRecall(t *testing.T) {
	n, dim, nq := 20000, 32, 300
	if testing.Short() {
		n, nq = 8000, 150
	}
	seed := uint64(5)
	t.Logf("seed %d", seed)
	db := openMemWith(t, func(o *Options) { o.IVFMinRecords = 1000 })
	ix := mustIndex(t, db, "f", dim, Euclidean)
	h := ix.Namespace("t")
	base, queries := ivfData(seed, n, nq, dim, Euclidean)
	upsertAll(t, h, base, dim) // g = i % 7
	d, err := h.BuildIVF(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recall := func(f Filter) float64 { return recallOf(t, h, queries, dim, QueryRequest{Filter: f}) }
	base0 := recall(nil)
	for _, f := range []Filter{{"g": 3.0}, {"g": Filter{"$in": []any{1, 2}}}, {"g": Filter{"$lt": 4}}} {
		r := recall(f)
		t.Logf("nprobe %d of %d: unfiltered recall %.4f, filter %v %.4f", d.NProbe, d.Lists, base0, f, r)
		if r < base0-0.03 {
			t.Errorf("filter %v: recall %.4f, unfiltered %.4f", f, r, base0)
		}
	}
}
