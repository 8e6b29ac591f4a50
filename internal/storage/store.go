package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Errors at the storage boundary. Badger's own errors are translated into
// these (or wrapped with %v, never %w) so that callers can rely on errors.Is
// against this package's sentinels only.
var (
	// ErrClosed is returned when the store has been closed.
	ErrClosed = errors.New("storage: closed")
	// ErrTxnTooBig is returned when a transaction exceeds Badger's size cap.
	ErrTxnTooBig = errors.New("storage: transaction too big")
	// ErrConflict is returned when a transaction still conflicts after retries.
	ErrConflict = errors.New("storage: transaction conflict")
	// ErrLocked is returned by Open when another process (or another Open in
	// this process) holds the directory.
	ErrLocked = errors.New("storage: directory is in use by another process")
)

// Options configure a Store. Zero sizes take the documented defaults of the
// root package's Options, which fills them in.
type Options struct {
	Dir            string
	InMemory       bool
	SyncWrites     bool
	MemTableSize   int64
	NumMemtables   int
	BlockCacheSize int64
	IndexCacheSize int64
	NumCompactors  int
	Logger         badger.Logger // vectordb.Logger, which has the same method set
}

// Store is an open Badger database. It is safe for concurrent use by
// multiple goroutines.
type Store struct {
	db    *badger.DB
	snaps snapshots
	gate  writeGate
	fault atomic.Pointer[FaultHook] // nil: no injected faults
}

// FaultHook is called before each storage operation ("view", "update",
// "snapshot", "get", "iterate", "set", "delete", "commit"); a non-nil error
// fails the operation with it. It is for tests that inject faults at the
// storage boundary (see SetFaultHook); it may be called concurrently.
type FaultHook func(op string) error

// SetFaultHook installs h (nil removes it). For tests only.
func (s *Store) SetFaultHook(h FaultHook) {
	if h == nil {
		s.fault.Store(nil)
		return
	}
	s.fault.Store(&h)
}

// injected returns the fault the hook injects into op, if any.
func (s *Store) injected(op string) error {
	if h := s.fault.Load(); h != nil {
		return (*h)(op)
	}
	return nil
}

// snapshots tracks the open transactions in the order they began. Badger's
// DropPrefix removes keys from under every snapshot, even one that began
// before the data was unlinked, so DropPrefix first waits for the
// transactions that began before it to end.
type snapshots struct {
	mu   sync.Mutex
	next uint64
	open map[uint64]struct{}
}

// begin registers a transaction and returns its sequence number.
func (s *snapshots) begin() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		s.open = make(map[uint64]struct{})
	}
	id := s.next
	s.next++
	s.open[id] = struct{}{}
	return id
}

func (s *snapshots) end(id uint64) {
	s.mu.Lock()
	delete(s.open, id)
	s.mu.Unlock()
}

// waitBegunBefore waits until every transaction that began before now has
// ended, polling, or until ctx ends.
func (s *snapshots) waitBegunBefore(ctx context.Context) error {
	s.mu.Lock()
	mark := s.next
	s.mu.Unlock()
	for {
		s.mu.Lock()
		busy := false
		for id := range s.open {
			if id < mark {
				busy = true
				break
			}
		}
		s.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// conflictRetries bounds Update's retries on ErrConflict. vectordb
// serializes writers of one key range in memory, so a conflict is rare;
// with the backoff (up to 64 ms apart) the retries span seconds.
const conflictRetries = 32

// Open opens (creating if needed) the Badger database described by o.
func Open(o Options) (*Store, error) {
	bo := badger.DefaultOptions(o.Dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(o.SyncWrites).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(o.NumMemtables).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(o.IndexCacheSize).
		WithNumCompactors(o.NumCompactors).
		WithMetricsEnabled(false).
		// Verify each block's checksum as it is read: without it a
		// damaged table hands back wrong values silently.
		WithChecksumVerificationMode(options.OnBlockRead).
		WithLogger(o.Logger).
		// Keep every value inline in the LSM tree (vectordb's values are at
		// most ~140 KB: 20000 dimensions plus sparse values, or 40 KB of
		// metadata); Badger caps the threshold at its transaction size.
		WithValueThreshold(min(1<<20, 15*o.MemTableSize/100-1))
	if o.BlockCacheSize == 0 {
		// Badger wants a block cache when blocks are compressed. Vectors
		// are float32 noise that compress poorly, so compression off costs
		// little disk and lets reads go straight to the mmapped tables.
		bo = bo.WithCompression(options.None)
	}
	if o.InMemory {
		bo = bo.WithDir("").WithValueDir("")
	}
	db, err := badger.Open(bo)
	if err != nil && isNewFileError(err) {
		// Badger #2207: a process killed between creating a .mem file and
		// writing it makes the next Open fail once; the retry succeeds.
		db, err = badger.Open(bo)
	}
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("%w: %s", ErrLocked, o.Dir)
		}
		return nil, fmt.Errorf("storage: open %s: %v", o.Dir, err)
	}
	return &Store{db: db}, nil
}

func isNewFileError(err error) bool {
	return strings.Contains(err.Error(), "Create a new file")
}

// Close flushes and closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage: close: %v", err)
	}
	return nil
}

// MaxTxnBytes is Badger's per-transaction size cap in its own accounting:
// each Set counts len(key) + len(value) + TxnEntryOverhead.
func (s *Store) MaxTxnBytes() int64 { return s.db.MaxBatchSize() }

// MaxTxnEntries is Badger's per-transaction entry cap.
func (s *Store) MaxTxnEntries() int64 { return s.db.MaxBatchCount() }

// TxnEntryOverhead is what Badger adds per entry when it sizes a transaction.
const TxnEntryOverhead = 12

// Sync forces written data to disk (meaningful with SyncWrites off).
func (s *Store) Sync() error { return translate("sync", s.db.Sync()) }

// VerifyChecksum verifies the checksum of every table.
func (s *Store) VerifyChecksum() error { return translate("verify", s.db.VerifyChecksum()) }

// Size reports Badger's estimate of the LSM and value-log sizes in bytes.
func (s *Store) Size() (lsm, vlog int64) { return s.db.Size() }

// CompactionDue reports whether Badger's compactors have work due: a
// level (other than the last) at or over its target, by the score they
// pick levels with. For tests, which wait on it for background compaction
// to settle.
func (s *Store) CompactionDue() bool {
	for _, l := range s.db.Levels() {
		if l.Score >= 1 {
			return true
		}
	}
	return false
}

// ErrNoGarbage is returned by RunValueLogGC when there was nothing to
// collect (or collection does not apply, as in memory).
var ErrNoGarbage = errors.New("storage: no value log garbage")

// RunValueLogGC runs one pass of value-log garbage collection; a nil error
// means a file was rewritten and another pass may find more.
func (s *Store) RunValueLogGC(discardRatio float64) error {
	err := s.db.RunValueLogGC(discardRatio)
	if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrGCInMemoryMode) || errors.Is(err, badger.ErrRejected) {
		return ErrNoGarbage
	}
	return translate("value log gc", err)
}

// View runs fn in a read-only snapshot transaction.
func (s *Store) View(fn func(*Txn) error) error {
	if err := s.injected("view"); err != nil {
		return err
	}
	id := s.snaps.begin()
	defer s.snaps.end(id)
	return translate("view", s.db.View(s.wrap(fn)))
}

// wrap marks fn's own errors so that translate hands them back unchanged.
func (s *Store) wrap(fn func(*Txn) error) func(*badger.Txn) error {
	return func(t *badger.Txn) error {
		if err := fn(&Txn{t: t, s: s}); err != nil {
			return &passthrough{err}
		}
		if err := s.injected("commit"); err != nil {
			return &passthrough{err} // fails the transaction as its commit would
		}
		return nil
	}
}

// Update runs fn in a read-write transaction and commits it, retrying the
// whole of fn on a conflict; fn must therefore compute everything it
// writes inside the transaction. While a DropPrefix runs, Update waits
// for it (see writeGate). The first attempt runs whatever ctx says; once
// ctx is done Update stops waiting and retrying and returns ctx's error,
// having committed nothing.
func (s *Store) Update(ctx context.Context, fn func(*Txn) error) error {
	for conflicts := 0; ; {
		if err := s.injected("update"); err != nil {
			return err
		}
		if err := s.gate.enter(ctx); err != nil {
			return err
		}
		id := s.snaps.begin()
		err := s.db.Update(s.wrap(fn))
		s.snaps.end(id)
		s.gate.exit()
		if !errors.Is(err, badger.ErrConflict) {
			return translate("commit", err)
		}
		if conflicts++; conflicts == conflictRetries {
			return ErrConflict
		}
		// Back off, with jitter, so that the writers that collided do
		// not collide again in lockstep.
		if err := sleep(ctx, time.Duration(rand.Int64N(int64(time.Millisecond)<<min(conflicts, 6)))); err != nil {
			return err
		}
	}
}

// sleep waits for d, or until ctx is done, and returns ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DropPrefix removes every key under prefix by dropping whole tables and
// rewriting the tables that straddle it, which gives the space back at
// once, unlike tombstones (which reclaim nothing until a compaction merges
// them with the data, and at the bottom level never: Badger #2329). While
// it runs every writer of the database waits (see writeGate), and so does
// every read of the storage (Badger holds its memtables' lock while it
// flushes them). It removes keys from under open snapshots too, so it
// first waits for the transactions begun before it to end: callers make
// the data unreachable in a committed transaction first, so that later
// ones do not look. It is not atomic across a crash: callers verify with
// PrefixEmpty after.
func (s *Store) DropPrefix(ctx context.Context, prefix []byte) error {
	if err := s.snaps.waitBegunBefore(ctx); err != nil {
		return err
	}
	if err := s.gate.close(ctx); err != nil {
		return err
	}
	defer s.gate.open()
	return translate("drop prefix", s.db.DropPrefix(prefix))
}

// PrefixBytes returns the bytes of the keys and values under prefix, from
// a scan of the keys (values are not read), or a number at least limit
// once it has counted that much.
func (s *Store) PrefixBytes(ctx context.Context, prefix []byte, limit int64) (int64, error) {
	var n int64
	err := s.View(func(t *Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix, o.PrefetchValues = prefix, false
		it := t.t.NewIterator(o)
		defer it.Close()
		i := 0
		for it.Rewind(); it.Valid(); it.Next() {
			if i++; i%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if n += it.Item().EstimatedSize(); n >= limit {
				return nil
			}
		}
		return nil
	})
	return n, err
}

// TablesSize returns the bytes of the tables that hold only keys under
// prefix: what a DropPrefix of it gives back at once, without rewriting
// any table.
func (s *Store) TablesSize(prefix []byte) int64 {
	onDisk, _ := s.db.EstimateSize(prefix)
	return int64(onDisk)
}

// Snapshot opens a read-only transaction at the current point in time.
// The caller must Discard it. Use it where the moment the snapshot is taken
// matters (View takes it on entry too, but inside a callback).
func (s *Store) Snapshot() *Txn {
	id := s.snaps.begin()
	return &Txn{t: s.db.NewTransaction(false), s: s, snaps: &s.snaps, id: id}
}

// Discard ends a transaction from Snapshot.
func (t *Txn) Discard() {
	t.t.Discard()
	if t.snaps != nil {
		t.snaps.end(t.id)
		t.snaps = nil
	}
}

// Txn is a transaction. It is not safe for concurrent use.
type Txn struct {
	t     *badger.Txn
	s     *Store
	snaps *snapshots // set for a Snapshot, which Discard unregisters
	id    uint64
}

// Get calls fn with the value stored under key and reports whether the key
// exists. The value is valid only during fn.
func (t *Txn) Get(key []byte, fn func(val []byte) error) (bool, error) {
	if err := t.s.injected("get"); err != nil {
		return false, err
	}
	item, err := t.t.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, translate("get", err)
	}
	if fn == nil {
		return true, nil
	}
	return true, item.Value(fn)
}

// GetCopy returns a copy of the value stored under key, or nil and false.
func (t *Txn) GetCopy(key []byte) ([]byte, bool, error) {
	var out []byte
	ok, err := t.Get(key, func(v []byte) error {
		out = bytes.Clone(v)
		return nil
	})
	return out, ok, err
}

// Set stores val under key.
func (t *Txn) Set(key, val []byte) error {
	if err := t.s.injected("set"); err != nil {
		return err
	}
	return translate("set", t.t.Set(key, val))
}

// Delete removes key.
func (t *Txn) Delete(key []byte) error {
	if err := t.s.injected("delete"); err != nil {
		return err
	}
	return translate("delete", t.t.Delete(key))
}

// IterOptions select the keys Iterate visits.
type IterOptions struct {
	Prefix   []byte // only keys with this prefix
	Start    []byte // visit keys at or after Start (and Prefix)
	KeysOnly bool   // do not read values; fn gets nil values
	Prefetch int    // values to prefetch ahead; 0 means none (values read in place)
}

// Iterate calls fn for each key in order until fn returns false or an
// error. Key and value are valid only during fn.
func (t *Txn) Iterate(o IterOptions, fn func(key, val []byte) (bool, error)) error {
	if err := t.s.injected("iterate"); err != nil {
		return err
	}
	io := badger.DefaultIteratorOptions
	io.Prefix = o.Prefix
	io.PrefetchValues = o.Prefetch > 0 && !o.KeysOnly
	if io.PrefetchValues {
		io.PrefetchSize = o.Prefetch
	}
	it := t.t.NewIterator(io)
	defer it.Close()
	start := o.Start
	if bytes.Compare(start, o.Prefix) < 0 {
		start = o.Prefix
	}
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		var (
			more bool
			err  error
		)
		if o.KeysOnly {
			more, err = fn(item.Key(), nil)
		} else {
			err = item.Value(func(v []byte) error {
				var ferr error
				more, ferr = fn(item.Key(), v)
				return ferr
			})
		}
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// Cursor walks the keys under a prefix in order, for callers that merge
// several ranges (Iterate walks one). Close it before the transaction ends.
type Cursor struct {
	it     *badger.Iterator
	prefix []byte
}

// Cursor returns a cursor at the first key under prefix at or after start.
func (t *Txn) Cursor(prefix, start []byte) (*Cursor, error) {
	if err := t.s.injected("iterate"); err != nil {
		return nil, err
	}
	io := badger.DefaultIteratorOptions
	io.Prefix = prefix
	io.PrefetchValues = false
	c := &Cursor{it: t.t.NewIterator(io), prefix: prefix}
	if bytes.Compare(start, prefix) < 0 {
		start = prefix
	}
	c.it.Seek(start)
	return c, nil
}

// Valid reports whether the cursor is at a key.
func (c *Cursor) Valid() bool { return c.it.Valid() }

// Key returns the current key, valid until the cursor moves.
func (c *Cursor) Key() []byte { return c.it.Item().Key() }

// Value calls fn with the current value, valid only during fn.
func (c *Cursor) Value(fn func([]byte) error) error { return translate("get", c.it.Item().Value(fn)) }

// Next moves to the next key.
func (c *Cursor) Next() { c.it.Next() }

// Seek moves to the first key at or after key.
func (c *Cursor) Seek(key []byte) { c.it.Seek(key) }

// Close releases the cursor.
func (c *Cursor) Close() { c.it.Close() }

// translate maps Badger's errors to this package's; nil stays nil.
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrTxnTooBig):
		return ErrTxnTooBig
	case errors.Is(err, badger.ErrConflict):
		return ErrConflict
	case errors.Is(err, badger.ErrDBClosed), errors.Is(err, badger.ErrBlockedWrites):
		// Only Close blocks writes outside writeGate.
		return ErrClosed
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrBadKey):
		return err
	}
	var ours *passthrough
	if errors.As(err, &ours) {
		return ours.err
	}
	return fmt.Errorf("storage: %s: %v", op, err)
}

// passthrough carries a caller's error through Badger unchanged.
type passthrough struct{ err error }

func (p *passthrough) Error() string { return p.err.Error() }

// DeletePrefix deletes every key under prefix in transactions of at most
// maxBytes of keys each (and within Badger's transaction caps), so that
// other writers interleave with it rather than wait (unlike Badger's
// DropPrefix, which blocks every writer of the database while it runs). It
// returns when a pass finds nothing more; the caller verifies emptiness
// with PrefixEmpty (the janitor does, and starts over if a key is left).
func (s *Store) DeletePrefix(ctx context.Context, prefix []byte, maxBytes int) error {
	maxBytes = min(maxBytes, int(s.MaxTxnBytes()/2))
	maxKeys := int(s.MaxTxnEntries() / 2)
	var start []byte // each pass resumes after the keys already deleted
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var keys [][]byte
		size := 0
		err := s.View(func(t *Txn) error {
			return t.Iterate(IterOptions{Prefix: prefix, Start: start, KeysOnly: true}, func(k, _ []byte) (bool, error) {
				keys = append(keys, bytes.Clone(k))
				size += len(k) + TxnEntryOverhead
				return size < maxBytes && len(keys) < maxKeys, nil
			})
		})
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		err = s.Update(ctx, func(t *Txn) error {
			for _, k := range keys {
				if err := t.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		start = append(keys[len(keys)-1], 0)
	}
}

// PrefixEmpty reports whether no key exists under prefix.
func (s *Store) PrefixEmpty(prefix []byte) (bool, error) {
	empty := true
	err := s.View(func(t *Txn) error {
		return t.Iterate(IterOptions{Prefix: prefix, KeysOnly: true}, func(_, _ []byte) (bool, error) {
			empty = false
			return false, nil
		})
	})
	return empty, err
}
