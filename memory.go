package vectordb

import (
	"context"

	"github.com/vectordb-go/vectordb/internal/memory"
	"github.com/vectordb-go/vectordb/internal/segment"
)

// The memory budget: the hot set (internal/memory) tracks hot namespaces
// against it; this file is the glue from namespaces and segments to its
// entries, and the Stats that report it.

// storageReserve is the storage engine's expected memory under o (see
// memory.StorageReserve).
func storageReserve(o *Options) int64 {
	return memory.StorageReserve(o.NumMemtables, o.MemTableSize)
}

// hotBudget is the share of o.MemoryBudget for hot segments; 0 for none.
func hotBudget(o *Options) int64 {
	return memory.HotBudget(o.MemoryBudget, storageReserve(o))
}

// newHotSet returns the hot set of namespaces for o's budget.
func newHotSet(o *Options) *memory.HotSet[*namespaceState] {
	return memory.NewHotSet(hotBudget(o), func(ns *namespaceState) *memory.Entry { return &ns.mem })
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
	return DBStats{
		HotNamespaces:  db.hot.Len(),
		HotBytes:       db.hot.Bytes(),
		MemoryBudget:   max(0, db.opts.MemoryBudget),
		StorageReserve: storageReserve(&db.opts),
		HotBudget:      db.hot.Budget(),
		Evictions:      db.hot.Evictions(),
	}, nil
}

// addHot registers ns, just made hot with seg, and accounts seg. A
// namespace of an index already dropped is not registered: DeleteIndex
// sets ix.dropped before dropIndexHot takes the set's lock, so a load
// racing it is either forgotten by dropIndexHot or sees the flag here.
// REQUIRES: ns.writeMu held.
func (db *DB) addHot(ns *namespaceState, seg *segment.Segment) {
	if db.hot.Add(ns, func() bool { return !ns.ix.dropped.Load() }) {
		db.reaccount(ns, seg)
	}
}

// reaccount brings ns's accounted bytes up to date with seg, after a load
// or a write; a namespace no longer hot is left alone.
func (db *DB) reaccount(ns *namespaceState, seg *segment.Segment) {
	db.hot.Account(ns, seg.AccountedBytes())
}

// dropHot forgets ns, cold again or dropped, and its accounted bytes.
func (db *DB) dropHot(ns *namespaceState) { db.hot.Remove(ns) }

// dropIndexHot forgets every hot namespace of ix, which was just dropped
// (ix.dropped is set).
func (db *DB) dropIndexHot(ix *indexState) {
	db.hot.RemoveIf(func(ns *namespaceState) bool { return ns.ix == ix })
}

// enforceBudget evicts least recently used hot namespaces, other than
// keep, while the hot set is over budget. A namespace that is being loaded
// or written (its writer lock is busy) or has an IVF build or store
// running (its build lock is busy) is skipped: it is in use, and waiting
// for it could deadlock with a caller holding another namespace's lock.
// Eviction only ever try-locks, so callers may hold their own namespace's
// writer lock.
func (db *DB) enforceBudget(keep *namespaceState) { db.hot.Enforce(keep, db.evict) }

// evict makes ns cold, unless it is busy (see enforceBudget). It reports
// whether a live namespace's segment went, which Stats counts.
func (db *DB) evict(ns *namespaceState) bool {
	if !ns.buildMu.TryLock() {
		return false
	}
	defer ns.buildMu.Unlock()
	if !ns.writeMu.TryLock() {
		return false
	}
	defer ns.writeMu.Unlock()
	counted := ns.seg.Load() != nil && !ns.dropped && !ns.ix.dropped.Load()
	ns.seg.Store(nil)
	db.hot.Remove(ns) // under writeMu: a load cannot add ns back in between
	return counted
}
