package vectordb_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/vectordb-go/vectordb"
)

// BenchmarkExport exports a 20000 x 768 namespace from disk to
// io.Discard; MB/s are of raw record data.
func BenchmarkExport(b *testing.B) {
	db := openDir(b, b.TempDir(), nil)
	defer db.Close()
	h := mustIndex(b, db, "ix", 768, vectordb.Cosine).Namespace("n")
	upsertRecords(b, h, benchRecords(20000, 768))
	b.ResetTimer()
	var raw int64
	for b.Loop() {
		info, err := h.Export(ctx, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		raw = info.RawBytes
	}
	b.SetBytes(raw)
}

// BenchmarkImport imports a 20000 x 768 export into a database on disk
// with durable writes; MB/s are of raw record data.
func BenchmarkImport(b *testing.B) {
	src := openMem(b)
	h := mustIndex(b, src, "ix", 768, vectordb.Cosine).Namespace("n")
	upsertRecords(b, h, benchRecords(20000, 768))
	exp := exportBytes(b, h)
	o := testOptions()
	o.Durability = vectordb.DurabilitySync
	db := openDir(b, b.TempDir(), o)
	defer db.Close()
	ix := mustIndex(b, db, "ix", 768, vectordb.Cosine)
	b.ResetTimer()
	var raw int64
	for i := 0; b.Loop(); i++ {
		info, err := ix.ImportNamespace(ctx, fmt.Sprint(i), bytes.NewReader(exp), nil)
		if err != nil {
			b.Fatal(err)
		}
		raw = info.RawBytes
	}
	b.SetBytes(raw)
}

// BenchmarkExportJSONL exports a 5000 x 768 namespace from disk to
// io.Discard as JSON Lines, uncompressed; MB/s are of JSON text.
func BenchmarkExportJSONL(b *testing.B) {
	db := openDir(b, b.TempDir(), nil)
	defer db.Close()
	h := mustIndex(b, db, "ix", 768, vectordb.Cosine).Namespace("n")
	upsertRecords(b, h, benchRecords(5000, 768))
	b.ResetTimer()
	var n int64
	for b.Loop() {
		info, err := h.ExportJSONL(ctx, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		n = info.Bytes
	}
	b.SetBytes(n)
}

// BenchmarkImportJSONL imports 5000 x 768 records of uncompressed JSON
// Lines into a database in memory; MB/s are of JSON text.
func BenchmarkImportJSONL(b *testing.B) {
	src := openMem(b)
	h := mustIndex(b, src, "ix", 768, vectordb.Cosine).Namespace("n")
	upsertRecords(b, h, benchRecords(5000, 768))
	lines := exportJSONL(b, h)
	ix := mustIndex(b, openMem(b), "ix", 768, vectordb.Cosine)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := ix.ImportNamespaceJSONL(ctx, fmt.Sprint(i), bytes.NewReader(lines), nil); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := ix.DeleteNamespace(ctx, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.SetBytes(int64(len(lines)))
}

// benchRecords returns n records of dimension dim with a little metadata.
func benchRecords(n, dim int) []vectordb.Record {
	r := rand.New(rand.NewPCG(1, 1))
	recs := make([]vectordb.Record, n)
	for i := range recs {
		recs[i] = vectordb.Record{ID: fmt.Sprintf("rec-%d", i), Values: randVec(r, dim), Metadata: vectordb.Metadata{"g": float64(i % 10)}}
	}
	return recs
}
