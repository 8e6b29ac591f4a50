package janitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// dropChunkBytes bounds the keys one janitor transaction deletes. A
// tombstone costs its key plus 12 bytes of transaction budget; 1 MiB of
// keys keeps each commit short (a few milliseconds) however large the
// namespace.
const dropChunkBytes = 1 << 20

// retryAfter is how long the janitor waits after a failed pass.
const retryAfter = 5 * time.Second

// vlogGCInterval paces value-log garbage collection. vectordb's values
// stay inline in the LSM tree (see storage.Open), so the value log only
// ever holds values above a small memtable's threshold; Badger never
// collects it on its own, so the janitor does, rarely.
const vlogGCInterval = 10 * time.Minute

// Logger receives the janitor's warnings: a failed pass, to be retried,
// or a failed value-log collection.
type Logger interface {
	Warningf(format string, args ...any)
}

// Config configures a Janitor.
type Config struct {
	// ReclaimMinBytes is the prefix size from which a drop uses
	// DropPrefix; negative: never (tombstones only).
	ReclaimMinBytes int64
	// Logger receives warnings; required.
	Logger Logger
}

// Janitor removes dropped prefixes in the background.
type Janitor struct {
	store  *storage.Store
	cfg    Config
	wake   chan struct{}
	nextID atomic.Uint64 // the id of the next drop record

	retry time.Duration // retryAfter; shortened in tests
}

// New returns a janitor for store; Run starts its work.
func New(store *storage.Store, cfg Config) *Janitor {
	return &Janitor{store: store, cfg: cfg, wake: make(chan struct{}, 1), retry: retryAfter}
}

// LoadIDs reads the pending drop records' ids in t so that Put never
// reuses one. Open calls it, with the rest of the catalog, before any Put.
func (j *Janitor) LoadIDs(t *storage.Txn) error {
	return t.Iterate(storage.IterOptions{Prefix: storage.DropPrefix(), KeysOnly: true}, func(k, _ []byte) (bool, error) {
		id, err := storage.DropIDFromKey(k)
		if err != nil {
			return false, err
		}
		if id >= j.nextID.Load() {
			j.nextID.Store(id + 1)
		}
		return true, nil
	})
}

// DropStaged turns the staging keys of imports that never finished (the
// process stopped) into pending drops of their namespaces' data. Open
// calls it after LoadIDs and before any import can start. A malformed
// staging key is a *storage.CorruptError.
func (j *Janitor) DropStaged(ctx context.Context) error {
	var keys [][]byte
	err := j.store.View(func(t *storage.Txn) error {
		return t.Iterate(storage.IterOptions{Prefix: storage.StagingPrefix(), KeysOnly: true}, func(k, _ []byte) (bool, error) {
			keys = append(keys, bytes.Clone(k))
			return true, nil
		})
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	return j.store.Update(ctx, func(t *storage.Txn) error {
		for _, k := range keys {
			ixID, nsID, err := storage.IDPairFromKey(k)
			if err != nil {
				return &storage.CorruptError{What: fmt.Sprintf("staging key %x", k)}
			}
			if err := t.Delete(k); err != nil {
				return err
			}
			if err := j.Put(t, &storage.DropRecord{Prefixes: [][]byte{storage.NamespaceDataPrefix(ixID, nsID)}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// NextID returns the id the next Put will use.
func (j *Janitor) NextID() uint64 { return j.nextID.Load() }

// Put writes r under a new drop id in t. Wake the janitor once t commits.
func (j *Janitor) Put(t *storage.Txn, r *storage.DropRecord) error {
	id := j.nextID.Add(1) - 1
	return t.Set(storage.DropKey(id), r.Encode())
}

// Wake asks Run for a pass; it never blocks.
func (j *Janitor) Wake() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// Run processes pending drops whenever woken, retrying a failed pass
// later, and collects the value log now and then, until ctx ends.
func (j *Janitor) Run(ctx context.Context) {
	var retry <-chan time.Time
	gc := time.NewTicker(vlogGCInterval)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-gc.C:
			j.collectValueLog()
			continue
		case <-j.wake:
		case <-retry:
		}
		retry = nil
		if err := j.process(ctx); err != nil && ctx.Err() == nil {
			j.cfg.Logger.Warningf("removing dropped data (will retry): %v", err)
			retry = time.After(j.retry)
		}
	}
}

// collectValueLog rewrites value-log files while at least half of one is
// garbage.
func (j *Janitor) collectValueLog() {
	for range 16 {
		if err := j.store.RunValueLogGC(0.5); err != nil {
			if !errors.Is(err, storage.ErrNoGarbage) {
				j.cfg.Logger.Warningf("value log gc: %v", err)
			}
			return
		}
	}
}

// process completes every pending drop.
func (j *Janitor) process(ctx context.Context) error {
	type drop struct {
		key []byte
		rec storage.DropRecord
	}
	var drops []drop
	err := j.store.View(func(t *storage.Txn) error {
		return t.Iterate(storage.IterOptions{Prefix: storage.DropPrefix()}, func(k, v []byte) (bool, error) {
			r, err := storage.DecodeDropRecord(v)
			if err != nil {
				return false, err
			}
			drops = append(drops, drop{bytes.Clone(k), r})
			return true, nil
		})
	})
	if err != nil {
		return err
	}
	for _, d := range drops {
		for _, p := range d.rec.Prefixes {
			if min := j.cfg.ReclaimMinBytes; min >= 0 {
				size, err := j.store.PrefixBytes(ctx, p, min)
				if err != nil {
					return err
				}
				if size >= min {
					if err := j.store.DropPrefix(ctx, p); err != nil {
						return err
					}
				}
			}
			// Tombstones for whatever is left (all of a small prefix).
			if err := j.store.DeletePrefix(ctx, p, dropChunkBytes); err != nil {
				return err
			}
		}
		// Verify with a fresh scan of every prefix before forgetting the
		// drop: nothing may be left behind.
		for _, p := range d.rec.Prefixes {
			empty, err := j.store.PrefixEmpty(p)
			if err != nil {
				return err
			}
			if !empty {
				j.Wake()
				return nil
			}
		}
		if err := j.store.Update(ctx, func(t *storage.Txn) error { return t.Delete(d.key) }); err != nil {
			return err
		}
	}
	return nil
}

// Pending returns how many drops are not yet complete; tests and
// benchmarks use it to wait for the janitor.
func (j *Janitor) Pending() (int, error) {
	n := 0
	err := j.store.View(func(t *storage.Txn) error {
		return t.Iterate(storage.IterOptions{Prefix: storage.DropPrefix(), KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	return n, err
}
