package vectordb

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vectordb-go/vectordb/internal/segment"
)

// The memory budget. The storage engine's expected share is set aside from
// Options.MemoryBudget (storageReserve); hot segments (vectors, ids, IVF
// lists) are accounted against the rest, the hot budget; when the total
// passes it, the least
// recently used hot namespaces are evicted to cold (their segment dropped,
// to be loaded again by their next query) until it is back under
// evictTarget of the budget, so that eviction runs in batches rather than
// at every load. The namespace being loaded or written is never the one
// evicted for it: a namespace larger than the budget is still served, and
// evicted once another needs the room.

// evictTarget: eviction frees memory down to this share of the budget.
const evictTarget = 0.9

// storageReserve is the memory the storage engine holds under a steady
// write load: its memtables, plus the buffers of its flushes and
// compactions (pooled table builders that grow with the tables they
// write), with the Go collector's slack around them: eight memtables'
// worth, at most 192 MiB. Fitted to cmd/soak runs (benchmarks/README.md):
// with hot segments under their budget, the rest of the process peaked at
// about 100 MiB with 8 MiB memtables, 230 MiB with 16 MiB and 320 MiB with
// 64 MiB. It is an estimate, not a cap: the storage engine does not let
// those buffers be bounded.
func storageReserve(o *Options) int64 {
	return int64(o.NumMemtables)*o.MemTableSize + min(8*o.MemTableSize, maxBuilderReserve)
}

// maxBuilderReserve caps the table-builder share of storageReserve.
const maxBuilderReserve = 192 << 20

// hotBudget is the share of o.MemoryBudget for hot segments: the budget
// less the storage reserve, but never under a quarter of the budget; 0
// for none.
func hotBudget(o *Options) int64 {
	if o.MemoryBudget <= 0 {
		return 0
	}
	return max(o.MemoryBudget-storageReserve(o), o.MemoryBudget/4)
}

// hotSet tracks the hot namespaces of a DB.
type hotSet struct {
	mu   sync.Mutex
	nss  map[*namespace]struct{} // guarded by mu
	used atomic.Int64            // bytes accounted to hot segments
	// evictions counts namespaces evicted since Open.
	evictions atomic.Uint64
}

// DBStats describes a database's memory use.
type DBStats struct {
	// HotNamespaces is how many namespaces have their vectors in memory.
	HotNamespaces int
	// HotBytes is the memory accounted to them (see Options.MemoryBudget).
	HotBytes int64
	// MemoryBudget is the budget in force; 0 means none.
	MemoryBudget int64
	// StorageReserve is the storage engine's expected memory, set aside
	// from the budget: its memtables plus eight memtables' worth (at most
	// 192 MiB) for flushes and compactions; an estimate, not a cap.
	StorageReserve int64
	// HotBudget is the rest of the budget, for hot namespaces: at least
	// a quarter of it; 0 means none.
	HotBudget int64
	// Evictions counts the namespaces evicted to cold since Open.
	Evictions uint64
}

// Stats reports the database's memory use. It does no I/O; like its
// siblings (DescribeStats and the other Describe calls) it takes a
// context, and fails with ctx's error if ctx is already done.
func (db *DB) Stats(ctx context.Context) (DBStats, error) {
	if err := db.enter(); err != nil {
		return DBStats{}, err
	}
	defer db.leave()
	if err := ctx.Err(); err != nil {
		return DBStats{}, err
	}
	db.hot.mu.Lock()
	n := len(db.hot.nss)
	db.hot.mu.Unlock()
	return DBStats{
		HotNamespaces:  n,
		HotBytes:       db.hot.used.Load(),
		MemoryBudget:   max(0, db.opts.MemoryBudget),
		StorageReserve: storageReserve(&db.opts),
		HotBudget:      hotBudget(&db.opts),
		Evictions:      db.hot.evictions.Load(),
	}, nil
}

// addHot registers ns, just made hot with seg, and accounts seg. A
// namespace of an index already dropped is not registered: DeleteIndex
// sets ix.dropped before dropIndexHot takes hot.mu, so a load racing it
// is either forgotten by dropIndexHot or sees the flag here.
// REQUIRES: ns.writeMu held.
func (db *DB) addHot(ns *namespace, seg *segment.Segment) {
	ns.used.Store(time.Now().UnixNano())
	db.hot.mu.Lock()
	if ns.ix.dropped.Load() {
		db.hot.mu.Unlock()
		return
	}
	db.hot.nss[ns] = struct{}{}
	db.hot.mu.Unlock()
	db.reaccount(ns, seg)
}

// reaccount brings ns's accounted bytes up to date with seg, after a load
// or a write. A namespace no longer in the hot set (evicted or dropped
// meanwhile) is left alone, so that its bytes are never added back.
// Accounting changes happen under hot.mu: used is always the sum of the
// members' accounted bytes.
func (db *DB) reaccount(ns *namespace, seg *segment.Segment) {
	b := seg.AccountedBytes()
	db.hot.mu.Lock()
	defer db.hot.mu.Unlock()
	if _, ok := db.hot.nss[ns]; !ok {
		return
	}
	if old := ns.accounted.Swap(b); old != b {
		db.hot.used.Add(b - old)
	}
}

// dropHot forgets ns, cold again or dropped, and its accounted bytes.
func (db *DB) dropHot(ns *namespace) {
	db.hot.mu.Lock()
	defer db.hot.mu.Unlock()
	if _, ok := db.hot.nss[ns]; ok {
		delete(db.hot.nss, ns)
		db.hot.used.Add(-ns.accounted.Swap(0))
	}
}

// dropIndexHot forgets every hot namespace of ix, which was just dropped
// (ix.dropped is set).
func (db *DB) dropIndexHot(ix *index) {
	db.hot.mu.Lock()
	defer db.hot.mu.Unlock()
	for ns := range db.hot.nss {
		if ns.ix == ix {
			delete(db.hot.nss, ns)
			db.hot.used.Add(-ns.accounted.Swap(0))
		}
	}
}

// overBudget reports whether the hot segments exceed the budget.
func (db *DB) overBudget() bool {
	b := hotBudget(&db.opts)
	return b > 0 && db.hot.used.Load() > b
}

// enforceBudget evicts least recently used hot namespaces, other than
// keep, until the accounted bytes are under evictTarget of the budget.
// A namespace that is being loaded or written (its writer lock is busy)
// or has an IVF build or store running (its build lock is busy) is
// skipped: it is in use, and waiting for it could deadlock with a caller
// holding another namespace's lock. Eviction only ever try-locks, so
// callers may hold their own namespace's writer lock.
func (db *DB) enforceBudget(keep *namespace) {
	if !db.overBudget() {
		return
	}
	type cand struct {
		ns   *namespace
		used int64
	}
	db.hot.mu.Lock()
	cands := make([]cand, 0, len(db.hot.nss))
	for ns := range db.hot.nss {
		if ns != keep {
			cands = append(cands, cand{ns, ns.used.Load()})
		}
	}
	db.hot.mu.Unlock()
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.used, b.used) })
	target := int64(float64(hotBudget(&db.opts)) * evictTarget)
	for _, c := range cands {
		if db.hot.used.Load() <= target {
			return
		}
		db.evict(c.ns)
	}
}

// evict makes ns cold, unless it is busy (see enforceBudget).
func (db *DB) evict(ns *namespace) {
	if !ns.buildMu.TryLock() {
		return
	}
	defer ns.buildMu.Unlock()
	if !ns.writeMu.TryLock() {
		return
	}
	defer ns.writeMu.Unlock()
	if ns.seg.Load() != nil && !ns.dropped && !ns.ix.dropped.Load() {
		db.hot.evictions.Add(1)
	}
	ns.seg.Store(nil)
	db.dropHot(ns)
}
