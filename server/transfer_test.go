package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

func TestExportImportRoutes(t *testing.T) {
	srv, db := testServer(t, Key{Secret: "admin"}, Key{Secret: "tenant", Index: "docs", Namespaces: []string{"t1"}})
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 2, Metric: vectordb.DotProduct})
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
// the response, so that the client cannot take it for a whole one, in
// every format (zstd's encoder writes from goroutines of its own: run
// with -race), and the request counts as failed.
func TestExportAbortsMidway(t *testing.T) {
	srv, db := testServer(t)
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	var recs []vectordb.Record
	for i := range 30000 { // far more than an export buffers, compressed or not, before writing
		recs = append(recs, vectordb.Record{ID: fmt.Sprintf("a%05d", i), Values: []float32{1, float32(i)}})
	}
	recs = append(recs, vectordb.Record{ID: "b\xff", Values: []float32{1, 1}}) // JSON cannot hold it: the export fails here
	for i := 0; i < len(recs); i += 1000 {
		if _, err := ix.Namespace("t").Upsert(ctx, recs[i:min(i+1000, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	formats := []string{"jsonl", "jsonl.gz"}
	for range 3 { // zstd's goroutines could race the handler's exit only sometimes
		formats = append(formats, "jsonl.zst")
	}
	for _, format := range formats {
		resp, err := srv.Client().Get(srv.URL + "/ix/docs/namespaces/t/export?format=" + format)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || err == nil {
			t.Fatalf("%s: status %d, %d bytes read, error %v: want a cut 200 response", format, resp.StatusCode, len(b), err)
		}
	}
	_, metrics, _ := send(t, srv, "", "GET", "/metrics", nil)
	if !strings.Contains(string(metrics), `vectordb_http_requests_total{code="500",route="GET /ix/{index}/namespaces/{ns}/export"} 5`) {
		t.Fatalf("the aborted exports are not counted as failed:\n%s", metrics)
	}
}

// TestTransferLimits: transfers outlast the server's timeouts while their
// client keeps up, are cut off when it stalls, and are limited in number.
func TestTransferLimits(t *testing.T) {
	srv, db := testServerWith(t, Config{MaxTransfers: 1, TransferIdleTimeout: time.Second}, func(s *http.Server) {
		s.ReadTimeout, s.WriteTimeout, s.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond, 10*time.Second
	})
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	// lines sends n records, pausing before each (the pace of a slow
	// client, not a wait for anything), then closes w. Before the
	// stall-th it stops until cut is closed (the server has answered),
	// or, should the server never cut it off, a minute has passed.
	lines := func(w *io.PipeWriter, n, stall int, pause time.Duration, cut <-chan struct{}) {
		for i := range n {
			time.Sleep(pause)
			if i == stall {
				select {
				case <-cut:
					w.Close()
					return
				case <-time.After(time.Minute):
				}
			}
			if _, err := fmt.Fprintf(w, `{"id":"r%d","values":[1,%d]}`+"\n", i, i); err != nil {
				return
			}
		}
		w.Close()
	}
	// Each streamed POST on a connection of its own: a body cut off or
	// refused unread leaves its connection closed by the server, and a
	// streamed body cannot be resent on another.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	post := func(path string, body io.Reader) (int, string, error) {
		req, err := http.NewRequest("POST", srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}

	// A slow but steady import: 1.5 s, five times the server's timeouts.
	pr, pw := io.Pipe()
	go lines(pw, 15, -1, 100*time.Millisecond, nil)
	st, ans, err := post("/ix/docs/namespaces/slow/import?format=jsonl", pr)
	if err != nil || st != 200 || !strings.Contains(ans, `"recordCount":15`) {
		t.Fatalf("slow import: %d %s %v", st, ans, err)
	}

	// A stalled one is cut off, and leaves nothing.
	pr, pw = io.Pipe()
	cut := make(chan struct{})
	go lines(pw, 5, 2, 0, cut)
	st, ans, err = post("/ix/docs/namespaces/stalled/import?format=jsonl", pr)
	close(cut)
	if err == nil && st == 200 {
		t.Fatalf("stalled import succeeded: %s", ans)
	}
	pr.Close()
	if _, err := ix.DescribeNamespace(ctx, "stalled"); err == nil {
		t.Fatal("the stalled import left a namespace")
	}

	// While one transfer runs (its client sending a line every 100 ms,
	// well within the idle timeout), another gets 429.
	hold := func() (done chan string, stop chan struct{}) {
		pr, pw := io.Pipe()
		done, stop = make(chan string, 1), make(chan struct{})
		go func() {
			st, ans, err := post("/ix/docs/namespaces/held/import?format=jsonl", pr)
			done <- fmt.Sprintf("%d %s %v", st, ans, err)
			pr.Close()
		}()
		go func() {
			for i := 0; ; i++ {
				if _, err := fmt.Fprintf(pw, `{"id":"h%d","values":[1,2]}`+"\n", i); err != nil {
					return
				}
				select {
				case <-stop:
					pw.Close()
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
		return done, stop
	}
	done, stop := hold()
	// The held import and the test's exports race for the one slot:
	// retry whichever lost until the export is the one refused.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, raw, _ := send(t, srv, "", "GET", "/ix/docs/namespaces/slow/export", nil)
		if st == 429 {
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("429 answer %q: %v", raw, err)
			}
			dataError(t, body, 8)
			break
		}
		select {
		case got := <-done:
			if !strings.HasPrefix(got, "429 ") {
				t.Fatalf("the held import ended early: %s", got)
			}
			close(stop)
			done, stop = hold()
		default:
		}
		if st != 200 || time.Now().After(deadline) {
			t.Fatalf("a second transfer was never refused: %d %q", st, raw)
		}
	}
	close(stop)
	if got := <-done; !strings.HasPrefix(got, "200 ") {
		t.Fatalf("the held import: %s", got)
	}
	if st, body, _ := send(t, srv, "", "GET", "/ix/docs/namespaces/slow/export", nil); st != 200 || len(body) == 0 {
		t.Fatalf("the slot was not given back: %d", st)
	}
}

// TestTransferRefusals: requests the transfer routes refuse before
// touching anything.
func TestTransferRefusals(t *testing.T) {
	srv, db := testServer(t)
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Namespace("t").Upsert(ctx, []vectordb.Record{{ID: "a", Values: []float32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	// An empty body would replace a namespace with nothing: refused.
	st, body := do(t, srv, "", "POST", "/ix/docs/namespaces/t/import?format=jsonl&replace=true", []byte{})
	want(t, "empty replacing body", st, 400, body)
	if d, err := ix.DescribeNamespace(ctx, "t"); err != nil || d.RecordCount != 1 {
		t.Fatalf("after the refusal: %+v, %v", d, err)
	}
	// Without replace, no lines are an empty namespace.
	st, body = do(t, srv, "", "POST", "/ix/docs/namespaces/empty/import?format=jsonl", []byte{})
	want(t, "empty new namespace", st, 200, body)
	// HEAD would run the whole export for nothing.
	st, _, _ = send(t, srv, "", "HEAD", "/ix/docs/namespaces/t/export", nil)
	if st != http.StatusMethodNotAllowed {
		t.Fatalf("HEAD: %d", st)
	}
	// Over HTTP/1.0 a cut plain export would look whole.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /ix/docs/namespaces/t/export?format=jsonl HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "HTTP/1.1") {
		t.Fatalf("plain JSON Lines over HTTP/1.0: %d %s", resp.StatusCode, b)
	}
	// The empty namespace exports as no lines, with its content type.
	st, raw, hdr := send(t, srv, "", "GET", "/ix/docs/namespaces/empty/export?format=jsonl", nil)
	if st != 200 || len(raw) != 0 || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("empty export: %d %q %v", st, raw, hdr)
	}
}

// TestExportDeadlines: an export outlasts the server's write timeout while
// its client keeps reading, and is cut off, freeing its slot, when the
// client stops.
func TestExportDeadlines(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv, db := testServerWith(t, Config{MaxTransfers: 1, TransferIdleTimeout: time.Second}, func(s *http.Server) {
		s.ReadTimeout, s.WriteTimeout, s.IdleTimeout = timeout, timeout, 10*time.Second
	})
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 128})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	const n = 20000 // about 28 MB of JSON Lines: more than the sockets buffer
	for i := 0; i < n; i += 1000 {
		var recs []vectordb.Record
		for j := i; j < i+1000; j++ {
			v := make([]float32, 128)
			for k := range v {
				v[k] = r.Float32()
			}
			recs = append(recs, vectordb.Record{ID: fmt.Sprintf("r%05d", j), Values: v})
		}
		if _, err := ix.Namespace("big").Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ix.Namespace("small").Upsert(ctx, []vectordb.Record{{ID: "a", Values: append(make([]float32, 127), 1)}}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) *http.Response {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// A slow reader, a little at a time, pausing between reads (the pace
	// of a slow client, not a wait for anything) for a second or more:
	// its pauses alone add up to twice the write timeout or more, and it
	// gets every line.
	const pause = 2 * time.Millisecond
	resp := get("/ix/docs/namespaces/big/export?format=jsonl")
	buf := make([]byte, 64<<10)
	lines, pauses := 0, 0
	for {
		k, err := resp.Body.Read(buf)
		lines += bytes.Count(buf[:k], []byte("\n"))
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("slow read cut after %d pauses, %d lines: %v", pauses, lines, err)
		}
		time.Sleep(pause)
		pauses++
	}
	resp.Body.Close()
	if lines != n || time.Duration(pauses)*pause < 2*timeout {
		t.Fatalf("slow read: %d lines of %d, %d pauses of %v: not a read that outlasts the write timeout of %v", lines, n, pauses, pause, timeout)
	}

	// A reader that stops: the export is cut, and its slot given back.
	resp = get("/ix/docs/namespaces/big/export?format=jsonl")
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		small := get("/ix/docs/namespaces/small/export?format=jsonl")
		io.Copy(io.Discard, small.Body)
		small.Body.Close()
		if small.StatusCode == 200 {
			break
		}
		if small.StatusCode != 429 || time.Now().After(deadline) {
			t.Fatalf("while a reader stalls: %d", small.StatusCode)
		}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Fatal("the stalled export arrived whole: it was not cut off")
	}
	resp.Body.Close()

	// A reader that trickles (a few bytes a millisecond, far below a
	// minimum rate of 1 MB a second) is cut off by the rate well before
	// a long idle timeout, once the sockets' buffers are full.
	srv2, h := transferServer(t, db, Config{TransferIdleTimeout: time.Hour, TransferMinRate: 1 << 20, TransferRateWindow: 100 * time.Millisecond})
	resp, err = srv2.Client().Get(srv2.URL + "/ix/docs/namespaces/big/export?format=jsonl")
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(time.Millisecond)
	for deadline := time.Now().Add(60 * time.Second); ; <-tick.C {
		if r, _, _ := h.transfers.slots(); r == 0 {
			break
		}
		if _, err := resp.Body.Read(buf[:16]); err != nil {
			t.Fatalf("the trickled export ended before its slot was given back: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the trickled export was never cut off")
		}
	}
	tick.Stop()
	if _, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Fatal("the trickled export arrived whole: it was not cut off")
	}
	resp.Body.Close()
}

// memDB opens an in-memory database, closed when the test ends.
func memDB(t *testing.T) *vectordb.DB {
	t.Helper()
	db, err := vectordb.Open("", &vectordb.Options{InMemory: true, MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// transferServer serves db with cfg (its Logger silenced) and returns the
// Handler too, whose transfer slots the tests watch.
func transferServer(t *testing.T, db *vectordb.DB, cfg Config) (*httptest.Server, *Handler) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

// slots returns the transfers running, those of scoped keys, and the
// number of keys with an entry.
func (t *transfers) slots() (running, tenants, keys int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running, t.tenants, len(t.byKey)
}

// waitFor polls cond until it holds, failing the test if it has not
// within a generous time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, testutil.Patience, what, cond)
}

// streamedPost is a POST whose body the test writes to w as it goes; its
// answer ("status body", or "error: ...") comes on done.
type streamedPost struct {
	w    *io.PipeWriter
	done chan string
}

// startPost starts a streamed POST with key, on a connection of its own
// (a body cut off or refused unread leaves its connection closed), and
// writes first to it.
func startPost(t *testing.T, srv *httptest.Server, key, path, first string) *streamedPost {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", srv.URL+path, pr)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Api-Key", key)
	}
	sp := &streamedPost{w: pw, done: make(chan string, 1)}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer pr.Close()
		resp, err := client.Do(req)
		if err != nil {
			sp.done <- "error: " + err.Error()
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b = fmt.Appendf(b, " (cut: %v)", err)
		}
		sp.done <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	pw.Write([]byte(first)) // fails only if the request has ended: done says how
	return sp
}

// answer waits for the POST's answer.
func (sp *streamedPost) answer(t *testing.T) string {
	t.Helper()
	select {
	case got := <-sp.done:
		return got
	case <-time.After(60 * time.Second):
		t.Fatal("no answer to a streamed POST")
		return ""
	}
}

// end closes the body and waits for the answer.
func (sp *streamedPost) end(t *testing.T) string {
	t.Helper()
	sp.w.Close()
	return sp.answer(t)
}

// TestTransferSlotsPerTenant: the tenant holds its slot with a
// replace=true JSON Lines import that sends a line and then nothing, and
// is refused one more, while another tenant and the admin get theirs;
// tenants together never take the last slot; the slots come back, leaving
// nothing behind.
func TestTransferSlotsPerTenant(t *testing.T) {
	db := memDB(t)
	srv, h := transferServer(t, db, Config{
		Keys: []Key{
			{Secret: "admin"},
			{Secret: "a", Index: "docs", Namespaces: []string{"a"}},
			{Secret: "b", Index: "docs", Namespaces: []string{"b"}},
			{Secret: "c", Index: "docs", Namespaces: []string{"c"}},
		},
		MaxTransfers:          3,
		MaxTransfersPerTenant: 1,
		TransferMinRate:       -1, // the holders send nothing for as long as the test needs
	})
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"a", "b", "c"} {
		if _, err := ix.Namespace(ns).Upsert(ctx, []vectordb.Record{{ID: "old", Values: []float32{1, 2}}}); err != nil {
			t.Fatal(err)
		}
	}
	running := func(n int) func() bool {
		return func() bool { r, _, _ := h.transfers.slots(); return r == n }
	}
	hold := func(key, ns string) *streamedPost {
		return startPost(t, srv, key, "/ix/docs/namespaces/"+ns+"/import?format=jsonl&replace=true", `{"id":"new","values":[3,4]}`+"\n")
	}
	exported := func(what, key, ns string) {
		t.Helper()
		if st, body, _ := send(t, srv, key, "GET", "/ix/docs/namespaces/"+ns+"/export?format=jsonl", nil); st != 200 || len(body) == 0 {
			t.Fatalf("%s: %d %s", what, st, body)
		}
	}
	refused := func(what, key, ns, limit string) {
		t.Helper()
		st, raw, hdr := send(t, srv, key, "GET", "/ix/docs/namespaces/"+ns+"/export?format=jsonl", nil)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil || st != 429 || hdr.Get("Retry-After") == "" {
			t.Fatalf("%s: %d %s (Retry-After %q), want 429", what, st, raw, hdr.Get("Retry-After"))
		}
		if msg := dataError(t, body, 8); !strings.Contains(msg, limit) {
			t.Fatalf("%s: %q does not name the %q", what, msg, limit)
		}
	}

	a := hold("a", "a")
	waitFor(t, "a's import to take its slot", running(1))
	refused("a's second transfer", "a", "a", "per-key limit")
	exported("b's export while a holds its slot", "b", "b")
	exported("the admin's export of a while a holds its slot", "admin", "a")

	// With b holding one too, scoped keys hold all they share.
	b := hold("b", "b")
	waitFor(t, "b's import to take its slot", running(2))
	refused("c's transfer", "c", "c", "tenants' limit")
	exported("the admin's export of c, in the slot kept for unscoped keys", "admin", "c")

	// The admin may take that one too; then everyone is refused.
	adm := hold("admin", "c")
	waitFor(t, "the admin's import to take its slot", running(3))
	refused("a fourth transfer", "admin", "b", "too many exports and imports")

	for who, sp := range map[string]*streamedPost{"a": a, "b": b, "admin": adm} {
		if got := sp.end(t); !strings.HasPrefix(got, "200 ") {
			t.Fatalf("%s's held import: %s", who, got)
		}
	}
	waitFor(t, "every slot, and every key's entry, to be given back", func() bool {
		r, tn, k := h.transfers.slots()
		return r == 0 && tn == 0 && k == 0
	})
	exported("a's export once its slot is back", "a", "a")
	for _, ns := range []string{"a", "b", "c"} {
		got, err := ix.Namespace(ns).Fetch(ctx, []string{"old", "new"})
		if err != nil || len(got.Records) != 1 || got.Records["new"].ID != "new" {
			t.Fatalf("%s after its replacing import: %+v, %v", ns, got, err)
		}
	}
}

// TestTransferMinRate: an import whose client trickles (a record, then a
// blank line every few milliseconds: the client, faster) is cut
// off by the minimum rate, gives its slot back, and leaves the namespace
// it would have replaced unchanged. (TestExportDeadlines trickles an
// export.)
func TestTransferMinRate(t *testing.T) {
	db := memDB(t)
	// A credit of 100 bytes (50 ms at 2000 bytes a second); the trickle
	// below moves a byte every 5 ms, a tenth of that rate.
	srv, h := transferServer(t, db, Config{
		Keys:               []Key{{Secret: "admin"}, {Secret: "t", Index: "docs", Namespaces: []string{"t1"}}},
		TransferMinRate:    2000,
		TransferRateWindow: 50 * time.Millisecond,
	})
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Namespace("t1").Upsert(ctx, []vectordb.Record{{ID: "old", Values: []float32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	idle := func() bool { r, tn, k := h.transfers.slots(); return r == 0 && tn == 0 && k == 0 }

	sp := startPost(t, srv, "t", "/ix/docs/namespaces/t1/import?format=jsonl&replace=true", `{"id":"new","values":[3,4]}`+"\n")
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				sp.w.Close()
				return
			case <-tick.C:
				if _, err := sp.w.Write([]byte("\n")); err != nil {
					return
				}
			}
		}
	}()
	// The import ends while its client still trickles: it was cut off.
	got := sp.answer(t)
	close(stop)
	t.Logf("trickling import: %s", got)
	if !strings.HasPrefix(got, "error: ") && !(strings.HasPrefix(got, "408 ") && strings.Contains(got, "too slow") && strings.Contains(got, "nothing was imported")) {
		t.Fatalf("trickling import: %s, want 408 or a cut connection", got)
	}
	waitFor(t, "the trickling import's slot to be given back", idle)
	if got, err := ix.Namespace("t1").Fetch(ctx, []string{"old", "new"}); err != nil || len(got.Records) != 1 || got.Records["old"].ID != "old" {
		t.Fatalf("t1 after the cut import: %+v, %v", got, err)
	}
	// The tenant's slot is back, and a brisk import keeps to the rate.
	st, ans, _ := send(t, srv, "t", "POST", "/ix/docs/namespaces/t1/import?format=jsonl&replace=true", []byte(`{"id":"new","values":[3,4]}`+"\n"))
	if st != 200 {
		t.Fatalf("import after the cut one: %d %s", st, ans)
	}
}

// TestClassifyCorruption: a bad uploaded stream is the client's (400),
// even when its cause would map elsewhere; stored data that is corrupt is
// the server's (500).
func TestClassifyCorruption(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{&vectordb.StreamError{Reason: "checksum mismatch", Block: 3, Item: -1}, 400},
		{fmt.Errorf("import: %w", &vectordb.StreamError{Reason: "unreadable", Block: -1, Item: -1, Line: 2, Err: io.ErrUnexpectedEOF}), 400},
		{fmt.Errorf("%w: namespace %q holds 3 records, its counter says 4", vectordb.ErrCorrupt, "t"), 500},
	} {
		if got := classify(c.err).status; got != c.want {
			t.Errorf("classify(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
