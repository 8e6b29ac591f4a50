// Package benchmarks holds vectordb's end-to-end benchmarks: durable
// ingest, cold load and warm exact query, at the sizes the project's
// targets name (100k records of dimension 768 by default). See README.md
// in this directory for the commands and the figures measured.
package benchmarks

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

var (
	flagN     = flag.Int("n", 100_000, "records in the benchmark namespace")
	flagDim   = flag.Int("dim", 768, "vector dimension")
	flagBatch = flag.Int("batch", 1000, "records per Upsert")
	flagDrop  = flag.Bool("drop-caches", false, "ColdLoad: drop the OS page cache before each open (needs root)")
)

var ctx = context.Background()

type nopLogger = testutil.QuietLogger

// batch returns records [start, start+n) of the deterministic data set:
// uniform random vectors, ids "doc-%08d", and metadata with a
// low-cardinality field (cat: 2 values; grp: 10), a high-cardinality one
// (user: unique) and a number (n: the record's position), which the
// filter benchmarks select on.
func batch(start, n, dim int) []vectordb.Record {
	recs := make([]vectordb.Record, n)
	for i := range recs {
		id := start + i
		r := rand.New(rand.NewPCG(uint64(id), 42))
		v := make([]float32, dim)
		for j := range v {
			v[j] = r.Float32()*2 - 1
		}
		recs[i] = vectordb.Record{
			ID:     fmt.Sprintf("doc-%08d", id),
			Values: v,
			Metadata: vectordb.Metadata{
				"cat":  []string{"even", "odd"}[id%2],
				"grp":  fmt.Sprintf("g%d", id%10),
				"user": fmt.Sprintf("u%07d", id),
				"n":    id,
			},
		}
	}
	return recs
}

// fixture is a database directory holding one namespace of *flagN records,
// built once per process and shared by the read benchmarks.
var fixture struct {
	once sync.Once
	dir  string
	err  error
}

func fixtureDir(b *testing.B) string {
	fixture.once.Do(func() {
		fixture.dir, fixture.err = os.MkdirTemp("", "vectordb-bench-")
		if fixture.err != nil {
			return
		}
		start := time.Now()
		db, err := vectordb.Open(fixture.dir, &vectordb.Options{Durability: vectordb.DurabilityProcess, Logger: nopLogger{}})
		if err != nil {
			fixture.err = err
			return
		}
		defer db.Close()
		ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "bench", Dimension: *flagDim, Metric: vectordb.Cosine})
		if err != nil {
			fixture.err = err
			return
		}
		ns := ix.Namespace("tenant")
		for s := 0; s < *flagN; s += *flagBatch {
			if _, err := ns.Upsert(ctx, batch(s, min(*flagBatch, *flagN-s), *flagDim)); err != nil {
				fixture.err = err
				return
			}
		}
		// Build the IVF index now, as the namespace would in the
		// background once hot: loads then read it with the vectors, and no
		// build runs during the measurements.
		if _, err := ns.BuildIVF(ctx); err != nil {
			fixture.err = err
			return
		}
		fmt.Fprintf(os.Stderr, "fixture: %d x %d (with its IVF index) built in %v\n", *flagN, *flagDim, time.Since(start).Round(time.Millisecond))
	})
	if fixture.err != nil {
		b.Fatal(fixture.err)
	}
	return fixture.dir
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// BenchmarkIngest measures durable ingest (DurabilitySync, the default):
// one op is one atomic Upsert of -batch records into an on-disk database.
// Run it with -benchtime=100x for the 100k-record figure.
func BenchmarkIngest(b *testing.B) {
	for _, d := range []vectordb.Durability{vectordb.DurabilitySync, vectordb.DurabilityProcess} {
		b.Run("durability="+d.String(), func(b *testing.B) {
			db, err := vectordb.Open(b.TempDir(), &vectordb.Options{Durability: d, Logger: nopLogger{}})
			if err != nil {
				b.Fatal(err)
			}
			ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "bench", Dimension: *flagDim})
			if err != nil {
				b.Fatal(err)
			}
			ns := ix.Namespace("tenant")
			// Pre-generate the batches so only Upsert is timed.
			batches := make([][]vectordb.Record, min(b.N, 200))
			for i := range batches {
				batches[i] = batch(i**flagBatch, *flagBatch, *flagDim)
			}
			b.SetBytes(int64(*flagBatch * *flagDim * 4))
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				recs := batches[i%len(batches)]
				if i >= len(batches) { // fresh ids past the pre-generated ones
					for j := range recs {
						recs[j].ID = fmt.Sprintf("doc-%08d", i**flagBatch+j)
					}
				}
				if _, err := ns.Upsert(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N**flagBatch)/time.Since(start).Seconds(), "records/s")
			// Close flushes the memtables: time it apart, since a running
			// service does that work in the background.
			start = time.Now()
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "close-s")
		})
	}
}

// BenchmarkColdLoad measures a namespace's first query after Open: the
// load of its vectors into a hot segment plus one exact scan. One op is
// Open, the first query, Close; only Open and the query are timed. With
// filter=1%, the first query is filtered, so the op also builds the
// namespace's metadata index.
func BenchmarkColdLoad(b *testing.B) {
	dir := fixtureDir(b)
	for _, c := range []struct {
		name   string
		filter vectordb.Filter
	}{
		{"none", nil},
		{"1%", vectordb.Filter{"n": vectordb.Filter{"$lt": *flagN / 100}}},
	} {
		b.Run("filter="+c.name, func(b *testing.B) {
			b.SetBytes(int64(*flagN * *flagDim * 4))
			var loadTotal time.Duration
			for range b.N {
				b.StopTimer()
				if *flagDrop {
					dropCaches(b)
				}
				runtime.GC()
				b.StartTimer()
				start := time.Now()
				db, err := vectordb.Open(dir, &vectordb.Options{Logger: nopLogger{}})
				if err != nil {
					b.Fatal(err)
				}
				ix, err := db.Index("bench")
				if err != nil {
					b.Fatal(err)
				}
				q := batch(*flagN+1, 1, *flagDim)[0].Values
				res, err := ix.Namespace("tenant").Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 10, Filter: c.filter})
				if err != nil || len(res.Matches) != 10 {
					b.Fatalf("query: %v %d", err, len(res.Matches))
				}
				loadTotal += time.Since(start)
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(loadTotal.Seconds()/float64(b.N), "s/first-query")
		})
	}
}

// dropCaches empties the OS page cache, so that a load reads the disk.
func dropCaches(b *testing.B) {
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		b.Fatalf("-drop-caches: %v", err)
	}
}

// openFixture opens the fixture database and returns its namespace and a
// function that closes it.
func openFixture(b *testing.B) (*vectordb.Namespace, func()) {
	// No automatic IVF builds: a build running beside the measured queries
	// takes a core from them.
	db, err := vectordb.Open(fixtureDir(b), &vectordb.Options{Logger: nopLogger{}, IVFMinRecords: -1})
	if err != nil {
		b.Fatal(err)
	}
	ix, err := db.Index("bench")
	if err != nil {
		b.Fatal(err)
	}
	return ix.Namespace("tenant"), func() { db.Close() }
}

// BenchmarkQueryExact measures a warm exact query (QueryRequest.Exact),
// topK 10, from one goroutine. Run with -cpu 1,2 to see the parallel
// scan's gain.
func BenchmarkQueryExact(b *testing.B) {
	ns, closeDB := openFixture(b)
	defer closeDB()
	queries := batch(*flagN+10, 64, *flagDim)
	if _, err := ns.Query(ctx, vectordb.QueryRequest{Vector: queries[0].Values, TopK: 10, Exact: true}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(*flagN * *flagDim * 4))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := ns.Query(ctx, vectordb.QueryRequest{Vector: queries[i%len(queries)].Values, TopK: 10, Exact: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer() // not the deferred Close
	b.ReportMetric(float64(b.Elapsed())/1e6/float64(b.N), "ms/query")
}

// BenchmarkFilteredQuery measures a warm exact query (QueryRequest.Exact),
// topK 10, with filters of several selectivities, next to the same query
// unfiltered, in one run. Run with -cpu 1,2. (IVF search is measured on
// clustered data by cmd/annbench: on this uniform random data, every
// list is about as near as any other.)
func BenchmarkFilteredQuery(b *testing.B) {
	ns, closeDB := openFixture(b)
	defer closeDB()
	queries := batch(*flagN+10, 64, *flagDim)
	n := *flagN
	users := make([]string, n/100)
	for i := range users {
		users[i] = fmt.Sprintf("u%07d", i*100+7)
	}
	cases := []struct {
		name   string
		filter vectordb.Filter
		want   int // matching records
	}{
		{"none", nil, n},
		{"0.1%-range", vectordb.Filter{"n": vectordb.Filter{"$lt": n / 1000}}, n / 1000},
		{"1%-range", vectordb.Filter{"n": vectordb.Filter{"$gte": n / 2, "$lt": n/2 + n/100}}, n / 100},
		{"1%-in-highcard", vectordb.Filter{"user": vectordb.Filter{"$in": users}}, n / 100},
		{"10%-eq", vectordb.Filter{"grp": "g3"}, n / 10},
		{"50%-eq", vectordb.Filter{"cat": "odd"}, n / 2},
		{"or-11%", vectordb.Filter{"$or": []vectordb.Filter{{"grp": "g3"}, {"n": vectordb.Filter{"$lt": n / 100}}}}, n/10 + n/100 - n/1000},
	}
	// Load the namespace, and check each filter's selectivity once.
	for _, c := range cases {
		if c.filter == nil {
			continue
		}
		res, err := ns.Update(ctx, vectordb.UpdateRequest{Filter: c.filter, DryRun: true})
		if err != nil || res.MatchedRecords != c.want {
			b.Fatalf("%s matches %d (%v), want %d", c.name, res.MatchedRecords, err, c.want)
		}
	}
	for _, c := range cases {
		b.Run("filter="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				res, err := ns.Query(ctx, vectordb.QueryRequest{Vector: queries[i%len(queries)].Values, TopK: 10, Filter: c.filter, Exact: true})
				if err != nil || len(res.Matches) != min(10, c.want) {
					b.Fatalf("%d matches, %v", len(res.Matches), err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed())/1e6/float64(b.N), "ms/query")
		})
	}
}
