package vectordb_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vectordb-go/vectordb"
)

// TestOpenDirectoryIsAFile: a clear error, no panic, the file untouched.
func TestOpenDirectoryIsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if db, err := vectordb.Open(f, testOptions()); err == nil {
		db.Close()
		t.Fatal("Open of a regular file succeeded")
	}
	if b, _ := os.ReadFile(f); string(b) != "not a database" {
		t.Fatal("Open changed the file")
	}
}

// TestOpenReadOnlyDirectory opens a database on a read-only file system (a
// tmpfs remounted read-only, when running as root; permissions do not bind
// root): a clear error, no panic.
func TestOpenReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	o := testOptions()
	o.MinFreeDiskBytes = -1 // a 16 MiB file system
	db := openDir(t, filepath.Join(dir, "db"), o)
	ix := mustIndex(t, db, "ix", 4, vectordb.Euclidean)
	if _, err := ix.Namespace("t").Upsert(ctx, []vectordb.Record{{ID: "a", Values: []float32{1, 2, 3, 4}}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only (%v: %s)", err, out)
	}
	db, err := vectordb.Open(filepath.Join(dir, "db"), o)
	if err == nil {
		db.Close()
		t.Fatal("Open on a read-only file system succeeded")
	}
	t.Logf("read-only: %v", err)
}

// TestCorruptTableFile flips bytes in the middle of every table file of a
// closed database: opening it, reading it or checking it must fail with an
// error (ErrCorrupt from Check), never panic or return wrong records.
func TestCorruptTableFile(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.MemTableSize = 1 << 20
	db := openDir(t, dir, o)
	ix := mustIndex(t, db, "ix", 64, vectordb.Euclidean)
	r := rand.New(rand.NewPCG(3, 3))
	want := map[string][]float32{}
	for b := range 20 {
		recs := make([]vectordb.Record, 100)
		for i := range recs {
			recs[i] = vectordb.Record{ID: fmt.Sprint(b*100 + i), Values: randVec(r, 64)}
			want[recs[i].ID] = recs[i].Values
		}
		if _, err := ix.Namespace("t").Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table files to corrupt")
	}
	for _, f := range tables {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(b) / 3; i < len(b)/3+64 && i < len(b); i++ {
			b[i] ^= 0x5a
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := vectordb.Open(dir, o)
	if err != nil {
		t.Logf("Open refused the damaged database: %v", err)
		return
	}
	defer db.Close()
	if err := db.Check(ctx); !errors.Is(err, vectordb.ErrCorrupt) {
		t.Fatalf("Check of a damaged database: %v, want ErrCorrupt", err)
	}
	// Reads either fail or return the right values: never wrong ones.
	h := mustIndexHandle(t, db, "ix").Namespace("t")
	for id, v := range want {
		res, err := h.Fetch(ctx, []string{id})
		if err != nil {
			continue
		}
		if got, ok := res.Records[id]; ok && !bitsEqual(got.Values, v) {
			t.Fatalf("record %s read back wrong after corruption", id)
		}
	}
}
