package vectordb_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

// TestPineconeExample is the seed scenario's query: Pinecone returns F,
// then G and E, with scores 1.00000012, 1 and 1 (float32 rounding).
func TestPineconeExample(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "multitenant-app", 8, vectordb.Cosine)
	ns := ix.Namespace("tenant2")
	var recs []vectordb.Record
	for i, id := range []string{"E", "F", "G", "H"} {
		recs = append(recs, vectordb.Record{ID: id, Values: fill(8, 0.5+0.1*float32(i))})
	}
	if _, err := ns.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	res, err := ns.Query(ctx, vectordb.QueryRequest{Vector: fill(8, 0.7), TopK: 3, IncludeValues: true})
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

func TestHybridQuery(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, vectordb.DotProduct).Namespace("t")
	_, err := ns.Upsert(ctx, []vectordb.Record{
		{ID: "dense", Values: []float32{1, 0}},
		{ID: "sparse", Values: []float32{0, 0.1}, SparseValues: &vectordb.SparseValues{Indices: []uint32{7, 3}, Values: []float32{2, 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ns.Query(ctx, vectordb.QueryRequest{Vector: []float32{1, 1}, SparseVector: &vectordb.SparseValues{Indices: []uint32{7, 100}, Values: []float32{1, 5}}, TopK: 2, IncludeValues: true})
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
	ns := mustIndex(t, db, "i", 2, vectordb.Cosine).Namespace("t")
	if _, err := ns.Upsert(ctx, []vectordb.Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	_, err := ns.Query(ctx, vectordb.QueryRequest{Vector: []float32{1, 0}, SparseVector: &vectordb.SparseValues{Indices: []uint32{1}, Values: []float32{1}}, TopK: 1})
	var ae *vectordb.ArgumentError
	if !errors.As(err, &ae) || ae.Field != "sparseVector" {
		t.Fatalf("sparse query on cosine: err = %v", err)
	}
	_, err = ns.Upsert(ctx, []vectordb.Record{{ID: "b", Values: []float32{1, 0}, SparseValues: &vectordb.SparseValues{Indices: []uint32{1}, Values: []float32{1}}}})
	wantErr(t, err, vectordb.ErrInvalidArgument)
}

func TestQueryByIDAndTopK(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, vectordb.Euclidean).Namespace("t")
	if _, err := ns.Upsert(ctx, []vectordb.Record{{ID: "a", Values: []float32{0, 1}}, {ID: "b", Values: []float32{0, 3}}, {ID: "c", Values: []float32{0, 2}}}); err != nil {
		t.Fatal(err)
	}
	res, err := ns.Query(ctx, vectordb.QueryRequest{ID: "a", TopK: 10})
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
	res, err = ns.Query(ctx, vectordb.QueryRequest{ID: "nope", TopK: 3})
	if err != nil || len(res.Matches) != 0 {
		t.Fatalf("unknown id = %+v %v", res, err)
	}
	res, err = ns.Query(ctx, vectordb.QueryRequest{Vector: []float32{0, 0.5}, TopK: 1})
	if err != nil || len(res.Matches) != 1 || res.Matches[0].ID != "a" || res.Matches[0].Values != nil || res.Matches[0].Metadata != nil {
		t.Fatalf("topK 1 = %+v %v", res.Matches, err)
	}
}

func TestQueryIncludesMetadata(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, vectordb.Cosine).Namespace("t")
	if _, err := ns.Upsert(ctx, []vectordb.Record{{ID: "a", Values: []float32{1, 0}, Metadata: vectordb.Metadata{"k": "v"}}, {ID: "b", Values: []float32{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	res, err := ns.Query(ctx, vectordb.QueryRequest{Vector: []float32{1, 0.1}, TopK: 2, IncludeMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matches[0].Metadata["k"] != "v" || res.Matches[1].Metadata != nil || res.Matches[0].Values != nil {
		t.Fatalf("matches = %+v", res.Matches)
	}
}

func TestQueryHonoursContext(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 4, vectordb.Cosine).Namespace("t")
	if _, err := ns.Upsert(ctx, []vectordb.Record{{ID: "a", Values: fill(4, 1)}}); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := ns.Query(c, vectordb.QueryRequest{Vector: fill(4, 1), TopK: 1})
	wantErr(t, err, context.Canceled)
	_, err = ns.Upsert(c, []vectordb.Record{{ID: "b", Values: fill(4, 1)}})
	wantErr(t, err, context.Canceled)
}

func TestTopKTieBreakIsDeterministic(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, vectordb.DotProduct).Namespace("t")
	var recs []vectordb.Record
	for i := range 50 {
		recs = append(recs, vectordb.Record{ID: "id" + strconv.Itoa(i), Values: []float32{1, 1}})
	}
	if _, err := ns.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	res, _ := ns.Query(ctx, vectordb.QueryRequest{Vector: []float32{1, 1}, TopK: 5})
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
		ns := mustIndex(t, db, "i", dim, vectordb.Cosine).Namespace("t")
		vecs := map[string][]float32{}
		var recs []vectordb.Record
		for i := range 300 {
			id := strconv.Itoa(i)
			vecs[id] = randVec(r, dim)
			recs = append(recs, vectordb.Record{ID: id, Values: vecs[id]})
		}
		for b := 0; b < len(recs); b += 100 {
			if _, err := ns.Upsert(ctx, recs[b:b+100]); err != nil {
				t.Fatal(err)
			}
		}
		q := randVec(r, dim)
		res, err := ns.Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 300})
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for _, m := range res.Matches {
			worst = max(worst, math.Abs(float64(m.Score)-testutil.Score("cosine", q, vecs[m.ID])))
		}
		if worst > 1e-6 {
			t.Fatalf("dim %d: a cosine score is %g from the exact formula", dim, worst)
		}
		t.Logf("dim %d: largest cosine error %.2g", dim, worst)
	}
}
