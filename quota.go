package vectordb

import (
	"context"
	"fmt"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// Quota limits a namespace's size: its live records and its accounted
// bytes (ids, metadata as JSON and values, as NamespaceDescription.Bytes
// counts them). A write that would take the namespace past either fails
// with a *QuotaError and changes nothing; writes that shrink it (deletes,
// smaller overwrites) always pass, so a namespace over a lowered quota
// can be brought back under it. Zero is no limit.
//
// Each write is checked as a whole, under the namespace's writer lock, so
// concurrent writers never overshoot the quota: an Upsert, Delete or
// Update by ID inside its one transaction; an Update by filter, which may
// take several transactions, before its first, on the growth summed over
// all its matches (Namespace.Update); a delete by filter never grows the
// namespace. An import is checked on the namespace it would publish,
// whose records and bytes must fit the quota (Options.NamespaceQuota for
// a new namespace, the replaced namespace's own otherwise) even when it
// replaces a larger namespace, since it writes all of them anew
// (Index.ImportNamespace).
type Quota struct {
	MaxRecords int64
	MaxBytes   int64
}

func (q Quota) check(field string) error {
	switch {
	case q.MaxRecords < 0:
		return argErr(field+".MaxRecords", q.MaxRecords, "must not be negative")
	case q.MaxBytes < 0:
		return argErr(field+".MaxBytes", q.MaxBytes, "must not be negative")
	}
	return nil
}

// effectiveQuota is the namespace's own quota, each zero field falling
// back to the default.
func (ns *namespaceState) effectiveQuota() Quota {
	q := ns.ix.db.opts.NamespaceQuota
	if own := ns.quota.Load(); own != nil {
		if own.MaxRecords > 0 {
			q.MaxRecords = own.MaxRecords
		}
		if own.MaxBytes > 0 {
			q.MaxBytes = own.MaxBytes
		}
	}
	return q
}

// checkQuota refuses a mutation that grows the namespace past its quota.
// REQUIRES: ns.writeMu held (or ns unpublished), so the counters are
// those the mutation applies to.
func (ns *namespaceState) checkQuota(m *mutation) error {
	q := ns.effectiveQuota()
	if records := ns.records.Load() + m.records; m.records > 0 && q.MaxRecords > 0 && records > q.MaxRecords {
		return &QuotaError{Namespace: ns.name, Limit: "records", Max: q.MaxRecords, Would: records}
	}
	if bytes := int64(ns.bytes.Load()) + m.bytes; m.bytes > 0 && q.MaxBytes > 0 && bytes > q.MaxBytes {
		return &QuotaError{Namespace: ns.name, Limit: "bytes", Max: q.MaxBytes, Would: bytes}
	}
	return nil
}

// SetNamespaceQuota sets the quota of the namespace called name, which
// must exist; a zero field falls back to Options.NamespaceQuota. The quota
// is stored with the namespace, kept by DeleteAll and removed with the
// namespace. It applies to writes from now on: a namespace already past it
// keeps its records.
func (h *Index) SetNamespaceQuota(ctx context.Context, name string, q Quota) error {
	canon, err := h.beginNamed(ctx, name)
	if err != nil {
		return err
	}
	defer h.db.leave()
	if err := q.check("quota"); err != nil {
		return err
	}
	ix := h.ix
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	for {
		if err := h.check(ctx); err != nil {
			return err
		}
		ns := ix.lookup(canon)
		if ns == nil {
			return fmt.Errorf("%w: %q", ErrNamespaceNotFound, canon)
		}
		ns.writeMu.Lock()
		if ns.dropped {
			ns.writeMu.Unlock()
			continue // emptied meanwhile: set it on the new generation
		}
		rec := ns.record()
		rec.MaxRecords, rec.MaxBytes = uint64(q.MaxRecords), uint64(q.MaxBytes)
		err := h.db.store.Update(ctx, func(t *storage.Txn) error {
			return t.Set(storage.NamespaceKey(ix.id, ns.name), rec.Encode())
		})
		if err == nil {
			ns.quota.Store(&q)
		}
		ns.writeMu.Unlock()
		return storageErr(err)
	}
}

// record is the namespace's catalog entry.
func (ns *namespaceState) record() storage.NamespaceRecord {
	rec := storage.NamespaceRecord{ID: ns.id, CreatedAt: ns.createdAt.UnixNano()}
	if q := ns.quota.Load(); q != nil {
		rec.MaxRecords, rec.MaxBytes = uint64(q.MaxRecords), uint64(q.MaxBytes)
	}
	return rec
}
