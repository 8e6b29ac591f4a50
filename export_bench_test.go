package vectordb

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// BenchmarkExport exports a 20000 x 768 namespace from disk to
// io.Discard; MB/s are of raw record data.
func BenchmarkExport(b *testing.B) {
	db := openDir(b, b.TempDir(), nil)
	defer db.Close()
	ix := mustIndex(b, db, "ix", 768, Cosine)
	h := ix.Namespace("n")
	r := rand.New(rand.NewPCG(1, 1))
	recs := make([]Record, 20000)
	for i := range recs {
		recs[i] = Record{ID: fmt.Sprintf("rec-%d", i), Values: randVec(r, 768), Metadata: Metadata{"g": float64(i % 10)}}
	}
	upsertRecords(b, h, recs)
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
	h := mustIndex(b, src, "ix", 768, Cosine).Namespace("n")
	r := rand.New(rand.NewPCG(1, 1))
	recs := make([]Record, 20000)
	for i := range recs {
		recs[i] = Record{ID: fmt.Sprintf("rec-%d", i), Values: randVec(r, 768), Metadata: Metadata{"g": float64(i % 10)}}
	}
	upsertRecords(b, h, recs)
	exp := exportBytes(b, h)
	o := testOptions()
	o.Durability = DurabilitySync
	db := openDir(b, b.TempDir(), o)
	defer db.Close()
	ix := mustIndex(b, db, "ix", 768, Cosine)
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
