package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

// budgetServer serves an in-memory database with cfg, and returns the
// Handler too, whose response budget the tests look at.
func budgetServer(t testing.TB, cfg Config) (*httptest.Server, *vectordb.DB, *Handler) {
	t.Helper()
	return serveTest(t, cfg, nil)
}

// fill creates index name and upserts n records of random values with a
// little metadata, ids "r0", "r1", ...
func fill(t testing.TB, db *vectordb.DB, name string, dim, n int) {
	t.Helper()
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: name, Dimension: dim})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	batch := max(1, min(100, (1<<20)/(4*dim))) // what an atomic call of a small memtable holds
	for start := 0; start < n; start += batch {
		var recs []vectordb.Record
		for i := start; i < min(n, start+batch); i++ {
			v := make([]float32, dim)
			for j := range v {
				v[j] = rng.Float32()*2 - 1
			}
			recs = append(recs, vectordb.Record{ID: fmt.Sprintf("r%d", i), Values: v, Metadata: vectordb.Metadata{"i": i}})
		}
		if _, err := ix.Namespace("").Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually waits, up to a generous deadline, for cond to hold.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, testutil.Patience, what, cond)
}

// idle reports whether the budget is wholly free with nobody waiting.
func idle(h *Handler) bool {
	used, waiting := h.responses.inUse()
	return used == 0 && waiting == 0
}

func query(dim, topK int, values bool) map[string]any {
	v := make([]float32, dim)
	v[0] = 1
	return map[string]any{"vector": v, "topK": topK, "includeValues": values}
}

// TestResponseBudgetBusy: while others hold the budget a request gets 429
// with Retry-After, or waits for them if they let go in time; the next one
// gets through; a request that gives up waiting leaves the queue.
func TestResponseBudgetBusy(t *testing.T) {
	const dim = 100
	srv, db, h := budgetServer(t, Config{MaxResponseBytes: 1 << 20, ResponseWait: time.Millisecond})
	fill(t, db, "ix", dim, 200)
	// topK 200 with values reserves 200 * (128 + 512 + 400) = 208,000 bytes.
	if err := h.responses.acquire(ctx, 900_000); err != nil {
		t.Fatal(err)
	}
	st, raw, hdr := send(t, srv, "", "POST", "/ix/ix/query", mustJSON(t, query(dim, 200, true)))
	if st != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("query while the budget is held: %d, Retry-After %q: %s", st, hdr.Get("Retry-After"), raw)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || body["code"] != 8.0 || !strings.Contains(body["message"].(string), "retry") {
		t.Fatalf("429 answer %s", raw)
	}
	for _, path := range []string{"/ix/ix/vectors/fetch?" + idList(10), "/ix/ix/vectors/list?limit=1000"} {
		if st, raw, _ := send(t, srv, "", "GET", path, nil); st != 429 {
			t.Fatalf("%s while the budget is held: %d %s", path, st, raw)
		}
	}
	if st, raw, _ := send(t, srv, "", "POST", "/ix/ix/vectors/fetch_by_metadata", []byte(`{"filter": {"i": 3}, "limit": 10}`)); st != 429 {
		t.Fatalf("fetch by metadata while the budget is held: %d %s", st, raw)
	}
	// A small request passes while it fits.
	if st, raw, _ := send(t, srv, "", "POST", "/ix/ix/query", mustJSON(t, query(dim, 5, true))); st != 200 {
		t.Fatalf("small query while the budget is held: %d %s", st, raw)
	}
	h.responses.release(900_000)
	st, body = do(t, srv, "", "POST", "/ix/ix/query", query(dim, 200, true))
	if want(t, "query after release", st, 200, body); len(body["matches"].([]any)) != 200 {
		t.Fatalf("%d matches", len(body["matches"].([]any)))
	}
	if !idle(h) {
		t.Fatal("budget not free after the requests")
	}

	// With a long wait: a waiter is served once the holder lets go, and
	// one whose client gives up leaves the queue.
	srv, db, h = budgetServer(t, Config{MaxResponseBytes: 1 << 20, ResponseWait: time.Hour})
	fill(t, db, "ix", dim, 200)
	if err := h.responses.acquire(ctx, 900_000); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		st, _, _ := sendCtx(ctx, srv, "POST", "/ix/ix/query", mustJSON(t, query(dim, 200, true)))
		done <- st
	}()
	eventually(t, "the query to wait", func() bool { _, w := h.responses.inUse(); return w == 1 })
	h.responses.release(900_000)
	if st := <-done; st != 200 {
		t.Fatalf("waiting query: %d after the release", st)
	}
	if err := h.responses.acquire(ctx, 900_000); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		st, _, _ := sendCtx(cctx, srv, "POST", "/ix/ix/query", mustJSON(t, query(dim, 200, true)))
		done <- st
	}()
	eventually(t, "the query to wait", func() bool { _, w := h.responses.inUse(); return w == 1 })
	cancel()
	<-done
	eventually(t, "the cancelled query to leave the queue", func() bool { _, w := h.responses.inUse(); return w == 0 })
	h.responses.release(900_000)
	eventually(t, "the budget to be free", func() bool { return idle(h) })
}

// TestResponseBudgetTooLarge: a request that may need more than the whole
// budget gets a 400 that says so, at once.
func TestResponseBudgetTooLarge(t *testing.T) {
	const dim = 2000
	srv, db, h := budgetServer(t, Config{MaxResponseBytes: 4 << 20, ResponseWait: time.Hour})
	fill(t, db, "ix", dim, 10)
	st, body := do(t, srv, "", "POST", "/ix/ix/query", query(dim, 1000, true))
	want(t, "topK 1000 with values", st, 400, body)
	msg := dataError(t, body, 3)
	for _, w := range []string{"topK 1000", "includeValues", "dimension 2000", "4 MiB"} {
		if !strings.Contains(msg, w) {
			t.Fatalf("message %q does not name %q", msg, w)
		}
	}
	ids := strings.Repeat("ids=r1&", 1000)
	st, body = do(t, srv, "", "GET", "/ix/ix/vectors/fetch?"+ids, nil)
	want(t, "fetch of 1000 ids", st, 400, body)
	if msg := dataError(t, body, 3); !strings.Contains(msg, "1000 ids") {
		t.Fatalf("message %q", msg)
	}
	st, body = do(t, srv, "", "POST", "/ix/ix/vectors/fetch_by_metadata", map[string]any{"filter": map[string]any{"i": 1}, "limit": 1000})
	want(t, "fetch by metadata, limit 1000", st, 400, body)
	// Without values, or fewer, they fit.
	st, body = do(t, srv, "", "POST", "/ix/ix/query", query(dim, 1000, false))
	want(t, "topK 1000 without values", st, 200, body)
	st, body = do(t, srv, "", "POST", "/ix/ix/query", query(dim, 10, true))
	want(t, "topK 10 with values", st, 200, body)
	if !idle(h) {
		t.Fatal("budget not free")
	}
}

// TestResponseBudgetReleased: whatever becomes of a request, success,
// a refusal by the database, or a client that goes away midway, its
// reservation is given back.
func TestResponseBudgetReleased(t *testing.T) {
	const dim = 4000
	srv, db, h := budgetServer(t, Config{})
	fill(t, db, "ix", dim, 1000)
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/ix/ix/query", `{"vector": [1, 2], "topK": 10, "includeValues": true}`, 400},                  // wrong dimension
		{"POST", "/ix/ix/query", `{"id": "r1", "topK": 10, "includeMetadata": true, "filter": {"$x": 1}}`, 400}, // bad filter
		{"POST", "/ix/ix/query", `{"id": "r1", "topK": 10001, "includeValues": true}`, 400},
		{"POST", "/ix/ix/query", `{"id": "r1", "topK": 10, "includeValues": true, "includeMetadata": true}`, 200},
		{"GET", "/ix/ix/vectors/fetch?ids=" + strings.Repeat("x", 600), "", 400},
		{"GET", "/ix/ix/vectors/fetch?ids=r1&ids=r2&ids=nope", "", 200},
		{"POST", "/ix/ix/vectors/fetch_by_metadata", `{"limit": 10}`, 400}, // no filter
		{"POST", "/ix/ix/vectors/fetch_by_metadata", `{"filter": {"i": {"$lt": 5}}, "limit": -1}`, 400},
		{"POST", "/ix/ix/vectors/fetch_by_metadata", `{"filter": {"i": {"$lt": 5}}}`, 200},
		{"GET", "/ix/ix/vectors/list?limit=20000", "", 400},
		{"GET", "/ix/ix/vectors/list?paginationToken=junk", "", 400},
		{"GET", "/ix/ix/vectors/list", "", 200},
		{"GET", "/ix/nope/vectors/list", "", 404},
	} {
		var b []byte
		if c.body != "" {
			b = []byte(c.body)
		}
		if st, raw, _ := send(t, srv, "", c.method, c.path, b); st != c.status {
			t.Fatalf("%s %s %s: %d, want %d: %.300s", c.method, c.path, c.body, st, c.status, raw)
		}
		if !idle(h) {
			t.Fatalf("%s %s %s: budget not given back", c.method, c.path, c.body)
		}
	}

	// A client that reads the first bytes of a large response (about 40
	// MB of JSON, more than the connection buffers) and hangs up.
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/ix/ix/query", `{"id": "r1", "topK": 1000, "includeValues": true}`},
		{"GET", "/ix/ix/vectors/fetch?" + idList(1000), ""},
		{"POST", "/ix/ix/vectors/fetch_by_metadata", `{"filter": {"i": {"$gte": 0}}, "limit": 1000}`},
	} {
		req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
		// The handler is blocked writing: what is left of its result is
		// still reserved.
		if used, _ := h.responses.inUse(); used < 8<<20 {
			t.Fatalf("%s %s: %d bytes reserved midway through the response", c.method, c.path, used)
		}
		resp.Body.Close()
		srv.CloseClientConnections()
		eventually(t, c.path+": budget given back after the client left", func() bool { return idle(h) })
	}
}

func idList(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "ids=r%d&", i)
	}
	return b.String()
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendCtx sends a request under ctx and returns its status (0 if it
// failed), answer and error, reading the whole answer.
func sendCtx(ctx context.Context, srv *httptest.Server, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// TestByteSemaphore: arrival order for large reservations, small ones
// passing when they fit, waiters leaving on their context.
func TestByteSemaphore(t *testing.T) {
	s := newByteSemaphore(640) // small: at most 10
	if err := s.acquire(ctx, 600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	wait := func(name string, n int64, c context.Context) {
		go func() {
			if err := s.acquire(c, n); err != nil {
				got <- name + " gave up"
				return
			}
			got <- name
		}()
	}
	waiters := func(n int) func() bool {
		return func() bool { _, w := s.inUse(); return w == n }
	}
	wait("big", 300, ctx)
	eventually(t, "big to wait", waiters(1))
	wait("medium", 30, ctx) // fits in the 40 free, but big came first
	eventually(t, "medium to wait", waiters(2))
	if err := s.acquire(ctx, 10); err != nil { // small: passes them
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	wait("cancelled", 500, cctx)
	eventually(t, "cancelled to wait", waiters(3))
	cancel()
	if g := <-got; g != "cancelled gave up" {
		t.Fatalf("%s, want the cancelled one giving up", g)
	}
	s.release(600) // both fit now
	if g1, g2 := <-got, <-got; g1+g2 != "bigmedium" && g1+g2 != "mediumbig" {
		t.Fatalf("granted %s and %s, want big and medium", g1, g2)
	}
	if used, w := s.inUse(); used != 340 || w != 0 {
		t.Fatalf("in use %d with %d waiting, want 340 and 0", used, w)
	}
	if err := s.acquire(ctx, 641); err == nil {
		t.Fatal("a reservation larger than the budget was granted")
	}
	r := &reservation{sem: s, n: 340}
	r.shrink(100)
	r.shrink(200) // growing is not shrinking: no-op
	if used, _ := s.inUse(); used != 100 {
		t.Fatalf("in use %d after shrinking to 100", used)
	}
	r.release()
	r.release()
	if used, _ := s.inUse(); used != 0 {
		t.Fatalf("in use %d after release", used)
	}
}

// TestStreamedShape: the streamed answers are, byte for byte, what
// encoding/json made of the same results before they were streamed.
func TestStreamedShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	floats := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			switch rng.IntN(6) {
			case 0: // any finite float32
				for {
					f := math.Float32frombits(rng.Uint32())
					if !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
						v[i] = f
						break
					}
				}
			case 1:
				v[i] = []float32{0, float32(math.Copysign(0, -1)), 1e-6, -1e-6, 9.999999e-7, 1e21, 9.99999e20, 1e-7, 1.5e-10, 123456789, 1, -2.5, math.SmallestNonzeroFloat32, math.MaxFloat32}[rng.IntN(14)]
			default:
				v[i] = rng.Float32()*2 - 1
			}
		}
		return v
	}
	ids := []string{"a", "b<c>&d", "é", "q\"u\\o", "ctl\x01\x1f\t\n", "bad\xffutf8", "line\u2028sep", "zz", "A", "a b", strings.Repeat("k", 512)}
	md := []vectordb.Metadata{nil, {}, {"genre": "drama", "year": 2020.0, "ok": true, "tags": []string{"x", "<y>"}, "f": 1e-7, "s": "é\u2029\x02"}}
	sp := []*vectordb.SparseValues{nil, {Indices: []uint32{1, 5}, Values: []float32{0.5, -1e-8}}, {}}

	// Query.
	for _, withValues := range []bool{false, true} {
		res := vectordb.QueryResult{Usage: vectordb.Usage{ReadUnits: 7}}
		for i, id := range ids {
			m := vectordb.Match{ID: id, Score: floats(1)[0], Metadata: md[i%len(md)]}
			if withValues {
				m.Values, m.SparseValues = floats(1+i*1000), sp[i%len(sp)] // past streamChunk
			}
			res.Matches = append(res.Matches, m)
		}
		want := oldQueryJSON(res, "n<s>")
		rec := httptest.NewRecorder()
		writeMatches(rec, &res, "n<s>", nil)
		same(t, "query", rec, want)
	}
	empty := vectordb.QueryResult{}
	rec := httptest.NewRecorder()
	writeMatches(rec, &empty, "ns", nil)
	same(t, "empty query", rec, oldQueryJSON(vectordb.QueryResult{}, "ns"))

	// Fetch, and fetch by metadata with and without a next page.
	for _, next := range []string{"", "tok<>"} {
		var recs []vectordb.Record
		for i, id := range ids {
			recs = append(recs, vectordb.Record{ID: id, Values: floats(i * 700), SparseValues: sp[i%len(sp)], Metadata: md[i%len(md)]})
		}
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		want := oldFetchJSON(recs, "t1", next, 3)
		keys := make([]string, len(recs))
		for i := range recs {
			keys[i] = recs[i].ID
		}
		rec := httptest.NewRecorder()
		writeRecords(rec, keys, recs, "t1", next, 3, nil)
		same(t, "fetch", rec, want)
	}
	rec = httptest.NewRecorder()
	writeRecords(rec, nil, nil, "t1", "", 1, nil)
	same(t, "empty fetch", rec, oldFetchJSON(nil, "t1", "", 1))

	// List.
	for _, next := range []string{"", "tok"} {
		for _, list := range [][]string{nil, ids} {
			rec := httptest.NewRecorder()
			writeIDs(rec, list, "t1", next, 1)
			same(t, "list", rec, oldListJSON(list, "t1", next, 1))
		}
	}
}

func same(t *testing.T, what string, rec *httptest.ResponseRecorder, want []byte) {
	t.Helper()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%s: %d %q", what, rec.Code, rec.Header().Get("Content-Type"))
	}
	if got := rec.Body.Bytes(); !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: differs at byte %d:\n got %.200q\nwant %.200q", what, i, got[max(0, i-40):], want[max(0, i-40):])
	}
}

// The answers as the handlers encoded them before they streamed.

type oldUsage struct {
	ReadUnits int `json:"readUnits"`
}

func oldEncode(v any) []byte {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func oldQueryJSON(res vectordb.QueryResult, namespace string) []byte {
	type match struct {
		ID           string            `json:"id"`
		Score        float32           `json:"score"`
		Values       []float32         `json:"values"`
		SparseValues *sparse           `json:"sparseValues,omitempty"`
		Metadata     vectordb.Metadata `json:"metadata,omitempty"`
	}
	matches := make([]match, len(res.Matches))
	for i, m := range res.Matches {
		matches[i] = match{ID: m.ID, Score: m.Score, Values: m.Values, SparseValues: wireSparse(m.SparseValues), Metadata: m.Metadata}
		if matches[i].Values == nil {
			matches[i].Values = []float32{}
		}
	}
	return oldEncode(map[string]any{"results": []any{}, "matches": matches, "namespace": namespace,
		"usage": oldUsage{ReadUnits: res.Usage.ReadUnits}})
}

func oldFetchJSON(recs []vectordb.Record, namespace, next string, readUnits int) []byte {
	vectors := make(map[string]vector, len(recs))
	for _, rec := range recs {
		v := vector{ID: rec.ID, Values: rec.Values, SparseValues: wireSparse(rec.SparseValues), Metadata: rec.Metadata}
		if v.Values == nil {
			v.Values = []float32{}
		}
		vectors[rec.ID] = v
	}
	out := map[string]any{"vectors": vectors, "namespace": namespace, "usage": oldUsage{ReadUnits: readUnits}}
	if next != "" {
		out["pagination"] = map[string]string{"next": next}
	}
	return oldEncode(out)
}

func oldListJSON(list []string, namespace, next string, readUnits int) []byte {
	ids := make([]map[string]string, len(list))
	for i, id := range list {
		ids[i] = map[string]string{"id": id}
	}
	out := map[string]any{"vectors": ids, "namespace": namespace, "usage": oldUsage{ReadUnits: readUnits}}
	if next != "" {
		out["pagination"] = map[string]string{"next": next}
	}
	return oldEncode(out)
}

// BenchmarkConcurrentLargeQueries measures the heap that N concurrent
// queries at dimension 20,000, topK 1000, includeValues (80 MB of float32
// and about 220 MB of JSON each) take above the heap before them, with
// the default response budget and without one:
//
//   - held-MB: the live heap (after a collection) while N clients have
//     read the first MiB of their answers and pause, so that every
//     response admitted is in flight at once (with the budget, the others
//     wait for it). With the budget, the benchmark fails if this passes
//     the budget plus 32 MiB.
//   - peak-MB: the most heap, live or garbage not yet reclaimed, sampled
//     every millisecond while N clients read their answers at full speed;
//     GOGC lets the garbage grow as large as the live heap, which here
//     includes the database's 230 MB.
//
// Run it with
//
//	go test -run '^$' -bench ConcurrentLargeQueries -benchtime 1x ./server
func BenchmarkConcurrentLargeQueries(b *testing.B) {
	const dim, records = vectordb.MaxDimension, 1000
	for _, budget := range []int64{0, -1} {
		name := "budget=256MiB"
		if budget < 0 {
			name = "budget=none"
		}
		b.Run(name, func(b *testing.B) {
			srv, db, h := budgetServer(b, Config{MaxResponseBytes: budget, ResponseWait: time.Hour})
			fill(b, db, "ix", dim, records)
			body := mustJSON(b, map[string]any{"id": "r1", "topK": records, "includeValues": true})
			if _, _, err := sendStream(srv, body); err != nil { // loads the namespace
				b.Fatal(err)
			}
			waiting := func() int {
				if h.responses == nil {
					return 0
				}
				_, w := h.responses.inUse()
				return w
			}
			for _, n := range []int{1, 3, 6} {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					var held, peak float64
					for range b.N {
						peak = max(peak, peakHeap(b, srv, body, n))
						held = max(held, heldHeap(b, srv, body, n, waiting))
					}
					b.ReportMetric(held, "held-MB")
					b.ReportMetric(peak, "peak-MB")
					if budget == 0 && held > float64(defaultMaxResponseBytes>>20)+32 {
						b.Errorf("%.0f MiB held with %d responses in flight, more than the budget of %d MiB plus 32", held, n, defaultMaxResponseBytes>>20)
					}
				})
			}
		})
	}
}

// heldHeap sends n queries whose clients read the first MiB of their
// answers and pause, waits until each has either done so or waits for the
// budget (waiting returns how many do), and returns the live heap then, in
// MiB above the live heap before. Then the clients read on.
func heldHeap(b testing.TB, srv *httptest.Server, body []byte, n int, waiting func() int) float64 {
	return heldHeapAt(b, srv.Client(), srv.URL+"/ix/ix/query", body, n, waiting)
}

// heldHeapAt is heldHeap for posts to url with client.
func heldHeapAt(b testing.TB, client *http.Client, url string, body []byte, n int, waiting func() int) float64 {
	quiesce()
	base := heapAlloc()
	var started atomic.Int64
	release := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil || resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d, %v", resp.StatusCode, err)
				return
			}
			started.Add(1)
			<-release
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				errs <- err
			}
		})
	}
	deadline := time.Now().Add(time.Minute)
	for int(started.Load())+waiting() < n {
		if len(errs) > 0 || time.Now().After(deadline) {
			close(release)
			b.Fatalf("%d of %d queries started, %d waiting: %v", started.Load(), n, waiting(), <-errs)
		}
		time.Sleep(time.Millisecond) // a poll
	}
	runtime.GC()
	held := heapAlloc()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(held-min(held, base)) / (1 << 20)
}

// peakHeap sends n queries whose clients read at full speed, and returns
// the most heap, live or not yet reclaimed, sampled every millisecond, in
// MiB above the live heap before. Every query must succeed.
func peakHeap(b *testing.B, srv *httptest.Server, body []byte, n int) float64 {
	statuses, peak := concurrently(b, n, func() (int, error) {
		st, raw, err := sendStream(srv, body)
		if err == nil && st != 200 {
			err = fmt.Errorf("status %d: %.200s", st, raw)
		}
		return st, err
	})
	if statuses[200] != n {
		b.Fatalf("statuses %v, want %d x 200", statuses, n)
	}
	return float64(max(peak, 0)) / (1 << 20)
}

// quiesce collects twice, which also empties the sync.Pools (encoding/json
// keeps its buffers in one).
func quiesce() {
	runtime.GC()
	runtime.GC()
}

// heapAlloc returns the bytes of heap objects allocated and not yet
// freed: the live heap, right after a collection.
func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// heapObjects returns the bytes of heap objects, live or not yet
// reclaimed, without stopping the world.
func heapObjects() uint64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}

// sendStream posts a query and reads its answer through, keeping only
// its first bytes (for an error's message).
func sendStream(srv *httptest.Server, body []byte) (int, []byte, error) {
	resp, err := srv.Client().Post(srv.URL+"/ix/ix/query", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(resp.Body, head)
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, head[:n], err
}

// raceEnabled is set under the race detector (race_test.go).
var raceEnabled bool

// skipUnderRace skips a test that measures allocation sizes, which the
// race detector changes.
func skipUnderRace(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation sizes")
	}
}

// tinyKey returns the i-th shortest key: "a", "b", ..., "aa", ...
func tinyKey(i int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b []byte
	for {
		b = append(b, alphabet[i%len(alphabet)])
		i /= len(alphabet)
		if i == 0 {
			return string(b)
		}
		i--
	}
}

// tinyKeys returns metadata of as many tiny keys holding v (whose JSON is
// vJSON) as fit in limit bytes of JSON, and its JSON size.
func tinyKeys(v any, vJSON string, limit int) (vectordb.Metadata, int) {
	md := vectordb.Metadata{}
	size := 1 // the braces, less the comma the first member does not have
	for i := 0; ; i++ {
		k := tinyKey(i)
		n := len(k) + 4 + len(vJSON) // "k":v,
		if size+n > limit {
			return md, size
		}
		md[k], size = v, size+n
	}
}

// metadataShapes are metadata of up to vectordb.MaxMetadataBytes of JSON,
// of the shapes that decode to the most memory for their size and of
// ordinary ones.
func metadataShapes() map[string]vectordb.Metadata {
	const limit = vectordb.MaxMetadataBytes
	shapes := map[string]vectordb.Metadata{}
	for _, c := range []struct {
		name string
		v    any
		json string
	}{
		{"0", 0.0, "0"}, {"7", 7.0, "7"}, {"1.5", 1.5, "1.5"}, {"true", true, "true"}, {`""`, "", `""`},
		{`"x"`, "x", `"x"`}, {"[]", []string{}, "[]"}, {`[""]`, []string{""}, `[""]`}, {`["",""]`, []string{"", ""}, `["",""]`},
	} {
		md, _ := tinyKeys(c.v, c.json, limit)
		shapes["tiny keys holding "+c.json] = md
	}
	md, _ := tinyKeys(0.0, "0", 8000)
	shapes["tiny keys holding 0, 8 KB"] = md
	md = vectordb.Metadata{}
	for i := range 4900 {
		md[fmt.Sprintf("%03x", i)] = 0.0 // the issue's: 4,900 keys "abc":0, 39 KB
	}
	shapes["4900 keys holding 0"] = md
	md = vectordb.Metadata{}
	for i := range 1077 {
		md[fmt.Sprintf("key-%012d", i)] = "value-0123456789"
	}
	shapes["1077 16-byte keys holding 16-byte strings"] = md
	shapes["four 10 KB strings"] = vectordb.Metadata{"a": strings.Repeat("x", 10200), "b": strings.Repeat("x", 10200),
		"c": strings.Repeat("x", 10200), "d": strings.Repeat("x", 10200)}
	list := func(n int, s string) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = s
		}
		return l
	}
	shapes["a list of 13,600 empty strings"] = vectordb.Metadata{"l": list(13600, "")}
	shapes["a list of 8,100 2-byte strings"] = vectordb.Metadata{"l": list(8100, "ab")}
	shapes["a list of 2,000 16-byte strings"] = vectordb.Metadata{"l": list(2000, "abcdefghijklmnop")}
	shapes["2 keys"] = vectordb.Metadata{"genre": "drama", "year": 2020.0}
	shapes["6 keys"] = vectordb.Metadata{"genre": "drama", "year": 2020.0, "ok": true, "tags": []string{"x", "y"}, "title": "some title here", "n": 3.0}
	shapes["1 key"] = vectordb.Metadata{"i": 3.0}
	return shapes
}

// median3 returns the median of three measurements.
func median3(measure func() float64) float64 {
	m := []float64{measure(), measure(), measure()}
	slices.Sort(m)
	return m[1]
}

// TestMetadataBytesMeasured: metadataBytes is at least what decoded
// metadata takes in memory, measured with runtime.ReadMemStats around
// storage.DecodeMetadata (the database's decoder), and at most 40%
// more; and no metadata within vectordb.MaxMetadataBytes counts more than
// maxDecodedMetadata.
func TestMetadataBytesMeasured(t *testing.T) {
	skipUnderRace(t)
	for name, md := range metadataShapes() {
		js, err := json.Marshal(md)
		if err != nil {
			t.Fatal(err)
		}
		if len(js) > vectordb.MaxMetadataBytes {
			t.Fatalf("%s: %d bytes of JSON", name, len(js))
		}
		enc, err := storage.AppendMetadata(nil, md, len(js))
		if err != nil {
			t.Fatal(err)
		}
		md, _, err := storage.DecodeMetadata(enc)
		if err != nil {
			t.Fatal(err)
		}
		est := metadataBytes(md)
		copies := max(20, int(8<<20/est)) // 8 MB: well above what the rest of the process frees meanwhile
		measured := median3(func() float64 {
			held := make([]map[string]any, copies)
			quiesce()
			before := heapAlloc()
			for i := range held {
				held[i], _, _ = storage.DecodeMetadata(enc)
			}
			runtime.GC()
			after := heapAlloc()
			runtime.KeepAlive(held)
			return (float64(after) - float64(before)) / float64(copies)
		})
		t.Logf("%-42s %5d keys, %6d bytes of JSON: %7.0f bytes decoded (%4.1fx), counted %7d (%.2f of it)",
			name, len(md), len(js), measured, measured/float64(len(js)), est, float64(est)/measured)
		if float64(est) < measured || float64(est) > 1.4*measured {
			t.Errorf("%s: counted %d bytes, measured %.0f", name, est, measured)
		}
		if est > maxDecodedMetadata {
			t.Errorf("%s: counted %d bytes, more than maxDecodedMetadata (%d)", name, est, maxDecodedMetadata)
		}
	}
}

// TestResultBytesMeasured: what recordSize counts for the results of a
// query, a fetch and a fetch by metadata is at least what the database's
// results take in memory (measured with runtime.ReadMemStats, the result
// held), and at most half as much more.
func TestResultBytesMeasured(t *testing.T) {
	skipUnderRace(t)
	db, err := vectordb.Open("", &vectordb.Options{InMemory: true, MemTableSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const dim, n = 64, 200
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "m", Dimension: dim})
	if err != nil {
		t.Fatal(err)
	}
	var shapes []vectordb.Metadata
	for _, name := range []string{"tiny keys holding 0, 8 KB", "6 keys", "a list of 2,000 16-byte strings", "1 key"} {
		shapes = append(shapes, metadataShapes()[name])
	}
	md, _ := tinyKeys([]string{""}, `[""]`, 20000)
	shapes = append(shapes, md)
	ns := ix.Namespace("")
	rng := rand.New(rand.NewPCG(5, 6))
	var ids []string
	for start := 0; start < n; start += 50 {
		var recs []vectordb.Record
		for i := start; i < start+50; i++ {
			v := make([]float32, dim)
			for j := range v {
				v[j] = rng.Float32()
			}
			md := maps.Clone(shapes[i%len(shapes)])
			md["all"] = true
			recs = append(recs, vectordb.Record{ID: fmt.Sprintf("record-%d", i), Values: v, Metadata: md})
			ids = append(ids, recs[len(recs)-1].ID)
		}
		if _, err := ns.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	filter, err := vectordb.ParseFilter([]byte(`{"all": true}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		run  func() (any, int64)
	}{
		{"query", func() (any, int64) {
			res, err := ns.Query(ctx, vectordb.QueryRequest{ID: "record-1", TopK: n, IncludeValues: true, IncludeMetadata: true})
			if err != nil {
				t.Fatal(err)
			}
			var size int64
			for _, m := range res.Matches {
				size += recordSize(m.ID, m.Values, m.SparseValues, m.Metadata)
			}
			return res, size
		}},
		{"fetch", func() (any, int64) {
			res, err := ns.Fetch(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			var size int64
			for _, r := range res.Records {
				size += recordSize(r.ID, r.Values, r.SparseValues, r.Metadata)
			}
			return res, size
		}},
		{"fetch by metadata", func() (any, int64) {
			res, err := ns.FetchByMetadata(ctx, vectordb.FetchByMetadataRequest{Filter: filter, Limit: n})
			if err != nil {
				t.Fatal(err)
			}
			var size int64
			for _, r := range res.Records {
				size += recordSize(r.ID, r.Values, r.SparseValues, r.Metadata)
			}
			return res, size
		}},
	} {
		c.run() // loads what the call needs
		var counted int64
		measured := median3(func() float64 {
			quiesce()
			before := heapAlloc()
			res, size := c.run()
			runtime.GC()
			after := heapAlloc()
			runtime.KeepAlive(res)
			counted = size
			return float64(after) - float64(before)
		})
		t.Logf("%s of %d records: %.0f bytes held, counted %d (%.2f of it)", c.name, n, measured, counted, float64(counted)/measured)
		if float64(counted) < measured || float64(counted) > 1.5*measured {
			t.Errorf("%s: counted %d bytes, measured %.0f", c.name, counted, measured)
		}
	}
}

// fillHeavyMetadata creates index name (dimension 2) and upserts n
// records "r0", "r1", ... each with the metadata: 4,900 keys
// "000" to "1323" holding 0, 40 KB of JSON, about 340 KB decoded.
func fillHeavyMetadata(t testing.TB, db *vectordb.DB, name string, n int) {
	t.Helper()
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: name, Dimension: 2})
	if err != nil {
		t.Fatal(err)
	}
	md := metadataShapes()["4900 keys holding 0"]
	const batch = 15 // 600 KB of metadata: within an atomic call of a small memtable
	for start := 0; start < n; start += batch {
		var recs []vectordb.Record
		for i := start; i < min(n, start+batch); i++ {
			recs = append(recs, vectordb.Record{ID: fmt.Sprintf("r%d", i), Values: []float32{1, float32(i + 1)}, Metadata: md})
		}
		if _, err := ix.Namespace("").Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
}

// concurrently sends n requests at once, reading their answers at full
// speed, and returns the statuses they got and the most heap, live or not
// yet reclaimed, sampled every millisecond, in bytes above the heap
// before.
func concurrently(t testing.TB, n int, send func() (int, error)) (statuses map[int]int, peak int64) {
	quiesce()
	base := heapObjects()
	stop := make(chan struct{})
	sampled := make(chan uint64)
	go func() {
		var top uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			top = max(top, heapObjects())
			select {
			case <-stop:
				sampled <- top
				return
			case <-tick.C:
			}
		}
	}()
	var mu sync.Mutex
	statuses = map[int]int{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			st, err := send()
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		})
	}
	wg.Wait()
	close(stop)
	top := <-sampled
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return statuses, int64(top) - int64(base)
}

// postDiscard posts body to path and reads the answer through.
func postDiscard(srv *httptest.Server, path string, body []byte) (int, error) {
	resp, err := srv.Client().Post(srv.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// smallBuffers wraps a listener so that the kernel buffers little of
// what the server writes to each connection: a client that pauses then
// holds up the handler writing its response, as it would over a real
// network, rather than loopback's megabytes of buffers taking it all.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// smallBufferClient is a client whose connections buffer little.
func smallBufferClient() *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(16 << 10)
		}
		return c, err
	}}}
}

// TestMetadataHeavyConcurrent: the attack, scaled down. Records
// of 4,900 tiny keys take about 340 KB each decoded, 8.5 times their JSON
// size. Six concurrent topK-150 queries with metadata each hold about 51
// MB (61 MB counted; 6 MB of JSON) and reserve at first half of a 64 MiB
// budget: they materialize their results one at a time (the overdraft
// slot), so that while their clients pause the live heap holds one
// result, where it held six before (their JSON sizes, 6.2 MB each, fit
// the budget ten times). Queries whose result exceeds the whole budget get
// 400 once it is known; ordinary ones with metadata are served; the
// budget is free after each.
func TestMetadataHeavyConcurrent(t *testing.T) {
	const budget = 64 << 20
	db, err := vectordb.Open("", &vectordb.Options{InMemory: true, MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := New(db, Config{MaxResponseBytes: budget, ResponseWait: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	defer srv.Close()
	fillHeavyMetadata(t, db, "ix", 200)
	fill(t, db, "small", 8, 1000)
	heavy := mustJSON(t, map[string]any{"id": "r1", "topK": 150, "includeMetadata": true})
	if st, err := postDiscard(srv, "/ix/ix/query", heavy); err != nil || st != 200 { // loads the namespace
		t.Fatalf("first query: %d %v", st, err)
	}
	waiting := func() int {
		_, w := h.responses.inUse()
		_, o := h.overdraft.inUse()
		return w + o
	}
	held := heldHeapAt(t, smallBufferClient(), srv.URL+"/ix/ix/query", heavy, 6, waiting)
	t.Logf("six topK-150 queries with metadata, clients paused: %.1f MiB live above the base", held)
	// The budget, one result's excess over half of it (61 - 32 MiB), and
	// 8 MiB for what the connections and the encoder hold.
	if limit := float64(budget>>20) + 29 + 8; held > limit {
		t.Errorf("%.1f MiB live with six heavy responses in flight, more than %.0f", held, limit)
	}
	eventually(t, "the budget to be free", func() bool { return idle(h) })

	// A result larger than the budget: 400, once known.
	st, body := do(t, srv, "", "POST", "/ix/ix/query", map[string]any{"id": "r1", "topK": 200, "includeMetadata": true})
	want(t, "topK 200 with metadata", st, 400, body)
	if msg := dataError(t, body, 3); !strings.Contains(msg, "ask for fewer") || !strings.Contains(msg, "64 MiB") {
		t.Fatalf("message %q", msg)
	}
	st, body = do(t, srv, "", "GET", "/ix/ix/vectors/fetch?"+idList(200), nil)
	want(t, "fetch of 200 heavy records", st, 400, body)
	// Ordinary requests with metadata, the largest the wire allows.
	st, body = do(t, srv, "", "POST", "/ix/small/query", map[string]any{"id": "r1", "topK": 1000, "includeMetadata": true, "includeValues": true})
	if want(t, "topK 1000 with metadata, small metadata", st, 200, body); len(body["matches"].([]any)) != 1000 {
		t.Fatalf("%d matches", len(body["matches"].([]any)))
	}
	st, body = do(t, srv, "", "GET", "/ix/small/vectors/fetch?"+idList(1000), nil)
	want(t, "fetch of 1000 records, small metadata", st, 200, body)
	st, body = do(t, srv, "", "POST", "/ix/small/vectors/fetch_by_metadata", map[string]any{"filter": map[string]any{"i": map[string]any{"$gte": 0}}, "limit": 1000})
	want(t, "fetch by metadata, limit 1000, small metadata", st, 200, body)
	if used, w := h.responses.inUse(); used != 0 || w != 0 {
		t.Fatalf("budget: %d bytes held, %d waiting", used, w)
	}
	if used, w := h.overdraft.inUse(); used != 0 || w != 0 {
		t.Fatal("overdraft slot not free")
	}
}

// requestsIdle reports whether the request budget is wholly free with
// nobody waiting.
func requestsIdle(h *Handler) bool {
	used, waiting := h.requests.inUse()
	return used == 0 && waiting == 0
}

// tinyKeyObject returns a JSON object of tiny keys holding v, of about n
// bytes.
func tinyKeyObject(n int, v string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"%s":%s`, tinyKey(i), v)
	}
	b.WriteString("}")
	return b.String()
}

// TestReadBodyAllocatesAsDataArrive: a body declared 4 MB long that
// sends one byte costs a small buffer, not 4 MB; a whole one is read
// into one buffer of its size.
func TestReadBodyAllocatesAsDataArrive(t *testing.T) {
	var got []byte
	a := allocated(func() {
		var err error
		if got, err = readBody(strings.NewReader("{"), 4<<20); err != nil {
			t.Fatal(err)
		}
	})
	if string(got) != "{" || a > 80<<10 {
		t.Fatalf("read %q allocating %d bytes", got, a)
	}
	body := strings.Repeat("x", 3<<20)
	a = allocated(func() {
		var err error
		if got, err = readBody(strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	})
	if string(got) != body || cap(got) != len(body)+1 || a > uint64(2*len(body)+(1<<20)) {
		t.Fatalf("read %d bytes into a buffer of %d, allocating %d", len(got), cap(got), a)
	}
	// Unknown length: doubling up to the limit.
	if got, err := readBody(strings.NewReader(body), 4<<20); err != nil || string(got) != body {
		t.Fatalf("read %d bytes: %v", len(got), err)
	}
}

// TestBodyShape: scanShape counts values as jsoncheck does, and the
// estimate grows with what decodes large.
func TestBodyShape(t *testing.T) {
	for _, c := range []struct {
		body   string
		values int
	}{
		{`{}`, 1},
		{`{"a":1,"b":[true,false,null],"c":{"d":"x\"y"}}`, 8},
		{`[-1.5e+10, 0, "a:b,{c}", {"k": []}]`, 6},
		{` { "a" : "\\" , "b" : "\u0041" } `, 3},
	} {
		if s := scanShape([]byte(c.body)); s.values != c.values {
			t.Errorf("%s: %d values, want %d", c.body, s.values, c.values)
		}
	}
	// An ordinary body fits its upfront share; one of tiny objects does
	// not.
	numbers := "[" + strings.Repeat("0.12345678,", 9999) + "0.12345678]"
	objects := "[" + strings.Repeat(`{"a":1},`, 13749) + `{"a":1}]`
	if len(numbers) != len(objects) {
		t.Fatalf("%d and %d bytes", len(numbers), len(objects))
	}
	n, o, up := scanShape([]byte(numbers)).decodedBytes(len(numbers)), scanShape([]byte(objects)).decodedBytes(len(objects)), bodyUpfront(int64(len(numbers)))
	if n > up || o < 10*up {
		t.Errorf("%d bytes: numbers %d, objects %d, upfront %d", len(numbers), n, o, up)
	}
}

// TestBodyBytesMeasured: for bodies of the shapes that decode to the most
// for their size, and ordinary ones, what decodedBytes counts is at least
// what serving them takes at the peak: the heap sampled while the handler
// runs, less what the database keeps of it (the records it stores), and
// less the garbage the collector lets be (kept to a twentieth of the
// heap).
func TestBodyBytesMeasured(t *testing.T) {
	skipUnderRace(t)
	db, err := vectordb.Open("", &vectordb.Options{InMemory: true, MemTableSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, d := range []int{2, 200, 1536, 3} { // 3: queries, on an empty index
		if _, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: fmt.Sprintf("d%d", d), Dimension: d}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := New(db, Config{MaxRequestBytes: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	records := func(n int, rec func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = rec(i)
		}
		return `{"vectors":[` + strings.Join(parts, ",") + `]}`
	}
	floats := func(n int, f func(j int) string) string {
		parts := make([]string, n)
		for j := range parts {
			parts[j] = f(j)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	attrs := make([]string, 30)
	for j := range attrs {
		switch j % 3 {
		case 0:
			attrs[j] = fmt.Sprintf(`"field_%d":"some value of text %d"`, j, j)
		case 1:
			attrs[j] = fmt.Sprintf(`"field_%d":%d`, j, j*j)
		default:
			attrs[j] = fmt.Sprintf(`"field_%d":["a","bb","ccc"]`, j)
		}
	}
	list := func(n int, e string) string { return "[" + strings.Repeat(e+",", n-1) + e + "]" }
	for _, c := range []struct{ name, path, body string }{
		{"upsert, 900 x 200 numbers of 10 bytes", "/ix/d200/vectors/upsert", records(900, func(i int) string {
			return fmt.Sprintf(`{"id":"r%d","values":%s}`, i, floats(200, func(j int) string { return fmt.Sprintf("0.%08d", 12345678+i*j) }))
		})},
		{"upsert, 60 x 1536 float32s as Go prints them", "/ix/d1536/vectors/upsert", records(60, func(i int) string {
			return fmt.Sprintf(`{"id":"r%d","values":%s,"metadata":{"genre":"drama","year":2020}}`, i,
				floats(1536, func(j int) string { return fmt.Sprint(float32(0.123456789 + float64(i*j)*1e-7)) }))
		})},
		{"upsert, 500 records of 30 attributes", "/ix/d2/vectors/upsert", records(500, func(i int) string {
			return fmt.Sprintf(`{"id":"r%d","values":[0.5,0.25],"metadata":{%s}}`, i, strings.Join(attrs, ","))
		})},
		{"upsert, 800 records of 280 tiny keys", "/ix/d2/vectors/upsert", records(800, func(i int) string {
			return fmt.Sprintf(`{"id":"r%d","values":[0.5,0.25],"metadata":%s}`, i, tinyKeyObject(1700, "1"))
		})},
		{"upsert, one record of 2 MB of tiny keys", "/ix/d2/vectors/upsert",
			`{"vectors":[{"id":"a","values":[1,2],"metadata":` + tinyKeyObject(2<<20-100, "1") + `}]}`},
		{"upsert, 690,000 empty records", "/ix/d2/vectors/upsert", `{"vectors":` + list(690000, "{}") + `}`},
		{"upsert, a list of a million numbers", "/ix/d2/vectors/upsert", `{"vectors":[{"id":"a","values":[1,2],"metadata":{"l":` + list(1000000, "1") + `}}]}`},
		{"upsert, a list of 690,000 empty strings", "/ix/d2/vectors/upsert", `{"vectors":[{"id":"a","values":[1,2],"metadata":{"l":` + list(690000, `""`) + `}}]}`},
		{"upsert, a list of 690,000 empty lists", "/ix/d2/vectors/upsert", `{"vectors":[{"id":"a","values":[1,2],"metadata":{"l":` + list(690000, `[]`) + `}}]}`},
		{"upsert, a list of 250,000 objects", "/ix/d2/vectors/upsert", `{"vectors":[{"id":"a","values":[1,2],"metadata":{"l":` + list(250000, `{"a":1}`) + `}}]}`},
		{"update, 4 MB of setMetadata, 466k keys", "/ix/d2/vectors/update", `{"id":"a","setMetadata":` + tinyKeyObject(4<<20-100, "0") + `}`},
		{"query, dimension 3, a filter", "/ix/d3/query", `{"topK":10,"includeMetadata":true,"vector":` +
			floats(3, func(j int) string { return fmt.Sprint(float32(0.123456789 + float64(j)*1e-7)) }) +
			`,"filter":{"genre":{"$in":["a","b","c"]},"year":{"$gte":2000}}}`},
		{"query, a filter of 30,000 values", "/ix/d3/query", `{"vector":[1,2,3],"topK":3,"filter":{"$or":` + list(14999, `{"g":"x"}`) + `}}`},
	} {
		shape := scanShape([]byte(c.body))
		counted := shape.decodedBytes(len(c.body))
		req := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
		old := debug.SetGCPercent(5)
		quiesce()
		base := heapObjects()
		stop, sampled := make(chan struct{}), make(chan uint64)
		go func() {
			var top uint64
			for {
				top = max(top, heapObjects())
				select {
				case <-stop:
					sampled <- top
					return
				default:
					runtime.Gosched()
				}
			}
		}()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		close(stop)
		top := <-sampled
		quiesce()
		peak := float64(top) - float64(max(base, heapAlloc())) // less what the database keeps
		debug.SetGCPercent(old)
		t.Logf("%-48s %7d bytes, %7d values: %d; peak %6.1f MB (%5.1fx), counted %6.1f MB (%5.1fx)", c.name, len(c.body), shape.values,
			rec.Code, peak/1e6, peak/float64(len(c.body)), float64(counted)/1e6, float64(counted)/float64(len(c.body)))
		if slack := float64(base) / 20; float64(counted)+slack < peak { // the garbage the collector lets be
			t.Errorf("%s: counted %d bytes, the heap peaked %.0f above the base (%.0f): %.200s", c.name, counted, peak, float64(base), rec.Body)
		}
	}
}

// TestRequestBudget: a body that cannot be valid is refused from its
// tokens, before anything is decoded; one that would take more than the
// whole request budget decoded gets 413; while others hold the budget a
// body gets 429 with Retry-After; the budget is free after each.
func TestRequestBudget(t *testing.T) {
	srv, db, h := budgetServer(t, Config{MaxRequestBytes: 64 << 20, ResponseWait: 50 * time.Millisecond})
	fill(t, db, "ix", 2, 10)

	// The update: 4 MB of setMetadata, 466k keys. It cost 107 MB
	// before it was refused as larger than 40,960 bytes.
	update := []byte(`{"id":"r1","setMetadata":` + tinyKeyObject(4<<20-100, "0") + `}`)
	var st int
	var raw []byte
	a := allocated(func() { st, raw, _ = send(t, srv, "", "POST", "/ix/ix/vectors/update", update) })
	t.Logf("update of %d bytes, 466k keys: %d, %d bytes allocated: %s", len(update), st, a, raw)
	if st != 400 || !strings.Contains(string(raw), "no setMetadata of more than 40960 bytes") || a > 16<<20 {
		t.Fatalf("update of 466k keys: %d, %d bytes allocated: %s", st, a, raw)
	}
	// Each route's bound: a query's filter of 30,001 values.
	query := []byte(`{"vector":[1,2],"topK":1,"filter":{"$or":[` + strings.Repeat(`{"i":1},`, 15000) + `{"i":1}]}}`)
	if st, raw, _ := send(t, srv, "", "POST", "/ix/ix/query", query); st != 400 || !strings.Contains(string(raw), "more than 30000 values") {
		t.Fatalf("query with a filter of 30,001 values: %d %s", st, raw)
	}
	// The largest valid bodies pass.
	for _, c := range []struct{ path, body string }{
		{"/ix/ix/query", `{"vector":[1,2],"topK":1,"filter":{"$or":[` + strings.Repeat(`{"i":1},`, 14998) + `{"i":1}]}}`},
		{"/ix/ix/vectors/update", `{"id":"r1","setMetadata":{"l":[` + strings.Repeat(`"",`, vectordb.MaxMetadataBytes/3-10) + `""]}}`},
	} {
		if st, raw, _ := send(t, srv, "", "POST", c.path, []byte(c.body)); st != 200 {
			t.Fatalf("%s, %d bytes: %d %.300s", c.path, len(c.body), st, raw)
		}
	}
	// 250,000 one-key objects in a 2 MB upsert would take 267 MB decoded.
	objects := []byte(`{"vectors":[{"id":"a","values":[1,2],"metadata":{"l":[` + strings.Repeat(`{"a":1},`, 250000) + `{}]}}]}`)
	if st, raw, _ := send(t, srv, "", "POST", "/ix/ix/vectors/upsert", objects); st != 413 || !strings.Contains(string(raw), "64 MiB") {
		t.Fatalf("upsert of 250,000 objects: %d %s", st, raw)
	}
	if !requestsIdle(h) {
		t.Fatal("request budget not free")
	}

	// While the budget is held: 429, then 200 once it is given back.
	if err := h.requests.acquire(ctx, 64<<20); err != nil {
		t.Fatal(err)
	}
	upsert := mustJSON(t, map[string]any{"vectors": []map[string]any{{"id": "x", "values": []float32{1, 2}}}})
	st, raw, hdr := send(t, srv, "", "POST", "/ix/ix/vectors/upsert", upsert)
	if st != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(string(raw), "request bodies") {
		t.Fatalf("upsert while the budget is held: %d, Retry-After %q: %s", st, hdr.Get("Retry-After"), raw)
	}
	// Requests without a body do not wait for it.
	if st, raw, _ := send(t, srv, "", "GET", "/ix/ix/vectors/fetch?ids=r1", nil); st != 200 {
		t.Fatalf("fetch while the request budget is held: %d %s", st, raw)
	}
	h.requests.release(64 << 20)
	if st, raw, _ := send(t, srv, "", "POST", "/ix/ix/vectors/upsert", upsert); st != 200 {
		t.Fatalf("upsert after the release: %d %s", st, raw)
	}
	if !requestsIdle(h) || !idle(h) {
		t.Fatal("budgets not free")
	}
}

// TestRequestBudgetConcurrentBodies: sixteen 2 MB upserts at once, with
// a 128 MiB request budget and a long ResponseWait.
//   - Each a record whose metadata is 2 MB of tiny keys, which the
//     database refuses after decoding it and making its normalized copy
//     (about 53 MB at the peak, 72 MB counted): their upfront shares (21
//     MB) are too small, and one at a time may wait to grow its share
//     while the others get 429 at once; at most two decode at once instead
//     of sixteen.
//   - Each 900 records of 200 numbers (7 MB at the peak, 17 MB counted):
//     all are served, six at a time (their upfront shares).
//
// Either way the heap stays within the budget.
func TestRequestBudgetConcurrentBodies(t *testing.T) {
	const budget = 128 << 20
	srv, db, h := budgetServer(t, Config{MaxRequestBytes: budget, ResponseWait: time.Hour})
	fill(t, db, "ix", 2, 10)
	fill(t, db, "d200", 200, 10)
	var numbers strings.Builder
	numbers.WriteString(`{"vectors":[`)
	for i := range 900 {
		if i > 0 {
			numbers.WriteString(",")
		}
		fmt.Fprintf(&numbers, `{"id":"r%d","values":[`, i)
		for j := range 200 {
			if j > 0 {
				numbers.WriteString(",")
			}
			fmt.Fprintf(&numbers, "0.%08d", 12345678+i*j)
		}
		numbers.WriteString("]}")
	}
	numbers.WriteString("]}")
	for _, c := range []struct {
		name, path, body string
		statuses         func(map[int]int) bool
	}{
		{"2 MB of tiny keys", "/ix/ix/vectors/upsert", `{"vectors":[{"id":"a","values":[1,2],"metadata":` + tinyKeyObject(2<<20-100, "1") + `}]}`,
			func(st map[int]int) bool { return st[400]+st[429] == 16 && st[400] >= 1 }},
		{"900 records of 200 numbers", "/ix/d200/vectors/upsert", numbers.String(),
			func(st map[int]int) bool { return st[200] == 16 }},
	} {
		body := []byte(c.body)
		old := debug.SetGCPercent(10) // garbage at most a tenth of the heap: the peak is about the live heap
		statuses, peak := concurrently(t, 16, func() (int, error) { return postDiscard(srv, c.path, body) })
		debug.SetGCPercent(old)
		t.Logf("sixteen upserts of %s (%d bytes) at once: %v; heap peak %.1f MiB above the base", c.name, len(body), statuses, float64(peak)/(1<<20))
		if !c.statuses(statuses) {
			t.Errorf("%s: statuses %v", c.name, statuses)
		}
		if limit := int64(budget)*11/10 + 16<<20; peak > limit {
			t.Errorf("%s: heap peaked %.1f MiB above the base, more than %.1f", c.name, float64(peak)/(1<<20), float64(limit)/(1<<20))
		}
		eventually(t, "the request budget to be free", func() bool { return requestsIdle(h) })
	}
}

// TestRequestBudgetSlowBodies: fifty connections that each declare a 4
// MB body and send one byte hold a small buffer each, not 4 MB; two of
// them hold the request budget's share for such a body (upfront: 40 MB),
// the others get 429 with Retry-After once ResponseWait has passed; once
// the two hang up, the budget is free and bodies are served again.
func TestRequestBudgetSlowBodies(t *testing.T) {
	upfront := bodyUpfront(4 << 20) // 40 MB
	srv, db, h := budgetServer(t, Config{MaxRequestBytes: 2*upfront + 1<<20, ResponseWait: 200 * time.Millisecond})
	fill(t, db, "ix", 2, 10)
	addr := srv.Listener.Addr().String()
	const conns = 50
	quiesce()
	base := heapAlloc()
	type slow struct {
		c  net.Conn
		rd *bufio.Reader
	}
	var all []slow
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /ix/ix/vectors/update HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", 4<<20)
		all = append(all, slow{c, bufio.NewReader(c)})
	}
	// The refused answer once ResponseWait has passed; the admitted ones
	// never (their bodies never come).
	type answer struct {
		i    int
		resp *http.Response
		err  error
	}
	answers := make(chan answer, conns)
	for i, s := range all {
		go func() {
			resp, err := http.ReadResponse(s.rd, nil)
			answers <- answer{i, resp, err}
		}()
	}
	answered := map[int]bool{}
	refused := 0
	timeout := time.After(time.Minute)
	for refused < conns-2 {
		select {
		case a := <-answers:
			if a.err != nil {
				t.Fatalf("slow body %d: %v", a.i, a.err)
			}
			a.resp.Body.Close()
			if a.resp.StatusCode != 429 || a.resp.Header.Get("Retry-After") == "" {
				t.Fatalf("slow body: %d, Retry-After %q", a.resp.StatusCode, a.resp.Header.Get("Retry-After"))
			}
			answered[a.i] = true
			refused++
		case <-timeout:
			t.Fatalf("%d of %d slow bodies refused after a minute", refused, conns)
		}
	}
	var holders []slow
	for i, s := range all {
		if !answered[i] {
			holders = append(holders, s)
		}
	}
	quiesce()
	held := int64(heapAlloc()) - int64(base)
	used, _ := h.requests.inUse()
	t.Logf("%d connections declaring 4 MB and sending 1 byte: %d refused (429), %d holding %.1f MiB of the budget; %.1f MiB live above the base",
		conns, refused, len(holders), float64(used)/(1<<20), float64(held)/(1<<20))
	if len(holders) != 2 || used != 2*upfront || held > 16<<20 {
		t.Fatalf("%d holders holding %d bytes of the budget, %d bytes live", len(holders), used, held)
	}
	for _, s := range holders {
		s.c.Close()
	}
	eventually(t, "the request budget to be free", func() bool { return requestsIdle(h) })
	upsert := mustJSON(t, map[string]any{"vectors": []map[string]any{{"id": "x", "values": []float32{1, 2}}}})
	if st, raw, _ := send(t, srv, "", "POST", "/ix/ix/vectors/upsert", upsert); st != 200 {
		t.Fatalf("upsert after the slow bodies: %d %s", st, raw)
	}
}

// BenchmarkConcurrentMetadataQueries measures the attack: n
// concurrent queries with includeMetadata on 1,000 records each of 4,900
// tiny keys (40 KB of JSON, 340 KB decoded), with the default budget and
// without one, in MiB of heap above the heap before:
//
//   - topK=1000: each result takes 340 MB decoded (406 MB counted), more
//     than the whole budget. peak-MB as in BenchmarkConcurrentLargeQueries;
//     ok is how many got 200 (with the budget each gets 400 once its
//     result is known, one at a time).
//   - topK=500: each takes 170 MB (203 MB counted) and is served. held-MB
//     with clients paused after 1 MiB (on connections that buffer little,
//     so that a paused client holds up its response), and peak-MB.
//
// Run it with
//
//	go test -run '^$' -bench ConcurrentMetadataQueries -benchtime 1x ./server
func BenchmarkConcurrentMetadataQueries(b *testing.B) {
	for _, budget := range []int64{0, -1} {
		name := "budget=256MiB"
		if budget < 0 {
			name = "budget=none"
		}
		b.Run(name, func(b *testing.B) {
			db, err := vectordb.Open("", &vectordb.Options{InMemory: true, MemTableSize: 8 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			h, err := New(db, Config{MaxResponseBytes: budget, ResponseWait: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(h)
			srv.Listener = smallBuffers{srv.Listener}
			srv.Start()
			defer srv.Close()
			fillHeavyMetadata(b, db, "ix", 1000)
			waiting := func() int {
				if h.responses == nil {
					return 0
				}
				_, w := h.responses.inUse()
				_, o := h.overdraft.inUse()
				return w + o
			}
			for _, topK := range []int{1000, 500} {
				body := mustJSON(b, map[string]any{"id": "r1", "topK": topK, "includeMetadata": true})
				if _, err := postDiscard(srv, "/ix/ix/query", body); err != nil { // loads the namespace
					b.Fatal(err)
				}
				for _, n := range []int{1, 3, 6} {
					b.Run(fmt.Sprintf("topK=%d/n=%d", topK, n), func(b *testing.B) {
						var held, peak, ok float64
						for range b.N {
							statuses, top := concurrently(b, n, func() (int, error) { return postDiscard(srv, "/ix/ix/query", body) })
							peak, ok = max(peak, float64(top)/(1<<20)), float64(statuses[200])
							if topK == 500 {
								held = max(held, heldHeapAt(b, smallBufferClient(), srv.URL+"/ix/ix/query", body, n, waiting))
							}
						}
						b.ReportMetric(peak, "peak-MB")
						b.ReportMetric(ok, "ok")
						if topK == 500 {
							b.ReportMetric(held, "held-MB")
						}
					})
				}
			}
		})
	}
}
