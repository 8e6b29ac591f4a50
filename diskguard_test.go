package vectordb

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb/internal/diskguard"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

// TestDiskGuardRefusesGrowingWrites injects the free-space reading: below
// the margin, writes that add data fail with ErrDiskFull and change
// nothing, deletes pass, and writes resume once space is back.
func TestDiskGuardRefusesGrowingWrites(t *testing.T) {
	o := testOptions()
	o.MinFreeDiskBytes = 1 << 20
	dir := t.TempDir()
	db := openDir(t, dir, o)
	defer db.Close()
	// freeNow installs a guard that reads free bytes at once (no write is
	// running meanwhile).
	freeNow := func(free int64) {
		db.disk = diskguard.New(diskguard.Config{Dir: dir, Margin: o.MinFreeDiskBytes, Full: ErrDiskFull,
			Probe: func(string) (int64, error) { return free, nil }})
	}
	freeNow(1 << 30)
	ix := mustIndex(t, db, "ix", 4, Euclidean)
	h := ix.Namespace("t")
	if _, err := h.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 2, 3, 4}, Metadata: Metadata{"k": "v"}}}); err != nil {
		t.Fatal(err)
	}

	freeNow(1<<20 - 1)
	before := snapshot(t, db)
	writes := map[string]func() error{
		"upsert": func() error {
			_, err := h.Upsert(ctx, []Record{{ID: "b", Values: []float32{1, 2, 3, 4}}})
			return err
		},
		"update": func() error {
			_, err := h.Update(ctx, UpdateRequest{ID: "a", Values: []float32{4, 3, 2, 1}})
			return err
		},
		"update by filter": func() error {
			_, err := h.Update(ctx, UpdateRequest{Filter: Filter{"k": "v"}, SetMetadata: Metadata{"x": 1}})
			return err
		},
		"create namespace": func() error {
			_, err := ix.CreateNamespace(ctx, "new")
			return err
		},
		"create index": func() error {
			_, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "other", Dimension: 4})
			return err
		},
	}
	for name, w := range writes {
		if err := w(); !errors.Is(err, ErrDiskFull) {
			t.Errorf("%s on a nearly full disk: %v, want ErrDiskFull", name, err)
		}
	}
	if after := snapshot(t, db); !maps.Equal(after, before) {
		t.Fatal("a refused write changed the database")
	}
	// Deletes free space, so they pass.
	if _, err := h.Delete(ctx, []string{"a"}); err != nil {
		t.Fatalf("delete on a nearly full disk: %v", err)
	}
	freeNow(1 << 30)
	if _, err := h.Upsert(ctx, []Record{{ID: "b", Values: []float32{1, 2, 3, 4}}}); err != nil {
		t.Fatalf("upsert once space is back: %v", err)
	}
}

// TestDiskGuardOnSmallFileSystem fills a real 64 MiB file system (a tmpfs
// mounted for the test, when running as root, or the directory named by
// VECTORDB_SMALLFS): upserts must end in ErrDiskFull, never in a crash or
// another error, and what was acknowledged must survive a reopen.
func TestDiskGuardOnSmallFileSystem(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a file system")
	}
	fs := os.Getenv("VECTORDB_SMALLFS")
	if fs == "" {
		fs = t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", fs).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a small tmpfs (%v: %s); set VECTORDB_SMALLFS to a small file system", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("umount", fs).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", fs, err, out)
			}
		})
	}
	dir := filepath.Join(fs, "db")
	o := testOptions()
	o.MemTableSize = 1 << 20
	o.MinFreeDiskBytes = 24 << 20 // 16 memtables (the default without its floor) proved too little here: see MinFreeDiskBytes
	db := openDir(t, dir, o)
	ix := mustIndex(t, db, "ix", 256, Euclidean)
	h := ix.Namespace("t")
	r := rand.New(rand.NewPCG(1, 1))
	acked := 0
	var err error
	for b := 0; b < 10000; b++ {
		recs := make([]Record, 100)
		for i := range recs {
			recs[i] = Record{ID: fmt.Sprint(b*100 + i), Values: randVec(r, 256)}
		}
		if _, err = h.Upsert(ctx, recs); err != nil {
			break
		}
		acked += len(recs)
	}
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("after %d records: %v, want ErrDiskFull", acked, err)
	}
	t.Logf("refused with ErrDiskFull after %d records (%d MiB of vectors): %v", acked, acked*256*4>>20, err)
	// The storage engine keeps compacting what was written: it must find
	// the room it needs (on a full tmpfs, a write through its mmapped
	// files would kill the process with SIGBUS; a compaction that fails
	// for want of space is retried, and stays due).
	testutil.Eventually(t, time.Minute, "compaction settles on the nearly full file system", func() bool {
		return !db.store.CompactionDue()
	})
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close on a nearly full disk: %v", err)
	}
	db = openDir(t, dir, o)
	defer db.Close()
	d, err := db.mustIndexHandle(t, "ix").DescribeNamespace(ctx, "t")
	if err != nil || d.RecordCount != int64(acked) {
		t.Fatalf("after reopen: %+v, %v; want %d records", d, err, acked)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func (db *DB) mustIndexHandle(t *testing.T, name string) *Index {
	t.Helper()
	ix, err := db.Index(name)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}
