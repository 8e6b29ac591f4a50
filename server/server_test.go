package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb"
)

var ctx = context.Background()

// testServer serves an in-memory database with the given keys.
func testServer(t *testing.T, keys ...Key) (*httptest.Server, *vectordb.DB) {
	t.Helper()
	return testServerWith(t, Config{Keys: keys}, nil)
}

// testServerWith serves an in-memory database with cfg (its Logger
// silenced), after setup, if not nil, has configured the http.Server.
func testServerWith(t *testing.T, cfg Config, setup func(*http.Server)) (*httptest.Server, *vectordb.DB) {
	t.Helper()
	srv, db, _ := serveTest(t, cfg, setup)
	return srv, db
}

// serveTest is testServerWith for tests and benchmarks that need the
// Handler too.
func serveTest(t testing.TB, cfg Config, setup func(*http.Server)) (*httptest.Server, *vectordb.DB, *Handler) {
	t.Helper()
	db, err := vectordb.Open("", &vectordb.Options{InMemory: true, MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	if setup != nil {
		setup(srv.Config)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		db.Close()
	})
	return srv, db, h
}

// do sends a request and decodes the JSON answer (if any) into a map.
func do(t *testing.T, srv *httptest.Server, key, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	status, raw, _ := send(t, srv, key, method, path, b)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
		}
	}
	return status, out
}

// send sends a request with a raw body (none if nil) and returns the
// status, the raw answer and its header.
func send(t *testing.T, srv *httptest.Server, key, method, path string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Api-Key", key)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw, resp.Header
}

// want checks a status code.
func want(t *testing.T, what string, got, wantStatus int, body map[string]any) {
	t.Helper()
	if got != wantStatus {
		t.Fatalf("%s: status %d, want %d (%v)", what, got, wantStatus, body)
	}
}

// dataError checks the data plane's error shape and returns its message.
func dataError(t *testing.T, body map[string]any, code float64) string {
	t.Helper()
	if body["code"] != code || body["details"] == nil {
		t.Fatalf("error body %v, want code %v with details", body, code)
	}
	return body["message"].(string)
}

func TestControlPlane(t *testing.T) {
	srv, _ := testServer(t)
	st, body := do(t, srv, "", "POST", "/indexes", map[string]any{"name": "docs", "dimension": 4, "metric": "cosine",
		"spec": map[string]any{"serverless": map[string]any{"cloud": "aws", "region": "us-east-1"}}})
	want(t, "create", st, 201, body)
	if body["host"] != srv.URL+"/ix/docs" || body["status"].(map[string]any)["ready"] != true || body["deletion_protection"] != "disabled" {
		t.Fatalf("created %v", body)
	}
	st, body = do(t, srv, "", "POST", "/indexes", map[string]any{"name": "docs", "dimension": 4})
	want(t, "create again", st, 409, body)
	if e := body["error"].(map[string]any); e["code"] != "ALREADY_EXISTS" || body["status"] != 409.0 {
		t.Fatalf("error body %v", body)
	}
	st, body = do(t, srv, "", "POST", "/indexes", map[string]any{"name": "bad", "dimension": 0})
	want(t, "dimension 0", st, 400, body)
	if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "imension") {
		t.Fatalf("message %q does not name the field", msg)
	}
	st, body = do(t, srv, "", "POST", "/indexes", "{not json")
	want(t, "malformed", st, 400, body)

	st, body = do(t, srv, "", "GET", "/indexes", nil)
	want(t, "list", st, 200, body)
	if n := len(body["indexes"].([]any)); n != 1 {
		t.Fatalf("%d indexes", n)
	}
	st, body = do(t, srv, "", "GET", "/indexes/docs", nil)
	want(t, "describe", st, 200, body)
	if body["dimension"] != 4.0 || body["metric"] != "cosine" {
		t.Fatalf("described %v", body)
	}
	st, body = do(t, srv, "", "PATCH", "/indexes/docs", map[string]any{"deletion_protection": "enabled", "tags": map[string]string{"team": "a"}})
	want(t, "configure", st, 202, body)
	if body["deletion_protection"] != "enabled" || body["tags"].(map[string]any)["team"] != "a" {
		t.Fatalf("configured %v", body)
	}
	st, body = do(t, srv, "", "DELETE", "/indexes/docs", nil)
	want(t, "delete protected", st, 403, body)
	do(t, srv, "", "PATCH", "/indexes/docs", map[string]any{"deletion_protection": "disabled"})
	st, body = do(t, srv, "", "DELETE", "/indexes/docs", nil)
	want(t, "delete", st, 202, body)
	st, body = do(t, srv, "", "GET", "/indexes/docs", nil)
	want(t, "describe deleted", st, 404, body)
	if body["error"].(map[string]any)["code"] != "NOT_FOUND" {
		t.Fatalf("error body %v", body)
	}
}

func TestDataPlane(t *testing.T) {
	srv, _ := testServer(t)
	do(t, srv, "", "POST", "/indexes", map[string]any{"name": "ix", "dimension": 3, "metric": "dotproduct"})
	ix := "/ix/ix"
	vecs := []map[string]any{
		{"id": "a", "values": []float32{1, 0, 0}, "metadata": map[string]any{"genre": "drama", "year": 2020}},
		{"id": "b", "values": []float32{0, 1, 0}, "sparse_values": map[string]any{"indices": []int{1, 5}, "values": []float32{0.5, 0.5}}},
		{"id": "c", "values": []float32{0, 0, 1}, "metadata": map[string]any{"genre": "comedy"}},
	}
	st, body := do(t, srv, "", "POST", ix+"/vectors/upsert", map[string]any{"vectors": vecs, "namespace": "t1"})
	want(t, "upsert", st, 200, body)
	if body["upsertedCount"] != 3.0 {
		t.Fatalf("upsert %v", body)
	}
	// Dimension mismatch: 400 with Pinecone's message, never a 5xx.
	st, body = do(t, srv, "", "POST", ix+"/vectors/upsert", map[string]any{"vectors": []map[string]any{{"id": "x", "values": []float32{1, 2}}}, "namespace": "t1"})
	want(t, "bad dimension", st, 400, body)
	if msg := dataError(t, body, 3); msg != "Vector dimension 2 does not match the dimension of the index 3" {
		t.Fatalf("message %q", msg)
	}

	st, body = do(t, srv, "", "POST", ix+"/query", map[string]any{"namespace": "t1", "vector": []float32{1, 0.1, 0}, "topK": 2, "includeMetadata": true})
	want(t, "query", st, 200, body)
	m := body["matches"].([]any)
	first := m[0].(map[string]any)
	if len(m) != 2 || first["id"] != "a" || first["metadata"].(map[string]any)["genre"] != "drama" {
		t.Fatalf("query %v", body)
	}
	if vals, ok := first["values"].([]any); !ok || len(vals) != 0 {
		t.Fatalf(`values not requested must be [], got %v`, first["values"])
	}
	if body["usage"].(map[string]any)["readUnits"] != 1.0 || body["namespace"] != "t1" {
		t.Fatalf("query %v", body)
	}
	// snake_case and a filter.
	st, body = do(t, srv, "", "POST", ix+"/query", map[string]any{"namespace": "t1", "vector": []float32{1, 1, 1}, "top_k": 5,
		"include_values": true, "filter": map[string]any{"genre": map[string]any{"$eq": "comedy"}}})
	want(t, "filtered query", st, 200, body)
	if m := body["matches"].([]any); len(m) != 1 || m[0].(map[string]any)["id"] != "c" || len(m[0].(map[string]any)["values"].([]any)) != 3 {
		t.Fatalf("filtered query %v", body)
	}
	st, body = do(t, srv, "", "POST", ix+"/query", map[string]any{"namespace": "t1", "vector": []float32{1, 1, 1}, "topK": 0})
	want(t, "topK 0", st, 400, body)
	dataError(t, body, 3)

	st, body = do(t, srv, "", "GET", ix+"/vectors/fetch?ids=a&ids=b&ids=zz&namespace=t1", nil)
	want(t, "fetch", st, 200, body)
	v := body["vectors"].(map[string]any)
	if len(v) != 2 || v["b"].(map[string]any)["sparseValues"] == nil {
		t.Fatalf("fetch %v", body)
	}

	st, body = do(t, srv, "", "POST", ix+"/vectors/update", map[string]any{"namespace": "t1", "id": "a", "setMetadata": map[string]any{"year": 2021}})
	want(t, "update by id", st, 200, body)
	if len(body) != 0 {
		t.Fatalf("update by id answered %v, want {}", body)
	}
	st, body = do(t, srv, "", "POST", ix+"/vectors/update", map[string]any{"namespace": "t1", "filter": map[string]any{"genre": "drama"}, "dry_run": true})
	want(t, "update dry run", st, 200, body)
	if body["matchedRecords"] != 1.0 {
		t.Fatalf("dry run %v", body)
	}

	st, body = do(t, srv, "", "GET", ix+"/vectors/list?namespace=t1&limit=2", nil)
	want(t, "list", st, 200, body)
	next := body["pagination"].(map[string]any)["next"].(string)
	if len(body["vectors"].([]any)) != 2 {
		t.Fatalf("list %v", body)
	}
	st, body = do(t, srv, "", "GET", ix+"/vectors/list?namespace=t1&limit=2&paginationToken="+next, nil)
	want(t, "list page 2", st, 200, body)
	if len(body["vectors"].([]any)) != 1 || body["pagination"] != nil {
		t.Fatalf("list page 2 %v", body)
	}

	st, body = do(t, srv, "", "POST", ix+"/vectors/fetch_by_metadata", map[string]any{"namespace": "t1", "filter": map[string]any{"year": map[string]any{"$gte": 2021}}})
	want(t, "fetch by metadata", st, 200, body)
	if v := body["vectors"].(map[string]any); len(v) != 1 || v["a"] == nil {
		t.Fatalf("fetch by metadata %v", body)
	}

	st, body = do(t, srv, "", "POST", ix+"/describe_index_stats", nil) // empty body allowed
	want(t, "stats", st, 200, body)
	if body["totalVectorCount"] != 3.0 || body["dimension"] != 3.0 || body["namespaces"].(map[string]any)["t1"].(map[string]any)["vectorCount"] != 3.0 {
		t.Fatalf("stats %v", body)
	}

	st, body = do(t, srv, "", "POST", ix+"/vectors/delete", map[string]any{"namespace": "t1", "ids": []string{"a"}})
	want(t, "delete ids", st, 200, body)
	st, body = do(t, srv, "", "POST", ix+"/vectors/delete", map[string]any{"namespace": "t1", "filter": map[string]any{"genre": "comedy"}})
	want(t, "delete by filter", st, 200, body)
	st, body = do(t, srv, "", "POST", ix+"/vectors/delete", map[string]any{"namespace": "t1"})
	want(t, "delete nothing", st, 400, body)
	st, body = do(t, srv, "", "GET", ix+"/vectors/fetch?ids=a&ids=b&ids=c&namespace=t1", nil)
	if v := body["vectors"].(map[string]any); st != 200 || len(v) != 1 || v["b"] == nil {
		t.Fatalf("after deletes: %d %v", st, body)
	}
	st, body = do(t, srv, "", "POST", ix+"/vectors/delete", map[string]any{"namespace": "t1", "deleteAll": true})
	want(t, "delete all", st, 200, body)
}

func TestDefaultNamespaceSpellings(t *testing.T) {
	srv, _ := testServer(t)
	do(t, srv, "", "POST", "/indexes", map[string]any{"name": "ix", "dimension": 2})
	for i, ns := range []any{nil, "", "__default__"} {
		req := map[string]any{"vectors": []map[string]any{{"id": fmt.Sprint(i), "values": []float32{1, float32(i)}}}}
		if ns != nil {
			req["namespace"] = ns
		}
		st, body := do(t, srv, "", "POST", "/ix/ix/vectors/upsert", req)
		want(t, "upsert", st, 200, body)
	}
	st, body := do(t, srv, "", "GET", "/ix/ix/namespaces", nil)
	want(t, "namespaces", st, 200, body)
	nss := body["namespaces"].([]any)
	if len(nss) != 1 || nss[0].(map[string]any)["name"] != "__default__" || nss[0].(map[string]any)["record_count"] != "3" {
		t.Fatalf("namespaces %v", body)
	}
}

func TestNamespaces(t *testing.T) {
	srv, _ := testServer(t)
	do(t, srv, "", "POST", "/indexes", map[string]any{"name": "ix", "dimension": 2})
	st, body := do(t, srv, "", "POST", "/ix/ix/namespaces", map[string]any{"name": "t1"})
	want(t, "create", st, 201, body)
	st, body = do(t, srv, "", "POST", "/ix/ix/namespaces", map[string]any{"name": "t1"})
	want(t, "create again", st, 409, body)
	dataError(t, body, 6)
	st, body = do(t, srv, "", "GET", "/ix/ix/namespaces/t1", nil)
	want(t, "describe", st, 200, body)
	if body["record_count"] != "0" {
		t.Fatalf("describe %v", body)
	}
	st, body = do(t, srv, "", "DELETE", "/ix/ix/namespaces/t1", nil)
	want(t, "delete", st, 202, body)
	st, body = do(t, srv, "", "GET", "/ix/ix/namespaces/t1", nil)
	want(t, "describe deleted", st, 404, body)
	dataError(t, body, 5)
	st, body = do(t, srv, "", "GET", "/ix/nope/namespaces", nil)
	want(t, "unknown index", st, 404, body)
}

func TestBodyLimit(t *testing.T) {
	srv, _ := testServer(t)
	do(t, srv, "", "POST", "/indexes", map[string]any{"name": "ix", "dimension": 2})
	big := `{"vectors": [` + strings.Repeat(`{"id": "x", "values": [1, 2]},`, 80000) + `{"id": "y", "values": [1, 2]}]}`
	st, body := do(t, srv, "", "POST", "/ix/ix/vectors/upsert", big)
	want(t, "2 MB upsert", st, 413, body)
	dataError(t, body, 3)
	// 1001 vectors under 2 MB: the batch limit, a 400.
	var b strings.Builder
	b.WriteString(`{"vectors": [`)
	for i := range 1001 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": "%d", "values": [1, 2]}`, i)
	}
	b.WriteString("]}")
	st, body = do(t, srv, "", "POST", "/ix/ix/vectors/upsert", b.String())
	want(t, "1001 vectors", st, 400, body)
}

func TestAuth(t *testing.T) {
	srv, _ := testServer(t,
		Key{Secret: "admin"},
		Key{Secret: "ix-a", Index: "a"},
		Key{Secret: "tenant", Index: "a", Namespaces: []string{"t1"}},
	)
	st, body := do(t, srv, "", "GET", "/indexes", nil)
	want(t, "no key", st, 401, body)
	st, body = do(t, srv, "wrong", "GET", "/indexes", nil)
	want(t, "wrong key", st, 401, body)
	for _, name := range []string{"a", "b"} {
		st, body = do(t, srv, "admin", "POST", "/indexes", map[string]any{"name": name, "dimension": 2})
		want(t, "admin creates", st, 201, body)
	}
	st, body = do(t, srv, "ix-a", "POST", "/indexes", map[string]any{"name": "c", "dimension": 2})
	want(t, "scoped key creates", st, 403, body)
	st, body = do(t, srv, "ix-a", "GET", "/indexes", nil)
	if want(t, "scoped list", st, 200, body); len(body["indexes"].([]any)) != 1 {
		t.Fatalf("a key scoped to index a lists %v", body)
	}
	st, body = do(t, srv, "ix-a", "GET", "/indexes/b", nil)
	want(t, "describe other index", st, 403, body)
	st, body = do(t, srv, "ix-a", "POST", "/ix/b/query", map[string]any{"vector": []float32{1, 1}, "topK": 1})
	want(t, "query other index", st, 403, body)
	dataError(t, body, 7)

	up := func(key, ns string) int {
		st, _ := do(t, srv, key, "POST", "/ix/a/vectors/upsert", map[string]any{"namespace": ns, "vectors": []map[string]any{{"id": "1", "values": []float32{1, 1}}}})
		return st
	}
	if up("tenant", "t1") != 200 || up("tenant", "t2") != 403 || up("tenant", "") != 403 || up("ix-a", "t2") != 200 {
		t.Fatal("namespace scoping")
	}
	for _, path := range []string{"/ix/a/vectors/fetch?ids=1&namespace=t2", "/ix/a/vectors/list?namespace=t2", "/ix/a/namespaces/t2"} {
		st, body = do(t, srv, "tenant", "GET", path, nil)
		want(t, "tenant reads "+path, st, 403, body)
	}
	st, body = do(t, srv, "tenant", "POST", "/ix/a/vectors/delete", map[string]any{"namespace": "t2", "deleteAll": true})
	want(t, "tenant deletes t2", st, 403, body)
	st, body = do(t, srv, "tenant", "POST", "/ix/a/describe_index_stats", nil)
	want(t, "tenant stats", st, 200, body)
	if ns := body["namespaces"].(map[string]any); len(ns) != 1 || ns["t1"] == nil || body["totalVectorCount"] != 1.0 {
		t.Fatalf("a tenant key sees %v", body)
	}
	st, body = do(t, srv, "tenant", "GET", "/ix/a/namespaces", nil)
	if want(t, "tenant namespaces", st, 200, body); len(body["namespaces"].([]any)) != 1 {
		t.Fatalf("a tenant key lists %v", body)
	}
	// The other tenant's data is intact.
	st, body = do(t, srv, "admin", "GET", "/ix/a/vectors/fetch?ids=1&namespace=t2", nil)
	if st != 200 || len(body["vectors"].(map[string]any)) != 1 {
		t.Fatalf("t2 after the tenant's attempts: %d %v", st, body)
	}
	if _, err := New(nil, Config{Keys: []Key{{Secret: ""}}}); err == nil {
		t.Fatal("an empty secret was accepted")
	}
	if _, err := New(nil, Config{Keys: []Key{{Secret: "x", Namespaces: []string{"t"}}}}); err == nil {
		t.Fatal("namespaces without an index were accepted")
	}
}

func TestMetrics(t *testing.T) {
	srv, _ := testServer(t, Key{Secret: "admin"}, Key{Secret: "tenant", Index: "ix", Namespaces: []string{"t1"}})
	do(t, srv, "admin", "POST", "/indexes", map[string]any{"name": "ix", "dimension": 2})
	do(t, srv, "tenant", "POST", "/ix/ix/vectors/upsert", map[string]any{"namespace": "t1", "vectors": []map[string]any{{"id": "a", "values": []float32{1, 2}}}})
	do(t, srv, "tenant", "POST", "/ix/ix/query", map[string]any{"namespace": "t1", "vector": []float32{1, 2}, "topK": 0})
	do(t, srv, "tenant", "POST", "/ix/ix/query", map[string]any{"namespace": "t1", "vector": []float32{1, 2}, "topK": 1}) // loads t1
	if st, _ := do(t, srv, "tenant", "GET", "/metrics", nil); st != 403 {
		t.Fatalf("a scoped key read the metrics: %d", st)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Api-Key", "admin")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	for _, line := range []string{
		`vectordb_http_requests_total{code="200",route="POST /ix/{index}/vectors/upsert"} 1`,
		`vectordb_http_requests_total{code="400",route="POST /ix/{index}/query"} 1`,
		`vectordb_http_requests_total{code="201",route="POST /indexes"} 1`,
		`vectordb_namespace_records{index="ix",namespace="t1"} 1`,
		`vectordb_namespace_write_units_total{index="ix",namespace="t1"} 5`,
		`vectordb_hot_namespaces 1`,
		`vectordb_http_response_bytes_reserved 0`,
		`vectordb_http_transfers_running 0`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
	if !strings.Contains(text, "vectordb_http_request_duration_seconds_bucket") {
		t.Error("no latency histogram")
	}
}

// TestSchemaShape: with X-Pinecone-Api-Version 2026-07 or later, indexes
// are created and described by schema and deployment.
func TestSchemaShape(t *testing.T) {
	srv, _ := testServer(t)
	send := func(method, path string, body any) (int, map[string]any) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(raw))
		req.Header.Set("X-Pinecone-Api-Version", "2026-07")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	st, body := send("POST", "/indexes", map[string]any{"name": "s", "deletion_protection": "disabled",
		"deployment": map[string]any{"deployment_type": "managed", "cloud": "aws", "region": "us-east-1"},
		"schema":     map[string]any{"fields": map[string]any{"_values": map[string]any{"type": "dense_vector", "dimension": 5, "metric": "euclidean"}}}})
	want(t, "create", st, 201, body)
	f := body["schema"].(map[string]any)["fields"].(map[string]any)["_values"].(map[string]any)
	if f["dimension"] != 5.0 || f["metric"] != "euclidean" || f["type"] != "dense_vector" ||
		body["deployment"].(map[string]any)["deployment_type"] != "managed" || body["dimension"] != nil {
		t.Fatalf("created %v", body)
	}
	st, body = send("POST", "/indexes", map[string]any{"name": "t",
		"schema": map[string]any{"fields": map[string]any{"text": map[string]any{"type": "string"}}}})
	want(t, "unsupported schema", st, 400, body)
	// The legacy shape without the header.
	st, body = do(t, srv, "", "GET", "/indexes/s", nil)
	want(t, "describe, legacy", st, 200, body)
	if body["dimension"] != 5.0 || body["schema"] != nil {
		t.Fatalf("legacy describe %v", body)
	}
}

// TestReviewedEdges: inputs a review found mishandled.
func TestReviewedEdges(t *testing.T) {
	srv, db := testServer(t)
	do(t, srv, "", "POST", "/indexes", map[string]any{"name": "ix", "dimension": 2})
	do(t, srv, "", "POST", "/ix/ix/vectors/upsert", map[string]any{"vectors": []map[string]any{{"id": "keep", "values": []float32{1, 2}}}})
	// An invalid namespace name is a 400 everywhere, never the default namespace.
	for _, c := range []struct{ method, path string }{
		{"DELETE", "/ix/ix/namespaces/x%00"},
		{"GET", "/ix/ix/namespaces/" + strings.Repeat("y", 600)},
	} {
		st, body := do(t, srv, "", c.method, c.path, nil)
		want(t, c.method+" "+c.path[:20], st, 400, body)
	}
	st, body := do(t, srv, "", "POST", "/ix/ix/namespaces", `{"name": "z\u0000"}`)
	want(t, "create invalid", st, 400, body)
	if st, body = do(t, srv, "", "GET", "/ix/ix/vectors/fetch?ids=keep", nil); len(body["vectors"].(map[string]any)) != 1 {
		t.Fatalf("the default namespace was touched: %d %v", st, body)
	}
	// Trailing data and wrong types are 400s naming the problem.
	st, body = do(t, srv, "", "POST", "/ix/ix/query", `{"vector": [1, 2], "topK": 1} trailing`)
	want(t, "trailing data", st, 400, body)
	st, body = do(t, srv, "", "POST", "/ix/ix/query", `{"vector": [1, 2], "topK": "ten"}`)
	want(t, "topK as a string", st, 400, body)
	if msg := dataError(t, body, 3); !strings.Contains(msg, "topK") {
		t.Fatalf("message %q does not name the field", msg)
	}
	// Wire limits whatever the database's options.
	ids := strings.Repeat("ids=a&", 1001)
	st, body = do(t, srv, "", "GET", "/ix/ix/vectors/fetch?"+ids, nil)
	want(t, "1001 ids", st, 400, body)
	st, body = do(t, srv, "", "POST", "/ix/ix/query", map[string]any{"vector": []float32{1, 2}, "topK": 5000, "includeValues": true})
	want(t, "topK 5000 with values", st, 400, body)
	st, body = do(t, srv, "", "POST", "/ix/ix/query", map[string]any{"vector": []float32{1, 2}, "topK": 5000})
	want(t, "topK 5000 without values", st, 200, body)
	// PATCH with nothing, or with what cannot change.
	st, body = do(t, srv, "", "PATCH", "/indexes/ix", nil)
	want(t, "empty configure", st, 400, body)
	st, body = do(t, srv, "", "PATCH", "/indexes/ix", map[string]any{"deployment": map[string]any{"replicas": 2}})
	want(t, "configure deployment", st, 400, body)
	// Duplicate secrets and a nil database are refused.
	if _, err := New(db, Config{Keys: []Key{{Secret: "a"}, {Secret: "a", Index: "ix"}}}); err == nil {
		t.Fatal("duplicate secrets accepted")
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Fatal("a nil database accepted")
	}
	// A namespace name that is not UTF-8 does not break the metrics.
	ix, _ := db.Index("ix")
	if _, err := ix.Namespace("bad\xff").Upsert(ctx, []vectordb.Record{{ID: "a", Values: []float32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `namespace="bad`) {
		t.Fatalf("metrics with a non-UTF-8 name: %d", resp.StatusCode)
	}
}

// TestMoreRoutes covers the options and shapes the other tests leave out.
func TestMoreRoutes(t *testing.T) {
	srv, _ := testServer(t, Key{Secret: "admin"}, Key{Secret: "tenant", Index: "ix", Namespaces: []string{"t1"}})
	do(t, srv, "admin", "POST", "/indexes", map[string]any{"name": "ix", "dimension": 2})
	for _, ns := range []string{"t1", "t2"} {
		vecs := []map[string]any{}
		for i := range 5 {
			vecs = append(vecs, map[string]any{"id": fmt.Sprintf("doc-%d", i), "values": []float32{1, float32(i + 1)}, "metadata": map[string]any{"g": i % 2}})
		}
		vecs = append(vecs, map[string]any{"id": "other", "values": []float32{2, 1}, "metadata": map[string]any{"g": 0}})
		st, body := do(t, srv, "admin", "POST", "/ix/ix/vectors/upsert", map[string]any{"namespace": ns, "vectors": vecs})
		want(t, "upsert "+ns, st, 200, body)
	}
	// List with a prefix.
	st, body := do(t, srv, "admin", "GET", "/ix/ix/vectors/list?namespace=t1&prefix=doc-", nil)
	if want(t, "list prefix", st, 200, body); len(body["vectors"].([]any)) != 5 {
		t.Fatalf("list prefix %v", body)
	}
	// describe_index_stats by GET.
	st, body = do(t, srv, "admin", "GET", "/ix/ix/describe_index_stats", nil)
	if want(t, "stats GET", st, 200, body); body["totalVectorCount"] != 12.0 {
		t.Fatalf("stats %v", body)
	}
	// fetch_by_metadata pages.
	seen := 0
	token := ""
	for page := 0; ; page++ {
		req := map[string]any{"namespace": "t1", "filter": map[string]any{"g": 0}, "limit": 2}
		if token != "" {
			req["paginationToken"] = token
		}
		st, body = do(t, srv, "admin", "POST", "/ix/ix/vectors/fetch_by_metadata", req)
		want(t, "fetch by metadata page", st, 200, body)
		seen += len(body["vectors"].(map[string]any))
		p, _ := body["pagination"].(map[string]any)
		if p == nil {
			break
		}
		token = p["next"].(string)
	}
	if seen != 4 { // doc-0, doc-2, doc-4, other
		t.Fatalf("fetch by metadata paged through %d records", seen)
	}
	// Namespaces page.
	st, body = do(t, srv, "admin", "GET", "/ix/ix/namespaces?limit=1", nil)
	want(t, "namespaces page", st, 200, body)
	if len(body["namespaces"].([]any)) != 1 || body["total_count"] != 2.0 || body["pagination"] == nil {
		t.Fatalf("namespaces page %v", body)
	}
	// A real update by filter.
	st, body = do(t, srv, "admin", "POST", "/ix/ix/vectors/update", map[string]any{"namespace": "t1", "filter": map[string]any{"g": 1}, "setMetadata": map[string]any{"odd": true}})
	if want(t, "update by filter", st, 200, body); body["matchedRecords"] != 2.0 {
		t.Fatalf("update by filter %v", body)
	}
	st, body = do(t, srv, "admin", "GET", "/ix/ix/vectors/fetch?namespace=t1&ids=doc-1", nil)
	if md := body["vectors"].(map[string]any)["doc-1"].(map[string]any)["metadata"].(map[string]any); md["odd"] != true {
		t.Fatalf("after update by filter: %v", md)
	}
	// A tenant key on every other route: its own namespace works, another is 403.
	for _, c := range []struct {
		method, path string
		body         map[string]any
	}{
		{"POST", "/ix/ix/query", map[string]any{"id": "doc-1", "topK": 1}},
		{"POST", "/ix/ix/vectors/fetch_by_metadata", map[string]any{"filter": map[string]any{"g": 0}}},
		{"POST", "/ix/ix/vectors/update", map[string]any{"id": "doc-1", "setMetadata": map[string]any{"x": 1}}},
		{"POST", "/ix/ix/namespaces", map[string]any{}},
	} {
		own, other := map[string]any{"namespace": "t1"}, map[string]any{"namespace": "t2"}
		for k, v := range c.body {
			own[k], other[k] = v, v
		}
		if c.path == "/ix/ix/namespaces" {
			own, other = map[string]any{"name": "t1"}, map[string]any{"name": "t2"}
		}
		if st, body := do(t, srv, "tenant", c.method, c.path, other); st != 403 {
			t.Fatalf("tenant key on %s for t2: %d %v", c.path, st, body)
		}
		if st, body := do(t, srv, "tenant", c.method, c.path, own); st/100 != 2 && st != 409 {
			t.Fatalf("tenant key on %s for t1: %d %v", c.path, st, body)
		}
	}
	if st, _ := do(t, srv, "tenant", "DELETE", "/ix/ix/namespaces/t2", nil); st != 403 {
		t.Fatalf("tenant deleted t2: %d", st)
	}
	// The data plane's 401, a 413 on another route, unknown routes in each plane's shape.
	st, body = do(t, srv, "", "POST", "/ix/ix/query", map[string]any{"vector": []float32{1, 2}, "topK": 1})
	want(t, "no key, data plane", st, 401, body)
	dataError(t, body, 16)
	st, body = do(t, srv, "admin", "POST", "/ix/ix/query", `{"vector": [`+strings.Repeat("1,", 3<<20)+`1], "topK": 1}`)
	want(t, "5 MB query", st, 413, body)
	st, body = do(t, srv, "admin", "GET", "/ix/ix/nowhere", nil)
	want(t, "unknown data route", st, 404, body)
	dataError(t, body, 5)
	st, body = do(t, srv, "admin", "PUT", "/somewhere", nil)
	want(t, "unknown control route", st, 404, body)
	if body["error"].(map[string]any)["code"] != "NOT_FOUND" {
		t.Fatalf("unknown route %v", body)
	}
}
