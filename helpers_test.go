package vectordb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
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

// The record helpers below are shared with the external tests, which
// reach them through export_hooks_test.go: the transfer tests (export,
// JSON Lines, backup) are external, quota_test.go is not.

func upsertRecords(t testing.TB, h *Namespace, recs []Record) {
	t.Helper()
	for i := 0; i < len(recs); i += 100 {
		if _, err := h.Upsert(ctx, recs[i:min(i+100, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
}

// fetchAll returns every record of h, by id.
func fetchAll(t testing.TB, h *Namespace) map[string]Record {
	t.Helper()
	out := map[string]Record{}
	var ids []string
	for id, err := range h.IDs(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i := 0; i < len(ids); i += 100 {
		res, err := h.Fetch(ctx, ids[i:min(i+100, len(ids))])
		if err != nil {
			t.Fatal(err)
		}
		for id, r := range res.Records {
			out[id] = r
		}
	}
	return out
}

func sameRecords(t testing.TB, got, want map[string]Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Fatalf("record %q missing", id)
		}
		if !bitsEqual(g.Values, w.Values) || !reflect.DeepEqual(g.SparseValues, w.SparseValues) || !reflect.DeepEqual(g.Metadata, w.Metadata) {
			t.Fatalf("record %q = %+v, want %+v", id, g, w)
		}
	}
}

func exportBytes(t testing.TB, h *Namespace) []byte {
	t.Helper()
	b, _ := exportWith(t, h.Export)
	return b
}

// exportWith runs an export into memory and checks the bytes it reports.
func exportWith(t testing.TB, export func(context.Context, io.Writer) (ExportResult, error)) ([]byte, ExportResult) {
	t.Helper()
	var buf bytes.Buffer
	info, err := export(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if info.Bytes != int64(buf.Len()) {
		t.Fatalf("export reported %d bytes, wrote %d", info.Bytes, buf.Len())
	}
	return buf.Bytes(), info
}
