// Command noisy measures noisy-neighbour isolation: the query latency of
// a small tenant B alone, then while -readers goroutines query a large
// tenant A (a namespace of -n records with its IVF index) and -writers
// goroutines bulk-upsert into A (overwriting runs of its records, so that
// A keeps its size), all in one database on disk, durable writes. It reports
// B's latency percentiles in both phases, their ratio, and A's throughput
// under load, so that fairness is not bought by starving A.
//
//	go run ./benchmarks/cmd/noisy -n 100000 -dim 768
//	go run ./benchmarks/cmd/noisy -ns-concurrency 64 -concurrency 64   # admission limits off
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/benchmarks/internal/cmdkit"
	"github.com/vectordb-go/vectordb/benchmarks/internal/procstat"
)

var (
	dirFlag  = flag.String("dir", "", "database directory (default: a temporary one, removed at exit); reused if it holds the data set")
	n        = flag.Int("n", 100_000, "records of tenant A")
	bRecords = flag.Int("b", 1000, "records of tenant B")
	dim      = flag.Int("dim", 768, "dimension")
	readers  = flag.Int("readers", 4, "goroutines querying A")
	writers  = flag.Int("writers", 4, "goroutines bulk-upserting into A")
	batch    = flag.Int("batch", 1000, "records per bulk upsert")
	phase    = flag.Duration("phase", 10*time.Second, "length of each measured phase")
	conc     = flag.Int("concurrency", 0, "Options.Concurrency (0: default)")
	nsConc   = flag.Int("ns-concurrency", 0, "Options.NamespaceConcurrency (0: default)")
	cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of the loaded phase to this file")
)

func main() {
	flag.Parse()
	ctx := context.Background()
	dir, cleanup := cmdkit.Dir(*dirFlag, "noisy-")
	defer cleanup()
	opts := &vectordb.Options{Concurrency: *conc, NamespaceConcurrency: *nsConc}
	db, err := vectordb.Open(dir, opts)
	check(err)
	defer db.Close()
	fmt.Printf("machine: %s/%s, %d CPUs, GOMAXPROCS %d; A: %d x %d, B: %d records; Concurrency %d, NamespaceConcurrency %d\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), *n, *dim, *bRecords, *conc, *nsConc)
	ix, err := db.Index("noisy")
	if err != nil {
		ix, err = db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "noisy", Dimension: *dim, Metric: vectordb.Cosine})
		check(err)
	}
	bName := "B" + strconv.Itoa(*bRecords)
	a, b := ix.Namespace("A"), ix.Namespace(bName)
	r := rand.New(rand.NewPCG(1, 2))
	if d, err := ix.DescribeNamespace(ctx, "A"); err != nil || d.RecordCount < int64(*n) {
		start := time.Now()
		load(ctx, a, r, 0, *n)
		_, err := a.BuildIVF(ctx)
		check(err)
		fmt.Printf("A loaded and indexed in %v\n", time.Since(start).Round(time.Millisecond))
	}
	if d, err := ix.DescribeNamespace(ctx, bName); err != nil || d.RecordCount < int64(*bRecords) {
		load(ctx, b, r, 0, *bRecords)
	}
	d, err := ix.DescribeNamespace(ctx, "A")
	check(err)
	if d.IVF != nil {
		fmt.Printf("A: %d records, IVF %d lists, nprobe %d\n", d.RecordCount, d.IVF.Lists, d.IVF.NProbe)
	}

	queryB := func(stop <-chan struct{}) []time.Duration {
		r := rand.New(rand.NewPCG(3, 3))
		var lat []time.Duration
		for {
			select {
			case <-stop:
				return lat
			default:
			}
			q := vec(r)
			t0 := time.Now()
			res, err := b.Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 10})
			lat = append(lat, time.Since(t0))
			check(err)
			if len(res.Matches) == 0 {
				log.Fatal("B: no matches")
			}
		}
	}
	timed := func(f func(stop <-chan struct{}) []time.Duration) []time.Duration {
		stop := make(chan struct{})
		time.AfterFunc(*phase, func() { close(stop) })
		return f(stop)
	}
	// Let the storage engine's compactions (and any IVF build) finish,
	// then warm B (load it) before measuring.
	fmt.Printf("settled for %v\n", procstat.Settle(3*time.Minute).Round(time.Second))
	warm := make(chan struct{})
	time.AfterFunc(time.Second, func() { close(warm) })
	queryB(warm)
	g0 := gcStats()
	alone := timed(queryB)
	g1 := gcStats()
	report("B alone", alone)
	fmt.Printf("  %s\n", g1.since(g0))

	var (
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		aQueries atomic.Int64
		aRecords atomic.Int64
	)
	for w := range *readers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(10, uint64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := a.Query(ctx, vectordb.QueryRequest{Vector: vec(r), TopK: 10})
				check(err)
				aQueries.Add(1)
			}
		})
	}
	for w := range *writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(20, uint64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Overwrite a random run of A's records: A keeps its size,
				// so no IVF rebuild starts mid-measurement.
				load(ctx, a, r, r.IntN(*n-*batch+1), *batch)
				aRecords.Add(int64(*batch))
			}
		})
	}
	time.Sleep(time.Second) // let the load reach its steady state
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer f.Close()
	}
	q0, r0, t0 := aQueries.Load(), aRecords.Load(), time.Now()
	gc0 := gcStats()
	loaded := timed(queryB)
	gc1 := gcStats()
	if *cpuProf != "" {
		pprof.StopCPUProfile()
	}
	el := time.Since(t0).Seconds()
	q1, r1 := aQueries.Load(), aRecords.Load()
	close(stop)
	wg.Wait()
	report("B under load", loaded)
	fmt.Printf("  %s\n", gc1.since(gc0))
	fmt.Printf("A under load: %.0f queries/s, %.0f records/s upserted\n", float64(q1-q0)/el, float64(r1-r0)/el)
	fmt.Printf("B p50 ratio %.2f, p99 ratio %.2f (target p99 <= 2x)\n",
		ms(pct(loaded, 50))/ms(pct(alone, 50)), ms(pct(loaded, 99))/ms(pct(alone, 99)))
}

// load upserts records [from, from+count) into h in batches of -batch.
func load(ctx context.Context, h *vectordb.Namespace, r *rand.Rand, from, count int) {
	for lo := from; lo < from+count; lo += *batch {
		recs := make([]vectordb.Record, min(*batch, from+count-lo))
		for i := range recs {
			recs[i] = vectordb.Record{ID: "doc-" + strconv.Itoa(lo+i), Values: vec(r)}
		}
		_, err := h.Upsert(ctx, recs)
		check(err)
	}
}

func report(what string, lat []time.Duration) {
	fmt.Printf("%s: %d queries, p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms\n",
		what, len(lat), ms(pct(lat, 50)), ms(pct(lat, 90)), ms(pct(lat, 99)), ms(pct(lat, 99.9)))
}

func pct(lat []time.Duration, p float64) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

func vec(r *rand.Rand) []float32 { return cmdkit.RandVec(r, *dim) }

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

var check = cmdkit.Check

type gcSnap struct {
	cpu    time.Duration
	cycles uint32
	pause  time.Duration
}

func gcStats() gcSnap {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return gcSnap{cpu: procstat.CPUTime(), cycles: ms.NumGC, pause: time.Duration(ms.PauseTotalNs)}
}

func (g gcSnap) since(o gcSnap) string {
	return fmt.Sprintf("process CPU %.1f s, %d GC cycles, %.1f ms of GC pauses", (g.cpu - o.cpu).Seconds(), g.cycles-o.cycles, float64(g.pause-o.pause)/1e6)
}
