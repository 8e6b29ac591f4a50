package vectordb

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
)

func TestOpenArguments(t *testing.T) {
	_, err := Open("", nil)
	wantErr(t, err, ErrInvalidArgument)
	_, err = Open(t.TempDir(), &Options{InMemory: true})
	wantErr(t, err, ErrInvalidArgument)
	_, err = Open(t.TempDir(), &Options{MaxBatchRecords: -1, NumCompactors: 1})
	var ae *ArgumentError
	if !errors.As(err, &ae) {
		t.Fatalf("bad options: err = %v, want *ArgumentError", err)
	}
	for _, field := range []string{"Options.MaxBatchRecords", "Options.NumCompactors"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	defer db.Close()
	_, err := Open(dir, testOptions())
	wantErr(t, err, ErrLocked)
}

func TestOpenRefusesForeignData(t *testing.T) {
	dir := t.TempDir()
	// A Badger directory that vectordb did not write.
	s, err := storage.Open(storage.Options{Dir: dir, MemTableSize: 4 << 20, NumMemtables: 2, NumCompactors: 2, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(t *storage.Txn) error { return t.Set([]byte("hello"), []byte("world")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(dir, testOptions())
	wantErr(t, err, ErrIncompatible)

	// A vectordb directory of a future format version.
	dir2 := t.TempDir()
	db := openDir(t, dir2, nil)
	db.Close()
	s, err = storage.Open(storage.Options{Dir: dir2, MemTableSize: 4 << 20, NumMemtables: 2, NumCompactors: 2, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(t *storage.Txn) error {
		return t.Set(storage.FormatKey(), storage.EncodeUint32(storage.FormatVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(dir2, testOptions())
	wantErr(t, err, ErrIncompatible)
}

func TestCloseIsIdempotentAndRefusesCalls(t *testing.T) {
	db := openDir(t, t.TempDir(), nil)
	ix := mustIndex(t, db, "i", 2, Cosine)
	ns := ix.Namespace("t")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "j", Dimension: 2})
	wantErr(t, err, ErrClosed)
	_, err = db.Index("i")
	wantErr(t, err, ErrClosed)
	_, err = db.ListIndexes(ctx)
	wantErr(t, err, ErrClosed)
	_, err = ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 2}}})
	wantErr(t, err, ErrClosed)
	_, err = ns.Query(ctx, QueryRequest{Vector: []float32{1, 2}, TopK: 1})
	wantErr(t, err, ErrClosed)
	_, err = ix.DescribeStats(ctx)
	wantErr(t, err, ErrClosed)
}

// TestCloseWaitsForCalls checks that Close lets calls in flight finish:
// every Upsert either fails with ErrClosed or is durable after reopening.
func TestCloseWaitsForCalls(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "i", 4, Euclidean)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked []string
	)
	for w := range 4 {
		wg.Go(func() {
			ns := ix.Namespace(string(rune('a' + w)))
			for i := 0; ; i++ {
				id := string(rune('a'+w)) + "-" + strconv.Itoa(i)
				_, err := ns.Upsert(ctx, []Record{{ID: id, Values: fill(4, 1)}})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	// Close once some writes are acknowledged and more are in flight.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	db = openDir(t, dir, nil)
	defer db.Close()
	ix, err := db.Index("i")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		res, err := ix.Namespace(id[:1]).Fetch(ctx, []string{id})
		if err != nil || len(res.Records) != 1 {
			t.Fatalf("acknowledged %q lost after Close: %v", id, err)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no upsert was acknowledged")
	}
}

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

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	db := openDir(t, dir, nil)
	db.Close()
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatalf("no database in %s: %v", dir, err)
	}
}
