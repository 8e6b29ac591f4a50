// Command annbench measures vectordb's approximate (IVF) and exact search
// on a data set in the TEXMEX formats (.fvecs base and queries, .ivecs
// ground truth), such as SIFT1M or the sets benchmarks/cmd/gendata writes.
//
// It loads the base into one namespace of a database on disk (reporting
// the ingest rate), builds the namespace's IVF index (reporting the build
// time and the calibrated nprobe), then sends the queries one at a time
// from one goroutine and reports recall@k, QPS and p50/p99 latency for the
// exact scan, for IVF at the calibrated nprobe, and for IVF at each
// -nprobe, one line per configuration, plus peak RSS.
//
//	go run ./benchmarks/cmd/annbench -base B.fvecs -queries Q.fvecs -truth T.ivecs -metric euclidean -k 10 -nprobe 4,8,16,32
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/benchmarks/internal/procstat"
	"github.com/vectordb-go/vectordb/benchmarks/texmex"
)

// result is one output line.
type result struct {
	Config   string  `json:"config"`
	NProbe   int     `json:"nprobe,omitempty"`
	Recall   float64 `json:"recall"`
	QPS      float64 `json:"qps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Speedup  float64 `json:"speedup_vs_exact,omitempty"`
	Queries  int     `json:"queries"`
	K        int     `json:"k"`
	PeakRSSM float64 `json:"peak_rss_mib"`
}

func main() {
	basePath := flag.String("base", "", "base vectors (.fvecs), required")
	queryPath := flag.String("queries", "", "query vectors (.fvecs), required")
	truthPath := flag.String("truth", "", "ground truth (.ivecs): each query's nearest base indexes, best first; required")
	metric := flag.String("metric", "euclidean", "cosine, euclidean or dotproduct")
	k := flag.Int("k", 10, "neighbours per query (recall@k)")
	nprobes := flag.String("nprobe", "", "comma-separated nprobe values to measure besides the calibrated one")
	dir := flag.String("dir", "", "database directory (default: a temporary one, removed at exit); an existing one holding the base is reused")
	batch := flag.Int("batch", 1000, "records per Upsert while loading")
	maxQueries := flag.Int("nq", 0, "use only the first nq queries (0: all)")
	asJSON := flag.Bool("json", false, "print one JSON object per line")
	buildProfile := flag.String("buildprofile", "", "write a CPU profile of the IVF build to this file")
	flag.Parse()
	if *basePath == "" || *queryPath == "" || *truthPath == "" {
		flag.Usage()
		log.Fatal("annbench: -base, -queries and -truth are required")
	}
	var probes []int
	for _, f := range strings.Split(*nprobes, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 {
			log.Fatalf("annbench: bad -nprobe value %q", f)
		}
		probes = append(probes, p)
	}
	base, dim, err := texmex.ReadFvecs(*basePath)
	check(err)
	queries, qdim, err := texmex.ReadFvecs(*queryPath)
	check(err)
	truth, err := texmex.ReadIvecs(*truthPath)
	check(err)
	nq := len(queries) / qdim
	if *maxQueries > 0 {
		nq = min(nq, *maxQueries)
	}
	switch {
	case qdim != dim:
		log.Fatalf("annbench: queries have dimension %d, base %d", qdim, dim)
	case len(truth) < nq:
		log.Fatalf("annbench: %d ground-truth rows for %d queries", len(truth), nq)
	case len(truth[0]) < *k:
		log.Fatalf("annbench: ground truth has %d neighbours per query, -k is %d", len(truth[0]), *k)
	}
	n := len(base) / dim
	info := func(format string, args ...any) {
		if !*asJSON {
			fmt.Printf(format+"\n", args...)
		}
	}
	info("data: %d x %d base, %d queries, metric %s, k %d; %s", n, dim, nq, *metric, *k, machine())

	if *dir == "" {
		d, err := os.MkdirTemp("", "annbench-")
		check(err)
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx := context.Background()
	// Automatic builds are off while loading, so the build is measured
	// once, on the whole base.
	db, err := vectordb.Open(*dir, &vectordb.Options{MaxBatchRecords: *batch, IVFMinRecords: -1})
	check(err)
	defer db.Close()
	ix, err := db.Index("annbench")
	if err != nil {
		ix, err = db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "annbench", Dimension: dim, Metric: vectordb.Metric(*metric)})
		check(err)
	}
	ns := ix.Namespace("base")
	if d, err := ix.DescribeNamespace(ctx, "base"); err == nil && d.RecordCount == int64(n) {
		info("ingest: reusing the %d records in %s", n, *dir)
	} else {
		start := time.Now()
		recs := make([]vectordb.Record, 0, *batch)
		for i := 0; i < n; i += *batch {
			recs = recs[:0]
			for j := i; j < min(n, i+*batch); j++ {
				recs = append(recs, vectordb.Record{ID: strconv.Itoa(j), Values: base[j*dim : (j+1)*dim]})
			}
			_, err := ns.Upsert(ctx, recs)
			check(err)
		}
		el := time.Since(start)
		info("ingest: %d records in %v: %.0f records/s (durable, batches of %d)", n, el.Round(time.Millisecond), float64(n)/el.Seconds(), *batch)
	}
	start := time.Now()
	if _, err := ns.Query(ctx, vectordb.QueryRequest{Vector: queries[:dim], TopK: 1, Exact: true}); err != nil {
		log.Fatal(err)
	}
	info("load: %v", time.Since(start).Round(time.Millisecond))
	if *buildProfile != "" {
		f, err := os.Create(*buildProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	d, err := ns.BuildIVF(ctx)
	check(err)
	if *buildProfile != "" {
		pprof.StopCPUProfile()
	}
	info("build: %v: %d lists, calibrated nprobe %d (estimated recall@10 %.4f)", d.BuildTime.Round(time.Millisecond), d.Lists, d.NProbe, d.EstimatedRecall)

	run := func(config string, req vectordb.QueryRequest) result {
		lat := make([]time.Duration, nq)
		found := 0
		req.TopK = *k
		total := time.Now()
		for i := range nq {
			req.Vector = queries[i*dim : (i+1)*dim]
			t0 := time.Now()
			res, err := ns.Query(ctx, req)
			lat[i] = time.Since(t0)
			check(err)
			want := truth[i][:*k]
			for _, m := range res.Matches {
				id, _ := strconv.Atoi(m.ID)
				if slices.Contains(want, int32(id)) {
					found++
				}
			}
		}
		el := time.Since(total)
		slices.Sort(lat)
		return result{
			Config: config, NProbe: req.NProbe, Queries: nq, K: *k,
			Recall: float64(found) / float64(nq**k),
			QPS:    float64(nq) / el.Seconds(),
			P50ms:  ms(lat[nq/2]), P99ms: ms(lat[min(nq-1, nq*99/100)]),
		}
	}
	exact := run("exact", vectordb.QueryRequest{Exact: true})
	results := []result{exact, run("ivf-calibrated", vectordb.QueryRequest{NProbe: d.NProbe})}
	for _, p := range probes {
		results = append(results, run("ivf", vectordb.QueryRequest{NProbe: p}))
	}
	rss := procstat.StatusMiB("VmHWM")
	for _, r := range results {
		r.PeakRSSM = rss
		if r.Config != "exact" {
			r.Speedup = r.QPS / exact.QPS
		}
		if *asJSON {
			b, _ := json.Marshal(r)
			fmt.Println(string(b))
			continue
		}
		fmt.Printf("%-15s nprobe=%-5d recall@%d=%.4f qps=%-9.1f p50=%.3fms p99=%.3fms speedup=%.1fx\n",
			r.Config, r.NProbe, r.K, r.Recall, r.QPS, r.P50ms, r.P99ms, r.Speedup)
	}
	info("peak RSS: %.0f MiB", rss)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, GOMAXPROCS %d", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
