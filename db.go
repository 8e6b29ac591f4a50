package vectordb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vectordb-go/vectordb/internal/diskguard"
	"github.com/vectordb-go/vectordb/internal/janitor"
	"github.com/vectordb-go/vectordb/internal/memory"
	"github.com/vectordb-go/vectordb/internal/sched"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// DB is an open vectordb database: a set of indexes persisted in one
// directory. It is safe for concurrent use by multiple goroutines, as are
// the Index and Namespace handles derived from it.
type DB struct {
	store *storage.Store
	opts  Options

	// life guards closed: every call holds it for reading while it runs,
	// Close takes it for writing, so Close waits for calls in flight.
	life   sync.RWMutex
	closed bool

	closeOnce sync.Once
	closeErr  error

	mu struct {
		sync.Mutex
		indexes     map[string]*indexState
		nextIndexID uint32
	}
	flusher *usage.Flusher // persists read units

	hot   *memory.HotSet[*namespaceState] // the hot namespaces, against Options.MemoryBudget
	sched *sched.Scheduler                // admits namespace operations fairly
	disk  *diskguard.Guard                // refuses growing writes on a nearly full disk; nil in memory

	janitor *janitor.Janitor // removes dropped data in the background
	bgCtx   context.Context  // cancelled by Close
	stopBG  context.CancelFunc
	bg      sync.WaitGroup
}

// Open opens the database in dir, creating the directory and an empty
// database if needed. With Options.InMemory, dir must be "". A nil opts
// means the defaults. Open reads the catalog (indexes, namespaces and
// their counters) but no vectors; a namespace's vectors are loaded on its
// first query. Open resumes any namespace or index drop that a crash
// interrupted. It returns ErrLocked if another DB has dir open, and
// ErrIncompatible if dir holds something else.
func Open(dir string, opts *Options) (*DB, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	switch {
	case o.InMemory && dir != "":
		return nil, argErr("dir", dir, "must be empty with Options.InMemory")
	case !o.InMemory && dir == "":
		return nil, argErr("dir", dir, "a directory is required unless Options.InMemory is set")
	}
	if !o.InMemory {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("vectordb: %w", err)
		}
	}
	store, err := storage.Open(o.storageOptions(dir))
	if err != nil {
		if errors.Is(err, storage.ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, fmt.Errorf("vectordb: %w", err)
	}
	db := &DB{store: store, opts: o, hot: newHotSet(&o)}
	db.janitor = janitor.New(store, janitor.Config{ReclaimMinBytes: o.ReclaimMinBytes, Logger: o.Logger})
	db.sched = sched.New(o.Concurrency, o.NamespaceConcurrency)
	if !o.InMemory {
		db.disk = diskguard.New(diskguard.Config{Dir: dir, Margin: o.MinFreeDiskBytes, Full: ErrDiskFull})
	}
	db.flusher = usage.NewFlusher(store, db.usageEntries)
	db.mu.indexes = make(map[string]*indexState)
	if err := db.load(); err != nil {
		store.Close()
		return nil, storageErr(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	db.bgCtx, db.stopBG = ctx, cancel
	db.bg.Go(func() { db.janitor.Run(ctx) })
	db.bg.Go(func() { db.flusher.Run(ctx, o.ReadUnitsFlushInterval, o.Logger) })
	db.janitor.Wake()
	return db, nil
}

// storageOptions are the storage engine's options for o, in dir.
func (o *Options) storageOptions(dir string) storage.Options {
	return storage.Options{
		Dir:            dir,
		InMemory:       o.InMemory,
		SyncWrites:     o.Durability == DurabilitySync,
		MemTableSize:   o.MemTableSize,
		NumMemtables:   o.NumMemtables,
		BlockCacheSize: o.BlockCacheSize,
		IndexCacheSize: o.IndexCacheSize,
		NumCompactors:  o.NumCompactors,
		Logger:         o.Logger,
	}
}

// Close waits for calls in flight, persists the read-unit counters and
// closes the database. Afterwards every call returns ErrClosed. Close is
// idempotent: later and concurrent calls wait for the first and return its
// result. An interrupted namespace drop resumes at the next Open. Close
// cancels IVF training in progress, but lets an index already trained
// finish being stored, so that the next Open does not retrain it.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		// Cancel background work first: a call in flight may be waiting
		// for a background IVF build (BuildIVF does), and Close waits for
		// the calls in flight.
		db.stopBG()
		db.life.Lock()
		db.closed = true
		db.life.Unlock()
		db.bg.Wait()
		ferr := db.flusher.Flush(context.Background()) // the last flush: whatever else is cancelled
		cerr := db.store.Close()
		db.closeErr = storageErr(errors.Join(ferr, cerr))
	})
	return db.closeErr
}

// enter admits a call; every successful enter is paired with leave.
func (db *DB) enter() error {
	db.life.RLock()
	if db.closed {
		db.life.RUnlock()
		return ErrClosed
	}
	return nil
}

func (db *DB) leave() { db.life.RUnlock() }

// storageErr maps storage-layer sentinels onto the package's.
func storageErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrClosed):
		return ErrClosed
	case errors.Is(err, storage.ErrCorrupt), errors.Is(err, storage.ErrBadKey):
		if !errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return err
}

// CreateIndexRequest holds the parameters of CreateIndex: the index to
// create.
type CreateIndexRequest struct {
	// Name: 1 to 45 characters of a-z, 0-9 and '-', not starting or ending
	// with '-'.
	Name string
	// Dimension of every vector, 1 to MaxDimension.
	Dimension int
	// Metric; "" means Cosine.
	Metric Metric
	// DeletionProtection makes DeleteIndex fail until it is turned off.
	DeletionProtection bool
	// Tags are free-form labels; see ConfigureIndexRequest.Tags for the rules.
	Tags map[string]string
}

// IndexDescription describes an index.
type IndexDescription struct {
	Name               string
	Dimension          int
	Metric             Metric
	DeletionProtection bool              // whether DeleteIndex is refused
	Tags               map[string]string // a copy the caller owns
	CreatedAt          time.Time
	NamespaceCount     int   // namespaces, empty ones included
	RecordCount        int64 // records across all namespaces
}

// ConfigureIndexRequest holds the parameters of ConfigureIndex: the
// index's mutable settings to change. Nil fields are left alone.
type ConfigureIndexRequest struct {
	DeletionProtection *bool
	// Tags are merged into the index's tags; an empty value removes the
	// tag. Keys are 1 to 80 characters of A-Z, a-z, 0-9, '_' and '-';
	// values at most 120 bytes of printable UTF-8; at most 20 tags.
	Tags map[string]string
}

// Tag limits.
const (
	maxTags        = 20
	maxTagKeyLen   = 80
	maxTagValueLen = 120
	maxIndexName   = 45
)

func checkIndexName(name string) error {
	if name == "" || len(name) > maxIndexName {
		return argErrf("name", name, "must be 1 to %d characters", maxIndexName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return argErr("name", name, "may hold only a-z, 0-9 and '-'")
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return argErr("name", name, "must not start or end with '-'")
	}
	return nil
}

// mergeTags applies changes to tags (a copy is returned) and validates the
// result.
func mergeTags(tags, changes map[string]string) (map[string]string, error) {
	out := maps.Clone(tags)
	if out == nil {
		out = make(map[string]string)
	}
	for k, v := range changes {
		field := fmt.Sprintf("tags[%q]", k)
		if k == "" || len(k) > maxTagKeyLen {
			return nil, argErrf("tags", k, "keys must be 1 to %d characters", maxTagKeyLen)
		}
		for _, c := range k {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return nil, argErr("tags", k, "keys may hold only A-Z, a-z, 0-9, '_' and '-'")
			}
		}
		if len(v) > maxTagValueLen {
			return nil, argErrf(field, v, "values must be at most %d bytes", maxTagValueLen)
		}
		if !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return nil, argErr(field, v, "values must be printable UTF-8")
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if len(out) > maxTags {
		return nil, argErrf("tags", nil, "an index has at most %d tags, this would make %d", maxTags, len(out))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// CreateIndex creates an index and returns a handle to it. It returns
// ErrIndexExists if the name is taken and an *ArgumentError for an invalid
// spec.
func (db *DB) CreateIndex(ctx context.Context, spec CreateIndexRequest) (*Index, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkIndexName(spec.Name); err != nil {
		return nil, err
	}
	if spec.Dimension < 1 || spec.Dimension > MaxDimension {
		return nil, argErrf("dimension", spec.Dimension, "must be 1 to %d", MaxDimension)
	}
	if spec.Metric == "" {
		spec.Metric = Cosine
	}
	if !spec.Metric.valid() {
		return nil, argErr("metric", string(spec.Metric), `must be "cosine", "euclidean" or "dotproduct"`)
	}
	if err := db.disk.Admit(catalogEntryBytes); err != nil {
		return nil, err
	}
	tags, err := mergeTags(nil, spec.Tags)
	if err != nil {
		return nil, err
	}

	db.mu.Lock()
	defer db.mu.Unlock()
	if _, ok := db.mu.indexes[spec.Name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrIndexExists, spec.Name)
	}
	now := time.Now()
	ix := &indexState{
		db: db, id: db.mu.nextIndexID, name: spec.Name, dim: spec.Dimension, metric: spec.Metric,
		createdAt: now, protection: spec.DeletionProtection, tags: tags, nextNS: 1, leasedNS: 1,
		creating: make(map[string]*nameLock),
	}
	err = db.store.Update(ctx, func(t *storage.Txn) error {
		if err := t.Set(storage.IndexKey(ix.name), ix.record().Encode()); err != nil {
			return err
		}
		if err := t.Set(storage.IndexSeqKey(), storage.EncodeUint32(ix.id+1)); err != nil {
			return err
		}
		return t.Set(storage.NamespaceSeqKey(ix.id), storage.EncodeUint32(ix.nextNS))
	})
	if err != nil {
		return nil, storageErr(err)
	}
	db.mu.nextIndexID++
	db.mu.indexes[ix.name] = ix
	return &Index{db: db, ix: ix}, nil
}

// record returns the catalog record of ix.
// REQUIRES: DB.mu held.
func (ix *indexState) record() *storage.IndexRecord {
	return &storage.IndexRecord{
		ID: ix.id, Dimension: ix.dim, Metric: string(ix.metric),
		DeletionProtection: ix.protection, Tags: ix.tags, CreatedAt: ix.createdAt.UnixNano(),
	}
}

// Index returns a handle to the index called name, or ErrIndexNotFound.
// The handle stays bound to that index: if it is deleted, the handle's
// calls return ErrIndexNotFound even if an index of the same name is
// created later. It takes no context, unlike its siblings: it is a lookup
// in memory under a short lock, which never blocks on I/O, the scheduler
// or another call, so there is nothing to cancel or bound; the calls on
// the handle take the context.
func (db *DB) Index(name string) (*Index, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	db.mu.Lock()
	defer db.mu.Unlock()
	ix, err := db.indexLocked(name)
	if err != nil {
		return nil, err
	}
	return &Index{db: db, ix: ix}, nil
}

// DescribeIndex describes the index called name.
func (db *DB) DescribeIndex(ctx context.Context, name string) (IndexDescription, error) {
	if err := db.enter(); err != nil {
		return IndexDescription{}, err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return IndexDescription{}, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	ix, err := db.indexLocked(name)
	if err != nil {
		return IndexDescription{}, err
	}
	return ix.describeLocked(), nil
}

// describeLocked returns the description of ix.
// REQUIRES: DB.mu held.
func (ix *indexState) describeLocked() IndexDescription {
	d := IndexDescription{
		Name: ix.name, Dimension: ix.dim, Metric: ix.metric, DeletionProtection: ix.protection,
		Tags: maps.Clone(ix.tags), CreatedAt: ix.createdAt,
	}
	ix.namespaces.Range(func(_, v any) bool {
		d.NamespaceCount++
		d.RecordCount += v.(*namespaceState).records.Load()
		return true
	})
	return d
}

// ListIndexes describes every index, sorted by name.
func (db *DB) ListIndexes(ctx context.Context) ([]IndexDescription, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	out := make([]IndexDescription, 0, len(db.mu.indexes))
	for _, name := range slices.Sorted(maps.Keys(db.mu.indexes)) {
		out = append(out, db.mu.indexes[name].describeLocked())
	}
	return out, nil
}

// ConfigureIndex changes the deletion protection or tags of the index
// called name and returns its new description.
func (db *DB) ConfigureIndex(ctx context.Context, name string, cfg ConfigureIndexRequest) (IndexDescription, error) {
	if err := db.enter(); err != nil {
		return IndexDescription{}, err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return IndexDescription{}, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	ix, err := db.indexLocked(name)
	if err != nil {
		return IndexDescription{}, err
	}
	tags, err := mergeTags(ix.tags, cfg.Tags)
	if err != nil {
		return IndexDescription{}, err
	}
	rec := ix.record()
	rec.Tags = tags
	if cfg.DeletionProtection != nil {
		rec.DeletionProtection = *cfg.DeletionProtection
	}
	err = db.store.Update(ctx, func(t *storage.Txn) error { return t.Set(storage.IndexKey(name), rec.Encode()) })
	if err != nil {
		return IndexDescription{}, storageErr(err)
	}
	ix.tags, ix.protection = tags, rec.DeletionProtection
	return ix.describeLocked(), nil
}

// indexLocked returns the index called name, or ErrIndexNotFound.
// REQUIRES: DB.mu held.
func (db *DB) indexLocked(name string) (*indexState, error) {
	ix, ok := db.mu.indexes[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	return ix, nil
}

// deletableLocked returns the index called name if it may be deleted; with
// want set, only if it is still that index.
// REQUIRES: DB.mu held.
func (db *DB) deletableLocked(name string, want *indexState) (*indexState, error) {
	ix, err := db.indexLocked(name)
	if err != nil {
		return nil, err
	}
	if want != nil && ix != want {
		return nil, fmt.Errorf("%w: %q", ErrIndexNotFound, name)
	}
	if ix.protection {
		return nil, fmt.Errorf("%w: %q; turn deletion protection off with ConfigureIndex first", ErrDeletionProtected, name)
	}
	return ix, nil
}

// DeleteIndex deletes the index called name with all its namespaces. It
// returns once the index is gone from the catalog, which is at once
// durable; its data is removed in the background without blocking other
// indexes' writes. It returns ErrDeletionProtected if the index has
// deletion protection.
func (db *DB) DeleteIndex(ctx context.Context, name string) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	// Find the index, then wait for its writers without holding DB.mu, so
	// that other indexes' catalog calls do not wait with us; then check
	// again under DB.mu.
	db.mu.Lock()
	ix, err := db.deletableLocked(name, nil)
	db.mu.Unlock()
	if err != nil {
		return err
	}
	ix.gate.Lock()
	defer ix.gate.Unlock()
	db.mu.Lock()
	defer db.mu.Unlock()
	if _, err := db.deletableLocked(name, ix); err != nil {
		return err
	}
	drop := storage.DropRecord{Prefixes: [][]byte{
		storage.IndexDataPrefix(ix.id),
		storage.NamespaceCatalogPrefix(ix.id),
		storage.StatsPrefix(ix.id),
		storage.ReadUnitsPrefix(ix.id),
		storage.NamespaceSeqKey(ix.id),
	}}
	err = db.store.Update(ctx, func(t *storage.Txn) error {
		if err := t.Delete(storage.IndexKey(name)); err != nil {
			return err
		}
		return db.janitor.Put(t, &drop)
	})
	if err != nil {
		return storageErr(err)
	}
	ix.dropped.Store(true)
	ix.namespaces.Range(func(_, v any) bool {
		v.(*namespaceState).markGone()
		return true
	})
	delete(db.mu.indexes, name)
	db.dropIndexHot(ix)
	db.janitor.Wake()
	return nil
}
