package vectordb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vectordb-go/vectordb/internal/memory"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// catalogEntryBytes is what creating an index or a namespace adds, about:
// what the disk guard is told such a write adds.
const catalogEntryBytes = 256

// indexState is the private state behind Index handles: the in-memory
// catalog entry of an index.
//
// The lock order is in doc.go. Writers of any
// namespace hold gate for reading for the whole write, so DeleteIndex,
// holding it for writing, waits for them and no write can land under a
// dropped index's prefix.
type indexState struct {
	db        *DB
	id        uint32
	name      string
	dim       int
	metric    Metric
	createdAt time.Time

	gate    sync.RWMutex
	dropped atomic.Bool // set under gate held for writing

	// protection and tags are guarded by DB.mu.
	protection bool
	tags       map[string]string

	// mu guards the id sequence and the creators' name locks, and
	// serializes changes to the namespace map. It is held only briefly:
	// never across a commit, except a drop's small catalog commit.
	mu       sync.Mutex
	nextNS   uint32               // guarded by mu: the next namespace id
	leasedNS uint32               // guarded by mu: ids below it are reserved on disk
	creating map[string]*nameLock // guarded by mu

	// namespaces maps canonical names to live namespaces. Reads are
	// lock-free; changes happen under mu.
	namespaces sync.Map
}

func (ix *indexState) lookup(name string) *namespaceState {
	v, ok := ix.namespaces.Load(name)
	if !ok {
		return nil
	}
	return v.(*namespaceState)
}

// namespaceState is the private state behind Namespace handles: the
// in-memory catalog entry of one generation of a namespace. DeleteAll
// replaces it with a new generation under a new id, and DeleteNamespace
// removes it. A generation's id never changes.
type namespaceState struct {
	ix        *indexState
	id        uint32
	name      string // canonical
	createdAt time.Time
	usage     *usage.Counters // shared by every generation of the same name

	// gone is closed (once, by markGone) when this generation leaves the
	// index's map, replaced or dropped, or its index is deleted: reads
	// that found it empty wait on it for its successor.
	gone     chan struct{}
	goneOnce sync.Once

	// writeMu serializes writers and segment loads.
	writeMu sync.Mutex
	dropped bool // guarded by writeMu

	// Committed counters: changed only under writeMu, after a commit.
	records atomic.Int64
	bytes   atomic.Uint64

	seg atomic.Pointer[segment.Segment] // nil while cold

	// While hot: the bytes accounted to the segment against the memory
	// budget, and the last use for LRU eviction (memory.go).
	mem memory.Entry

	quota atomic.Pointer[Quota] // its own quota (quota.go); nil: none set

	ivfDesc atomic.Pointer[ivfDescCache] // the stored IVF's description, once read (ivf.go)

	// buildMu is held by the one IVF build or persist running (lock order:
	// before index.gate); buildFailed is when an automatic build last
	// failed, in Unix nanoseconds.
	buildMu     sync.Mutex
	buildFailed atomic.Int64
}

// load reads the catalog at Open: format version, indexes, namespaces and
// their counters, and the pending drops. It reads no vectors.
func (db *DB) load() error {
	// At Open, which takes no context.
	if err := db.store.InitFormat(context.Background()); err != nil {
		var fe *storage.FormatError
		switch {
		case errors.As(err, &fe) && fe.Missing:
			return fmt.Errorf("%w: not a vectordb database (no format version)", ErrIncompatible)
		case errors.As(err, &fe):
			return fmt.Errorf("%w: format version %d, this build reads %d", ErrIncompatible, fe.Version, storage.FormatVersion)
		}
		return fromCorrupt(err)
	}
	if err := db.store.View(db.loadCatalog); err != nil {
		return err
	}
	return fromCorrupt(db.janitor.DropStaged(context.Background()))
}

func (db *DB) loadCatalog(t *storage.Txn) error {
	cat, err := storage.ReadCatalog(t, func(name string, r *storage.IndexRecord) error {
		if r.Dimension < 1 || r.Dimension > MaxDimension || !Metric(r.Metric).valid() {
			return fmt.Errorf("%w: index %q has dimension %d and metric %q", ErrCorrupt, name, r.Dimension, r.Metric)
		}
		return nil
	})
	if err != nil {
		return fromCorrupt(err)
	}
	db.mu.nextIndexID = cat.NextIndexID
	for _, ci := range cat.Indexes {
		r := &ci.Record
		ix := &indexState{
			db: db, id: r.ID, name: ci.Name, dim: r.Dimension, metric: Metric(r.Metric),
			createdAt: time.Unix(0, r.CreatedAt), protection: r.DeletionProtection, tags: r.Tags,
			nextNS: ci.NextNamespaceID, leasedNS: ci.NextNamespaceID, creating: make(map[string]*nameLock),
		}
		db.mu.indexes[ci.Name] = ix
		for _, cn := range ci.Namespaces {
			ns := &namespaceState{
				ix: ix, id: cn.Record.ID, name: cn.Name, createdAt: time.Unix(0, cn.Record.CreatedAt),
				usage: usage.Loaded(cn.Stats.WriteUnits, cn.ReadUnits), gone: make(chan struct{}),
			}
			if q := cn.Record; q.MaxRecords != 0 || q.MaxBytes != 0 {
				ns.quota.Store(&Quota{MaxRecords: int64(q.MaxRecords), MaxBytes: int64(q.MaxBytes)})
			}
			ns.records.Store(int64(cn.Stats.Records))
			ns.bytes.Store(cn.Stats.Bytes)
			ix.namespaces.Store(cn.Name, ns)
		}
	}
	return db.janitor.LoadIDs(t)
}

// fromCorrupt renders a *storage.CorruptError, a stored entry missing or
// undecodable, under ErrCorrupt. Other errors pass through.
func fromCorrupt(err error) error {
	var ce *storage.CorruptError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %s", ErrCorrupt, ce.What)
	}
	return err
}

// checkLive verifies, inside a read transaction, that ns is still the live
// generation of its name in a live index (see storage.NamespaceLive).
func checkLive(t *storage.Txn, ns *namespaceState) (bool, error) {
	return storage.NamespaceLive(t, ns.ix.name, ns.ix.id, ns.name, ns.id)
}

// usageEntries yields the live namespaces, for the read-unit flusher.
func (db *DB) usageEntries(yield func(usage.Entry) bool) {
	for _, ix := range db.indexList() {
		for _, v := range ix.namespaces.Range {
			ns := v.(*namespaceState)
			if !yield(usage.Entry{IndexName: ix.name, IndexID: ix.id, Name: ns.name, ID: ns.id, Counters: ns.usage}) {
				return
			}
		}
	}
}

// indexList returns the live indexes.
func (db *DB) indexList() []*indexState {
	db.mu.Lock()
	defer db.mu.Unlock()
	out := make([]*indexState, 0, len(db.mu.indexes))
	for _, ix := range db.mu.indexes {
		out = append(out, ix)
	}
	return out
}
