// Command transfer measures namespace export and import and whole-database
// backup and restore. It loads -n records of dimension -dim into one
// namespace with durable upserts of 1000 (timed: the durable ingest rate
// that import is compared with), reopens the database so that nothing is
// in memory, then exports the namespace to a file, imports the file into
// a second database (durable, like the load), backs the first database up
// to a file and restores it. For each phase it reports records/s, MB/s of
// raw record data (ids, values, metadata), the stream's size against the
// raw data, and the peak resident memory (anonymous, sampled every 5 ms)
// above its level before the phase. Export runs twice: to io.Discard (its
// own speed) and to a synced file. The namespace is also exported and
// imported as zstd-compressed JSON Lines.
//
//	go run ./benchmarks/cmd/transfer -n 100000 -dim 768
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/benchmarks/internal/cmdkit"
	"github.com/vectordb-go/vectordb/benchmarks/internal/procstat"
)

var (
	n       = flag.Int("n", 100_000, "records")
	dim     = flag.Int("dim", 768, "dimension")
	dirFlag = flag.String("dir", "", "working directory (default: a temporary one, removed at exit)")
)

func main() {
	flag.Parse()
	ctx := context.Background()
	dir, cleanup := cmdkit.Dir(*dirFlag, "transfer-")
	defer cleanup()
	fmt.Printf("machine: %s/%s, %d CPUs; %d records of dimension %d, durable writes\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *n, *dim)

	srcDir := filepath.Join(dir, "src")
	db, err := vectordb.Open(srcDir, nil)
	cmdkit.Check(err)
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "ix", Dimension: *dim})
	cmdkit.Check(err)
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	batch := make([]vectordb.Record, 0, 1000)
	for i := range *n {
		batch = append(batch, vectordb.Record{ID: "rec-" + strconv.Itoa(i), Values: cmdkit.RandVec(r, *dim),
			Metadata: vectordb.Metadata{"genre": "g" + strconv.Itoa(i%10), "year": float64(1990 + i%30)}})
		if len(batch) == cap(batch) || i == *n-1 {
			_, err := ix.Namespace("tenant").Upsert(ctx, batch)
			cmdkit.Check(err)
			batch = batch[:0]
		}
	}
	load := time.Since(start)
	fmt.Printf("load (Upsert, 1000 per call): %.1f s, %.0f records/s\n", load.Seconds(), float64(*n)/load.Seconds())
	cmdkit.Check(db.Close())
	db, err = vectordb.Open(srcDir, nil)
	cmdkit.Check(err)
	defer db.Close()
	ix, err = db.Index("ix")
	cmdkit.Check(err)

	expPath := filepath.Join(dir, "tenant.vdbx")
	var info vectordb.ExportResult
	phase("export", func() (int64, int64, int64) {
		info, err := ix.Namespace("tenant").Export(ctx, io.Discard)
		cmdkit.Check(err)
		return info.Records, info.RawBytes, info.Bytes
	})
	phase("to file", func() (int64, int64, int64) {
		f, err := os.Create(expPath)
		cmdkit.Check(err)
		w := bufio.NewWriterSize(f, 1<<20)
		info, err = ix.Namespace("tenant").Export(ctx, w)
		cmdkit.Check(err)
		cmdkit.Check(w.Flush())
		cmdkit.Check(f.Sync())
		cmdkit.Check(f.Close())
		return info.Records, info.RawBytes, info.Bytes
	})

	dst, err := vectordb.Open(filepath.Join(dir, "dst"), nil)
	cmdkit.Check(err)
	defer dst.Close()
	dix, err := dst.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "ix", Dimension: *dim})
	cmdkit.Check(err)
	phase("import", func() (int64, int64, int64) {
		f, err := os.Open(expPath)
		cmdkit.Check(err)
		defer f.Close()
		in, err := dix.ImportNamespace(ctx, "tenant", bufio.NewReaderSize(f, 1<<20), nil)
		cmdkit.Check(err)
		return in.Records, in.RawBytes, info.Bytes
	})

	// JSON Lines, zstd-compressed as the vectordb command writes .jsonl.zst.
	// Rates count the same raw bytes as the export's, so they compare.
	jsonPath := filepath.Join(dir, "tenant.jsonl.zst")
	var jsonSize int64
	phase("jsonl out", func() (int64, int64, int64) {
		f, err := os.Create(jsonPath)
		cmdkit.Check(err)
		bw := bufio.NewWriterSize(f, 1<<20)
		zw, err := zstd.NewWriter(bw)
		cmdkit.Check(err)
		ji, err := ix.Namespace("tenant").ExportJSONL(ctx, zw)
		cmdkit.Check(err)
		cmdkit.Check(zw.Close())
		cmdkit.Check(bw.Flush())
		cmdkit.Check(f.Sync())
		st, err := f.Stat()
		cmdkit.Check(err)
		cmdkit.Check(f.Close())
		jsonSize = st.Size()
		fmt.Printf("         (%.1f MB of JSON text before compression)\n", float64(ji.Bytes)/1e6)
		return ji.Records, info.RawBytes, jsonSize
	})
	phase("jsonl in", func() (int64, int64, int64) {
		f, err := os.Open(jsonPath)
		cmdkit.Check(err)
		defer f.Close()
		zr, err := zstd.NewReader(bufio.NewReaderSize(f, 1<<20))
		cmdkit.Check(err)
		defer zr.Close()
		in, err := dix.ImportNamespaceJSONL(ctx, "tenant-jsonl", zr, nil)
		cmdkit.Check(err)
		return in.Records, info.RawBytes, jsonSize
	})

	bkPath := filepath.Join(dir, "db.vdbb")
	var bk vectordb.BackupResult
	phase("backup", func() (int64, int64, int64) {
		f, err := os.Create(bkPath)
		cmdkit.Check(err)
		w := bufio.NewWriterSize(f, 1<<20)
		bk, err = db.Backup(ctx, w)
		cmdkit.Check(err)
		cmdkit.Check(w.Flush())
		cmdkit.Check(f.Sync())
		cmdkit.Check(f.Close())
		return int64(*n), bk.RawBytes, bk.Bytes
	})
	phase("restore", func() (int64, int64, int64) {
		f, err := os.Open(bkPath)
		cmdkit.Check(err)
		defer f.Close()
		rs, err := vectordb.Restore(ctx, filepath.Join(dir, "restored"), bufio.NewReaderSize(f, 1<<20))
		cmdkit.Check(err)
		return int64(*n), rs.RawBytes, bk.Bytes
	})
}

// phase runs fn, which returns the records, raw bytes and stream bytes it
// moved, and reports its rate and memory.
func phase(name string, fn func() (records, raw, stream int64)) {
	runtime.GC()
	debug.FreeOSMemory()
	rss := func() float64 { return procstat.StatusMiB("RssAnon") }
	base := rss()
	peak := procstat.SamplePeak(rss, 5*time.Millisecond)
	start := time.Now()
	records, raw, stream := fn()
	el := time.Since(start).Seconds()
	top := peak.Stop()
	fmt.Printf("%-8s %6.2f s  %8.0f records/s  %6.1f MB/s raw  stream %.1f MB = %.1f%% of %.1f MB raw  peak RSS +%.0f MiB (from %.0f)\n",
		name, el, float64(records)/el, float64(raw)/el/1e6, float64(stream)/1e6, 100*float64(stream)/float64(raw), float64(raw)/1e6, top-base, base)
}
