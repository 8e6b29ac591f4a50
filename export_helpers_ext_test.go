package vectordb_test

// The helpers of the transfer tests (export, JSON Lines, backup and their
// benchmarks): records of every shape, writing and reading them back, and
// crafted or fuzzed import streams.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/stream"
	"github.com/vectordb-go/vectordb/internal/transfer"
)

// exportRecords fills ns of a dotproduct index with records of every
// shape: sparse values, metadata of each type, odd ids.
func exportRecords(r *rand.Rand, dim, n int) []vectordb.Record {
	recs := make([]vectordb.Record, n)
	for i := range recs {
		recs[i] = vectordb.Record{ID: fmt.Sprintf("id-%04d", i), Values: randVec(r, dim)}
		switch i % 4 {
		case 0:
			recs[i].Metadata = vectordb.Metadata{"s": "x", "n": float64(i), "b": i%8 == 0, "l": []string{"p", "q"}}
		case 1:
			recs[i].SparseValues = &vectordb.SparseValues{Indices: []uint32{1, 7, uint32(100 + i)}, Values: []float32{0.5, -1, 2}}
		case 2:
			recs[i].ID = "é\xff/" + recs[i].ID
			recs[i].Metadata = vectordb.Metadata{"k": "v"}
		}
	}
	recs[n-1].ID = strings.Repeat("L", vectordb.MaxIDBytes)
	return recs
}

// craftExport writes an export stream by hand, for records an honest
// export never holds.
func craftExport(t testing.TB, dim int, records int64, items ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	hdr := fmt.Appendf(nil, `{"format":1,"index":"x","dimension":%d,"metric":"cosine","namespace":"n","records":%d}`, dim, records)
	w, err := stream.NewWriter(&buf, stream.KindNamespace, hdr)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := w.Append(func(b []byte) []byte { return append(b, it...) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func exportItem(id string, values []float32, md string) []byte {
	v := storage.AppendVector(nil, &storage.VectorRecord{Values: values})
	view, _ := storage.ParseVector(v)
	return transfer.AppendRecord(nil, []byte(id), &view, []byte(md))
}

// refusedUnchanged runs an import that must fail with target, naming
// field, and leave db as it was once the janitor has dropped its data.
func refusedUnchanged(t *testing.T, db *vectordb.DB, target error, field string, imp func() error) {
	t.Helper()
	before := snapshot(t, db)
	err := imp()
	wantErr(t, err, target)
	if !strings.Contains(err.Error(), field) {
		t.Fatalf("err = %v, want it to name %s", err, field)
	}
	waitDrops(t, db)
	if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
		t.Fatal("a refused import changed the database")
	}
}

// rewriting upserts version(v) into h for v = from, from+1, ..., each
// followed by also if set, until the returned stop is called.
func rewriting(t *testing.T, h *vectordb.Namespace, version func(int) []vectordb.Record, from int, also func() error) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for v := from; ; v++ {
			select {
			case <-done:
				return
			default:
			}
			if _, err := h.Upsert(ctx, version(v)); err != nil {
				t.Error(err)
				return
			}
			if also != nil {
				if err := also(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// fuzzImport fuzzes imp with seeds: the export of recs, and extra.
func fuzzImport(f *testing.F, recs []vectordb.Record, export func(*vectordb.Namespace, context.Context, io.Writer) (vectordb.ExportResult, error),
	imp func(*vectordb.Index, context.Context, string, io.Reader, *vectordb.ImportOptions) (vectordb.ImportResult, error), extra ...[]byte) {
	db := openMem(f)
	ix := mustIndex(f, db, "ix", 4, vectordb.DotProduct)
	h := ix.Namespace("src")
	upsertRecords(f, h, recs)
	var buf bytes.Buffer
	if _, err := export(h, ctx, &buf); err != nil {
		f.Fatal(err)
	}
	for _, b := range append(extra, buf.Bytes()) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := imp(ix, ctx, "dst", bytes.NewReader(b), nil)
		if err != nil {
			if !isStreamErr(err) && !errors.Is(err, vectordb.ErrInvalidArgument) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := ix.DeleteNamespace(ctx, "dst"); err != nil {
			t.Fatal(err)
		}
	})
}
