package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb"
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
	ix, err := db.CreateIndex(ctx, vectordb.IndexSpec{Name: name, Dimension: dim})
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
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // a poll, not a wait for something to happen
	}
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
func heldHeap(b *testing.B, srv *httptest.Server, body []byte, n int, waiting func() int) float64 {
	quiesce()
	base := heapAlloc()
	var started atomic.Int64
	release := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := srv.Client().Post(srv.URL+"/ix/ix/query", "application/json", bytes.NewReader(body))
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
// MiB above the live heap before.
func peakHeap(b *testing.B, srv *httptest.Server, body []byte, n int) float64 {
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
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			st, raw, err := sendStream(srv, body)
			if err == nil && st != 200 {
				err = fmt.Errorf("status %d: %.200s", st, raw)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(stop)
	top := <-sampled
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(top-min(top, base)) / (1 << 20)
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
