package vectordb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

func TestParseFilterCompiles(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"genre": "drama"}`, `"genre"$eq("drama")`},
		{`{"genre": {"$eq": "drama"}}`, `"genre"$eq("drama")`},
		{`{"year": 2020}`, `"year"$eq(2020)`},
		{`{"ok": true}`, `"ok"$eq(true)`},
		{`{"price": {"$gte": 50, "$lte": 200}}`, `"price"$range(>=50,<=200)`},
		{`{"p": {"$gt": 1, "$gte": 1, "$lt": 9, "$lte": 8}}`, `"p"$range(>1,<=8)`},
		{`{"p": {"$gte": 5, "$lt": 2}}`, `"p"$range(>=5,<2)`},
		{`{"a": 1, "b": "x"}`, `$and("a"$eq(1),"b"$eq("x"))`},
		{`{"g": {"$in": ["a", "b", "a", 3]}}`, `"g"$in["a","b",3]`},
		{`{"g": {"$nin": []}}`, `"g"$nin[]`},
		{`{"g": {"$exists": false}}`, `"g"$exists(false)`},
		{`{"$or": [{"a": 1}, {"b": {"$ne": "x"}}]}`, `$or("a"$eq(1),"b"$ne("x"))`},
		{`{"$and": [{"a": 1}], "c": {"$lt": -1.5}}`, `$and("c"$range(<-1.5),$and("a"$eq(1)))`},
		{`{"$not": {"a": {"$gt": 1e3}}}`, `$not("a"$range(>1000))`},
		{`{"$": 1}`, ``}, // unknown operator: checked below
	} {
		f, err := ParseFilter([]byte(c.in))
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: accepted", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		n, err := compileFilter(f)
		if err != nil || n.String() != c.want {
			t.Errorf("%s compiles to %v (%v), want %s", c.in, n, err, c.want)
		}
	}
}

// TestFilterInvalid lists every invalid form with the path and reason the
// error must name.
func TestFilterInvalid(t *testing.T) {
	for _, c := range []struct{ in, path, reason string }{
		{`{}`, `filter`, `empty filter object`},
		{`[]`, `filter`, `must be a JSON object`},
		{`"x"`, `filter`, `must be a JSON object`},
		{`{"a": 1`, `filter.a`, `unexpected end of input`},
		{`{"a": 1} {"b": 2}`, `filter`, `data after the JSON value`},
		{"{\"a\": \"\xff\"}", `filter.a`, `invalid UTF-8`},
		{`{"a": "\ud800"}`, `filter.a`, `lone UTF-16 surrogate`},
		{`{"a": 1, "a": 2}`, `filter`, `the key a appears twice`},
		{strings.Repeat(`{"$not": `, 40) + `{"a": 1}` + strings.Repeat(`}`, 40), `filter` + strings.Repeat(`.$not`, MaxFilterDepth), `nested more than 32 levels`},
		{`{"$eq": 5}`, `filter.$eq`, `must apply to a field`},
		{`{"$gt": 5}`, `filter.$gt`, `must apply to a field`},
		{`{"$foo": 5}`, `filter.$foo`, `unknown operator $foo`},
		{`{"a": {"$foo": 5}}`, `filter.a`, `unknown operator $foo`},
		{`{"a": {"b": 5}}`, `filter.a`, `nested metadata objects`},
		{`{"a": {}}`, `filter.a`, `empty operator object`},
		{`{"a": null}`, `filter.a`, `null`},
		{`{"a": [1, 2]}`, `filter.a`, `use $in`},
		{`{"a": {"$eq": [1]}}`, `filter.a`, `$eq takes one value, not an array`},
		{`{"a": {"$ne": {"x": 1}}}`, `filter.a`, `$ne needs a string, number or boolean, got an object`},
		{`{"a": {"$eq": null}}`, `filter.a`, `$eq needs a string, number or boolean, got null`},
		{`{"a": {"$gt": "2020"}}`, `filter.a`, `$gt needs a number, got "2020"`},
		{`{"a": {"$lte": true}}`, `filter.a`, `$lte needs a number, got true`},
		{`{"a": {"$in": "x"}}`, `filter.a`, `$in needs an array, got "x"`},
		{`{"a": {"$nin": 3}}`, `filter.a`, `$nin needs an array`},
		{`{"a": {"$in": [true]}}`, `filter.a.$in[0]`, `takes strings and numbers, got true`},
		{`{"a": {"$in": [[1]]}}`, `filter.a.$in[0]`, `got an array`},
		{`{"a": {"$exists": 1}}`, `filter.a`, `$exists needs true or false`},
		{`{"a": {"$and": [{"b": 1}]}}`, `filter.a`, `not inside a field`},
		{`{"$and": []}`, `filter.$and`, `non-empty array`},
		{`{"$or": {"a": 1}}`, `filter.$or`, `non-empty array`},
		{`{"$and": [{"a": 1}, 5]}`, `filter.$and[1]`, `needs filter objects, got 5`},
		{`{"$and": [{"a": 1}, {"year": {"$gt": "2020"}}]}`, `filter.$and[1].year`, `$gt needs a number, got "2020"`},
		{`{"$or": [{}]}`, `filter.$or[0]`, `empty filter object`},
		{`{"$not": [{"a": 1}]}`, `filter.$not`, `$not needs a filter object`},
		{`{"$not": {"a": {"$gt": "x"}}}`, `filter.$not.a`, `$gt needs a number`},
	} {
		_, err := ParseFilter([]byte(c.in))
		var ae *ArgumentError
		if !errors.As(err, &ae) || !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want an *ArgumentError", c.in, err)
			continue
		}
		if ae.Field != c.path || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %q (field %q), want field %q and %q", c.in, err, ae.Field, c.path, c.reason)
		}
	}
	tooMany := make([]any, MaxFilterValues+1)
	for i := range tooMany {
		tooMany[i] = i
	}
	if _, err := compileFilter(Filter{"a": Filter{"$in": tooMany}}); err == nil || !strings.Contains(err.Error(), "more than 10000") {
		t.Errorf("10001 $in values: %v", err)
	}
	if _, err := compileFilter(Filter{"a": Filter{"$in": tooMany[:MaxFilterValues]}}); err != nil {
		t.Errorf("10000 $in values: %v", err)
	}
}

// TestFilterGoValues: filters written as Go maps accept Go's number and
// slice types, json.Number and nested maps of either kind.
func TestFilterGoValues(t *testing.T) {
	f := Filter{
		"a": int64(3), "b": float32(1.5), "c": uint8(7), "d": json.Number("4"),
		"e": map[string]any{"$in": []string{"x", "y"}}, "g": Filter{"$nin": []int{1, 2}},
		"$or": []Filter{{"h": true}, {"i": Filter{"$exists": false}}},
	}
	n, err := compileFilter(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `$and("a"$eq(3),"b"$eq(1.5),"c"$eq(7),"d"$eq(4),"e"$in["x","y"],"g"$nin[1,2],$or("h"$eq(true),"i"$exists(false)))`
	if n.String() != want {
		t.Fatalf("compiled %s\nwant     %s", n, want)
	}
	for _, bad := range []Filter{{"a": struct{}{}}, {"a": Filter{"$gt": json.Number("x")}}, {"a": complex(1, 2)}} {
		if _, err := compileFilter(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%v accepted", bad)
		}
	}
}

// semanticsRecords are the records TestFilterSemantics filters.
var semanticsRecords = testutil.FilterRecords()

// TestFilterSemantics checks the reference evaluator through ParseFilter;
// internal/segment's TestIndexAgreesWithMatch checks the metadata index
// against it on the same records.
func TestFilterSemantics(t *testing.T) {
	for _, c := range []struct {
		filter string
		want   string // matching ids, sorted, comma-separated
	}{
		{`{"genre": "drama"}`, "drama2019,drama2021"},
		{`{"genre": {"$ne": "drama"}}`, "comedy,noyear"},
		{`{"year": 2020}`, "comedy"},
		{`{"year": "2020"}`, "strYear"},
		{`{"year": 0}`, "negzero"},
		{`{"year": {"$ne": 2020}}`, "drama2019,drama2021,negzero,strYear"},
		{`{"year": {"$gt": 2019}}`, "comedy,drama2021"},
		{`{"year": {"$gte": 2019, "$lt": 2021}}`, "comedy,drama2019"},
		{`{"year": {"$lte": 0}}`, "negzero"},
		{`{"year": {"$gt": 2019, "$gte": 2019, "$lte": 2021, "$lt": 2021}}`, "comedy"},
		{`{"year": {"$gte": 2021, "$lt": 2019}}`, ""},
		{`{"year": {"$gte": 2020, "$lte": 2020}}`, "comedy"},
		{`{"year": {"$in": [2019, 2021, "2020"]}}`, "drama2019,drama2021,strYear"},
		{`{"year": {"$nin": [2019, 2021]}}`, "comedy,negzero,strYear"},
		{`{"tags": "b"}`, "drama2019,drama2021"},
		{`{"tags": {"$in": ["a", "z"]}}`, "drama2019"},
		{`{"tags": {"$ne": "a"}}`, "drama2021,noyear"},
		{`{"tags": {"$nin": ["a"]}}`, "drama2021,noyear"},
		{`{"tags": {"$exists": true}}`, "drama2019,drama2021,noyear"},
		{`{"tags": {"$exists": false}}`, "comedy,negzero,none,strYear"},
		{`{"ok": true}`, "drama2019"},
		{`{"ok": {"$ne": true}}`, "comedy"},
		{`{"ok": {"$gt": 0}}`, ""},
		{`{"genre": {"$gt": 1}}`, ""},
		{`{"missing": {"$ne": 1}}`, ""},
		{`{"missing": {"$nin": [1]}}`, ""},
		{`{"$or": [{"genre": "comedy"}, {"year": {"$lt": 2020}}]}`, "comedy,drama2019,negzero"},
		{`{"$and": [{"genre": "drama"}, {"tags": "a"}]}`, "drama2019"},
		{`{"$not": {"genre": "drama"}}`, "comedy,negzero,none,noyear,strYear"},
		{`{"$not": {"year": {"$gte": 2020}}}`, "drama2019,negzero,none,noyear,strYear"},
		{`{"genre": "drama", "$not": {"tags": "a"}}`, "drama2021"},
	} {
		f, err := ParseFilter([]byte(c.filter))
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		n, _ := compileFilter(f)
		var ref []string
		for id, md := range semanticsRecords {
			if n.Match(md) {
				ref = append(ref, id)
			}
		}
		slices.Sort(ref)
		if got := strings.Join(ref, ","); got != c.want {
			t.Errorf("%s: reference matches %s, want %s", c.filter, got, c.want)
		}
	}
}

// randomMetadata draws metadata over a few fields with small value ranges,
// so filters match often.
func randomMetadata(r *rand.Rand) Metadata {
	md := Metadata{}
	if r.IntN(4) > 0 {
		md["color"] = []string{"red", "green", "blue"}[r.IntN(3)]
	}
	if r.IntN(4) > 0 {
		md["n"] = float64(r.IntN(20) - 5)
	}
	if r.IntN(3) == 0 {
		md["n"] = strconv.Itoa(r.IntN(3)) // a string under a numeric field
	}
	if r.IntN(3) > 0 {
		var tags []string
		for _, t := range []string{"x", "y", "z"} {
			if r.IntN(2) == 0 {
				tags = append(tags, t)
			}
		}
		md["tags"] = tags
	}
	if r.IntN(3) == 0 {
		md["flag"] = r.IntN(2) == 0
	}
	if len(md) == 0 {
		return nil
	}
	return md
}

// randomFilter draws a valid filter over randomMetadata's fields.
func randomFilter(r *rand.Rand, depth int) Filter {
	if depth < 2 && r.IntN(4) == 0 {
		kids := make([]any, 1+r.IntN(3))
		for i := range kids {
			kids[i] = randomFilter(r, depth+1)
		}
		switch r.IntN(3) {
		case 0:
			return Filter{"$and": kids}
		case 1:
			return Filter{"$or": kids}
		}
		return Filter{"$not": kids[0]}
	}
	field := []string{"color", "n", "tags", "flag", "absent"}[r.IntN(5)]
	val := func() any {
		switch r.IntN(4) {
		case 0:
			return []string{"red", "green", "x", "y", "1"}[r.IntN(5)]
		case 1:
			return r.IntN(20) - 5
		case 2:
			return r.IntN(2) == 0
		}
		return float64(r.IntN(40))/2 - 5
	}
	num := func() any { return float64(r.IntN(40))/2 - 5 }
	list := func() []any {
		l := make([]any, r.IntN(4))
		for i := range l {
			if r.IntN(2) == 0 {
				l[i] = []string{"red", "blue", "x", "z", "2"}[r.IntN(5)]
			} else {
				l[i] = r.IntN(20) - 5
			}
		}
		return l
	}
	f := Filter{}
	switch r.IntN(9) {
	case 0:
		f[field] = val()
	case 1:
		f[field] = Filter{"$ne": val()}
	case 2:
		f[field] = Filter{"$gt": num()}
	case 3:
		f[field] = Filter{"$gte": num(), "$lt": num()}
	case 4:
		f[field] = Filter{"$lte": num()}
	case 5:
		f[field] = Filter{"$in": list()}
	case 6:
		f[field] = Filter{"$nin": list()}
	case 7:
		f[field] = Filter{"$exists": r.IntN(2) == 0}
	case 8:
		f[field] = Filter{"$eq": val()}
	}
	return f
}

// TestFilteredQueryMatchesBruteForce is the property test: random records
// and random filters, through the public API, against the reference
// evaluator and an exact top-k over the records it accepts. Records are
// written, overwritten and deleted in between so the index's maintenance
// is exercised, and some namespaces are large enough for both query plans.
func TestFilteredQueryMatchesBruteForce(t *testing.T) {
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 1))
	db := openMem(t)
	const dim = 6
	ix := mustIndex(t, db, "i", dim, Euclidean)
	ns := ix.Namespace("t")
	recs := map[string]Record{}
	upsert := func(n int) {
		var batch []Record
		for range n {
			id := strconv.Itoa(r.IntN(3000))
			rec := Record{ID: id, Values: randVec(r, dim), Metadata: randomMetadata(r)}
			batch = slices.DeleteFunc(batch, func(x Record) bool { return x.ID == id })
			batch = append(batch, rec)
		}
		if _, err := ns.Upsert(ctx, batch); err != nil {
			t.Fatal(err)
		}
		for _, rec := range batch {
			recs[rec.ID] = rec
		}
	}
	upsert(500)
	if _, err := ns.Query(ctx, QueryRequest{Vector: randVec(r, dim), TopK: 1}); err != nil { // hot from here on
		t.Fatal(err)
	}
	for round := range 300 {
		switch round % 10 {
		case 3:
			upsert(200)
		case 6:
			var ids []string
			for range 50 {
				ids = append(ids, strconv.Itoa(r.IntN(3000)))
			}
			if _, err := ns.Delete(ctx, ids); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				delete(recs, id)
			}
		case 9:
			id := strconv.Itoa(r.IntN(3000))
			if rec, ok := recs[id]; ok {
				set := Metadata{"n": float64(r.IntN(20) - 5), "color": "blue"}
				if _, err := ns.Update(ctx, UpdateRequest{ID: id, SetMetadata: set}); err != nil {
					t.Fatal(err)
				}
				rec.Metadata = record.MergeMetadata(rec.Metadata, set)
				recs[id] = rec
			}
		}
		f := randomFilter(r, 0)
		fn, err := compileFilter(f)
		if err != nil {
			t.Fatalf("seed %d: random filter %v invalid: %v", seed, f, err)
		}
		q := randVec(r, dim)
		k := 1 + r.IntN(40)
		res, err := ns.Query(ctx, QueryRequest{Vector: q, TopK: k, Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		var want []hitRef
		for id, rec := range recs {
			if fn.Match(rec.Metadata) {
				want = append(want, hitRef{id, refScore(Euclidean, q, rec.Values, segment.Sparse{}, segment.Sparse{})})
			}
		}
		slices.SortFunc(want, func(a, b hitRef) int {
			if a.score != b.score {
				return cmpFloat(a.score, b.score)
			}
			return strings.Compare(a.id, b.id)
		})
		want = want[:min(k, len(want))]
		if len(res.Matches) != len(want) {
			t.Fatalf("seed %d round %d: filter %s: %d matches, want %d", seed, round, fn, len(res.Matches), len(want))
		}
		for i, m := range res.Matches {
			if m.ID != want[i].id && abs(float64(m.Score)-want[i].score) > 1e-5 {
				t.Fatalf("seed %d round %d: filter %s: match %d is %s (%v), want %s (%v)", seed, round, fn, i, m.ID, m.Score, want[i].id, want[i].score)
			}
			if !fn.Match(recs[m.ID].Metadata) {
				t.Fatalf("seed %d: filter %s let %s through (%v)", seed, fn, m.ID, recs[m.ID].Metadata)
			}
		}
	}
}

type hitRef struct {
	id    string
	score float64
}

func cmpFloat(a, b float64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// FuzzParseFilter: arbitrary JSON never panics; an accepted filter
// re-serialises and re-parses to the same meaning.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`{"genre": "drama"}`, `{"a": {"$gte": 1, "$lt": 5}}`, `{"$or": [{"a": 1}, {"$not": {"b": {"$in": ["x", 2]}}}]}`,
		`{"a": {"$exists": false}}`, `{"$and": [{"a": {"$nin": []}}]}`, `{}`, `[]`, `{"a": [1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := ParseFilter(data)
		if err != nil {
			return
		}
		n1, err := compileFilter(flt)
		if err != nil {
			t.Fatalf("ParseFilter accepted what compileFilter refuses: %v", err)
		}
		again, err := json.Marshal(flt)
		if err != nil {
			t.Fatalf("accepted filter does not serialise: %v", err)
		}
		flt2, err := ParseFilter(again)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		n2, _ := compileFilter(flt2)
		if n1.String() != n2.String() {
			t.Fatalf("meaning changed: %s became %s", n1, n2)
		}
	})
}

// hostileFilters are a filter nested 10,000 deep and one with a million
// clauses, as JSON and as Go values.
func hostileFilters() map[string]struct {
	json []byte
	goF  Filter
} {
	deepGo := Filter{"a": 1}
	for range 10000 {
		deepGo = Filter{"$not": deepGo}
	}
	clauses := make([]any, 1_000_000)
	for i := range clauses {
		clauses[i] = Filter{"a": i}
	}
	return map[string]struct {
		json []byte
		goF  Filter
	}{
		"deep": {[]byte(strings.Repeat(`{"$not":`, 10000) + `{"a":1}` + strings.Repeat(`}`, 10000)), deepGo},
		"wide": {[]byte(`{"$or":[` + strings.Repeat(`{"a":1},`, 999_999) + `{"a":1}]}`), Filter{"$or": clauses}},
	}
}

// TestFilterLimits: a filter past MaxFilterDepth or MaxFilterNodes is
// refused, as JSON and as a Go value, with an error naming the limit,
// before anything proportional to its size is allocated; filters at the
// limits are accepted, the same way in both forms.
func TestFilterLimits(t *testing.T) {
	for name, h := range hostileFilters() {
		for form, parse := range map[string]func() error{
			"json": func() error { _, err := ParseFilter(h.json); return err },
			"go":   func() error { _, err := compileFilter(h.goF); return err },
		} {
			var err error
			alloc := allocatedBy(func() { err = parse() })
			var ae *ArgumentError
			if !errors.As(err, &ae) || !strings.Contains(ae.Reason, "more than") {
				t.Errorf("%s/%s: %v, want an *ArgumentError naming a limit", name, form, err)
				continue
			}
			if alloc > 1<<20 {
				t.Errorf("%s/%s: refusing allocated %d bytes, want under 1 MiB", name, form, alloc)
			}
		}
	}

	nested := func(nots int) string {
		return strings.Repeat(`{"$not":`, nots) + `{"a":1}` + strings.Repeat(`}`, nots)
	}
	// 20,007 values plus the third list: 1 root, and per field its
	// operator object, its array and the values.
	sized := func(third int) string {
		vals := func(n int) string {
			s := make([]string, n)
			for i := range s {
				s[i] = strconv.Itoa(i)
			}
			return "[" + strings.Join(s, ",") + "]"
		}
		return `{"a":{"$in":` + vals(MaxFilterValues) + `},"b":{"$nin":` + vals(MaxFilterValues) + `},"c":{"$in":` + vals(third) + `}}`
	}
	for _, c := range []struct {
		in     string
		reason string // "" if accepted
	}{
		{nested(MaxFilterDepth - 1), ""},
		{nested(MaxFilterDepth), "nested more than 32 levels"},
		{`{"$and":[{"$or":[{"a":{"$in":[1]}}]}]}`, ""},
		{sized(MaxFilterNodes - 20007), ""},
		{sized(MaxFilterNodes - 20006), "more than 30000 values"},
	} {
		for form, parse := range map[string]func() error{
			"json": func() error { _, err := ParseFilter([]byte(c.in)); return err },
			"go": func() error {
				var f Filter
				if err := json.Unmarshal([]byte(c.in), &f); err != nil {
					t.Fatal(err)
				}
				_, err := compileFilter(f)
				return err
			},
		} {
			err := parse()
			if c.reason == "" && err != nil || c.reason != "" && (err == nil || !strings.Contains(err.Error(), c.reason)) {
				t.Errorf("%s (%d bytes) as %s: %v, want %q", c.in[:min(len(c.in), 40)], len(c.in), form, err, c.reason)
			}
		}
	}
}

// TestHostileFiltersThroughAPI: every operation that takes a filter
// refuses the hostile ones with an *ArgumentError, allocating little, and
// changes nothing.
func TestHostileFiltersThroughAPI(t *testing.T) {
	db := openMem(t)
	ix, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "h", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	ns := ix.Namespace("t1")
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 2}, Metadata: Metadata{"g": "x"}}}); err != nil {
		t.Fatal(err)
	}
	for name, h := range hostileFilters() {
		f := h.goF
		for op, call := range map[string]func() error{
			"Query": func() error {
				_, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 2}, TopK: 1, Filter: f})
				return err
			},
			"FetchByMetadata": func() error { _, err := ns.FetchByMetadata(ctx, FetchByMetadataRequest{Filter: f}); return err },
			"Update": func() error {
				_, err := ns.Update(ctx, UpdateRequest{Filter: f, SetMetadata: Metadata{"g": "y"}})
				return err
			},
			"DeleteByFilter": func() error { _, err := ns.DeleteByFilter(ctx, f); return err },
		} {
			var err error
			alloc := allocatedBy(func() { err = call() })
			var ae *ArgumentError
			if !errors.As(err, &ae) || !strings.Contains(ae.Reason, "more than") {
				t.Errorf("%s, %s: %v, want an *ArgumentError naming a limit", op, name, err)
			}
			if alloc > 1<<20 {
				t.Errorf("%s, %s: allocated %d bytes, want under 1 MiB", op, name, alloc)
			}
		}
	}
	res, err := ns.Fetch(ctx, []string{"a"})
	if err != nil || len(res.Records) != 1 || res.Records["a"].Metadata["g"] != "x" {
		t.Fatalf("the record changed: %v %v", res.Records, err)
	}
}

// allocatedBy returns the bytes the process allocated while fn ran.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestFilterCostBound: a filter whose evaluation would touch more index
// entries than its budget (segment.FilterWorkPerRecord per live record, at least
// segment.FilterWorkMin) is refused with an *ArgumentError on every operation that
// takes a filter, changing nothing; one within it gives the brute-force
// answer.
func TestFilterCostBound(t *testing.T) {
	db := openMem(t)
	ix, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "c", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	ns := ix.Namespace("t")
	const n = 2000
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{ID: fmt.Sprintf("r%04d", i), Values: []float32{1, float32(i)}, Metadata: Metadata{"x": float64(i)}}
	}
	for i := 0; i < n; i += 1000 {
		if _, err := ns.Upsert(ctx, recs[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	// Each clause covers all but its first i records of the column: the
	// sum of what they cover passes the budget after a few hundred.
	ranges := func(clauses int) Filter {
		or := make([]any, clauses)
		for i := range or {
			or[i] = Filter{"x": Filter{"$gte": i}}
		}
		return Filter{"$or": or}
	}
	budget := max(segment.FilterWorkMin, segment.FilterWorkPerRecord*n)
	over := budget/n*2 + 10 // touches about twice the budget
	ok := 8
	calls := map[string]func(Filter) (int, error){
		"Query": func(f Filter) (int, error) {
			res, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1}, TopK: n, Filter: f})
			return len(res.Matches), err
		},
		"FetchByMetadata": func(f Filter) (int, error) {
			res, err := ns.FetchByMetadata(ctx, FetchByMetadataRequest{Filter: f, Limit: MaxListLimit})
			return len(res.Records), err
		},
		"Update dry run": func(f Filter) (int, error) {
			res, err := ns.Update(ctx, UpdateRequest{Filter: f, DryRun: true})
			return res.MatchedRecords, err
		},
		"DeleteByFilter": func(f Filter) (int, error) {
			_, err := ns.DeleteByFilter(ctx, f)
			return -1, err
		},
	}
	for name, call := range calls {
		_, err := call(ranges(over))
		var ae *ArgumentError
		if !errors.As(err, &ae) || ae.Field != "filter" || !strings.Contains(ae.Reason, "too costly") {
			t.Errorf("%s with %d range clauses: %v, want a too-costly *ArgumentError", name, over, err)
		}
	}
	for name, call := range calls {
		if name == "DeleteByFilter" {
			continue
		}
		got, err := call(ranges(ok))
		if err != nil || got != n {
			t.Errorf("%s with %d range clauses: %d matches, %v; want %d", name, ok, got, err, n)
		}
	}
	d, err := ix.DescribeNamespace(ctx, "t")
	if err != nil || d.RecordCount != n {
		t.Fatalf("the namespace changed: %+v, %v", d, err)
	}
	// A context already done stops the evaluation too.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ns.Query(done, QueryRequest{Vector: []float32{1, 1}, TopK: 1, Filter: ranges(ok)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
