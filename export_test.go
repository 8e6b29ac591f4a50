package vectordb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vectordb-go/vectordb"
)

func TestExportImportRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	src := openMem(t)
	six := mustIndex(t, src, "src", 16, vectordb.DotProduct)
	h := six.Namespace("tenant")
	upsertRecords(t, h, exportRecords(r, 16, 300))
	want := fetchAll(t, h)
	b := exportBytes(t, h)

	dst := openDir(t, t.TempDir(), nil)
	defer dst.Close()
	ix := mustIndex(t, dst, "dst", 16, vectordb.DotProduct)
	info, err := ix.ImportNamespace(ctx, "moved", bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Records != 300 {
		t.Fatalf("imported %d records", info.Records)
	}
	sameRecords(t, fetchAll(t, ix.Namespace("moved")), want)
	d, err := ix.DescribeNamespace(ctx, "moved")
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := six.DescribeNamespace(ctx, "tenant")
	if d.RecordCount != 300 || d.Bytes != sd.Bytes {
		t.Fatalf("imported namespace: %+v; source %+v", d, sd)
	}
	// Queries agree (the imported namespace loads like any other).
	q := vectordb.QueryRequest{Vector: randVec(r, 16), TopK: 10, IncludeMetadata: true}
	a, err := h.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ix.Namespace("moved").Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Matches, c.Matches) {
		t.Fatalf("queries differ:\n%+v\n%+v", a.Matches, c.Matches)
	}
	if err := dst.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// An empty namespace round-trips too.
	if _, err := six.CreateNamespace(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.ImportNamespace(ctx, "empty2", bytes.NewReader(exportBytes(t, six.Namespace("empty"))), nil); err != nil {
		t.Fatal(err)
	}
	if d, err := ix.DescribeNamespace(ctx, "empty2"); err != nil || d.RecordCount != 0 {
		t.Fatalf("%+v, %v", d, err)
	}
}

func TestImportExistingAndReplace(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 1))
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 8, vectordb.Cosine)
	a, b := ix.Namespace("a"), ix.Namespace("b")
	upsertRecords(t, a, []vectordb.Record{{ID: "1", Values: randVec(r, 8)}, {ID: "2", Values: randVec(r, 8)}})
	upsertRecords(t, b, []vectordb.Record{{ID: "old", Values: randVec(r, 8)}})
	if err := ix.SetNamespaceQuota(ctx, "b", vectordb.Quota{MaxRecords: 5}); err != nil {
		t.Fatal(err)
	}
	exp := exportBytes(t, a)
	before := snapshot(t, db)
	_, err := ix.ImportNamespace(ctx, "b", bytes.NewReader(exp), nil)
	wantErr(t, err, vectordb.ErrNamespaceExists)
	waitDrops(t, db)
	if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
		t.Fatal("a refused import changed the database")
	}
	// Replacing: readers of the handle see the new records, the old are gone.
	if _, err := ix.ImportNamespace(ctx, "b", bytes.NewReader(exp), &vectordb.ImportOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, fetchAll(t, b), fetchAll(t, a))
	d, err := ix.DescribeNamespace(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if d.Quota.MaxRecords != 5 {
		t.Fatalf("the replaced namespace's quota was lost: %+v", d.Quota)
	}
	waitDrops(t, db)
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// The quota applies to the import: 2 records do not fit in 1.
	if err := ix.SetNamespaceQuota(ctx, "b", vectordb.Quota{MaxRecords: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = ix.ImportNamespace(ctx, "b", bytes.NewReader(exp), &vectordb.ImportOptions{Replace: true})
	var qe *vectordb.QuotaError
	if !errors.As(err, &qe) {
		t.Fatalf("err = %v, want a *QuotaError", err)
	}
}

func TestImportRefusesMismatch(t *testing.T) {
	db := openMem(t)
	d8 := mustIndex(t, db, "d8", 8, vectordb.Cosine)
	h := d8.Namespace("n")
	d9, e8 := mustIndex(t, db, "d9", 9, vectordb.Cosine), mustIndex(t, db, "e8", 8, vectordb.Euclidean)
	upsertRecords(t, h, []vectordb.Record{{ID: "1", Values: fill(8, 1)}})
	exp := exportBytes(t, h)
	before := snapshot(t, db)
	_, err := d9.ImportNamespace(ctx, "n", bytes.NewReader(exp), nil)
	var de *vectordb.DimensionError
	if !errors.As(err, &de) || de.Want != 9 || de.Got != 8 {
		t.Fatalf("err = %v, want a *DimensionError 9 vs 8", err)
	}
	_, err = e8.ImportNamespace(ctx, "n", bytes.NewReader(exp), nil)
	var me *vectordb.MetricError
	if !errors.As(err, &me) || me.Want != vectordb.Euclidean || me.Got != vectordb.Cosine || !errors.Is(err, vectordb.ErrMetricMismatch) {
		t.Fatalf("err = %v, want a *MetricError", err)
	}
	// Bad names and missing namespaces are refused before any reading.
	_, err = d8.ImportNamespace(ctx, "a\x00b", bytes.NewReader(exp), nil)
	wantErr(t, err, vectordb.ErrInvalidArgument)
	_, err = d8.Namespace("nobody").Export(ctx, io.Discard)
	wantErr(t, err, vectordb.ErrNamespaceNotFound)
	// A backup is not an export.
	var bk bytes.Buffer
	if _, err := db.Backup(ctx, &bk); err != nil {
		t.Fatal(err)
	}
	_, err = d8.ImportNamespace(ctx, "x", &bk, nil)
	wantErr(t, err, errStream)
	waitDrops(t, db)
	if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
		t.Fatal("refused imports changed the database")
	}
}

func TestImportRefusesBadRecords(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 2, vectordb.Cosine)
	good := exportItem("a", []float32{1, 2}, "")
	nan := exportItem("b", []float32{1, float32(math.NaN())}, "")
	for _, c := range []struct {
		name   string
		stream []byte
		target error
		field  string
	}{
		{"NaN value", craftExport(t, 2, 2, good, nan), vectordb.ErrInvalidArgument, "export.records[1].values[1]"},
		{"nested metadata", craftExport(t, 2, 1, exportItem("a", []float32{1, 2}, `{"o":{"p":1}}`)), vectordb.ErrInvalidArgument, "export.records[0].metadata"},
		{"ids out of order", craftExport(t, 2, 2, exportItem("b", []float32{1, 2}, ""), good), errStream, ""},
		{"repeated id", craftExport(t, 2, 2, good, good), errStream, ""},
		{"count differs", craftExport(t, 2, 3, good), errStream, ""},
		{"truncated record", craftExport(t, 2, 1, good[:len(good)-3]), errStream, ""},
		{"metadata not JSON", craftExport(t, 2, 1, exportItem("a", []float32{1, 2}, `{"`)), errStream, ""},
		{"metadata null", craftExport(t, 2, 1, exportItem("a", []float32{1, 2}, `null`)), errStream, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			refusedUnchanged(t, db, c.target, c.field, func() error {
				_, err := ix.ImportNamespace(ctx, "n", bytes.NewReader(c.stream), nil)
				return err
			})
		})
	}
}

// TestImportCorruptStreams cuts and damages an export at many points:
// every import fails with a *StreamError and leaves nothing behind.
func TestImportCorruptStreams(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 1))
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 8, vectordb.DotProduct)
	h := ix.Namespace("src")
	upsertRecords(t, h, exportRecords(r, 8, 200))
	exp := exportBytes(t, h)
	before := snapshot(t, db)
	step := max(1, len(exp)/150)
	try := func(what string, b []byte) {
		t.Helper()
		_, err := ix.ImportNamespace(ctx, "dst", bytes.NewReader(b), nil)
		if !isStreamErr(err) {
			t.Fatalf("%s: err = %v", what, err)
		}
	}
	for n := 0; n < len(exp); n += step {
		try(fmt.Sprintf("cut at %d of %d", n, len(exp)), exp[:n])
	}
	for n := 0; n < len(exp); n += step {
		b := bytes.Clone(exp)
		b[n] ^= byte(1 + r.IntN(255))
		try(fmt.Sprintf("byte %d changed", n), b)
	}
	waitDrops(t, db)
	if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
		t.Fatal("failed imports changed the database")
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// cancellingReader cancels a context once n bytes have been read.
type cancellingReader struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 512)])
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestImportCancelledLeavesNothing cancels imports part way, with
// MemTableSize small enough that they commit several transactions first.
func TestImportCancelledLeavesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 1))
	db := openMemWith(t, func(o *vectordb.Options) { o.MemTableSize = 1 << 20 })
	ix := mustIndex(t, db, "ix", 64, vectordb.Cosine)
	h := ix.Namespace("src")
	recs := make([]vectordb.Record, 3000)
	for i := range recs {
		recs[i] = vectordb.Record{ID: fmt.Sprintf("%05d", i), Values: randVec(r, 64)}
	}
	upsertRecords(t, h, recs)
	exp := exportBytes(t, h)
	before := snapshot(t, db)
	for _, at := range []int{100, len(exp) / 3, len(exp) - 100} {
		cctx, cancel := context.WithCancel(ctx)
		_, err := ix.ImportNamespace(cctx, "dst", &cancellingReader{r: bytes.NewReader(exp), n: at, cancel: cancel}, nil)
		cancel()
		wantErr(t, err, context.Canceled)
	}
	waitDrops(t, db)
	if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
		t.Fatal("cancelled imports changed the database")
	}
}

// TestImportInterruptedDropsAtOpen: an import whose process stops leaves
// its staging key; the next Open drops its data.
func TestImportInterruptedDropsAtOpen(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 1))
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "ix", 8, vectordb.DotProduct)
	// An import that stages and writes its records, then stops (the
	// process dies) before its last transaction.
	if err := vectordb.StageImport(ctx, ix, "dst", exportRecords(r, 8, 50)); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatalf("a staged import is not an orphan: %v", err)
	}
	if vectordb.StagingKeys(db) != 1 {
		t.Fatalf("%d staging keys, want the failed import's", vectordb.StagingKeys(db))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDir(t, dir, nil)
	defer db.Close()
	waitDrops(t, db)
	if vectordb.StagingKeys(db) != 0 {
		t.Fatal("Open kept the staging key")
	}
	ix, _ = db.Index("ix")
	if _, err := ix.DescribeNamespace(ctx, "dst"); !errors.Is(err, vectordb.ErrNamespaceNotFound) {
		t.Fatalf("the interrupted import's namespace exists: %v", err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestExportConsistentUnderWrites exports while a writer rewrites every
// record in each atomic batch with one value: each export holds one
// version of the batch, never a mix, and no torn record.
func TestExportConsistentUnderWrites(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 8, vectordb.Euclidean)
	h := ix.Namespace("n")
	version := func(v int) []vectordb.Record {
		recs := make([]vectordb.Record, 200)
		for i := range recs {
			recs[i] = vectordb.Record{ID: fmt.Sprintf("%03d", i), Values: fill(8, float32(v+1)), Metadata: vectordb.Metadata{"v": float64(v + 1)}}
		}
		return recs
	}
	upsertRecords(t, h, version(0))
	stop := rewriting(t, h, version, 1, nil)
	seen := map[float32]bool{}
	for i := range 30 {
		exp := exportBytes(t, h)
		name := fmt.Sprintf("copy%d", i)
		if _, err := ix.ImportNamespace(ctx, name, bytes.NewReader(exp), nil); err != nil {
			t.Fatal(err)
		}
		var v float32 = -1
		for id, r := range fetchAll(t, ix.Namespace(name)) {
			for _, x := range r.Values {
				if v == -1 {
					v = x
				}
				if x != v || r.Metadata["v"] != float64(v) {
					t.Fatalf("export %d: record %q holds version %v next to version %v", i, id, r.Values, v)
				}
			}
		}
		seen[v] = true
	}
	stop()
	if len(seen) < 2 {
		t.Fatalf("every export saw the same version: the writer did not run alongside")
	}
}

// FuzzImport: arbitrary bytes never panic an import, and a failed import
// leaves the database as it was.
func FuzzImport(f *testing.F) {
	fuzzImport(f, exportRecords(rand.New(rand.NewPCG(6, 1)), 4, 12), (*vectordb.Namespace).Export, (*vectordb.Index).ImportNamespace,
		craftExport(f, 4, 1, exportItem("a", []float32{1, 2, 3, 4}, `{"a":["x"]}`)))
}

// TestReplaceNeverReadsEmpty: while imports keep replacing a namespace
// with one of two versions of the same records, every read (fetch, list,
// query with and without metadata, fetch by metadata) sees all the
// records, of one version: never the empty gap between generations.
func TestReplaceNeverReadsEmpty(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 4, vectordb.Euclidean)
	exports := make([][]byte, 2)
	for v := range exports {
		src := ix.Namespace(fmt.Sprintf("src%d", v))
		recs := make([]vectordb.Record, 50)
		for i := range recs {
			recs[i] = vectordb.Record{ID: fmt.Sprintf("%02d", i), Values: fill(4, float32(v+1)), Metadata: vectordb.Metadata{"v": float64(v + 1)}}
		}
		upsertRecords(t, src, recs)
		exports[v] = exportBytes(t, src)
	}
	if _, err := ix.ImportNamespace(ctx, "live", bytes.NewReader(exports[0]), nil); err != nil {
		t.Fatal(err)
	}
	h := ix.Namespace("live")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		wg.Wait()
	}()
	wg.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := ix.ImportNamespace(ctx, "live", bytes.NewReader(exports[i%2]), &vectordb.ImportOptions{Replace: true}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	oneVersion := func(what string, n int, vals [][]float32) {
		t.Helper()
		if n != 50 {
			t.Fatalf("%s saw %d records", what, n)
		}
		for _, v := range vals {
			if v != nil && !bitsEqual(v, vals[0]) {
				t.Fatalf("%s mixed versions %v and %v", what, vals[0], v)
			}
		}
	}
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("%02d", i)
	}
	for range 300 {
		f, err := h.Fetch(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		var vals [][]float32
		for _, r := range f.Records {
			vals = append(vals, r.Values)
		}
		oneVersion("fetch", len(f.Records), vals)
		l, err := h.List(ctx, vectordb.ListRequest{})
		if err != nil {
			t.Fatal(err)
		}
		oneVersion("list", len(l.IDs), nil)
		for _, md := range []bool{false, true} {
			q, err := h.Query(ctx, vectordb.QueryRequest{Vector: fill(4, 1.5), TopK: 100, IncludeValues: true, IncludeMetadata: md})
			if err != nil {
				t.Fatal(err)
			}
			vals = vals[:0]
			for _, m := range q.Matches {
				vals = append(vals, m.Values)
				if md && m.Metadata["v"] != float64(m.Values[0]) {
					t.Fatalf("query: metadata %v with values %v", m.Metadata, m.Values)
				}
			}
			oneVersion(fmt.Sprintf("query (metadata %v)", md), len(q.Matches), vals)
		}
		fm, err := h.FetchByMetadata(ctx, vectordb.FetchByMetadataRequest{Filter: vectordb.Filter{"v": vectordb.Filter{"$gte": 1}}})
		if err != nil {
			t.Fatal(err)
		}
		oneVersion("fetch by metadata", len(fm.Records), nil)
	}
}

// TestStreamErrorFields: a refused stream says where: the block and item
// of an export, the line of JSON Lines; and it wraps ErrCorrupt.
func TestStreamErrorFields(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 2, vectordb.Cosine)
	good := exportItem("a", []float32{1, 2}, "")
	_, err := ix.ImportNamespace(ctx, "n", bytes.NewReader(craftExport(t, 2, 2, good, good)), nil)
	var se *vectordb.StreamError
	if !errors.As(err, &se) || !errors.Is(err, vectordb.ErrCorrupt) || se.Item != 1 || se.Block != 1 || se.Line != 0 {
		t.Fatalf("repeated id: %v (%+v)", err, se)
	}
	_, err = ix.ImportNamespace(ctx, "n", bytes.NewReader([]byte("not a stream at all")), nil)
	if !errors.As(err, &se) || se.Block != -1 || se.Item != -1 {
		t.Fatalf("not a stream: %v (%+v)", err, se)
	}
	_, err = ix.ImportNamespaceJSONL(ctx, "n", strings.NewReader(`{"id":"a","values":[1,2]}`+"\n{oops\n"), nil)
	if !errors.As(err, &se) || se.Line != 2 || se.Block != -1 || !strings.Contains(err.Error(), "line 2: ") {
		t.Fatalf("bad line: %v (%+v)", err, se)
	}
}
