package segment

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb/internal/filter"
	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

var ctx = context.Background()

// semanticsRecords are the records of the root package's
// TestFilterSemantics.
var semanticsRecords = testutil.FilterRecords()

func compile(t testing.TB, s string) *filter.Node {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	n, err := filter.Compile(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIndexAgreesWithMatch: the metadata index selects exactly what the
// reference evaluator matches.
func TestIndexAgreesWithMatch(t *testing.T) {
	for _, c := range []string{
		`{"genre": "drama"}`, `{"genre": {"$ne": "drama"}}`, `{"year": 2020}`, `{"year": "2020"}`,
		`{"year": 0}`, `{"year": {"$ne": 2020}}`, `{"year": {"$gt": 2019}}`,
		`{"year": {"$gte": 2019, "$lt": 2021}}`, `{"year": {"$lte": 0}}`,
		`{"year": {"$gt": 2019, "$gte": 2019, "$lte": 2021, "$lt": 2021}}`,
		`{"year": {"$gte": 2021, "$lt": 2019}}`, `{"year": {"$gte": 2020, "$lte": 2020}}`,
		`{"year": {"$in": [2019, 2021, "2020"]}}`, `{"year": {"$nin": [2019, 2021]}}`,
		`{"tags": "b"}`, `{"tags": {"$in": ["a", "z"]}}`, `{"tags": {"$ne": "a"}}`,
		`{"tags": {"$nin": ["a"]}}`, `{"tags": {"$exists": true}}`, `{"tags": {"$exists": false}}`,
		`{"ok": true}`, `{"ok": {"$ne": true}}`, `{"ok": {"$gt": 0}}`, `{"genre": {"$gt": 1}}`,
		`{"missing": {"$ne": 1}}`, `{"missing": {"$nin": [1]}}`,
		`{"$or": [{"genre": "comedy"}, {"year": {"$lt": 2020}}]}`,
		`{"$and": [{"genre": "drama"}, {"tags": "a"}]}`, `{"$not": {"genre": "drama"}}`,
		`{"$not": {"year": {"$gte": 2020}}}`, `{"genre": "drama", "$not": {"tags": "a"}}`,
	} {
		n := compile(t, c)
		var want []string
		for id, md := range semanticsRecords {
			if n.Match(md) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		seg := New(1, ivf.Cosine, 0)
		seg.IndexLocked(nil)
		for id, md := range semanticsRecords {
			seg.PutLocked(id, []float32{1}, Sparse{}, md, nil, -1)
		}
		seg.MergeAllLocked()
		allowed, err := seg.EvalLocked(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		got := seg.IDsLocked(allowed)
		slices.Sort(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: index matches %v, reference %v", c, got, want)
		}
	}
}

// BenchmarkFilterEval measures evaluating a filter to an allowed-set on
// a segment of 100k records with the benchmarks' metadata
// (benchmarks/bench_test.go): the cost a filtered query adds before its
// scan. (Compiling is measured with it, as a query pays both.)
func BenchmarkFilterEval(b *testing.B) {
	const n = 100_000
	seg := New(1, ivf.Cosine, n)
	seg.IndexLocked(nil)
	for i := range n {
		md := map[string]any{
			"cat": []string{"even", "odd"}[i%2], "grp": fmt.Sprintf("g%d", i%10),
			"user": fmt.Sprintf("u%07d", i), "n": float64(i),
		}
		seg.PutLocked(fmt.Sprintf("doc-%08d", i), []float32{1}, Sparse{}, md, nil, -1)
	}
	seg.MergeAllLocked()
	users := make([]string, n/100)
	for i := range users {
		users[i] = fmt.Sprintf("u%07d", i*100+7)
	}
	type obj = map[string]any
	for _, c := range []struct {
		name   string
		filter obj
	}{
		{"0.1%-range", obj{"n": obj{"$lt": n / 1000}}},
		{"1%-range", obj{"n": obj{"$gte": n / 2, "$lt": n/2 + n/100}}},
		{"1%-in-highcard", obj{"user": obj{"$in": users}}},
		{"10%-eq", obj{"grp": "g3"}},
		{"50%-eq", obj{"cat": "odd"}},
		{"or-11%", obj{"$or": []any{obj{"grp": "g3"}, obj{"n": obj{"$lt": n / 100}}}}},
	} {
		b.Run("filter="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fn, err := filter.Compile(c.filter, nil)
				if err != nil {
					b.Fatal(err)
				}
				if bm, err := seg.EvalLocked(ctx, fn); err != nil || bm.IsEmpty() {
					b.Fatal("empty")
				}
			}
		})
	}
}

// BenchmarkFilterCostRefusal measures refusing a filter of 9,999 range
// clauses over a 100k-record segment, which before the work budget
// touched a billion column entries (11 s): the evaluation stops once it
// has spent FilterWorkPerRecord entries per record.
func BenchmarkFilterCostRefusal(b *testing.B) {
	const n = 100_000
	seg := New(1, ivf.Cosine, n)
	seg.IndexLocked(nil)
	for i := range n {
		seg.PutLocked(fmt.Sprintf("doc-%08d", i), []float32{1}, Sparse{}, map[string]any{"x": float64(i)}, nil, -1)
	}
	seg.MergeAllLocked()
	or := make([]any, 9999)
	for i := range or {
		or[i] = map[string]any{"x": map[string]any{"$gte": i}}
	}
	fn, err := filter.Compile(map[string]any{"$or": or}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seg.EvalLocked(ctx, fn); err == nil {
			b.Fatal("accepted")
		}
	}
}
