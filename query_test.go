package vectordb

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

// TestPineconeExample is the seed scenario's query: Pinecone returns F,
// then G and E, with scores 1.00000012, 1 and 1 (float32 rounding).
func TestPineconeExample(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "multitenant-app", 8, Cosine)
	ns := ix.Namespace("tenant2")
	var recs []Record
	for i, id := range []string{"E", "F", "G", "H"} {
		recs = append(recs, Record{ID: id, Values: fill(8, 0.5+0.1*float32(i))})
	}
	if _, err := ns.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	res, err := ns.Query(ctx, QueryRequest{Vector: fill(8, 0.7), TopK: 3, IncludeValues: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 3 || res.Namespace != "tenant2" || res.Usage.ReadUnits != 1 {
		t.Fatalf("result = %+v", res)
	}
	got := map[string]float32{}
	for _, m := range res.Matches {
		got[m.ID] = m.Score
		if math.Abs(float64(m.Score)-1) > 1e-6 {
			t.Errorf("%s score %.8f not within 1e-6 of 1", m.ID, m.Score)
		}
		if len(m.Values) != 8 {
			t.Errorf("%s values not included", m.ID)
		}
	}
	if res.Matches[0].ID != "F" || got["F"] != float32(1.00000012) {
		t.Errorf("first match %s %.8f, want F 1.00000012", res.Matches[0].ID, res.Matches[0].Score)
	}
	if _, ok := got["H"]; ok {
		t.Errorf("H (score %.8f) ranked in the top 3", got["H"])
	}
}

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

func TestHybridQuery(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, DotProduct).Namespace("t")
	_, err := ns.Upsert(ctx, []Record{
		{ID: "dense", Values: []float32{1, 0}},
		{ID: "sparse", Values: []float32{0, 0.1}, SparseValues: &SparseValues{Indices: []uint32{7, 3}, Values: []float32{2, 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1}, SparseVector: &SparseValues{Indices: []uint32{7, 100}, Values: []float32{1, 5}}, TopK: 2, IncludeValues: true})
	if err != nil {
		t.Fatal(err)
	}
	// sparse: 0.1 dense + 2*1 sparse = 2.1; dense: 1.
	if res.Matches[0].ID != "sparse" || math.Abs(float64(res.Matches[0].Score)-2.1) > 1e-6 || res.Matches[1].Score != 1 {
		t.Fatalf("hybrid = %+v", res.Matches)
	}
	if sv := res.Matches[0].SparseValues; sv == nil || !slices.Equal(sv.Indices, []uint32{3, 7}) {
		t.Fatalf("sparse values not returned sorted: %+v", sv)
	}
}

func TestSparseNeedsDotProduct(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, Cosine).Namespace("t")
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	_, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 0}, SparseVector: &SparseValues{Indices: []uint32{1}, Values: []float32{1}}, TopK: 1})
	var ae *ArgumentError
	if !errors.As(err, &ae) || ae.Field != "sparseVector" {
		t.Fatalf("sparse query on cosine: err = %v", err)
	}
	_, err = ns.Upsert(ctx, []Record{{ID: "b", Values: []float32{1, 0}, SparseValues: &SparseValues{Indices: []uint32{1}, Values: []float32{1}}}})
	wantErr(t, err, ErrInvalidArgument)
}

func TestQueryByIDAndTopK(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, Euclidean).Namespace("t")
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{0, 1}}, {ID: "b", Values: []float32{0, 3}}, {ID: "c", Values: []float32{0, 2}}}); err != nil {
		t.Fatal(err)
	}
	res, err := ns.Query(ctx, QueryRequest{ID: "a", TopK: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var scores []float32
	for _, m := range res.Matches {
		ids = append(ids, m.ID)
		scores = append(scores, m.Score)
	}
	if !slices.Equal(ids, []string{"a", "c", "b"}) || !slices.Equal(scores, []float32{0, 1, 4}) {
		t.Fatalf("query by id = %v %v, want [a c b] [0 1 4] (squared distances, ascending)", ids, scores)
	}
	res, err = ns.Query(ctx, QueryRequest{ID: "nope", TopK: 3})
	if err != nil || len(res.Matches) != 0 {
		t.Fatalf("unknown id = %+v %v", res, err)
	}
	res, err = ns.Query(ctx, QueryRequest{Vector: []float32{0, 0.5}, TopK: 1})
	if err != nil || len(res.Matches) != 1 || res.Matches[0].ID != "a" || res.Matches[0].Values != nil || res.Matches[0].Metadata != nil {
		t.Fatalf("topK 1 = %+v %v", res.Matches, err)
	}
}

func TestQueryIncludesMetadata(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, Cosine).Namespace("t")
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}, Metadata: Metadata{"k": "v"}}, {ID: "b", Values: []float32{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	res, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 0.1}, TopK: 2, IncludeMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matches[0].Metadata["k"] != "v" || res.Matches[1].Metadata != nil || res.Matches[0].Values != nil {
		t.Fatalf("matches = %+v", res.Matches)
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

func TestQueryHonoursContext(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 4, Cosine).Namespace("t")
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: fill(4, 1)}}); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := ns.Query(c, QueryRequest{Vector: fill(4, 1), TopK: 1})
	wantErr(t, err, context.Canceled)
	_, err = ns.Upsert(c, []Record{{ID: "b", Values: fill(4, 1)}})
	wantErr(t, err, context.Canceled)
}

func TestTopKTieBreakIsDeterministic(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, DotProduct).Namespace("t")
	var recs []Record
	for i := range 50 {
		recs = append(recs, Record{ID: "id" + strconv.Itoa(i), Values: []float32{1, 1}})
	}
	if _, err := ns.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	res, _ := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1}, TopK: 5})
	var ids []string
	for _, m := range res.Matches {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, []string{"id0", "id1", "id10", "id11", "id12"}) {
		t.Fatalf("ties = %v, want id order", ids)
	}
}

// TestCosineScoresWithin1e6 checks the scan's cosine scores (batch dot
// product, stored norms) against the exact formula in float64.
func TestCosineScoresWithin1e6(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, dim := range []int{8, 100, 768, 1536} {
		db := openMem(t)
		ns := mustIndex(t, db, "i", dim, Cosine).Namespace("t")
		vecs := map[string][]float32{}
		var recs []Record
		for i := range 300 {
			id := strconv.Itoa(i)
			vecs[id] = randVec(r, dim)
			recs = append(recs, Record{ID: id, Values: vecs[id]})
		}
		for b := 0; b < len(recs); b += 100 {
			if _, err := ns.Upsert(ctx, recs[b:b+100]); err != nil {
				t.Fatal(err)
			}
		}
		q := randVec(r, dim)
		res, err := ns.Query(ctx, QueryRequest{Vector: q, TopK: 300})
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for _, m := range res.Matches {
			worst = max(worst, math.Abs(float64(m.Score)-refScore(Cosine, q, vecs[m.ID], segment.Sparse{}, segment.Sparse{})))
		}
		if worst > 1e-6 {
			t.Fatalf("dim %d: a cosine score is %g from the exact formula", dim, worst)
		}
		t.Logf("dim %d: largest cosine error %.2g", dim, worst)
	}
}
