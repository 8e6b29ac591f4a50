package vectordb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vectordb-go/vectordb"
)

// backupFixture makes a database with two indexes, namespaces with every
// kind of record, a quota, an IVF index and a deleted namespace.
func backupFixture(t *testing.T, db *vectordb.DB) {
	t.Helper()
	r := rand.New(rand.NewPCG(10, 1))
	a := mustIndex(t, db, "a", 8, vectordb.DotProduct)
	b := mustIndex(t, db, "b", 16, vectordb.Cosine)
	upsertRecords(t, a.Namespace(""), exportRecords(r, 8, 150))
	upsertRecords(t, a.Namespace("t/1"), exportRecords(r, 8, 40))
	recs := make([]vectordb.Record, 400)
	for i := range recs {
		recs[i] = vectordb.Record{ID: fmt.Sprintf("r%d", i), Values: randVec(r, 16), Metadata: vectordb.Metadata{"g": float64(i % 5)}}
	}
	upsertRecords(t, b.Namespace("ivf"), recs)
	if _, err := b.Namespace("ivf").BuildIVF(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.SetNamespaceQuota(ctx, "ivf", vectordb.Quota{MaxRecords: 1000}); err != nil {
		t.Fatal(err)
	}
	upsertRecords(t, b.Namespace("gone"), recs[:50])
	if err := b.DeleteNamespace(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateNamespace(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
}

// dbContent is everything a user can read of db: index and namespace
// descriptions (usage aside), every record, and a query per namespace.
func dbContent(t *testing.T, db *vectordb.DB) map[string]any {
	t.Helper()
	out := map[string]any{}
	ixs, err := db.ListIndexes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ixs {
		d.CreatedAt = d.CreatedAt.UTC()
		out["index "+d.Name] = d
		ix, err := db.Index(d.Name)
		if err != nil {
			t.Fatal(err)
		}
		for nd, err := range ix.Namespaces(ctx, "") {
			if err != nil {
				t.Fatal(err)
			}
			nd.ReadUnits, nd.Hot, nd.MemoryBytes, nd.CreatedAt = 0, false, 0, nd.CreatedAt.UTC()
			if nd.IVF != nil {
				d := *nd.IVF
				d.BuiltAt = d.BuiltAt.UTC().Round(0) // no monotonic reading
				nd.IVF = &d
			}
			out["ns "+d.Name+"/"+nd.Name] = nd
			h := ix.Namespace(nd.Name)
			out["records "+d.Name+"/"+nd.Name] = fetchAll(t, h)
			res, err := h.Query(ctx, vectordb.QueryRequest{Vector: fill(d.Dimension, 0.5), TopK: 5})
			if err != nil {
				t.Fatal(err)
			}
			res.Usage = vectordb.Usage{}
			out["query "+d.Name+"/"+nd.Name] = res
		}
	}
	return out
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	src := openDir(t, t.TempDir(), nil)
	defer src.Close()
	backupFixture(t, src)
	want := dbContent(t, src)
	var buf bytes.Buffer
	info, err := src.Backup(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if info.Bytes != int64(buf.Len()) || len(info.Indexes) != 2 || info.Indexes[1].Namespaces != 2 {
		t.Fatalf("BackupResult %+v for %d bytes", info, buf.Len())
	}
	dir := filepath.Join(t.TempDir(), "restored")
	rinfo, err := vectordb.Restore(ctx, dir, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if rinfo.Keys != info.Keys || rinfo.RawBytes != info.RawBytes {
		t.Fatalf("restored %+v of %+v", rinfo, info)
	}
	db := openDir(t, dir, nil)
	defer db.Close()
	if got := dbContent(t, db); !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s:\n got %+v\nwant %+v", k, got[k], v)
			}
		}
		t.FailNow()
	}
	// The IVF index came back as built, not rebuilt.
	b, _ := db.Index("b")
	d, err := b.DescribeNamespace(ctx, "ivf")
	if err != nil {
		t.Fatal(err)
	}
	if d.IVF == nil || d.Quota.MaxRecords != 1000 {
		t.Fatalf("restored namespace %+v", d)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	// The deleted namespace's data did not travel.
	if n, err := vectordb.PendingDrops(db); err != nil || n != 0 {
		t.Fatalf("%d pending drops, %v", n, err)
	}
}

// TestRestoreRefuses: a non-empty directory, a file, a damaged or
// truncated stream, an export: each refused with the directory untouched
// and no temporary directory left.
func TestRestoreRefuses(t *testing.T) {
	src := openMem(t)
	backupFixture(t, src)
	var buf bytes.Buffer
	if _, err := src.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	bk := buf.Bytes()
	parent := t.TempDir()
	full := filepath.Join(parent, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := vectordb.Restore(ctx, full, bytes.NewReader(bk))
	wantErr(t, err, vectordb.ErrInvalidArgument)
	file := filepath.Join(parent, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = vectordb.Restore(ctx, file, bytes.NewReader(bk))
	wantErr(t, err, vectordb.ErrInvalidArgument)
	for _, d := range []string{"", "/"} {
		_, err = vectordb.Restore(ctx, d, bytes.NewReader(bk))
		wantErr(t, err, vectordb.ErrInvalidArgument)
	}

	target := filepath.Join(parent, "target")
	r := rand.New(rand.NewPCG(11, 1))
	for range 12 {
		n := r.IntN(len(bk))
		_, err := vectordb.Restore(ctx, target, bytes.NewReader(bk[:n]))
		wantErr(t, err, errStream)
		b := bytes.Clone(bk)
		b[r.IntN(len(b))] ^= 0x40
		_, err = vectordb.Restore(ctx, target, bytes.NewReader(b))
		wantErr(t, err, errStream)
	}
	ix, _ := src.Index("a")
	exp := exportBytes(t, ix.Namespace(""))
	_, err = vectordb.Restore(ctx, target, bytes.NewReader(exp))
	wantErr(t, err, errStream)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = vectordb.Restore(cctx, target, bytes.NewReader(bk))
	wantErr(t, err, context.Canceled)

	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"file", "full"}) {
		t.Fatalf("the parent directory holds %v", names)
	}
	// An empty target directory is fine.
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := vectordb.Restore(ctx, target, bytes.NewReader(bk)); err != nil {
		t.Fatal(err)
	}
}

// TestBackupConsistentUnderWrites backs up while a writer rewrites a
// namespace in atomic batches and another tenant is created and deleted:
// each restored database holds one version of the batch.
func TestBackupConsistentUnderWrites(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 4, vectordb.Euclidean)
	h := ix.Namespace("n")
	version := func(v int) []vectordb.Record {
		recs := make([]vectordb.Record, 100)
		for i := range recs {
			recs[i] = vectordb.Record{ID: fmt.Sprintf("%03d", i), Values: fill(4, float32(v))}
		}
		return recs
	}
	upsertRecords(t, h, version(1))
	stop := rewriting(t, h, version, 2, func() error {
		if err := ix.DeleteNamespace(ctx, "other"); err != nil && !errors.Is(err, vectordb.ErrNamespaceNotFound) {
			return err
		}
		_, err := ix.Namespace("other").Upsert(ctx, version(1)[:10])
		return err
	})
	seen := map[float32]bool{}
	for i := range 8 {
		var buf bytes.Buffer
		if _, err := db.Backup(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "r")
		if _, err := vectordb.Restore(ctx, dir, &buf); err != nil {
			t.Fatal(err)
		}
		rdb := openDir(t, dir, nil)
		rix, err := rdb.Index("ix")
		if err != nil {
			t.Fatal(err)
		}
		var v float32
		for id, r := range fetchAll(t, rix.Namespace("n")) {
			if v == 0 {
				v = r.Values[0]
			}
			if !bitsEqual(r.Values, fill(4, v)) {
				t.Fatalf("backup %d: record %q = %v next to version %v", i, id, r.Values, v)
			}
		}
		seen[v] = true
		if err := rdb.Close(); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	if len(seen) < 2 {
		t.Fatal("every backup saw the same version: the writer did not run alongside")
	}
}
