package vectordb

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/vectordb-go/vectordb/internal/testutil"
)

var ctx = context.Background()

// quietLogger drops the storage engine's log lines in tests.
type quietLogger = testutil.QuietLogger

// testOptions are small and fast: little memory, no sync (durability
// modes are exercised by their own tests).
func testOptions() *Options {
	return &Options{MemTableSize: 8 << 20, NumMemtables: 2, Durability: DurabilityProcess, Logger: quietLogger{}}
}

func openMem(t testing.TB) *DB {
	t.Helper()
	o := testOptions()
	o.InMemory = true
	db, err := Open("", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openMemWith opens an in-memory database with testOptions changed by
// set.
func openMemWith(t testing.TB, set func(*Options)) *DB {
	t.Helper()
	o := testOptions()
	o.InMemory = true
	set(o)
	db, err := Open("", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openDir(t testing.TB, dir string, o *Options) *DB {
	t.Helper()
	if o == nil {
		o = testOptions()
	}
	db, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustIndex(t testing.TB, db *DB, name string, dim int, m Metric) *Index {
	t.Helper()
	ix, err := db.CreateIndex(ctx, CreateIndexRequest{Name: name, Dimension: dim, Metric: m})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func fill(dim int, v float32) []float32 { return testutil.Fill(dim, v) }

func randVec(r *rand.Rand, dim int) []float32 { return testutil.RandVec(r, dim) }

// wantErr fails unless err matches target with errors.Is.
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if target == errStream {
		if !isStreamErr(err) {
			t.Fatalf("err = %v (%T), want a *StreamError wrapping ErrCorrupt", err, err)
		}
		return
	}
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

// errStream, as wantErr's target, asks for a *StreamError.
var errStream = errors.New("test: want a *StreamError")

// isStreamErr reports whether err is a *StreamError that wraps ErrCorrupt.
func isStreamErr(err error) bool {
	var se *StreamError
	return errors.As(err, &se) && errors.Is(err, ErrCorrupt)
}

// waitDrops waits until the janitor has finished every pending drop.
func waitDrops(t testing.TB, db *DB) {
	t.Helper()
	var n int
	var err error
	testutil.Eventually(t, testutil.Patience, "every pending drop is done", func() bool {
		n, err = db.pendingDrops()
		return err != nil || n == 0
	})
	if err != nil {
		t.Fatal(err)
	}
}
