// Command httpload measures the HTTP server under load: it serves a
// database on disk on a loopback port, fills -namespaces tenants of one
// index with -records records each, then runs -clients concurrent clients
// for -duration, each sending queries (topK 10, a quarter filtered) and,
// one request in -upsert-every, an upsert of 10 records, to random
// tenants. It reports requests/s, p50/p99/max latency per operation and
// the errors (any non-2xx). Then it measures the HTTP overhead: one
// client's query latency over HTTP against the same query in-process.
//
//	go run ./benchmarks/cmd/httpload -clients 64 -namespaces 100 -duration 60s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/benchmarks/internal/cmdkit"
	"github.com/vectordb-go/vectordb/server"
)

var (
	clients     = flag.Int("clients", 64, "concurrent clients")
	namespaces  = flag.Int("namespaces", 100, "tenants")
	records     = flag.Int("records", 1000, "records per tenant at the start")
	dim         = flag.Int("dim", 384, "dimension")
	duration    = flag.Duration("duration", 60*time.Second, "load duration")
	upsertEvery = flag.Int("upsert-every", 5, "one request in this many is an upsert")
	dirFlag     = flag.String("dir", "", "database directory (default: a temporary one, removed at exit)")
)

const apiKey = "load-key"

func main() {
	flag.Parse()
	ctx := context.Background()
	dir, cleanup := cmdkit.Dir(*dirFlag, "httpload-")
	defer cleanup()
	db, err := vectordb.Open(dir, nil)
	cmdkit.Check(err)
	defer db.Close()
	h, err := server.New(db, server.Config{Keys: []server.Key{{Secret: apiKey}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	cmdkit.Check(err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	cmdkit.Check(err)
	go http.Serve(ln, h)
	base := "http://" + ln.Addr().String()
	fmt.Printf("machine: %s/%s, %d CPUs; %d clients, %d namespaces x %d records, dimension %d, 1 upsert in %d, for %v\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *clients, *namespaces, *records, *dim, *upsertEvery, *duration)

	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "load", Dimension: *dim})
	cmdkit.Check(err)
	r := rand.New(rand.NewPCG(1, 2))
	for n := range *namespaces {
		ns := ix.Namespace(nsName(n))
		for i := 0; i < *records; i += 500 {
			batch := make([]vectordb.Record, 0, 500)
			for j := i; j < min(i+500, *records); j++ {
				batch = append(batch, vectordb.Record{ID: "r" + strconv.Itoa(j), Values: cmdkit.RandVec(r, *dim),
					Metadata: vectordb.Metadata{"g": float64(j % 4)}})
			}
			_, err := ns.Upsert(ctx, batch)
			cmdkit.Check(err)
		}
	}

	transport := &http.Transport{MaxIdleConns: *clients, MaxIdleConnsPerHost: *clients}
	client := &http.Client{Transport: transport}
	type sample struct {
		upsert bool
		d      time.Duration
	}
	var (
		mu      sync.Mutex
		samples []sample
		errs    atomic.Int64
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(*duration)
	start := time.Now()
	for c := range *clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(3, uint64(c)))
			var mine []sample
			for i := 0; time.Now().Before(deadline); i++ {
				ns := nsName(r.IntN(*namespaces))
				upsert := i%*upsertEvery == *upsertEvery-1
				var path string
				var body any
				if upsert {
					vecs := make([]map[string]any, min(10, *records))
					for j, id := range r.Perm(*records)[:len(vecs)] { // distinct ids: an upsert refuses repeats
						vecs[j] = map[string]any{"id": "u" + strconv.Itoa(id), "values": cmdkit.RandVec(r, *dim)}
					}
					path, body = "/ix/load/vectors/upsert", map[string]any{"namespace": ns, "vectors": vecs}
				} else {
					q := map[string]any{"namespace": ns, "vector": cmdkit.RandVec(r, *dim), "topK": 10, "includeMetadata": true}
					if r.IntN(4) == 0 {
						q["filter"] = map[string]any{"g": r.IntN(4)}
					}
					path, body = "/ix/load/query", q
				}
				t0 := time.Now()
				ok := post(client, base+path, body)
				d := time.Since(t0)
				if !ok {
					errs.Add(1)
				}
				mine = append(mine, sample{upsert, d})
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	var qs, us []time.Duration
	for _, s := range samples {
		if s.upsert {
			us = append(us, s.d)
		} else {
			qs = append(qs, s.d)
		}
	}
	fmt.Printf("load: %d requests in %.1f s = %.0f requests/s; errors %d\n", len(samples), el, float64(len(samples))/el, errs.Load())
	report("query", qs, el)
	report("upsert (10 records)", us, el)

	// HTTP overhead on one client, same query.
	q := cmdkit.RandVec(r, *dim)
	body := map[string]any{"namespace": nsName(0), "vector": q, "topK": 10, "includeMetadata": true}
	ns := ix.Namespace(nsName(0))
	var httpD, libD []time.Duration
	for range 2000 {
		t0 := time.Now()
		if !post(client, base+"/ix/load/query", body) {
			errs.Add(1)
		}
		httpD = append(httpD, time.Since(t0))
		t0 = time.Now()
		_, err := ns.Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 10, IncludeMetadata: true})
		cmdkit.Check(err)
		libD = append(libD, time.Since(t0))
	}
	hp, lp := pct(httpD, 50), pct(libD, 50)
	fmt.Printf("one client, same query (%d records, topK 10, metadata): HTTP p50 %.3f ms, in-process p50 %.3f ms: overhead %.3f ms per request\n",
		*records, ms(hp), ms(lp), ms(hp-lp))
}

func nsName(n int) string { return "tenant-" + strconv.Itoa(n) }

// post sends a JSON POST and reports whether it got a 2xx.
func post(c *http.Client, url string, body any) bool {
	raw, err := json.Marshal(body)
	cmdkit.Check(err)
	req, err := http.NewRequest("POST", url, bytes.NewReader(raw))
	cmdkit.Check(err)
	req.Header.Set("Api-Key", apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}

func report(what string, ds []time.Duration, el float64) {
	if len(ds) == 0 {
		return
	}
	fmt.Printf("  %-20s %8.0f/s  p50 %.2f ms  p99 %.2f ms  max %.1f ms\n", what, float64(len(ds))/el,
		ms(pct(ds, 50)), ms(pct(ds, 99)), ms(pct(ds, 100)))
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, len(s)*p/100)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
