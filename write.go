package vectordb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vectordb-go/vectordb/storage"
)

// The write path. Every write to a namespace runs under the index gate
// (shared) and the namespace's writeMu, in one storage transaction that
// also updates the namespace's counters; after the commit it updates the
// in-memory counters and, if the namespace is hot, its segment. Holding
// writeMu across commit and apply makes the segment see writes in commit
// order. A write that creates the namespace holds the index's mu instead,
// and publishes the namespace only once the commit has succeeded, so a
// failed write leaves no trace.

// mutation is what one write did, computed inside its transaction.
type mutation struct {
	records int64  // change in live records
	bytes   int64  // change in accounted bytes
	written uint64 // bytes counted for write units
	matched int    // records the call found (Update, Delete)
	puts    []segPut
	dels    []string
}

// segPut is a record to write through to a hot segment.
type segPut struct {
	id     string
	values []float32
	sparse sparseVec
}

// writeFn does a write inside t, recording its effects in m.
type writeFn func(t *storage.Txn, ns *namespace, m *mutation) error

// write runs fn as one atomic write to the namespace called name. When the
// namespace does not exist, write creates it in the same transaction if
// create is set, and otherwise does nothing and returns a nil mutation.
func (ix *index) write(ctx context.Context, name string, create bool, fn writeFn) (*mutation, error) {
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
			m, retry, err := ix.createAndWrite(name, fn)
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
		m, err := ix.commit(ns, false, fn)
		if err == nil {
			ns.apply(m)
		}
		ns.writeMu.Unlock()
		return m, err
	}
}

// createAndWrite creates the namespace and runs fn in one transaction. It
// reports retry if another writer created the namespace first.
func (ix *index) createAndWrite(name string, fn writeFn) (*mutation, bool, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.lookup(name) != nil {
		return nil, true, nil
	}
	ns := ix.newNamespaceLocked(name, time.Now(), &usage{})
	m, err := ix.commit(ns, true, fn)
	if err != nil {
		return nil, false, err
	}
	ns.apply(m)
	ix.publishLocked(ns)
	return m, false, nil
}

// commit runs fn in a transaction that also writes ns's counters, and the
// namespace's catalog entry when isNew.
// REQUIRES: ns.writeMu held, or ix.mu held and ns not yet published.
func (ix *index) commit(ns *namespace, isNew bool, fn writeFn) (*mutation, error) {
	var m *mutation
	err := ix.db.store.Update(func(t *storage.Txn) error {
		m = &mutation{}
		if err := fn(t, ns, m); err != nil {
			return err
		}
		st := storage.Stats{
			Records:    uint64(ns.records.Load() + m.records),
			Bytes:      uint64(int64(ns.bytes.Load()) + m.bytes),
			WriteUnits: ns.usage.writeUnits.Load() + uint64(writeUnits(m.written)),
		}
		if isNew {
			return ix.putNamespaceLocked(t, ns, st)
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
func (ns *namespace) apply(m *mutation) {
	ns.records.Add(m.records)
	ns.bytes.Add(uint64(m.bytes))
	ns.usage.writeUnits.Add(uint64(writeUnits(m.written)))
	seg := ns.seg.Load()
	if seg == nil || len(m.puts)+len(m.dels) == 0 {
		return
	}
	seg.mu.Lock()
	defer seg.mu.Unlock()
	for _, id := range m.dels {
		seg.deleteLocked(id)
	}
	for _, p := range m.puts {
		seg.putLocked(p.id, p.values, p.sparse)
	}
}

// newNamespaceLocked returns a new, unpublished namespace with the next id.
// REQUIRES: ix.mu held.
func (ix *index) newNamespaceLocked(name string, created time.Time, u *usage) *namespace {
	return &namespace{ix: ix, id: ix.nextNS, name: name, createdAt: created, usage: u}
}

// putNamespaceLocked writes the catalog entry, counters and id sequence of
// a namespace made by newNamespaceLocked.
// REQUIRES: ix.mu held.
func (ix *index) putNamespaceLocked(t *storage.Txn, ns *namespace, st storage.Stats) error {
	rec := storage.NamespaceRecord{ID: ns.id, CreatedAt: ns.createdAt.UnixNano()}
	if err := t.Set(storage.NamespaceKey(ix.id, ns.name), rec.Encode()); err != nil {
		return err
	}
	if err := t.Set(storage.NamespaceSeqKey(ix.id), storage.EncodeUint32(ns.id+1)); err != nil {
		return err
	}
	return t.Set(storage.StatsKey(ix.id, ns.id), st.Encode())
}

// publishLocked makes a committed namespace visible and consumes its id.
// REQUIRES: ix.mu held.
func (ix *index) publishLocked(ns *namespace) {
	ix.nextNS = ns.id + 1
	ix.namespaces.Store(ns.name, ns)
}

// dropNamespace removes the namespace called name (DeleteNamespace) or,
// with keep, replaces it by an empty generation under a new id (DeleteAll).
// Either way one transaction changes the catalog and records the old data
// as a pending drop for the janitor. It reports whether the namespace
// existed and how many records it held.
func (ix *index) dropNamespace(ctx context.Context, name string, keep bool) (bool, int64, error) {
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
		err := ix.replaceLocked(old, keep)
		old.writeMu.Unlock()
		if err != nil {
			return false, 0, err
		}
		ix.db.wakeJanitor()
		return true, records, nil
	}
}

// replaceLocked does dropNamespace's catalog change.
// REQUIRES: old.writeMu held and old live.
func (ix *index) replaceLocked(old *namespace, keep bool) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var next *namespace
	if keep {
		next = ix.newNamespaceLocked(old.name, old.createdAt, old.usage)
	}
	drop := storage.DropRecord{Prefixes: [][]byte{storage.NamespaceDataPrefix(ix.id, old.id)}}
	err := ix.db.store.Update(func(t *storage.Txn) error {
		if err := t.Delete(storage.StatsKey(ix.id, old.id)); err != nil {
			return err
		}
		if err := t.Delete(storage.ReadUnitsKey(ix.id, old.id)); err != nil {
			return err
		}
		if err := ix.db.putDrop(t, &drop); err != nil {
			return err
		}
		if !keep {
			return t.Delete(storage.NamespaceKey(ix.id, old.name))
		}
		st := storage.Stats{WriteUnits: old.usage.writeUnits.Load() + minWriteUnits}
		if err := ix.putNamespaceLocked(t, next, st); err != nil {
			return err
		}
		return t.Set(storage.ReadUnitsKey(ix.id, next.id), storage.EncodeUint64(old.usage.flushedReads.Load()))
	})
	if err != nil {
		return storageErr(err)
	}
	old.dropped = true
	if !keep {
		ix.namespaces.Delete(old.name)
		return nil
	}
	next.usage.writeUnits.Add(minWriteUnits)
	if old.seg.Load() != nil {
		// An emptied hot namespace stays hot: its segment is trivially empty.
		next.seg.Store(newSegment(ix.dim, ix.metric, 0))
	}
	ix.publishLocked(next)
	return nil
}
