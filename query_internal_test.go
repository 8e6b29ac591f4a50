package vectordb

// The query tests that look inside: TestScoresFollowMetric checks the
// metric's (unexported) sort order, TestLargeSegmentScan a namespace's
// segment. The others, through the public API only, are in query_test.go.

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

// refScore is the float64 reference of each metric's score.
func refScore(m Metric, q, v []float32, qs, vs segment.Sparse) float64 {
	s := testutil.Score(string(m), q, v)
	if m == DotProduct {
		s += float64(qs.Dot(vs))
	}
	return s
}

func TestScoresFollowMetric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range []Metric{Cosine, Euclidean, DotProduct} {
		t.Run(string(m), func(t *testing.T) {
			db := openMem(t)
			const dim = 37
			ns := mustIndex(t, db, "i", dim, m).Namespace("t")
			vecs := map[string][]float32{}
			var recs []Record
			for i := range 200 {
				id := strconv.Itoa(i)
				vecs[id] = randVec(r, dim)
				recs = append(recs, Record{ID: id, Values: vecs[id]})
			}
			if _, err := ns.Upsert(ctx, recs); err != nil {
				t.Fatal(err)
			}
			q := randVec(r, dim)
			res, err := ns.Query(ctx, QueryRequest{Vector: q, TopK: 200})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Matches) != 200 {
				t.Fatalf("%d matches, want 200", len(res.Matches))
			}
			for i, mt := range res.Matches {
				want := refScore(m, q, vecs[mt.ID], segment.Sparse{}, segment.Sparse{})
				if math.Abs(float64(mt.Score)-want) > 1e-5*math.Max(1, math.Abs(want)) {
					t.Fatalf("%s: score %v, reference %v", mt.ID, mt.Score, want)
				}
				if i > 0 {
					prev := res.Matches[i-1].Score
					if m.ascending() && mt.Score < prev || !m.ascending() && mt.Score > prev {
						t.Fatalf("matches out of order at %d: %v then %v", i, prev, mt.Score)
					}
				}
			}
		})
	}
}

// TestLargeSegmentScan covers the parallel scan, chunk boundaries, slot
// reuse and compaction against a brute-force reference.
func TestLargeSegmentScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	db := openMem(t)
	const dim = 64
	ix := mustIndex(t, db, "i", dim, Cosine)
	ns := ix.Namespace("t")
	vecs := map[string][]float32{}
	const n = 6000 // 6000*64 floats: above parallelMinFloats
	for b := 0; b < n; b += 1000 {
		var recs []Record
		for i := b; i < b+1000; i++ {
			id := strconv.Itoa(i)
			vecs[id] = randVec(r, dim)
			recs = append(recs, Record{ID: id, Values: vecs[id]})
		}
		if _, err := ns.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	check := func(stage string) {
		t.Helper()
		q := randVec(r, dim)
		res, err := ns.Query(ctx, QueryRequest{Vector: q, TopK: 25})
		if err != nil {
			t.Fatal(err)
		}
		type sc struct {
			id string
			s  float64
		}
		var all []sc
		for id, v := range vecs {
			all = append(all, sc{id, refScore(Cosine, q, v, segment.Sparse{}, segment.Sparse{})})
		}
		slices.SortFunc(all, func(a, b sc) int {
			if a.s > b.s {
				return -1
			}
			if a.s < b.s {
				return 1
			}
			return 0
		})
		if len(res.Matches) != min(25, len(all)) {
			t.Fatalf("%s: %d matches", stage, len(res.Matches))
		}
		for i, m := range res.Matches {
			if math.Abs(float64(m.Score)-all[i].s) > 1e-5 {
				t.Fatalf("%s: match %d is %s %v, reference %s %v", stage, i, m.ID, m.Score, all[i].id, all[i].s)
			}
		}
	}
	check("loaded")
	seg := ix.ix.lookup("t").seg.Load()
	if seg == nil || seg.LenLocked() != n {
		t.Fatal("segment not hot")
	}
	// Delete two thirds in batches: the segment must compact.
	var del []string
	for i := range n {
		if i%3 != 0 {
			del = append(del, strconv.Itoa(i))
			delete(vecs, strconv.Itoa(i))
		}
	}
	for b := 0; b < len(del); b += 1000 {
		if _, err := ns.Delete(ctx, del[b:min(b+1000, len(del))]); err != nil {
			t.Fatal(err)
		}
	}
	seg.RLock()
	compacted := seg.LenLocked() < n && seg.LiveLocked() == n/3 && 2*seg.LiveLocked() >= seg.LenLocked()
	seg.RUnlock()
	if !compacted {
		t.Fatalf("segment did not compact: n=%d live=%d", seg.LenLocked(), seg.LiveLocked())
	}
	check("compacted")
	// New records reuse free slots, then grow.
	var recs []Record
	for i := n; i < n+500; i++ {
		id := strconv.Itoa(i)
		vecs[id] = randVec(r, dim)
		recs = append(recs, Record{ID: id, Values: vecs[id]})
	}
	if _, err := ns.Delete(ctx, []string{"0", "3", "6"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"0", "3", "6"} {
		delete(vecs, id)
	}
	if _, err := ns.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	check("refilled")
}
