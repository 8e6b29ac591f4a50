// Command soak runs a mixed workload for -duration against one database on
// disk under a memory budget, and reports the resident memory against the
// budget throughout: -writers goroutines upsert, update and delete across
// -namespaces tenants (now and then emptying or deleting one), -readers
// goroutines query random tenants (loading cold ones, so that the budget
// evicts). It checks the database at the end.
//
//	go run ./benchmarks/cmd/soak -duration 5m -budget 256
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/benchmarks/internal/cmdkit"
	"github.com/vectordb-go/vectordb/benchmarks/internal/procstat"
)

var (
	duration   = flag.Duration("duration", 5*time.Minute, "how long to run")
	budgetMiB  = flag.Int64("budget", 256, "Options.MemoryBudget in MiB")
	memLimit   = flag.Float64("memlimit", 1.1, "GOMEMLIMIT as a multiple of the budget (README's advice); 0: none")
	namespaces = flag.Int("namespaces", 2000, "tenants")
	dim        = flag.Int("dim", 384, "dimension")
	writers    = flag.Int("writers", 2, "writing goroutines")
	readers    = flag.Int("readers", 2, "querying goroutines")
	dirFlag    = flag.String("dir", "", "database directory (default: a temporary one, removed at exit)")
	memtable   = flag.Int64("memtable", 0, "Options.MemTableSize in MiB (0: default)")
	memProfile = flag.String("memprofile", "", "write a heap profile at the end of the run to this file")
	peakProf   = flag.String("peakprofile", "", "write a heap profile to this file whenever RSS reaches a new peak above the budget")
)

func main() {
	flag.Parse()
	ctx := context.Background()
	dir, cleanup := cmdkit.Dir(*dirFlag, "soak-")
	defer cleanup()
	if *memLimit > 0 {
		debug.SetMemoryLimit(int64(float64(*budgetMiB<<20) * *memLimit))
	}
	budget := *budgetMiB << 20
	db, err := vectordb.Open(dir, &vectordb.Options{MemoryBudget: budget, IVFMinRecords: 2000, MemTableSize: *memtable << 20})
	check(err)
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "soak", Dimension: *dim})
	check(err)
	st, err := db.Stats(ctx)
	check(err)
	fmt.Printf("machine: %s/%s, %d CPUs; %d tenants, dimension %d, %d writers, %d readers, budget %d MiB (storage reserve %d MiB, hot %d MiB), GOMEMLIMIT %.2f x budget, for %v\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *namespaces, *dim, *writers, *readers, *budgetMiB,
		st.StorageReserve>>20, st.HotBudget>>20, *memLimit, *duration)

	var (
		stop                             = make(chan struct{})
		wg                               sync.WaitGroup
		upserts, deletes, drops, queries atomic.Int64
		peak                             atomic.Int64 // KiB
	)
	name := func(r *rand.Rand) string {
		// Zipf-like: a few tenants are busy, most are rarely touched.
		return "t" + strconv.Itoa(int(float64(*namespaces)*r.Float64()*r.Float64()))
	}
	vec := func(r *rand.Rand) []float32 { return cmdkit.RandVec(r, *dim) }
	for w := range *writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(1, uint64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				h := ix.Namespace(name(r))
				switch p := r.IntN(100); {
				case p < 70:
					recs := make([]vectordb.Record, 1+r.IntN(100))
					for i := range recs {
						recs[i] = vectordb.Record{ID: "d" + strconv.Itoa(r.IntN(5000)), Values: vec(r), Metadata: vectordb.Metadata{"g": float64(r.IntN(10))}}
					}
					_, err := h.Upsert(ctx, dedupe(recs))
					check(err)
					upserts.Add(int64(len(recs)))
				case p < 95:
					ids := make([]string, 1+r.IntN(50))
					for i := range ids {
						ids[i] = "d" + strconv.Itoa(r.IntN(5000))
					}
					_, err := h.Delete(ctx, ids)
					check(err)
					deletes.Add(1)
				case p < 98:
					_, err := h.DeleteAll(ctx)
					check(err)
					drops.Add(1)
				default:
					if err := ix.DeleteNamespace(ctx, h.Name()); err != nil && !errors.Is(err, vectordb.ErrNamespaceNotFound) {
						check(err)
					}
					drops.Add(1)
				}
			}
		})
	}
	for w := range *readers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(2, uint64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				req := vectordb.QueryRequest{Vector: vec(r), TopK: 10}
				if r.IntN(4) == 0 {
					req.Filter = vectordb.Filter{"g": float64(r.IntN(10))}
				}
				_, err := ix.Namespace(name(r)).Query(ctx, req)
				check(err)
				queries.Add(1)
			}
		})
	}
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	report := time.NewTicker(30 * time.Second)
	for done := false; !done; {
		select {
		case <-tick.C:
			rss := int64(procstat.StatusMiB("RssAnon") * 1024)
			if rss > peak.Load() && rss > *budgetMiB<<10 && *peakProf != "" {
				cmdkit.WriteHeapProfile(*peakProf)
			}
			peak.Store(max(peak.Load(), rss))
			if time.Since(start) >= *duration {
				done = true
			}
		case <-report.C:
			st, err := db.Stats(ctx)
			check(err)
			fmt.Printf("  +%v: RSS %.0f MiB anonymous (peak %.0f), hot %d namespaces / %.0f MiB accounted, %d evictions; %d records upserted, %d queries\n",
				time.Since(start).Round(time.Second), procstat.StatusMiB("RssAnon"), float64(peak.Load())/1024,
				st.HotNamespaces, float64(st.HotBytes)/(1<<20), st.Evictions, upserts.Load(), queries.Load())
		}
	}
	close(stop)
	wg.Wait()
	el := time.Since(start).Seconds()
	st, err = db.Stats(ctx)
	check(err)
	fmt.Printf("done: %.0f upserted records/s, %.0f queries/s, %d delete calls, %d namespaces emptied or deleted, %d evictions\n",
		float64(upserts.Load())/el, float64(queries.Load())/el, deletes.Load(), drops.Load(), st.Evictions)
	fmt.Printf("peak RSS (anonymous, sampled every 10 ms): %.0f MiB; budget %d MiB, budget + 25%% = %d MiB\n",
		float64(peak.Load())/1024, *budgetMiB, *budgetMiB*5/4)
	cmdkit.WriteHeapProfile(*memProfile)
	check(db.Check(ctx))
	fmt.Println("Check: consistent")
	check(db.Close())
}

// dedupe drops repeated ids (an Upsert refuses them), keeping the last.
func dedupe(recs []vectordb.Record) []vectordb.Record {
	seen := map[string]int{}
	out := recs[:0]
	for _, r := range recs {
		if i, ok := seen[r.ID]; ok {
			out[i] = r
			continue
		}
		seen[r.ID] = len(out)
		out = append(out, r)
	}
	return out
}

var check = cmdkit.Check
