package filter

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb/internal/testutil"
)

// object is the ObjectFunc of these tests: it recognizes one named map
// type, as the root package recognizes Filter and Metadata.
type namedMap map[string]any

func object(v any) (map[string]any, bool) {
	o, ok := v.(namedMap)
	return o, ok
}

func mustParse(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

// TestCompileGoValues: filters written as Go maps accept Go's number and
// slice types, json.Number and nested maps of either kind.
func TestCompileGoValues(t *testing.T) {
	f := map[string]any{
		"a": int64(3), "b": float32(1.5), "c": uint8(7), "d": json.Number("4"),
		"e": map[string]any{"$in": []string{"x", "y"}}, "g": namedMap{"$nin": []int{1, 2}},
		"$or": []namedMap{{"h": true}, {"i": namedMap{"$exists": false}}},
	}
	n, err := Compile(f, object)
	if err != nil {
		t.Fatal(err)
	}
	want := `$and("a"$eq(3),"b"$eq(1.5),"c"$eq(7),"d"$eq(4),"e"$in["x","y"],"g"$nin[1,2],$or("h"$eq(true),"i"$exists(false)))`
	if n.String() != want {
		t.Fatalf("compiled %s\nwant     %s", n, want)
	}
	for _, bad := range []map[string]any{{"a": struct{}{}}, {"a": map[string]any{"$gt": json.Number("x")}}, {"a": complex(1, 2)}} {
		var fe *Error
		if _, err := Compile(bad, object); !errors.As(err, &fe) {
			t.Errorf("%v accepted", bad)
		}
	}
	// Without an ObjectFunc a named map is no object.
	if _, err := Compile(map[string]any{"a": namedMap{"$eq": 1}}, nil); err == nil {
		t.Error("a named map compiled without an ObjectFunc")
	}
}

// TestCompileErrors: errors name the path and the reason.
func TestCompileErrors(t *testing.T) {
	for _, c := range []struct{ in, path, reason string }{
		{`{}`, `filter`, `empty filter object`},
		{`{"$eq": 5}`, `filter.$eq`, `must apply to a field`},
		{`{"a": {"$foo": 5}}`, `filter.a`, `unknown operator $foo`},
		{`{"a": {"$in": [true]}}`, `filter.a.$in[0]`, `takes strings and numbers, got true`},
		{`{"$and": [{"a": 1}, {"year": {"$gt": "2020"}}]}`, `filter.$and[1].year`, `$gt needs a number, got "2020"`},
		{`{"$not": {"a": {"$gt": "x"}}}`, `filter.$not.a`, `$gt needs a number`},
		{strings.Repeat(`{"$not": `, 40) + `{"a": 1}` + strings.Repeat(`}`, 40), `filter` + strings.Repeat(`.$not`, MaxDepth), `nested more than 32 levels`},
	} {
		_, err := Compile(mustParse(t, c.in), nil)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want an *Error", c.in, err)
			continue
		}
		if fe.Path != c.path || !strings.Contains(fe.Reason, c.reason) {
			t.Errorf("%s: %q, want path %q and %q", c.in, err, c.path, c.reason)
		}
	}
	tooMany := make([]any, MaxValues+1)
	for i := range tooMany {
		tooMany[i] = i
	}
	if _, err := Compile(map[string]any{"a": map[string]any{"$in": tooMany}}, nil); err == nil || !strings.Contains(err.Error(), "more than 10000") {
		t.Errorf("10001 $in values: %v", err)
	}
	if _, err := Compile(map[string]any{"a": map[string]any{"$in": tooMany[:MaxValues]}}, nil); err != nil {
		t.Errorf("10000 $in values: %v", err)
	}
}

// matchRecords are the records TestMatch filters.
var matchRecords = testutil.FilterRecords()

// TestMatch checks the reference evaluator's semantics.
func TestMatch(t *testing.T) {
	for _, c := range []struct {
		filter string
		want   string // matching ids, sorted, comma-separated
	}{
		{`{"genre": "drama"}`, "drama2019,drama2021"},
		{`{"genre": {"$ne": "drama"}}`, "comedy,noyear"},
		{`{"year": 0}`, "negzero"},
		{`{"year": {"$ne": 2020}}`, "drama2019,drama2021,negzero,strYear"},
		{`{"year": {"$gte": 2019, "$lt": 2021}}`, "comedy,drama2019"},
		{`{"year": {"$gt": 2019, "$gte": 2019, "$lte": 2021, "$lt": 2021}}`, "comedy"},
		{`{"year": {"$in": [2019, 2021, "2020"]}}`, "drama2019,drama2021,strYear"},
		{`{"tags": {"$ne": "a"}}`, "drama2021,noyear"},
		{`{"tags": {"$exists": false}}`, "comedy,negzero,none,strYear"},
		{`{"ok": {"$gt": 0}}`, ""},
		{`{"missing": {"$nin": [1]}}`, ""},
		{`{"$or": [{"genre": "comedy"}, {"year": {"$lt": 2020}}]}`, "comedy,drama2019,negzero"},
		{`{"genre": "drama", "$not": {"tags": "a"}}`, "drama2021"},
	} {
		n, err := Compile(mustParse(t, c.filter), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		var got []string
		for id, md := range matchRecords {
			if n.Match(md) {
				got = append(got, id)
			}
		}
		slices.Sort(got)
		if strings.Join(got, ",") != c.want {
			t.Errorf("%s: matches %v, want %s", c.filter, got, c.want)
		}
	}
}

// TestValueKey: -0 and 0 share a key; kinds never collide.
func TestValueKey(t *testing.T) {
	neg := Value{Kind: 'n'}
	neg.N = -neg.N
	if (Value{Kind: 'n'}).Key() != neg.Key() {
		t.Error("0 and -0 differ")
	}
	if (Value{Kind: 'b', B: true}).Key() == (Value{Kind: 'n', N: 1}).Key() || (Value{Kind: 's', S: "1"}).Key() == (Value{Kind: 'n', N: 1}).Key() {
		t.Error("kinds collide")
	}
}
