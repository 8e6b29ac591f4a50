// Command tenants measures vectordb with a SaaS-shaped long tail of
// tenants: many small namespaces and a few large ones in one index on
// disk. It reports ingest time, disk size, Open time and RSS after Open,
// cold and warm query latency on small tenants, cold latency on large
// ones, and memory and hot bytes after touching many random tenants under
// a memory budget.
//
//	go run ./benchmarks/cmd/tenants -small 100000 -large 100 -dim 384 -budget 512
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/benchmarks/internal/cmdkit"
	"github.com/vectordb-go/vectordb/benchmarks/internal/procstat"
)

var (
	dirFlag      = flag.String("dir", "", "database directory (default: a temporary one, removed at exit); reused if it holds the data set")
	small        = flag.Int("small", 100_000, "small namespaces")
	smallRecords = flag.Int("small-records", 20, "records per small namespace")
	large        = flag.Int("large", 100, "large namespaces")
	largeRecords = flag.Int("large-records", 10_000, "records per large namespace")
	dim          = flag.Int("dim", 384, "dimension")
	budgetMiB    = flag.Int64("budget", 512, "Options.MemoryBudget in MiB for the query phase")
	touch        = flag.Int("touch", 20_000, "random small tenants touched to fill the budget")
	samples      = flag.Int("queries", 1000, "queries per latency measurement")
	writers      = flag.Int("writers", 4, "goroutines loading the data set")
	memProfile   = flag.String("memprofile", "", "write a heap profile at the end to this file")
	settle       = flag.Duration("settle", 5*time.Minute, "after Open, wait up to this long for the storage engine's compactions to finish")
	memLimit     = flag.Float64("memlimit", 1.1, "set the Go runtime's soft memory limit (GOMEMLIMIT) to this multiple of the budget for the query phase, as README advises; 0: none")
)

func main() {
	flag.Parse()
	ctx := context.Background()
	dir, cleanup := cmdkit.Dir(*dirFlag, "tenants-")
	defer cleanup()
	fmt.Printf("machine: %s/%s, %d CPUs; data set: %d x %d records + %d x %d records, dimension %d; Go memory limit %.2f x budget\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *small, *smallRecords, *large, *largeRecords, *dim, *memLimit)
	if !exists(dir) {
		ingest(ctx, dir)
	} else {
		fmt.Println("ingest: reusing", dir)
	}
	fmt.Printf("disk: %.0f MiB\n", float64(procstat.DiskUsage(dir))/(1<<20))

	if *memLimit > 0 {
		debug.SetMemoryLimit(int64(float64(*budgetMiB<<20) * *memLimit))
	}
	start := time.Now()
	db, err := vectordb.Open(dir, &vectordb.Options{MemoryBudget: *budgetMiB << 20, IVFMinRecords: -1})
	check(err)
	defer db.Close()
	fmt.Printf("open: %v; after open: %s\n", time.Since(start).Round(time.Millisecond), memory())
	if *settle > 0 {
		fmt.Printf("waited %v for background compactions to finish; %s\n", procstat.Settle(*settle).Round(time.Second), memory())
	}
	ix, err := db.Index("tenants")
	check(err)

	r := rand.New(rand.NewPCG(7, 7))
	q := func() []float32 { return vec(r) }
	perm := r.Perm(*small)
	measure := func(what string, names []string) {
		lat := make([]time.Duration, 0, len(names))
		for _, n := range names {
			t0 := time.Now()
			res, err := ix.Namespace(n).Query(ctx, vectordb.QueryRequest{Vector: q(), TopK: 10})
			lat = append(lat, time.Since(t0))
			check(err)
			if len(res.Matches) == 0 {
				log.Fatalf("%s: no matches", n)
			}
		}
		slices.Sort(lat)
		fmt.Printf("%s: p50 %.3f ms, p99 %.3f ms (%d queries)\n", what, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), len(lat))
	}
	names := func(idx []int, prefix string) []string {
		out := make([]string, len(idx))
		for i, k := range idx {
			out[i] = prefix + strconv.Itoa(k)
		}
		return out
	}
	n := min(*samples, *small)
	coldSet := names(perm[:n], "s")
	measure("cold query, small tenant (first touch)", coldSet)
	measure("warm query, small tenant", coldSet)
	if *large > 0 {
		measure("cold query, large tenant (first touch)", names(r.Perm(*large)[:min(*large, 50)], "L"))
	}
	touched := names(perm[n:min(*small, n+*touch)], "s")
	peak := sampleRSS()
	start = time.Now()
	for _, name := range touched {
		_, err := ix.Namespace(name).Query(ctx, vectordb.QueryRequest{Vector: q(), TopK: 10})
		check(err)
	}
	el := time.Since(start)
	peakMiB := peak()
	st, err := db.Stats(ctx)
	check(err)
	fmt.Printf("touched %d more tenants in %v: hot %d namespaces, %.0f MiB accounted, budget %d MiB, %d evictions\n",
		len(touched), el.Round(time.Millisecond), st.HotNamespaces, float64(st.HotBytes)/(1<<20), *budgetMiB, st.Evictions)
	fmt.Printf("  peak RSS anonymous while touching: %.0f MiB (budget + 25%%: %d MiB); after a collection: %s\n",
		peakMiB, *budgetMiB*5/4, memory())
	cmdkit.WriteHeapProfile(*memProfile)
}

func ingest(ctx context.Context, dir string) {
	start := time.Now()
	// Loading is not what is measured: skip the per-commit sync.
	db, err := vectordb.Open(dir, &vectordb.Options{Durability: vectordb.DurabilityProcess, IVFMinRecords: -1, MemoryBudget: -1})
	check(err)
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "tenants", Dimension: *dim, Metric: vectordb.Cosine})
	check(err)
	jobs := make(chan func(r *rand.Rand))
	var wg sync.WaitGroup
	for w := range *writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for j := range jobs {
				j(r)
			}
		})
	}
	upsert := func(name string, from, n int) func(r *rand.Rand) {
		return func(r *rand.Rand) {
			recs := make([]vectordb.Record, n)
			for i := range recs {
				recs[i] = vectordb.Record{ID: "doc-" + strconv.Itoa(from+i), Values: vec(r), Metadata: vectordb.Metadata{"i": float64(from + i)}}
			}
			_, err := ix.Namespace(name).Upsert(ctx, recs)
			check(err)
		}
	}
	for k := range *large {
		for from := 0; from < *largeRecords; from += 500 {
			jobs <- upsert("L"+strconv.Itoa(k), from, min(500, *largeRecords-from))
		}
	}
	for k := range *small {
		jobs <- upsert("s"+strconv.Itoa(k), 0, *smallRecords)
		if k%20000 == 19999 {
			fmt.Printf("  %d small tenants after %v\n", k+1, time.Since(start).Round(time.Second))
		}
	}
	close(jobs)
	wg.Wait()
	check(db.Close())
	total := *small**smallRecords + *large**largeRecords
	el := time.Since(start)
	fmt.Printf("ingest: %d namespaces, %d records in %v (%.0f records/s, %d writers, no sync)\n",
		*small+*large, total, el.Round(time.Millisecond), float64(total)/el.Seconds(), *writers)
}

func vec(r *rand.Rand) []float32 { return cmdkit.RandVec(r, *dim) }

func exists(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

// sampleRSS samples the resident anonymous memory every 10 ms until the
// returned function is called, which returns the highest sample.
func sampleRSS() func() float64 {
	stop := make(chan struct{})
	done := make(chan float64)
	go func() {
		var peak float64
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, procstat.StatusMiB("RssAnon"))
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 { close(stop); return <-done }
}

// memory describes the process's memory: resident anonymous and
// file-backed memory, and the Go heap in use after a collection.
func memory() string {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	anon, file := procstat.StatusMiB("RssAnon"), procstat.StatusMiB("RssFile")
	return fmt.Sprintf("RSS %.0f MiB anonymous + %.0f MiB mapped storage files; Go heap in use %.0f MiB",
		anon, file, float64(ms.HeapInuse)/(1<<20))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var check = cmdkit.Check
