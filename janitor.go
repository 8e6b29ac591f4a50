package vectordb

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// Dropping data. DeleteNamespace, DeleteAll and DeleteIndex remove the
// catalog entries and write a pending-drop record in one transaction, so
// the data is unreachable at once and its removal survives a crash. The
// janitor goroutine then removes each dropped prefix, checks with a scan
// that nothing is left, and only then deletes the pending-drop record.
// Open wakes it, so an interrupted drop resumes.
//
// A prefix of Options.ReclaimMinBytes or more goes with Badger's
// DropPrefix, which drops whole tables and so gives the disk space back at
// once. It makes every storage read and write of the database wait while
// it runs (writers retry: see storage.Store.Update), and waits itself for
// the transactions begun before it (a snapshot that saw the namespace live
// keeps its keys). Smaller prefixes, whose space matters less, are deleted
// with tombstones in bounded transactions that interleave with other
// tenants' writes; their space comes back as compactions pass (at the
// bottom level only with a later DropPrefix: Badger #2329).

// dropChunkBytes bounds the keys one janitor transaction deletes. A
// tombstone costs its key plus 12 bytes of transaction budget; 1 MiB of
// keys keeps each commit short (a few milliseconds) however large the
// namespace.
const dropChunkBytes = 1 << 20

// janitorRetry is how long the janitor waits after a failed pass.
const janitorRetry = 5 * time.Second

// vlogGCInterval paces value-log garbage collection. vectordb's values
// stay inline in the LSM tree (see storage.Open), so the value log only
// ever holds values above a small memtable's threshold; Badger never
// collects it on its own, so the janitor does, rarely.
const vlogGCInterval = 10 * time.Minute

// putDrop writes r under a new drop id in t.
func (db *DB) putDrop(t *storage.Txn, r *storage.DropRecord) error {
	id := db.nextDropID.Add(1) - 1
	return t.Set(storage.DropKey(id), r.Encode())
}

func (db *DB) wakeJanitor() {
	select {
	case db.janitorWake <- struct{}{}:
	default:
	}
}

// runJanitor processes pending drops whenever woken, until ctx ends.
func (db *DB) runJanitor(ctx context.Context) {
	var retry <-chan time.Time
	gc := time.NewTicker(vlogGCInterval)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-gc.C:
			db.collectValueLog()
			continue
		case <-db.janitorWake:
		case <-retry:
		}
		retry = nil
		if err := db.processDrops(ctx); err != nil && ctx.Err() == nil {
			db.opts.Logger.Warningf("removing dropped data (will retry): %v", err)
			retry = time.After(janitorRetry)
		}
	}
}

// collectValueLog rewrites value-log files while at least half of one is
// garbage.
func (db *DB) collectValueLog() {
	for range 16 {
		if err := db.store.RunValueLogGC(0.5); err != nil {
			if !errors.Is(err, storage.ErrNoGarbage) {
				db.opts.Logger.Warningf("value log gc: %v", err)
			}
			return
		}
	}
}

// processDrops completes every pending drop.
func (db *DB) processDrops(ctx context.Context) error {
	type drop struct {
		key []byte
		rec storage.DropRecord
	}
	var drops []drop
	err := db.store.View(func(t *storage.Txn) error {
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
			if min := db.opts.ReclaimMinBytes; min >= 0 {
				size, err := db.store.PrefixBytes(ctx, p, min)
				if err != nil {
					return err
				}
				if size >= min {
					if err := db.store.DropPrefix(ctx, p); err != nil {
						return err
					}
				}
			}
			// Tombstones for whatever is left (all of a small prefix).
			if err := db.store.DeletePrefix(ctx, p, dropChunkBytes); err != nil {
				return err
			}
		}
		// Verify with a fresh scan of every prefix before forgetting the
		// drop: nothing may be left behind.
		for _, p := range d.rec.Prefixes {
			empty, err := db.store.PrefixEmpty(p)
			if err != nil {
				return err
			}
			if !empty {
				db.wakeJanitor()
				return nil
			}
		}
		if err := db.store.Update(ctx, func(t *storage.Txn) error { return t.Delete(d.key) }); err != nil {
			return err
		}
	}
	return nil
}

// pendingDrops reports how many drops are not yet complete; tests and
// benchmarks use it to wait for the janitor.
func (db *DB) pendingDrops() (int, error) {
	n := 0
	err := db.store.View(func(t *storage.Txn) error {
		return t.Iterate(storage.IterOptions{Prefix: storage.DropPrefix(), KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	return n, err
}
