package vectordb_test

// The tests of opening and closing a database, through the public API.

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

func TestOpenArguments(t *testing.T) {
	_, err := vectordb.Open("", nil)
	wantErr(t, err, vectordb.ErrInvalidArgument)
	_, err = vectordb.Open(t.TempDir(), &vectordb.Options{InMemory: true})
	wantErr(t, err, vectordb.ErrInvalidArgument)
	_, err = vectordb.Open(t.TempDir(), &vectordb.Options{MaxBatchRecords: -1, NumCompactors: 1})
	var ae *vectordb.ArgumentError
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
	_, err := vectordb.Open(dir, testOptions())
	wantErr(t, err, vectordb.ErrLocked)
}

func TestOpenRefusesForeignData(t *testing.T) {
	dir := t.TempDir()
	// A Badger directory that vectordb did not write.
	s, err := storage.Open(storage.Options{Dir: dir, MemTableSize: 4 << 20, NumMemtables: 2, NumCompactors: 2, Logger: testutil.QuietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(t *storage.Txn) error { return t.Set([]byte("hello"), []byte("world")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = vectordb.Open(dir, testOptions())
	wantErr(t, err, vectordb.ErrIncompatible)

	// A vectordb directory of a future format version.
	dir2 := t.TempDir()
	db := openDir(t, dir2, nil)
	db.Close()
	s, err = storage.Open(storage.Options{Dir: dir2, MemTableSize: 4 << 20, NumMemtables: 2, NumCompactors: 2, Logger: testutil.QuietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(t *storage.Txn) error {
		return t.Set(storage.FormatKey(), storage.EncodeUint32(storage.FormatVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = vectordb.Open(dir2, testOptions())
	wantErr(t, err, vectordb.ErrIncompatible)
}

func TestCloseIsIdempotentAndRefusesCalls(t *testing.T) {
	db := openDir(t, t.TempDir(), nil)
	ix := mustIndex(t, db, "i", 2, vectordb.Cosine)
	ns := ix.Namespace("t")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "j", Dimension: 2})
	wantErr(t, err, vectordb.ErrClosed)
	_, err = db.Index("i")
	wantErr(t, err, vectordb.ErrClosed)
	_, err = db.ListIndexes(ctx)
	wantErr(t, err, vectordb.ErrClosed)
	_, err = ns.Upsert(ctx, []vectordb.Record{{ID: "a", Values: []float32{1, 2}}})
	wantErr(t, err, vectordb.ErrClosed)
	_, err = ns.Query(ctx, vectordb.QueryRequest{Vector: []float32{1, 2}, TopK: 1})
	wantErr(t, err, vectordb.ErrClosed)
	_, err = ix.DescribeStats(ctx)
	wantErr(t, err, vectordb.ErrClosed)
}

// TestCloseWaitsForCalls checks that Close lets calls in flight finish:
// every Upsert either fails with ErrClosed or is durable after reopening.
func TestCloseWaitsForCalls(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "i", 4, vectordb.Euclidean)
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
				_, err := ns.Upsert(ctx, []vectordb.Record{{ID: id, Values: fill(4, 1)}})
				if errors.Is(err, vectordb.ErrClosed) {
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
	testutil.Poll(time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > 0
	})
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

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	db := openDir(t, dir, nil)
	db.Close()
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatalf("no database in %s: %v", dir, err)
	}
}
