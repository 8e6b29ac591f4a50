// Command offboard measures offboarding a large tenant: the latency of
// DeleteNamespace on a namespace of -n records, how long the background
// drop takes, the database's disk usage before, right after, and every few
// seconds after, for -watch, and the latency of another tenant's writes
// meanwhile (the drop blocks writers while it drops tables).
//
//	go run ./benchmarks/cmd/offboard -n 100000 -dim 768 -watch 2m
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/benchmarks/internal/cmdkit"
	"github.com/vectordb-go/vectordb/benchmarks/internal/procstat"
)

func main() {
	n := flag.Int("n", 100_000, "records in the namespace to delete")
	dim := flag.Int("dim", 768, "dimension")
	watch := flag.Duration("watch", 2*time.Minute, "how long to watch the disk usage after the delete")
	settle := flag.Duration("settle", 2*time.Minute, "after reopening, wait up to this long for the storage engine's compactions to finish")
	flag.Parse()
	ctx := context.Background()
	dir, cleanup := cmdkit.Dir("", "offboard-")
	defer cleanup()

	db, err := vectordb.Open(dir, &vectordb.Options{Durability: vectordb.DurabilityProcess, IVFMinRecords: -1})
	check(err)
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "offboard", Dimension: *dim})
	check(err)
	r := rand.New(rand.NewPCG(1, 1))
	big, other := ix.Namespace("leaving"), ix.Namespace("staying")
	start := time.Now()
	for from := 0; from < *n; from += 1000 {
		recs := make([]vectordb.Record, min(1000, *n-from))
		for i := range recs {
			recs[i] = vectordb.Record{ID: "doc-" + strconv.Itoa(from+i), Values: cmdkit.RandVec(r, *dim), Metadata: vectordb.Metadata{"i": float64(from + i)}}
		}
		_, err := big.Upsert(ctx, recs)
		check(err)
	}
	// Another tenant, which must be untouched by the drop.
	stay := make([]float32, *dim)
	stay[0] = 1
	_, err = other.Upsert(ctx, []vectordb.Record{{ID: "x", Values: stay, Metadata: vectordb.Metadata{"kept": true}}})
	check(err)
	fmt.Printf("loaded %d x %d in %v\n", *n, *dim, time.Since(start).Round(time.Millisecond))
	check(db.Close())
	db, err = vectordb.Open(dir, nil)
	check(err)
	defer db.Close()
	ix, err = db.Index("offboard")
	check(err)
	big, other = ix.Namespace("leaving"), ix.Namespace("staying")
	if *settle > 0 {
		fmt.Printf("waited %v for the storage engine's compactions to finish\n", procstat.Settle(*settle).Round(time.Second))
	}
	fmt.Printf("disk before: %.0f MiB\n", mib(procstat.DiskUsage(dir)))

	// Another tenant keeps writing throughout: how long do its writes wait
	// while the drop runs?
	var (
		stop    = make(chan struct{})
		written = make(chan []time.Duration)
	)
	go func() {
		r := rand.New(rand.NewPCG(3, 3))
		var lat []time.Duration
		for i := 0; ; i++ {
			select {
			case <-stop:
				written <- lat
				return
			default:
			}
			v := cmdkit.RandVec(r, *dim)
			t0 := time.Now()
			_, err := other.Upsert(ctx, []vectordb.Record{{ID: "w-" + strconv.Itoa(i), Values: v}})
			lat = append(lat, time.Since(t0))
			check(err)
		}
	}()
	time.Sleep(time.Second)

	start = time.Now()
	check(ix.DeleteNamespace(ctx, "leaving"))
	fmt.Printf("DeleteNamespace returned in %v; disk right after: %.0f MiB\n", time.Since(start), mib(procstat.DiskUsage(dir)))
	// The name is empty at once; the other tenant is untouched.
	q := make([]float32, *dim)
	q[0] = 1
	res, err := big.Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 1})
	check(err)
	if len(res.Matches) != 0 {
		log.Fatal("the deleted namespace still answers")
	}
	res, err = other.Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 1, Filter: vectordb.Filter{"kept": true}})
	check(err)
	if len(res.Matches) != 1 || res.Matches[0].ID != "x" {
		log.Fatal("the other tenant lost its record")
	}
	writing := true
	stopWriter := func() {
		if !writing {
			return
		}
		writing = false
		close(stop)
		lat := <-written
		slices.Sort(lat)
		fmt.Printf("  the other tenant's writes meanwhile (one record each, synced): %d, p50 %v, p99 %v, max %v\n",
			len(lat), lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	}
	for t := time.Second; t <= *watch; t *= 2 {
		time.Sleep(t - time.Since(start)%t)
		fmt.Printf("  +%v: disk %.0f MiB\n", time.Since(start).Round(time.Second), mib(procstat.DiskUsage(dir)))
		if t == 8*time.Second {
			stopWriter() // the rest of the watch without it: does the space stay back?
		}
	}
	stopWriter()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

var check = cmdkit.Check
