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
)

// catalogEntryBytes is what creating an index or a namespace adds, about:
// what the disk guard is told such a write adds.
const catalogEntryBytes = 256

// index is the in-memory catalog entry of an index.
//
// Lock order, outermost first: DB.life (shared, by every call), then
// index.gate, then DB.mu, then a creator's name lock, then
// namespace.writeMu, then index.mu, then segment.mu. Writers of any
// namespace hold gate for reading for the whole write, so DeleteIndex,
// holding it for writing, waits for them and no write can land under a
// dropped index's prefix.
type index struct {
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

func (ix *index) lookup(name string) *namespace {
	v, ok := ix.namespaces.Load(name)
	if !ok {
		return nil
	}
	return v.(*namespace)
}

// namespace is the in-memory catalog entry of one generation of a
// namespace: DeleteAll replaces it with a new generation under a new id,
// and DeleteNamespace removes it. A generation's id never changes.
type namespace struct {
	ix        *index
	id        uint32
	name      string // canonical
	createdAt time.Time
	usage     *usage // shared by every generation of the same name

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

// usage holds a namespace's cumulative units. Write units are persisted
// with the writes (Stats); read units by the periodic flusher.
type usage struct {
	writeUnits   atomic.Uint64
	readUnits    atomic.Uint64
	flushedReads atomic.Uint64
}

// load reads the catalog at Open: format version, indexes, namespaces and
// their counters, and the pending drops. It reads no vectors.
func (db *DB) load() error {
	s := db.store
	var fresh bool
	err := s.View(func(t *storage.Txn) error {
		v, ok, err := t.GetCopy(storage.FormatKey())
		if err != nil {
			return err
		}
		if ok {
			ver, err := storage.DecodeUint32(v)
			if err != nil {
				return fmt.Errorf("%w: format version: %v", ErrCorrupt, err)
			}
			if ver != storage.FormatVersion {
				return fmt.Errorf("%w: format version %d, this build reads %d", ErrIncompatible, ver, storage.FormatVersion)
			}
			return nil
		}
		fresh = true
		return t.Iterate(storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
			return false, fmt.Errorf("%w: not a vectordb database (no format version)", ErrIncompatible)
		})
	})
	if err != nil {
		return err
	}
	if fresh {
		err := s.Update(context.Background(), func(t *storage.Txn) error { // at Open, which takes no context
			if err := t.Set(storage.FormatKey(), storage.EncodeUint32(storage.FormatVersion)); err != nil {
				return err
			}
			return t.Set(storage.IndexSeqKey(), storage.EncodeUint32(1))
		})
		if err != nil {
			return err
		}
	}
	if err := s.View(db.loadCatalog); err != nil {
		return err
	}
	return db.dropStaged()
}

func (db *DB) loadCatalog(t *storage.Txn) error {
	v, ok, err := t.GetCopy(storage.IndexSeqKey())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: index sequence missing", ErrCorrupt)
	}
	if db.mu.nextIndexID, err = storage.DecodeUint32(v); err != nil {
		return fmt.Errorf("%w: index sequence: %v", ErrCorrupt, err)
	}

	byID := make(map[uint32]*index)
	err = t.Iterate(storage.IterOptions{Prefix: storage.IndexCatalogPrefix()}, func(k, v []byte) (bool, error) {
		name, err := storage.IndexNameFromKey(k)
		if err != nil {
			return false, err
		}
		r, err := storage.DecodeIndexRecord(v)
		if err != nil {
			return false, fmt.Errorf("%w: index %q: %v", ErrCorrupt, name, err)
		}
		if r.Dimension < 1 || r.Dimension > MaxDimension || !Metric(r.Metric).valid() {
			return false, fmt.Errorf("%w: index %q has dimension %d and metric %q", ErrCorrupt, name, r.Dimension, r.Metric)
		}
		ix := &index{
			db: db, id: r.ID, name: name, dim: r.Dimension, metric: Metric(r.Metric),
			createdAt: time.Unix(0, r.CreatedAt), protection: r.DeletionProtection, tags: r.Tags,
			creating: make(map[string]*nameLock),
		}
		db.mu.indexes[name] = ix
		byID[ix.id] = ix
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, ix := range byID {
		v, ok, err := t.GetCopy(storage.NamespaceSeqKey(ix.id))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: namespace sequence of index %q missing", ErrCorrupt, ix.name)
		}
		if ix.nextNS, err = storage.DecodeUint32(v); err != nil {
			return fmt.Errorf("%w: namespace sequence of index %q: %v", ErrCorrupt, ix.name, err)
		}
		ix.leasedNS = ix.nextNS
	}

	// Namespace entries of a dropped index are skipped: its pending drop
	// removes them.
	type key struct{ ix, ns uint32 }
	nss := make(map[key]*namespace)
	err = t.Iterate(storage.IterOptions{Prefix: storage.AllNamespacesPrefix()}, func(k, v []byte) (bool, error) {
		ixID, name, err := storage.NamespaceFromKey(k)
		if err != nil {
			return false, err
		}
		ix := byID[ixID]
		if ix == nil {
			return true, nil
		}
		r, err := storage.DecodeNamespaceRecord(v)
		if err != nil {
			return false, fmt.Errorf("%w: namespace %q: %v", ErrCorrupt, name, err)
		}
		ns := &namespace{ix: ix, id: r.ID, name: name, createdAt: time.Unix(0, r.CreatedAt), usage: &usage{}, gone: make(chan struct{})}
		if r.MaxRecords != 0 || r.MaxBytes != 0 {
			ns.quota.Store(&Quota{MaxRecords: int64(r.MaxRecords), MaxBytes: int64(r.MaxBytes)})
		}
		ix.namespaces.Store(name, ns)
		nss[key{ixID, r.ID}] = ns
		return true, nil
	})
	if err != nil {
		return err
	}
	// Counters live under two prefixes, each read in one scan.
	counters := func(prefix []byte, what string, fn func(ns *namespace, v []byte) error) error {
		return t.Iterate(storage.IterOptions{Prefix: prefix}, func(k, v []byte) (bool, error) {
			ixID, nsID, err := storage.IDPairFromKey(k)
			if err != nil {
				return false, err
			}
			if ns := nss[key{ixID, nsID}]; ns != nil {
				if err := fn(ns, v); err != nil {
					return false, fmt.Errorf("%w: %s of namespace %q: %v", ErrCorrupt, what, ns.name, err)
				}
			}
			return true, nil
		})
	}
	err = counters(storage.AllStatsPrefix(), "stats", func(ns *namespace, v []byte) error {
		st, err := storage.DecodeStats(v)
		ns.records.Store(int64(st.Records))
		ns.bytes.Store(st.Bytes)
		ns.usage.writeUnits.Store(st.WriteUnits)
		return err
	})
	if err != nil {
		return err
	}
	err = counters(storage.AllReadUnitsPrefix(), "read units", func(ns *namespace, v []byte) error {
		ru, err := storage.DecodeUint64(v)
		ns.usage.readUnits.Store(ru)
		ns.usage.flushedReads.Store(ru)
		return err
	})
	if err != nil {
		return err
	}
	return db.janitor.LoadIDs(t)
}

// checkLive verifies, inside a read transaction, that ns is still the live
// generation of its name in a live index. Reads that go to storage (fetch,
// list, metadata) call it so that a concurrent drop, whose data the janitor
// may be deleting, reads as "not found" rather than as a partial namespace.
func checkLive(t *storage.Txn, ns *namespace) (bool, error) {
	if ok, err := catalogNames(t, storage.IndexKey(ns.ix.name), ns.ix.id); err != nil || !ok {
		return false, err
	}
	return catalogNames(t, storage.NamespaceKey(ns.ix.id, ns.name), ns.id)
}

// catalogNames reports whether the catalog entry under key exists and
// holds id.
func catalogNames(t *storage.Txn, key []byte, id uint32) (bool, error) {
	var got uint32
	found, err := t.Get(key, func(v []byte) error {
		var err error
		got, err = storage.CatalogRecordID(v)
		return err
	})
	return found && got == id, err
}

// flushReadUnits persists the read units counted since the last flush, in
// transactions of at most flushChunk namespaces. Each namespace's catalog
// entry is read in the same transaction, so a concurrent drop makes the
// commit conflict and the retry skips the dropped namespace.
func (db *DB) flushReadUnits(ctx context.Context) error {
	// One flush at a time (the flusher and Backup): each writes the values
	// it read, and a stale one committed last would win.
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	type pending struct {
		ns *namespace
		ru uint64
	}
	var todo []pending
	for _, ix := range db.indexList() {
		ix.namespaces.Range(func(_, v any) bool {
			ns := v.(*namespace)
			if ru := ns.usage.readUnits.Load(); ru != ns.usage.flushedReads.Load() {
				todo = append(todo, pending{ns, ru})
			}
			return true
		})
	}
	// Three entries per namespace (two catalog reads and a write) must fit
	// in a transaction, with room to spare.
	chunk := int(max(1, min(1000, db.store.MaxTxnEntries()/8)))
	var errs []error
	for len(todo) > 0 {
		batch := todo[:min(chunk, len(todo))]
		todo = todo[len(batch):]
		var written []pending
		err := db.store.Update(ctx, func(t *storage.Txn) error {
			written = written[:0]
			for _, p := range batch {
				live, err := checkLive(t, p.ns)
				if err != nil {
					return err
				}
				if !live {
					continue
				}
				if err := t.Set(storage.ReadUnitsKey(p.ns.ix.id, p.ns.id), storage.EncodeUint64(p.ru)); err != nil {
					return err
				}
				written = append(written, p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range written {
			raise(&p.ns.usage.flushedReads, p.ru)
		}
	}
	return errors.Join(errs...)
}

// raise sets a to v unless it already holds more.
func raise(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if cur >= v || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// indexList returns the live indexes.
func (db *DB) indexList() []*index {
	db.mu.Lock()
	defer db.mu.Unlock()
	out := make([]*index, 0, len(db.mu.indexes))
	for _, ix := range db.mu.indexes {
		out = append(out, ix)
	}
	return out
}

// runFlusher persists read units every interval until ctx ends.
func (db *DB) runFlusher(ctx context.Context) {
	tick := time.NewTicker(db.opts.ReadUnitsFlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := db.flushReadUnits(ctx); err != nil && !errors.Is(err, storage.ErrClosed) && ctx.Err() == nil {
				db.opts.Logger.Warningf("flushing read units: %v", err)
			}
		}
	}
}
