// Command offboard measures offboarding a large tenant: the latency of
// DeleteNamespace on a namespace of -n records, how long the background
// drop takes, and the database's disk usage before, right after, and
// every few seconds after, for -watch.
//
//	go run ./benchmarks/cmd/offboard -n 100000 -dim 768 -watch 2m
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/benchmarks/internal/procstat"
)

func main() {
	n := flag.Int("n", 100_000, "records in the namespace to delete")
	dim := flag.Int("dim", 768, "dimension")
	watch := flag.Duration("watch", 2*time.Minute, "how long to watch the disk usage after the delete")
	flag.Parse()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "offboard-")
	check(err)
	defer os.RemoveAll(dir)

	db, err := vectordb.Open(dir, &vectordb.Options{Durability: vectordb.DurabilityProcess, IVFMinRecords: -1})
	check(err)
	ix, err := db.CreateIndex(ctx, vectordb.IndexSpec{Name: "offboard", Dimension: *dim})
	check(err)
	r := rand.New(rand.NewPCG(1, 1))
	big, other := ix.Namespace("leaving"), ix.Namespace("staying")
	start := time.Now()
	for from := 0; from < *n; from += 1000 {
		recs := make([]vectordb.Record, min(1000, *n-from))
		for i := range recs {
			v := make([]float32, *dim)
			for d := range v {
				v[d] = r.Float32()*2 - 1
			}
			recs[i] = vectordb.Record{ID: "doc-" + strconv.Itoa(from+i), Values: v, Metadata: vectordb.Metadata{"i": float64(from + i)}}
		}
		_, err := big.Upsert(ctx, recs)
		check(err)
	}
	// Another tenant, which must be untouched by the drop.
	stay := make([]float32, *dim)
	stay[0] = 1
	_, err = other.Upsert(ctx, []vectordb.Record{{ID: "x", Values: stay}})
	check(err)
	fmt.Printf("loaded %d x %d in %v\n", *n, *dim, time.Since(start).Round(time.Millisecond))
	check(db.Close())
	db, err = vectordb.Open(dir, nil)
	check(err)
	defer db.Close()
	ix, err = db.Index("offboard")
	check(err)
	fmt.Printf("disk before: %.0f MiB\n", mib(procstat.DiskUsage(dir)))

	start = time.Now()
	check(ix.DeleteNamespace(ctx, "leaving"))
	fmt.Printf("DeleteNamespace returned in %v; disk right after: %.0f MiB\n", time.Since(start), mib(procstat.DiskUsage(dir)))
	// The name is empty at once; the other tenant is untouched.
	q := make([]float32, *dim)
	q[0] = 1
	res, err := ix.Namespace("leaving").Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 1})
	check(err)
	if len(res.Matches) != 0 {
		log.Fatal("the deleted namespace still answers")
	}
	res, err = ix.Namespace("staying").Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 1})
	check(err)
	if len(res.Matches) != 1 {
		log.Fatal("the other tenant lost its record")
	}
	for t := time.Second; t <= *watch; t *= 2 {
		time.Sleep(t - time.Since(start)%t)
		fmt.Printf("  +%v: disk %.0f MiB\n", time.Since(start).Round(time.Second), mib(procstat.DiskUsage(dir)))
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
