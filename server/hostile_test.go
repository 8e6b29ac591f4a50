package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vectordb-go/vectordb"
)

// The hostile-input suite: requests an attacker holding one tenant's key
// could send. Each gets a clear 4xx naming the field, costs a bounded
// amount of memory (measured by the allocations it causes, never by wall
// time), and changes nothing.

// hostileServer serves index "h" (dimension 2) with a record in each of
// two tenants' namespaces, and returns the key of tenant t1.
func hostileServer(t *testing.T) (*httptest.Server, *vectordb.DB, string) {
	t.Helper()
	srv, db := testServer(t, Key{Secret: "admin"}, Key{Secret: "t1key", Index: "h", Namespaces: []string{"t1"}})
	if st, body := do(t, srv, "admin", "POST", "/indexes", map[string]any{"name": "h", "dimension": 2}); st != 201 {
		t.Fatalf("create index: %d %v", st, body)
	}
	for _, ns := range []string{"t1", "t2"} {
		st, body := do(t, srv, "admin", "POST", "/ix/h/vectors/upsert", map[string]any{"namespace": ns,
			"vectors": []map[string]any{{"id": "base", "values": []float32{1, 2}, "metadata": map[string]any{"g": "x"}}}})
		want(t, "upsert "+ns, st, 200, body)
	}
	return srv, db, "t1key"
}

// dump renders every record of every namespace of every index, to check
// that a refused request changed nothing.
func dump(t *testing.T, db *vectordb.DB) string {
	t.Helper()
	var b strings.Builder
	ixs, err := db.ListIndexes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ixs {
		ix, err := db.Index(d.Name)
		if err != nil {
			t.Fatal(err)
		}
		for nd, err := range ix.Namespaces(ctx, "") {
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for id, err := range ix.Namespace(nd.Name).IDs(ctx, "") {
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			res, err := ix.Namespace(nd.Name).Fetch(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(res.Records)
			fmt.Fprintf(&b, "%s/%q: %s\n", d.Name, nd.Name, js)
		}
	}
	return b.String()
}

// allocated returns the bytes allocated while fn ran (by the whole
// process: the client, the server and anything in the background).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileFilters: a filter nested 10,000 deep or holding a million
// clauses is refused on every route that takes one, with an error naming
// the limit, allocating little, and nothing changes.
func TestHostileFilters(t *testing.T) {
	srv, db, key := hostileServer(t)
	before := dump(t, db)
	deep := strings.Repeat(`{"$not":`, 10000) + `{"g":"x"}` + strings.Repeat(`}`, 10000)
	wide := func(n int) string { return `{"$or":[` + strings.Repeat(`{"g":"x"},`, n-1) + `{"g":"x"}]}` }
	justDeep := strings.Repeat(`{"$not":`, vectordb.MaxFilterDepth) + `{"g":"x"}` + strings.Repeat(`}`, vectordb.MaxFilterDepth)
	routes := []struct{ path, prefix string }{
		{"/ix/h/query", `{"namespace":"t1","vector":[1,2],"topK":3,"filter":`},
		{"/ix/h/vectors/fetch_by_metadata", `{"namespace":"t1","filter":`},
		{"/ix/h/vectors/update", `{"namespace":"t1","setMetadata":{"g":"y"},"filter":`},
		{"/ix/h/vectors/delete", `{"namespace":"t1","filter":`},
	}
	for _, rt := range routes {
		for _, c := range []struct {
			name, filter string
			status       int
			msg          string
			maxAlloc     uint64
		}{
			{"10k deep", deep, 400, "nested more than", 2 << 20},
			{"33 deep", justDeep, 400, "filter.$not", 1 << 20},
			{"300k clauses", wide(300_000), 400, "more than 30000 values", 16 << 20},
			{"1M clauses", wide(1_000_000), 413, "larger than", 1 << 20},
		} {
			body := []byte(rt.prefix + c.filter + `}`)
			var st int
			var raw []byte
			alloc := allocated(func() { st, raw, _ = send(t, srv, key, "POST", rt.path, body) })
			if st != c.status || !strings.Contains(string(raw), c.msg) {
				t.Errorf("%s, %s (%d bytes): %d %s, want %d with %q", rt.path, c.name, len(body), st, raw[:min(len(raw), 300)], c.status, c.msg)
			}
			if alloc > c.maxAlloc {
				t.Errorf("%s, %s: refusing it allocated %d bytes, want at most %d", rt.path, c.name, alloc, c.maxAlloc)
			}
			t.Logf("%s, %s (%d bytes): %d, %d bytes allocated", rt.path, c.name, len(body), st, alloc)
		}
	}
	if after := dump(t, db); after != before {
		t.Fatalf("refused filters changed the data:\n%s\nwas\n%s", after, before)
	}
}

// TestHostileUTF8: invalid UTF-8 and lone surrogate escapes anywhere a
// request carries a string (body, path, query string) are a 400 naming
// the field, never rewritten to U+FFFD, and change nothing.
func TestHostileUTF8(t *testing.T) {
	srv, db, key := hostileServer(t)
	before := dump(t, db)
	for _, c := range []struct {
		method, path, body string
		field              string
	}{
		{"POST", "/ix/h/vectors/upsert", "{\"namespace\":\"t1\",\"vectors\":[{\"id\":\"k\xff\",\"values\":[1,2]}]}", "body.vectors[0].id"},
		{"POST", "/ix/h/vectors/upsert", `{"namespace":"t1","vectors":[{"id":"s\ud800","values":[1,2]}]}`, "body.vectors[0].id"},
		{"POST", "/ix/h/vectors/upsert", `{"namespace":"t1","vectors":[{"id":"s\udfff","values":[1,2]}]}`, "body.vectors[0].id"},
		{"POST", "/ix/h/vectors/upsert", "{\"namespace\":\"t\xfe\",\"vectors\":[{\"id\":\"a\",\"values\":[1,2]}]}", "body.namespace"},
		{"POST", "/ix/h/vectors/upsert", "{\"namespace\":\"t1\",\"vectors\":[{\"id\":\"a\",\"values\":[1,2],\"metadata\":{\"k\xc3\":1}}]}", "body.vectors[0].metadata"},
		{"POST", "/ix/h/vectors/upsert", "{\"namespace\":\"t1\",\"vectors\":[{\"id\":\"a\",\"values\":[1,2],\"metadata\":{\"g\":[\"ok\",\"\xed\xa0\x80\"]}}]}", "body.vectors[0].metadata.g[1]"},
		{"POST", "/ix/h/query", "{\"namespace\":\"t1\",\"id\":\"base\xff\",\"topK\":1}", "body.id"},
		{"POST", "/ix/h/query", "{\"namespace\":\"t1\",\"vector\":[1,2],\"topK\":1,\"filter\":{\"g\":\"x\xff\"}}", "body.filter.g"},
		{"POST", "/ix/h/query", `{"namespace":"t1","vector":[1,2],"topK":1,"filter":{"g":{"$in":["\udbff"]}}}`, "body.filter.g.$in[0]"},
		{"POST", "/ix/h/vectors/update", "{\"namespace\":\"t1\",\"id\":\"base\",\"setMetadata\":{\"g\":\"\xc0\xaf\"}}", "body.setMetadata.g"},
		{"POST", "/ix/h/vectors/delete", "{\"namespace\":\"t1\",\"ids\":[\"base\",\"base\xff\"]}", "body.ids[1]"},
		{"POST", "/ix/h/vectors/fetch_by_metadata", "{\"namespace\":\"t1\xff\",\"filter\":{\"g\":\"x\"}}", "body.namespace"},
		{"POST", "/ix/h/namespaces", "{\"name\":\"t1\xff\"}", "body.name"},
		{"POST", "/ix/h/describe_index_stats", "{\"filter\":{\"g\":\"\xff\"}}", "body.filter.g"},
		{"GET", "/ix/h/vectors/fetch?namespace=t1&ids=base%FF", "", "query parameter ids"},
		{"GET", "/ix/h/vectors/fetch?namespace=t1%FF&ids=base", "", "query parameter namespace"},
		{"GET", "/ix/h/vectors/list?namespace=t1&prefix=b%FE", "", "query parameter prefix"},
		{"GET", "/ix/h/vectors/list?namespace=t1%zz", "", "malformed query string"},
		{"GET", "/ix/h/namespaces/t1%FF", "", "namespace"},
		{"DELETE", "/ix/h/namespaces/t1%FF", "", "namespace"},
		{"POST", "/ix/h/namespaces/t1%FF/import?format=jsonl", `{"id":"a","values":[1,2]}`, "namespace"},
		{"GET", "/ix/h/namespaces/t1%FF/export", "", "namespace"},
		{"POST", "/indexes", "{\"name\":\"i\xff\",\"dimension\":2}", "body.name"},
	} {
		k := key
		if strings.HasPrefix(c.path, "/indexes") {
			k = "admin"
		}
		st, raw, _ := send(t, srv, k, c.method, c.path, []byte(c.body))
		msg := string(raw)
		if st != 400 || !strings.Contains(msg, c.field) || !(strings.Contains(msg, "UTF-8") || strings.Contains(msg, "surrogate") || strings.Contains(msg, "malformed")) {
			t.Errorf("%s %s %q: %d %s, want 400 naming %s", c.method, c.path, c.body, st, msg, c.field)
		}
		if !utf8.Valid(raw) {
			t.Errorf("%s %s: the error answer is not valid UTF-8: %q", c.method, c.path, raw)
		}
	}
	if after := dump(t, db); after != before {
		t.Fatalf("refused requests changed the data:\n%s\nwas\n%s", after, before)
	}
	// Valid UTF-8 beyond ASCII, and a surrogate pair, still work, and stay
	// distinct from the names JSON can no longer smuggle in.
	for _, id := range []string{"k\u00ff", "k\U0001F600", "k\ufffd"} {
		body, _ := json.Marshal(map[string]any{"namespace": "t1", "vectors": []map[string]any{{"id": id, "values": []float32{1, 2}}}})
		if st, b := do(t, srv, key, "POST", "/ix/h/vectors/upsert", body); st != 200 {
			t.Fatalf("upsert %q: %d %v", id, st, b)
		}
	}
	if st, b := do(t, srv, key, "POST", "/ix/h/vectors/upsert", `{"namespace":"t1","vectors":[{"id":"p\ud83d\ude00","values":[1,2]}]}`); st != 200 {
		t.Fatalf("a surrogate pair: %d %v", st, b)
	}
	st, b := do(t, srv, key, "POST", "/ix/h/describe_index_stats", "")
	want(t, "stats", st, 200, b)
	if n := b["namespaces"].(map[string]any)["t1"].(map[string]any)["vectorCount"]; n != float64(5) {
		t.Fatalf("t1 holds %v records, want 5", n)
	}
}

// TestHostileJSON: repeated keys, deep nesting, huge numbers and wide
// arrays get a clear 400 and change nothing.
func TestHostileJSON(t *testing.T) {
	srv, db, key := hostileServer(t)
	before := dump(t, db)
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, c := range []struct {
		path, body, msg string
	}{
		{"/ix/h/vectors/upsert", `{"namespace":"t1","vectors":[{"id":"a","id":"base","values":[1,2]}]}`, "the key id appears twice"},
		{"/ix/h/vectors/upsert", `{"namespace":"t2","namespace":"t1","vectors":[{"id":"a","values":[1,2]}]}`, "the key namespace appears twice"},
		{"/ix/h/vectors/upsert", `{"namespace":"t1","vectors":[{"id":"a","values":[1,2],"metadata":{"g":` + nest(100_000) + `}}]}`, "nested more than 40 levels"},
		{"/ix/h/vectors/upsert", `{"namespace":"t1","vectors":[{"id":"a","values":[1e999,2]}]}`, "1e999 is not a valid number"},
		{"/ix/h/vectors/upsert", `{"namespace":"t1","vectors":[{"id":"a","values":[1,2` + strings.Repeat(",0", 900_000) + `]}]}`, "dimension"},
		{"/ix/h/vectors/upsert", `{"namespace":"t1","vectors":[{"id":"a","values":[1,2],"metadata":{"n":1` + strings.Repeat("0", 400) + `}}]}`, "metadata"},
		{"/ix/h/query", `{"namespace":"t1","vector":[1,2],"topK":1e30}`, "topK"},
		{"/ix/h/query", `{"namespace":"t1","vector":[1,2],"topK":-1}`, "topK"},
		{"/ix/h/query", `{"namespace":"t1","vector":[1,2],"topK":1,"filter":{"g":{"$gt":1e999}}}`, "$gt needs a number"},
		{"/ix/h/query", `{"namespace":"t1","vector":[1,2],"topK":1,"filter":{"g":"x","g":"y"}}`, "the key g appears twice"},
		{"/ix/h/query", `{"namespace":"t1","vector":[1,2],"topK":1}{"namespace":"t2"}`, "data after the JSON value"},
		{"/ix/h/vectors/update", `{"namespace":"t1","id":"base","setMetadata":{"g":{"nested":1}}}`, "setMetadata"},
	} {
		st, raw, _ := send(t, srv, key, "POST", c.path, []byte(c.body))
		if st != 400 || !strings.Contains(string(raw), c.msg) {
			t.Errorf("%s %.80q: %d %.300s, want 400 with %q", c.path, c.body, st, raw, c.msg)
		}
	}
	if after := dump(t, db); after != before {
		t.Fatalf("refused requests changed the data:\n%s\nwas\n%s", after, before)
	}
}

// TestMetricsHostileNames: namespace names that differ only in bytes that
// are not UTF-8 (which the library accepts), or that look like the
// escaping of such bytes, keep distinct label values, and the scrape
// answers 200.
func TestMetricsHostileNames(t *testing.T) {
	srv, db := testServer(t, Key{Secret: "admin"})
	do(t, srv, "admin", "POST", "/indexes", map[string]any{"name": "m", "dimension": 2})
	ix, err := db.Index("m")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"t\xff", "t\xfe", `t\xff`, "t\ufffd", "t\\", `t\\`, "t\xff\xfe", "t\xc3"}
	for i, name := range names {
		recs := make([]vectordb.Record, i+1) // i+1 records, so that each series has its own value
		for j := range recs {
			recs[j] = vectordb.Record{ID: fmt.Sprint(j), Values: []float32{1, 2}}
		}
		if _, err := ix.Namespace(name).Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // a second scrape as well: the first must not poison it
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		req.Header.Set("Api-Key", "admin")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		raw.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("metrics: %d %s", resp.StatusCode, raw.String())
		}
		for i, name := range names {
			// Prometheus' text format escapes a backslash in a label value.
			line := fmt.Sprintf(`vectordb_namespace_records{index="m",namespace="%s"} %d`, strings.ReplaceAll(labelValue(name), `\`, `\\`), i+1)
			if !strings.Contains(raw.String(), line) {
				t.Errorf("metrics lack %s", line)
			}
		}
	}
	seen := map[string]string{}
	for _, name := range names {
		l := labelValue(name)
		if !utf8.ValidString(l) {
			t.Errorf("labelValue(%q) = %q, not UTF-8", name, l)
		}
		if o, dup := seen[l]; dup {
			t.Errorf("labelValue(%q) = labelValue(%q) = %q", name, o, l)
		}
		seen[l] = name
	}
}

// FuzzRequestDecoding sends arbitrary bodies to every data-plane route
// that reads one: never a 5xx (clients retry those), never a panic, and
// a body that is not UTF-8 is never accepted.
func FuzzRequestDecoding(f *testing.F) {
	db, err := vectordb.Open("", &vectordb.Options{InMemory: true, MemTableSize: 8 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	if _, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "f", Dimension: 2}); err != nil {
		f.Fatal(err)
	}
	h, err := New(db, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	routes := []string{"/ix/f/vectors/upsert", "/ix/f/query", "/ix/f/vectors/fetch_by_metadata", "/ix/f/vectors/update",
		"/ix/f/vectors/delete", "/ix/f/describe_index_stats", "/ix/f/namespaces", "/indexes"}
	for i, s := range []string{
		`{"vectors":[{"id":"a","values":[1,2],"metadata":{"g":"x"}}]}`,
		`{"vector":[1,2],"topK":2,"filter":{"g":{"$in":["x","y"]}}}`,
		`{"filter":{"$or":[{"g":"x"},{"$not":{"g":"y"}}]},"limit":3}`,
		`{"id":"a","setMetadata":{"g":"y"}}`,
		`{"ids":["a"],"namespace":"n"}`,
		`{"filter":{"g":"x"}}`,
		`{"name":"n"}`,
		`{"name":"x","dimension":2}`,
		"{\"id\":\"\xff\"}", `{"id":"\ud800"}`, `{"a":1,"a":2}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := routes[int(route)%len(routes)]
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path, bytes.NewReader(body)))
		switch {
		case rec.Code >= 500:
			t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
		case rec.Code < 300 && !utf8.Valid(body):
			t.Fatalf("POST %s %q: %d, accepted invalid UTF-8", path, body, rec.Code)
		case !utf8.Valid(rec.Body.Bytes()):
			t.Fatalf("POST %s %q: the answer is not UTF-8: %q", path, body, rec.Body)
		}
	})
}

// TestHostileImports: an import over HTTP cannot smuggle in ids JSON
// cannot carry (a native export holding them is refused), and a blank
// JSON Lines body cannot empty a namespace with replace=true; both change
// nothing. Error answers never echo a huge input back.
func TestHostileImports(t *testing.T) {
	srv, db, key := hostileServer(t)
	// A native export with ids that are not UTF-8, made by the library
	// (which takes any id bytes).
	src, err := vectordb.Open("", &vectordb.Options{InMemory: true, MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	six, err := src.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "h", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := six.Namespace("x").Upsert(ctx, []vectordb.Record{{ID: "k\xff", Values: []float32{1, 2}}, {ID: "k\xfe", Values: []float32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	var native bytes.Buffer
	if _, err := six.Namespace("x").Export(ctx, &native); err != nil {
		t.Fatal(err)
	}
	before := dump(t, db)
	for _, c := range []struct {
		key, path, body, msg string
	}{
		{key, "/ix/h/namespaces/t1/import?replace=true", native.String(), "is not valid UTF-8"},
		{"admin", "/ix/h/namespaces/t3/import", native.String(), "is not valid UTF-8"},
		{key, "/ix/h/namespaces/t1/import?format=jsonl&replace=true", "\n", "blank body"},
		{key, "/ix/h/namespaces/t1/import?format=jsonl&replace=true", " \r\n\t\n", "blank body"},
	} {
		st, raw, _ := send(t, srv, c.key, "POST", c.path, []byte(c.body))
		if st != 400 || !strings.Contains(string(raw), c.msg) {
			t.Errorf("POST %s %.40q: %d %s, want 400 with %q", c.path, c.body, st, raw, c.msg)
		}
	}
	if after := dump(t, db); after != before {
		t.Fatalf("refused imports changed the data:\n%s\nwas\n%s", after, before)
	}
	// Huge operands are cut in error answers.
	huge := strings.Repeat("9", 1<<20)
	for _, body := range []string{
		`{"namespace":"t1","vector":[1,2],"topK":1,"filter":{"g":{"$gt":"` + huge + `"}}}`,
		`{"namespace":"t1","vector":[1,2],"topK":1,"filter":{"g":{"$eq":[` + huge + `]}}}`,
		`{"namespace":"t1","vector":[1,2],"topK":1,"filter":{"` + huge + `":1,"` + huge + `":2}}`,
	} {
		st, raw, _ := send(t, srv, key, "POST", "/ix/h/query", []byte(body))
		if st != 400 || len(raw) > 1024 {
			t.Errorf("a 1 MB operand: %d with a %d-byte answer, want 400 and a short answer: %.200s", st, len(raw), raw)
		}
	}
	st, raw, _ := send(t, srv, key, "GET", "/ix/h/vectors/fetch?namespace=t1&ids="+strings.Repeat("%FF", 100_000), nil)
	if st != 400 || len(raw) > 1024 {
		t.Errorf("a long invalid id: %d with a %d-byte answer", st, len(raw))
	}
}
