package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb"
)

func TestExportImportRoutes(t *testing.T) {
	srv, db := testServer(t, Key{Secret: "admin"}, Key{Secret: "tenant", Index: "docs", Namespaces: []string{"t1"}})
	ix, err := db.CreateIndex(ctx, vectordb.IndexSpec{Name: "docs", Dimension: 2, Metric: vectordb.DotProduct})
	if err != nil {
		t.Fatal(err)
	}
	recs := []vectordb.Record{
		{ID: "a", Values: []float32{1, 2}, Metadata: vectordb.Metadata{"genre": "drama"}},
		{ID: "b", Values: []float32{0.5, -1}, SparseValues: &vectordb.SparseValues{Indices: []uint32{3}, Values: []float32{0.25}}},
	}
	if _, err := ix.Namespace("t1").Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Namespace("t2").Upsert(ctx, recs[:1]); err != nil {
		t.Fatal(err)
	}
	base := "/ix/docs/namespaces/"
	for _, format := range []string{"", "native", "jsonl", "jsonl.gz", "jsonl.zst"} {
		// The tenant's own key exports its namespace...
		st, body, hdr := send(t, srv, "tenant", "GET", base+"t1/export?format="+format, nil)
		if st != 200 || len(body) == 0 {
			t.Fatalf("export %q: %d %s", format, st, body)
		}
		if format == "jsonl" && (hdr.Get("Content-Type") != "application/x-ndjson" || strings.Count(string(body), "\n") != 2) {
			t.Fatalf("JSON Lines export: %s\n%s", hdr.Get("Content-Type"), body)
		}
		// ...and the admin imports it under another name.
		dst := "copy-" + strings.ReplaceAll(format, ".", "-")
		st, ans, _ := send(t, srv, "admin", "POST", base+dst+"/import?format="+format, body)
		if st != 200 || !strings.Contains(string(ans), `"recordCount":2`) {
			t.Fatalf("import %q: %d %s", format, st, ans)
		}
		got, err := ix.Namespace(dst).Fetch(ctx, []string{"a", "b"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			g := got.Records[r.ID]
			if !reflect.DeepEqual(g.Values, r.Values) || !reflect.DeepEqual(g.Metadata, r.Metadata) || !reflect.DeepEqual(g.SparseValues, r.SparseValues) {
				t.Fatalf("%s: %q = %+v, want %+v", format, r.ID, g, r)
			}
		}
	}
	_, jsonlGz, _ := send(t, srv, "admin", "GET", base+"t1/export?format=jsonl.gz", nil)
	if zr, err := gzip.NewReader(bytes.NewReader(jsonlGz)); err != nil {
		t.Fatal(err)
	} else if lines, err := io.ReadAll(zr); err != nil || !bytes.HasPrefix(lines, []byte(`{"id":"a","values":[1,2],"metadata":{"genre":"drama"}}`)) {
		t.Fatalf("jsonl.gz export decompresses to %q (%v)", lines, err)
	}
	_, native, _ := send(t, srv, "admin", "GET", base+"t1/export", nil)

	for _, c := range []struct {
		name, key, method, path string
		body                    []byte
		status                  int
		code                    float64
	}{
		{"other tenant's export", "tenant", "GET", "t2/export", nil, 403, 7},
		{"import into another tenant", "tenant", "POST", "t2/import?replace=true", native, 403, 7},
		{"no key", "", "GET", "t1/export", nil, 401, 16},
		{"unknown format", "admin", "GET", "t1/export?format=csv", nil, 400, 3},
		{"missing namespace", "admin", "GET", "nope/export", nil, 404, 5},
		{"existing namespace", "admin", "POST", "t2/import", native, 409, 6},
		{"replace not a bool", "admin", "POST", "t2/import?replace=maybe", native, 400, 3},
		{"damaged stream", "admin", "POST", "new/import", native[:len(native)-10], 400, 3},
		{"not gzip", "admin", "POST", "new/import?format=jsonl.gz", []byte("{}"), 400, 3},
		{"bad line", "admin", "POST", "new/import?format=jsonl", []byte(`{"id":"a","values":[1,2,3]}`), 400, 3},
	} {
		url := base + c.path
		st, ans, _ := send(t, srv, c.key, c.method, url, c.body)
		var body map[string]any
		if err := json.Unmarshal(ans, &body); err != nil || st != c.status {
			t.Fatalf("%s: %d %s, want %d", c.name, st, ans, c.status)
		}
		dataError(t, body, c.code)
	}
	if _, err := ix.DescribeNamespace(ctx, "new"); err == nil {
		t.Fatal("a refused import left a namespace")
	}
	// Replacing is atomic and keeps nothing of the old namespace.
	st, ans, _ := send(t, srv, "admin", "POST", base+"t2/import?replace=true&format=jsonl", []byte(`{"id":"z","values":[3,4]}`))
	if st != 200 {
		t.Fatalf("replace: %d %s", st, ans)
	}
	if d, err := ix.DescribeNamespace(ctx, "t2"); err != nil || d.RecordCount != 1 {
		t.Fatalf("replaced namespace: %+v, %v", d, err)
	}
	// An id JSON cannot hold is refused before the first byte, naming the
	// format that holds it.
	if _, err := ix.Namespace("odd").Upsert(ctx, []vectordb.Record{{ID: "\xff", Values: []float32{1, 1}}}); err != nil {
		t.Fatal(err)
	}
	st, ans, _ = send(t, srv, "admin", "GET", base+"odd/export?format=jsonl", nil)
	if st != 400 || !strings.Contains(string(ans), "format=native") {
		t.Fatalf("JSON Lines export of a non-UTF-8 id: %d %s", st, ans)
	}
}

// TestExportAbortsMidway: an export that fails after its first bytes cuts
// the response, so that the client cannot take it for a whole one.
func TestExportAbortsMidway(t *testing.T) {
	srv, db := testServer(t)
	ix, err := db.CreateIndex(ctx, vectordb.IndexSpec{Name: "docs", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	var recs []vectordb.Record
	for i := range 3000 { // far more than the export buffers before writing
		recs = append(recs, vectordb.Record{ID: fmt.Sprintf("a%05d", i), Values: []float32{1, float32(i)}})
	}
	recs = append(recs, vectordb.Record{ID: "b\xff", Values: []float32{1, 1}}) // JSON cannot hold it: the export fails here
	for i := 0; i < len(recs); i += 1000 {
		if _, err := ix.Namespace("t").Upsert(ctx, recs[i:min(i+1000, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := srv.Client().Get(srv.URL + "/ix/docs/namespaces/t/export?format=jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || err == nil {
		t.Fatalf("status %d, %d bytes read, error %v: want a cut 200 response", resp.StatusCode, len(b), err)
	}
	if len(b) < 64<<10 {
		t.Fatalf("only %d bytes arrived before the cut: the test did not reach the midway failure", len(b))
	}
}
