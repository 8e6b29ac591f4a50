// Package dbtest holds the test helpers that need a *vectordb.DB:
// opening a database with small, fast test options, creating an index,
// and matching the errors of the public API. It imports the root package
// vectordb, so only external test packages (vectordb_test, server, cmd,
// ...) can use it; never imported by non-test code.
package dbtest

import (
	"context"
	"errors"
	"testing"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

// Options are small and fast: little memory, no sync (durability modes
// are exercised by their own tests), a quiet logger.
func Options() *vectordb.Options {
	return &vectordb.Options{MemTableSize: 8 << 20, NumMemtables: 2, Durability: vectordb.DurabilityProcess, Logger: testutil.QuietLogger{}}
}

// OpenMem opens an in-memory database with Options, closed when the
// test ends.
func OpenMem(t testing.TB) *vectordb.DB {
	t.Helper()
	return OpenMemWith(t, func(*vectordb.Options) {})
}

// OpenMemWith opens an in-memory database with Options changed by set,
// closed when the test ends.
func OpenMemWith(t testing.TB, set func(*vectordb.Options)) *vectordb.DB {
	t.Helper()
	o := Options()
	o.InMemory = true
	set(o)
	db, err := vectordb.Open("", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenDir opens the database in dir with o (nil: Options). The caller
// closes it: tests of reopening and crashes decide when.
func OpenDir(t testing.TB, dir string, o *vectordb.Options) *vectordb.DB {
	t.Helper()
	if o == nil {
		o = Options()
	}
	db, err := vectordb.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// MustIndex creates the index name, failing the test if it cannot.
func MustIndex(t testing.TB, db *vectordb.DB, name string, dim int, m vectordb.Metric) *vectordb.Index {
	t.Helper()
	ix, err := db.CreateIndex(context.Background(), vectordb.CreateIndexRequest{Name: name, Dimension: dim, Metric: m})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// MustIndexHandle returns the handle of the existing index name.
func MustIndexHandle(t testing.TB, db *vectordb.DB, name string) *vectordb.Index {
	t.Helper()
	ix, err := db.Index(name)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// ErrStream, as WantErr's target, asks for a *vectordb.StreamError that
// wraps vectordb.ErrCorrupt.
var ErrStream = errors.New("dbtest: want a *StreamError")

// IsStreamErr reports whether err is a *vectordb.StreamError that wraps
// vectordb.ErrCorrupt.
func IsStreamErr(err error) bool {
	var se *vectordb.StreamError
	return errors.As(err, &se) && errors.Is(err, vectordb.ErrCorrupt)
}

// WantErr fails unless err matches target with errors.Is (or, for
// ErrStream, is a stream error).
func WantErr(t testing.TB, err, target error) {
	t.Helper()
	if target == ErrStream {
		if !IsStreamErr(err) {
			t.Fatalf("err = %v (%T), want a *StreamError wrapping ErrCorrupt", err, err)
		}
		return
	}
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}
