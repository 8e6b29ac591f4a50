package vectordb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/vectordb-go/vectordb/internal/filter"
	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// The write path. Every write to a namespace runs under the index gate
// (shared) and the namespace's writeMu, in one storage transaction that
// also updates the namespace's counters; after the commit it updates the
// in-memory counters and, if the namespace is hot, its segment. Holding
// writeMu across commit and apply makes the segment see writes in commit
// order. A write that creates the namespace holds a lock on the name
// instead (not the index's mu, so creating one namespace never waits for
// another's commit) and publishes the namespace only once the commit has
// succeeded, so a failed write leaves no trace.

// mutation is what one write did, computed inside its transaction.
type mutation struct {
	records  int64  // change in live records
	bytes    int64  // change in accounted bytes
	written  uint64 // bytes counted for write units
	units    int    // write units charged, if unitsSet; else usage.WriteUnits(written)
	unitsSet bool
	matched  int // records the call found (Update, Delete)
	puts     []segPut
	metas    []segPut // metadata-only changes: id and md
	dels     []string

	// prechecked skips commit's quota check: the whole operation this
	// transaction is part of was checked against the quota, under the
	// same hold of writeMu, before its first transaction (writeMatching).
	prechecked bool
}

// charged is the write units the mutation costs.
func (m *mutation) charged() int {
	if m.unitsSet {
		return m.units
	}
	return usage.WriteUnits(m.written)
}

// segPut is a record to write through to a hot segment.
type segPut struct {
	id     string
	values []float32
	sparse segment.Sparse
	md     Metadata // stored form
}

// writeFn does a write inside t, recording its effects in m.
type writeFn func(t *storage.Txn, ns *namespaceState, m *mutation) error

// write runs fn as one atomic write to the namespace called name. When the
// namespace does not exist, write creates it in the same transaction if
// create is set, and otherwise does nothing and returns a nil mutation.
func (ix *indexState) write(ctx context.Context, name string, create bool, fn writeFn) (*mutation, error) {
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	for {
		if ix.dropped.Load() {
			return nil, fmt.Errorf("%w: %q", ErrIndexNotFound, ix.name)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ns := ix.lookup(name)
		if ns == nil {
			if !create {
				return nil, nil
			}
			m, retry, err := ix.createAndWrite(ctx, name, fn)
			if retry {
				continue
			}
			return m, err
		}
		ns.writeMu.Lock()
		if ns.dropped {
			// Deleted or emptied while we waited: find its successor.
			ns.writeMu.Unlock()
			continue
		}
		m, err := ix.commit(ctx, ns, false, fn)
		if err == nil {
			ns.apply(m)
		}
		ns.writeMu.Unlock()
		return m, err
	}
}

// createAndWrite creates the namespace and runs fn in one transaction. It
// reports retry if another writer created the namespace first.
func (ix *indexState) createAndWrite(ctx context.Context, name string, fn writeFn) (*mutation, bool, error) {
	unlock := ix.lockName(name)
	defer unlock()
	if ix.lookup(name) != nil {
		return nil, true, nil
	}
	ns, err := ix.newNamespace(ctx, name, time.Now(), &usage.Counters{})
	if err != nil {
		return nil, false, err
	}
	m, err := ix.commit(ctx, ns, true, fn)
	if err != nil {
		return nil, false, err
	}
	ns.apply(m)
	ix.publish(ns)
	return m, false, nil
}

// nameLock serializes the creators of one namespace name.
type nameLock struct {
	mu   sync.Mutex
	refs int // guarded by index.mu
}

// lockName locks name against other creators and returns the unlock.
// Creating namespaces of different names proceeds in parallel.
func (ix *indexState) lockName(name string) (unlock func()) {
	ix.mu.Lock()
	l := ix.creating[name]
	if l == nil {
		l = &nameLock{}
		ix.creating[name] = l
	}
	l.refs++
	ix.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		ix.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(ix.creating, name)
		}
		ix.mu.Unlock()
	}
}

// commit runs fn in a transaction that also writes ns's counters, and the
// namespace's catalog entry when isNew.
// REQUIRES: ns.writeMu held, or ns not yet published and its name locked.
func (ix *indexState) commit(ctx context.Context, ns *namespaceState, isNew bool, fn writeFn) (*mutation, error) {
	var m *mutation
	err := ix.db.store.Update(ctx, func(t *storage.Txn) error {
		m = &mutation{}
		if err := fn(t, ns, m); err != nil {
			return err
		}
		if !m.prechecked {
			if err := ns.checkQuota(m); err != nil {
				return err
			}
		}
		st := storage.Stats{
			Records:    uint64(ns.records.Load() + m.records),
			Bytes:      uint64(int64(ns.bytes.Load()) + m.bytes),
			WriteUnits: ns.usage.Writes() + uint64(m.charged()),
		}
		if isNew {
			return ix.putNamespace(t, ns, st)
		}
		return t.Set(storage.StatsKey(ix.id, ns.id), st.Encode())
	})
	if err != nil {
		if errors.Is(err, storage.ErrTxnTooBig) {
			return nil, &BatchTooLargeError{Field: "records", MaxBytes: ix.db.store.MaxTxnBytes()}
		}
		return nil, storageErr(err)
	}
	return m, nil
}

// apply publishes a committed mutation: counters, then the hot segment.
// REQUIRES: ns.writeMu held, or ns not yet published.
func (ns *namespaceState) apply(m *mutation) {
	ns.records.Add(m.records)
	ns.bytes.Add(uint64(m.bytes))
	ns.usage.AddWrites(uint64(m.charged()))
	seg := ns.seg.Load()
	if seg == nil || len(m.puts)+len(m.metas)+len(m.dels) == 0 {
		return
	}
	// Assign new rows to their IVF lists before taking the lock, so that
	// queries do not wait for it.
	var lists []int
	q := seg.Quantizer()
	if q != nil && len(m.puts) > 0 {
		lists = make([]int, len(m.puts))
		var scratch ivf.Scratch
		for i, p := range m.puts {
			lists[i] = q.Assign(p.values, &scratch)
		}
	}
	seg.Lock()
	for _, id := range m.dels {
		seg.DeleteLocked(id)
	}
	for i, p := range m.puts {
		list := -1
		if lists != nil {
			list = lists[i]
		}
		seg.PutLocked(p.id, p.values, p.sparse, p.md, q, list)
	}
	for _, p := range m.metas {
		seg.SetMetadataLocked(p.id, p.md)
	}
	seg.AccountIVFLocked()
	build := seg.WantsBuildLocked(ns.ix.db.opts.IVFMinRecords)
	seg.Unlock()
	if build {
		ns.startBuild(seg)
	}
	db := ns.ix.db
	db.reaccount(ns, seg)
	if db.hot.Over() {
		db.enforceBudget(ns) // evicts with TryLock: safe under writeMu
	}
}

// matchCheck is writeMatching's read-only pass over the matching ids: it
// may refuse the call before anything is written, and it returns, for
// each id in turn, the change in accounted bytes that writing it will make
// (negative if it shrinks the record), or nil if the write never grows
// the namespace. Writes by filter never add records.
type matchCheck func(t *storage.Txn, ns *namespaceState, ids []string) (grow []int64, err error)

// matchWrite writes a prefix of ids in t, recording its effects in m, and
// returns how many ids it took.
type matchWrite func(t *storage.Txn, ns *namespaceState, ids []string, m *mutation) (int, error)

// writeMatching runs a write on every record of the namespace called name
// that fn matches, as of one moment: it loads the namespace if needed,
// holds its writer lock throughout, evaluates the filter on the hot
// segment and passes the matching ids, in id order, to check (one
// read-only pass, which may refuse the call before anything is written)
// and then to write, in transactions of whatever size write consumes
// (in id order too, but for the reordering below). Each transaction is
// atomic and applied before the next; an error leaves the earlier ones in
// place. With no write, it only counts. It refuses
// more than maxMatches matches (0: no limit) with a *BatchTooLargeError. A
// missing namespace matches nothing.
//
// Quota: the sum of check's projected growth is checked against the
// namespace's quota before the first transaction, and a call that would
// pass it fails with a *QuotaError, having written nothing. Since writeMu
// is held from the matching to the last commit, no other write (nor a
// quota change) can come between the check and the transactions, so the
// counters the check saw are those the transactions apply to. The ids
// whose write does not grow the namespace go first (each group in id
// order), so no intermediate state holds more bytes than the larger of
// the states before and after the call: even a storage failure midway
// leaves the namespace within its quota, or no further past it than it
// was. Each transaction's own quota check is then skipped, unless its
// effects exceed the projection (which they cannot while the matched
// records are present, as writeMu ensures); it then applies as a
// backstop.
func (ix *indexState) writeMatching(ctx context.Context, name string, fn *filter.Node, maxMatches int, check matchCheck, write matchWrite) (matched int, units int, err error) {
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	for {
		if ix.dropped.Load() {
			return 0, 0, fmt.Errorf("%w: %q", ErrIndexNotFound, ix.name)
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		ns := ix.lookup(name)
		if ns == nil {
			return 0, 0, nil
		}
		if _, err := ns.hotIndexed(ctx); err != nil {
			return 0, 0, err
		}
		ns.writeMu.Lock()
		seg := ns.seg.Load()
		if ns.dropped || seg == nil || !seg.Indexed() {
			// Dropped, or not (or no longer) the indexed segment: evaluating
			// a filter there would be wrong ($not and $exists: false would
			// match everything), so resolve again.
			ns.writeMu.Unlock()
			continue
		}
		matched, units, err = ix.writeMatchingLocked(ctx, ns, seg, fn, maxMatches, check, write)
		ns.writeMu.Unlock()
		return matched, units, err
	}
}

// REQUIRES: ns.writeMu held.
func (ix *indexState) writeMatchingLocked(ctx context.Context, ns *namespaceState, seg *segment.Segment, fn *filter.Node, maxMatches int, check matchCheck, write matchWrite) (int, int, error) {
	seg.RLock()
	allowed, err := seg.EvalLocked(ctx, fn)
	if err != nil {
		seg.RUnlock()
		return 0, 0, fromFilterErr(err)
	}
	ids := seg.IDsLocked(allowed)
	seg.RUnlock()
	slices.Sort(ids)
	total := len(ids)
	if write == nil {
		return total, 0, nil
	}
	if maxMatches > 0 && total > maxMatches {
		return 0, 0, &BatchTooLargeError{Field: "filter", Records: total, MaxRecords: maxMatches}
	}
	// proj is the whole operation's projected growth; checked reports that
	// the quota check has been made on it.
	var (
		proj    mutation
		checked bool
	)
	if check != nil && total > 0 {
		var grow []int64
		err := ix.db.store.View(func(t *storage.Txn) error {
			var err error
			grow, err = check(t, ns, ids)
			return err
		})
		if err != nil {
			return 0, 0, storageErr(err)
		}
		if grow != nil {
			for _, g := range grow {
				proj.bytes += g
			}
			if err := ns.checkQuota(&proj); err != nil {
				return 0, 0, err
			}
			ids = shrinkingFirst(ids, grow)
			checked = true
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	// From the first commit on, the operation runs to its end: a caller
	// that gives up midway cannot be told how much was done. Write units
	// are charged per request, not per transaction: each transaction pays
	// for the kilobytes it completes, and the last tops up to the minimum.
	var (
		written uint64
		done    mutation // the effects of the transactions committed so far
	)
	units := 0
	for first := true; first || len(ids) > 0; first = false {
		var took int
		m, err := ix.commit(ctx, ns, false, func(t *storage.Txn, ns *namespaceState, m *mutation) error {
			var err error
			if took, err = write(t, ns, ids, m); err != nil {
				return err
			}
			after := written + m.written
			m.unitsSet = true
			m.units = usage.Kilobytes(after) - usage.Kilobytes(written)
			if took == len(ids) && units+m.units < usage.MinWriteUnits {
				m.units = usage.MinWriteUnits - units
			}
			// Within the projection, whose end was checked, and with the
			// shrinking writes first, the running growth never exceeds
			// the projected total (or zero, if that is negative).
			m.prechecked = checked &&
				done.records+m.records <= max(0, proj.records) &&
				done.bytes+m.bytes <= max(0, proj.bytes)
			return nil
		})
		if err != nil {
			return 0, units, err
		}
		ns.apply(m)
		written += m.written
		units += m.units
		done.records += m.records
		done.bytes += m.bytes
		ids = ids[took:]
	}
	return total, units, nil
}

// shrinkingFirst returns ids reordered so that those whose grow is not
// positive come first, each group keeping its order.
func shrinkingFirst(ids []string, grow []int64) []string {
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		if grow[i] <= 0 {
			out = append(out, id)
		}
	}
	for i, id := range ids {
		if grow[i] > 0 {
			out = append(out, id)
		}
	}
	return out
}

// nsIDLease is how many namespace ids one write of the stored sequence
// reserves. Creators take ids from the lease in memory, so their commits
// never touch the sequence key (with it in every creation's read set,
// concurrent creations conflicted until their retries ran out); a restart
// skips the unused rest of a lease.
const nsIDLease = 64

// newNamespace returns a new, unpublished namespace under a fresh id. The
// id is consumed even if the namespace is never committed: ids are never
// reused, gaps are harmless.
func (ix *indexState) newNamespace(ctx context.Context, name string, created time.Time, u *usage.Counters) (*namespaceState, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.nextNS == ix.leasedNS {
		if ix.leasedNS > math.MaxUint32-nsIDLease {
			return nil, fmt.Errorf("vectordb: index %q has used up its namespace ids", ix.name)
		}
		next := ix.leasedNS + nsIDLease
		err := ix.db.store.Update(ctx, func(t *storage.Txn) error {
			return t.Set(storage.NamespaceSeqKey(ix.id), storage.EncodeUint32(next))
		})
		if err != nil {
			return nil, storageErr(err)
		}
		ix.leasedNS = next
	}
	id := ix.nextNS
	ix.nextNS++
	return &namespaceState{ix: ix, id: id, name: name, createdAt: created, usage: u, gone: make(chan struct{})}, nil
}

// putNamespace writes the catalog entry and counters of a namespace made
// by newNamespace.
func (ix *indexState) putNamespace(t *storage.Txn, ns *namespaceState, st storage.Stats) error {
	rec := ns.record()
	if err := t.Set(storage.NamespaceKey(ix.id, ns.name), rec.Encode()); err != nil {
		return err
	}
	return t.Set(storage.StatsKey(ix.id, ns.id), st.Encode())
}

// publish makes a committed namespace visible.
func (ix *indexState) publish(ns *namespaceState) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.namespaces.Store(ns.name, ns)
}

// dropNamespace removes the namespace called name (DeleteNamespace) or,
// with keep, replaces it by an empty generation under a new id (DeleteAll).
// Either way one transaction changes the catalog and records the old data
// as a pending drop for the janitor. It reports whether the namespace
// existed and how many records it held.
func (ix *indexState) dropNamespace(ctx context.Context, name string, keep bool) (bool, int64, error) {
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	for {
		if ix.dropped.Load() {
			return false, 0, fmt.Errorf("%w: %q", ErrIndexNotFound, ix.name)
		}
		if err := ctx.Err(); err != nil {
			return false, 0, err
		}
		old := ix.lookup(name)
		if old == nil {
			return false, 0, nil
		}
		old.writeMu.Lock()
		if old.dropped {
			old.writeMu.Unlock()
			continue
		}
		records := old.records.Load()
		var (
			next *namespaceState
			err  error
		)
		if keep {
			if next, err = ix.newNamespace(ctx, old.name, old.createdAt, old.usage); err == nil {
				next.quota.Store(old.quota.Load())
			}
		}
		if err == nil {
			err = ix.replaceLocked(ctx, old, next, usage.MinWriteUnits, nil)
		}
		old.writeMu.Unlock()
		if err != nil {
			return false, 0, err
		}
		ix.db.janitor.Wake()
		return true, records, nil
	}
}

// replaceLocked does the catalog change of dropNamespace and of an import
// that replaces a namespace: in one transaction it records old's data as a
// pending drop and removes its counters, then removes its catalog entry
// (next nil) or puts next in its place, an unpublished generation of the
// same name holding next.records records, charging charge write units,
// and runs extra if set. It holds ix.mu so that the namespace map changes
// together with the catalog.
// REQUIRES: old.writeMu held and old live.
func (ix *indexState) replaceLocked(ctx context.Context, old, next *namespaceState, charge uint64, extra func(*storage.Txn) error) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	drop := storage.DropRecord{Prefixes: [][]byte{storage.NamespaceDataPrefix(ix.id, old.id)}}
	err := ix.db.store.Update(ctx, func(t *storage.Txn) error {
		// Reading the old read-unit counter puts it in this transaction's
		// read set: a flusher commit racing this one forces a retry, so the
		// value carried over is never stale.
		v, _, err := t.GetCopy(storage.ReadUnitsKey(ix.id, old.id))
		if err != nil {
			return err
		}
		stored, _ := storage.DecodeUint64(v)
		for _, k := range [][]byte{storage.StatsKey(ix.id, old.id), storage.ReadUnitsKey(ix.id, old.id)} {
			if err := t.Delete(k); err != nil {
				return err
			}
		}
		if err := ix.db.janitor.Put(t, &drop); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(t); err != nil {
				return err
			}
		}
		if next == nil {
			return t.Delete(storage.NamespaceKey(ix.id, old.name))
		}
		st := storage.Stats{
			Records:    uint64(next.records.Load()),
			Bytes:      next.bytes.Load(),
			WriteUnits: old.usage.Writes() + charge,
		}
		if err := ix.putNamespace(t, next, st); err != nil {
			return err
		}
		ru := max(stored, old.usage.Flushed())
		return t.Set(storage.ReadUnitsKey(ix.id, next.id), storage.EncodeUint64(ru))
	})
	if err != nil {
		return storageErr(err)
	}
	old.dropped = true
	ix.db.dropHot(old)
	if next == nil {
		ix.namespaces.Delete(old.name)
		old.markGone()
		return nil
	}
	next.usage.AddWrites(charge)
	if old.seg.Load() != nil && next.records.Load() == 0 {
		// An emptied hot namespace stays hot: its segment is trivially empty.
		seg := newSegment(ix, 0)
		next.seg.Store(seg)
		ix.db.addHot(next, seg)
	}
	ix.namespaces.Store(next.name, next)
	old.markGone()
	return nil
}

// markGone tells the readers waiting on ns.gone that ns has left the map.
func (ns *namespaceState) markGone() { ns.goneOnce.Do(func() { close(ns.gone) }) }
