package vectordb

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
)

func TestIndexLifecycle(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "docs-1", Dimension: 3, Tags: map[string]string{"env": "dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Metric() != Cosine || ix.Dimension() != 3 || ix.Name() != "docs-1" {
		t.Fatalf("defaults: metric %q dim %d name %q", ix.Metric(), ix.Dimension(), ix.Name())
	}
	_, err = db.CreateIndex(ctx, CreateIndexRequest{Name: "docs-1", Dimension: 3})
	wantErr(t, err, ErrIndexExists)
	mustIndex(t, db, "a", 2, DotProduct)

	if _, err := ix.Namespace("t1").Upsert(ctx, []Record{{ID: "x", Values: []float32{1, 0, 0}}, {ID: "y", Values: []float32{0, 1, 0}}}); err != nil {
		t.Fatal(err)
	}
	d, err := db.DescribeIndex(ctx, "docs-1")
	if err != nil {
		t.Fatal(err)
	}
	if d.NamespaceCount != 1 || d.RecordCount != 2 || d.Tags["env"] != "dev" || d.DeletionProtection {
		t.Fatalf("describe = %+v", d)
	}
	on := true
	d, err = db.ConfigureIndex(ctx, "docs-1", ConfigureIndexRequest{DeletionProtection: &on, Tags: map[string]string{"env": "", "team": "search"}})
	if err != nil {
		t.Fatal(err)
	}
	if !d.DeletionProtection || !reflect.DeepEqual(d.Tags, map[string]string{"team": "search"}) {
		t.Fatalf("configured = %+v", d)
	}
	wantErr(t, db.DeleteIndex(ctx, "docs-1"), ErrDeletionProtected)
	if _, err := db.DescribeIndex(ctx, "docs-1"); err != nil {
		t.Fatalf("protected index gone after refused delete: %v", err)
	}

	// Everything survives a reopen.
	db.Close()
	db = openDir(t, dir, nil)
	defer db.Close()
	list, err := db.ListIndexes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "a" || list[1].Name != "docs-1" {
		t.Fatalf("list = %+v", list)
	}
	if got := list[1]; !got.DeletionProtection || got.Tags["team"] != "search" || got.RecordCount != 2 || got.Dimension != 3 || got.Metric != Cosine {
		t.Fatalf("after reopen = %+v", got)
	}
	off := false
	if _, err := db.ConfigureIndex(ctx, "docs-1", ConfigureIndexRequest{DeletionProtection: &off}); err != nil {
		t.Fatal(err)
	}
	old, err := db.Index("docs-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteIndex(ctx, "docs-1"); err != nil {
		t.Fatal(err)
	}
	_, err = db.DescribeIndex(ctx, "docs-1")
	wantErr(t, err, ErrIndexNotFound)
	wantErr(t, db.DeleteIndex(ctx, "docs-1"), ErrIndexNotFound)
	_, err = db.ConfigureIndex(ctx, "docs-1", ConfigureIndexRequest{})
	wantErr(t, err, ErrIndexNotFound)
	// The old handle stays bound to the deleted index, even once the name
	// is reused.
	if _, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "docs-1", Dimension: 3}); err != nil {
		t.Fatal(err)
	}
	_, err = old.Namespace("t1").Fetch(ctx, []string{"x"})
	wantErr(t, err, ErrIndexNotFound)
	_, err = old.Namespace("t1").Upsert(ctx, []Record{{ID: "x", Values: []float32{1, 0, 0}}})
	wantErr(t, err, ErrIndexNotFound)
	fresh, _ := db.Index("docs-1")
	res, err := fresh.Namespace("t1").Fetch(ctx, []string{"x", "y"})
	if err != nil || len(res.Records) != 0 {
		t.Fatalf("re-created index sees old data: %v %v", res.Records, err)
	}
	waitDrops(t, db)
	assertNoData(t, db, old.ix.id)
}

// assertNoData fails if any key of the dropped index ixID is left.
func assertNoData(t *testing.T, db *DB, ixID uint32) {
	t.Helper()
	for _, p := range [][]byte{storage.IndexDataPrefix(ixID), storage.NamespaceCatalogPrefix(ixID), storage.StatsPrefix(ixID), storage.ReadUnitsPrefix(ixID), storage.NamespaceSeqKey(ixID)} {
		empty, err := db.store.PrefixEmpty(p)
		if err != nil || !empty {
			t.Fatalf("prefix %x of dropped index %d not empty (%v)", p, ixID, err)
		}
	}
}

// TestDropResumesAfterCrash simulates a crash right after a namespace drop
// committed: the catalog entry is gone and a pending drop is recorded, but
// the janitor never ran. Open must finish the job.
func TestDropResumesAfterCrash(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "i", 2, Cosine)
	recs := make([]Record, 500)
	for i := range recs {
		recs[i] = Record{ID: strconv.Itoa(i), Values: []float32{1, float32(i)}, Metadata: Metadata{"n": i}}
	}
	for _, name := range []string{"gone", "kept"} {
		if _, err := ix.Namespace(name).Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	gone := ix.ix.lookup("gone")
	db.Close()

	// Do by hand what DeleteNamespace's transaction does, without a janitor.
	s, err := storage.Open(storage.Options{Dir: dir, MemTableSize: 8 << 20, NumMemtables: 2, NumCompactors: 2, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	drop := storage.DropRecord{Prefixes: [][]byte{storage.NamespaceDataPrefix(gone.ix.id, gone.id)}}
	err = s.Update(ctx, func(t *storage.Txn) error {
		if err := t.Delete(storage.NamespaceKey(gone.ix.id, "gone")); err != nil {
			return err
		}
		return t.Set(storage.DropKey(7), drop.Encode())
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	db = openDir(t, dir, nil)
	defer db.Close()
	waitDrops(t, db)
	if empty, err := db.store.PrefixEmpty(storage.NamespaceDataPrefix(gone.ix.id, gone.id)); err != nil || !empty {
		t.Fatalf("dropped namespace data left after reopen: %v %v", empty, err)
	}
	ix, _ = db.Index("i")
	d, err := ix.DescribeNamespace(ctx, "kept")
	if err != nil || d.RecordCount != 500 {
		t.Fatalf("kept namespace = %+v %v", d, err)
	}
	// New drop ids do not collide with the one found at open.
	if db.janitor.NextID() != 8 {
		t.Fatalf("next drop id = %d, want 8", db.janitor.NextID())
	}
}
