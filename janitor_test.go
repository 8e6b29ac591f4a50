package vectordb

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/testutil"
)

// TestDropReclaimsSpace deletes a namespace large enough for DropPrefix
// (Options.ReclaimMinBytes lowered for the test) while another tenant
// writes: the
// writer never sees an error, the space under the namespace's prefix is
// gone once the janitor is done, and the other tenant is intact.
func TestDropReclaimsSpace(t *testing.T) {
	dir := t.TempDir()
	o := testOptions()
	o.ReclaimMinBytes = 1 << 20
	db := openDir(t, dir, o)
	defer func() { db.Close() }()
	ix := mustIndex(t, db, "ix", 128, Euclidean)
	r := rand.New(rand.NewPCG(1, 1))
	for b := range 20 {
		recs := make([]Record, 1000)
		for i := range recs {
			recs[i] = Record{ID: fmt.Sprintf("doc-%06d", b*1000+i), Values: randVec(r, 128)}
		}
		if _, err := ix.Namespace("big").Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	// Close writes every memtable to a table file: measured before that,
	// the table files would depend on how far a background flush had got.
	db.Close()
	db = openDir(t, dir, o)
	ix, err := db.Index("ix")
	if err != nil {
		t.Fatal(err)
	}
	other := ix.Namespace("other")
	ns := ix.ix.lookup("big")
	prefix := storage.NamespaceDataPrefix(ix.ix.id, ns.id)
	before, err := db.store.PrefixBytes(ctx, prefix, 1<<62)
	if err != nil || before < o.ReclaimMinBytes {
		t.Fatalf("namespace of %d bytes (%v), below the test threshold %d", before, err, o.ReclaimMinBytes)
	}
	sstBefore := sstBytes(t, dir)

	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		written atomic.Int64
	)
	wg.Go(func() {
		r := rand.New(rand.NewPCG(2, 2))
		for i := 0; !stop.Load(); i++ {
			if _, err := other.Upsert(ctx, []Record{{ID: fmt.Sprint("k", i), Values: randVec(r, 128)}}); err != nil {
				t.Errorf("write during the drop: %v", err)
				return
			}
			written.Add(1)
		}
	})
	if err := ix.DeleteNamespace(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	waitDrops(t, db)
	stop.Store(true)
	wg.Wait()

	// The space is back: no table holds the prefix, and the tree shrank by
	// most of the namespace (Badger's size figures update as tables go).
	if after := db.store.TablesSize(prefix); after != 0 {
		t.Fatalf("%d bytes of tables left under the dropped prefix", after)
	}
	if sstAfter := sstBytes(t, dir); sstBefore-sstAfter < before/2 {
		t.Fatalf("table files of %d bytes before the drop, %d after: the namespace's %d bytes were not given back", sstBefore, sstAfter, before)
	}
	d, err := ix.DescribeNamespace(ctx, "other")
	if err != nil || d.RecordCount != written.Load() {
		t.Fatalf("other tenant: %+v, %v; want %d records", d, err, written.Load())
	}
	res, err := ix.Namespace("big").Query(ctx, QueryRequest{Vector: randVec(r, 128), TopK: 5})
	if err != nil || len(res.Matches) != 0 {
		t.Fatalf("dropped namespace answers: %v, %v", res.Matches, err)
	}
}

// sstBytes is the size of the storage engine's table files in dir.
func sstBytes(t *testing.T, dir string) int64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

// TestDropPrefixKeepsOpenSnapshots: a snapshot that saw a namespace live
// keeps reading its records (values and metadata) while the namespace is
// dropped; the janitor's DropPrefix waits for it to end.
func TestDropPrefixKeepsOpenSnapshots(t *testing.T) {
	o := testOptions()
	o.ReclaimMinBytes = 1
	db := openDir(t, t.TempDir(), o)
	defer db.Close()
	ix := mustIndex(t, db, "ix", 4, Euclidean)
	h := ix.Namespace("a")
	if _, err := h.Upsert(ctx, []Record{{ID: "x", Values: []float32{1, 2, 3, 4}, Metadata: Metadata{"k": "v"}}}); err != nil {
		t.Fatal(err)
	}
	ns := ix.ix.lookup("a")
	snap := db.store.Snapshot()
	if live, err := checkLive(snap, ns); err != nil || !live {
		t.Fatalf("live %v, %v", live, err)
	}
	if _, err := h.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	// The janitor takes the drop up at once and must then wait, inside
	// DropPrefix, for the snapshot: see it there before looking.
	testutil.Eventually(t, testutil.Patience, "the janitor waits for the open snapshot", func() bool {
		waiting := janitorWaitsForSnapshots()
		if n, err := db.pendingDrops(); err != nil || n != 1 {
			t.Fatalf("pending drops %d (%v): the drop did not wait for the open snapshot", n, err)
		}
		return waiting
	})
	if n, err := db.pendingDrops(); err != nil || n != 1 {
		t.Fatalf("pending drops %d (%v): the drop did not wait for the open snapshot", n, err)
	}
	rec, found, err := readRecord(snap, ns, "x", true)
	if err != nil || !found || rec.Metadata["k"] != "v" || len(rec.Values) != 4 {
		t.Fatalf("snapshot read torn by the drop: %+v, %v, %v", rec, found, err)
	}
	snap.Discard()
	waitDrops(t, db)
	if empty, err := db.store.PrefixEmpty(storage.NamespaceDataPrefix(ix.ix.id, ns.id)); err != nil || !empty {
		t.Fatalf("prefix empty %v, %v", empty, err)
	}
}

// janitorWaitsForSnapshots reports whether the janitor goroutine is in
// DropPrefix's wait for the transactions begun before it, from a dump of
// every goroutine's stack: the storage engine exposes no such state, and
// this one holds for as long as the snapshot the test keeps open does.
func janitorWaitsForSnapshots() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("janitor.(*Janitor).Run")) && bytes.Contains(g, []byte("storage.(*snapshots).waitBegunBefore")) {
			return true
		}
	}
	return false
}

// pendingDrops reports how many drops the janitor has yet to complete.
func (db *DB) pendingDrops() (int, error) { return db.janitor.Pending() }
