package vectordb

import (
	"context"

	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// UpdateRequest changes one record, by ID, or the metadata of every
// record a Filter matches. Nil fields are left alone.
type UpdateRequest struct {
	// ID names the record to change; set ID or Filter, not both.
	ID string
	// Values replaces the dense values (updates by ID only).
	Values []float32
	// SparseValues replaces the sparse values (updates by ID, dotproduct
	// indexes only).
	SparseValues *SparseValues
	// SetMetadata is merged key by key into the metadata. An update by
	// filter requires it, unless DryRun is set.
	SetMetadata Metadata
	// Filter selects the records of an update by filter: a metadata-only
	// update of every matching record, at most Options.MaxUpdateByFilter
	// of them.
	Filter Filter
	// DryRun, with Filter, only counts the matching records.
	DryRun bool
}

// UpdateResult reports an Update.
type UpdateResult struct {
	// MatchedRecords is how many records the update found: 0 or 1 by ID,
	// the number of matches by filter.
	MatchedRecords int
	Usage          Usage
}

// Update changes the record req.ID: Values and SparseValues replace the
// stored ones, SetMetadata adds or overwrites metadata keys and keeps the
// others. An unknown id (or namespace) is not an error: nothing changes
// and MatchedRecords is 0. The merged metadata must still fit in
// MaxMetadataBytes. An update by ID is atomic.
//
// An update by ID that sets nothing (all three fields nil, or an empty
// SetMetadata and nothing else) fails with an *ArgumentError and costs
// nothing. An update that would take the namespace past its quota (see
// Quota) fails with a *QuotaError and changes nothing.
//
// With req.Filter, Update merges SetMetadata (which must not be empty)
// into every record the filter matches, as of one moment (other writers
// of the namespace wait until the update returns). Before anything is
// written, every merged record is checked against MaxMetadataBytes, and
// the growth of the whole update, summed over all the matches, against
// the namespace's quota: an update that would pass the quota fails with a
// *QuotaError and changes nothing, however many transactions it would
// have taken. Since the namespace's other writers (and quota changes)
// wait, the counters checked are those the update applies to. The writes
// then go in transactions of bounded size, each atomic, those that do not
// grow the namespace first, so that no intermediate state is larger than
// the namespace before or after the update. Once the first is committed
// the update runs to its end, even if ctx is cancelled; only a storage
// failure can stop it midway, leaving the earlier transactions applied
// (and counted in the namespace's write units). Write units count the
// old and new size of each record, per request; a dry run costs the read
// units of fetching the matches and is not limited by MaxUpdateByFilter.
func (h *Namespace) Update(ctx context.Context, req UpdateRequest) (UpdateResult, error) {
	_, err := h.begin(ctx)
	if err != nil {
		return UpdateResult{}, err
	}
	defer h.leave()
	if req.Filter != nil || req.DryRun {
		return h.updateByFilter(ctx, req)
	}
	ix := h.ix()
	if err := record.CheckID("id", req.ID); err != nil {
		return UpdateResult{}, fromRecord(err)
	}
	if req.Values == nil && req.SparseValues == nil {
		// An empty SetMetadata changes nothing: refused like no field at
		// all, not run (and billed) as a no-op.
		if req.SetMetadata == nil {
			return UpdateResult{}, argErr("update", nil, "set at least one of values, sparseValues and setMetadata")
		}
		if len(req.SetMetadata) == 0 {
			return UpdateResult{}, argErr("setMetadata", nil, "is empty, and nothing else is set: set at least one metadata key, or values or sparseValues")
		}
	}
	if sp := req.SparseValues; req.Values == nil && len(req.SetMetadata) == 0 && sp != nil &&
		len(sp.Indices) == 0 && len(sp.Values) == 0 && ix.metric != DotProduct {
		// Clearing sparse values that a non-dotproduct index cannot hold
		// changes nothing: refused, not billed as a no-op.
		return UpdateResult{}, argErrf("sparseValues", nil, "is empty and this %s index holds no sparse values, and nothing else is set", ix.metric)
	}
	if req.Values != nil {
		if err := record.CheckVector("values", req.Values, ix.dim); err != nil {
			return UpdateResult{}, fromRecord(err)
		}
	}
	newSparse, err := normalizeSparse("sparseValues", req.SparseValues, ix.metric)
	if err != nil {
		return UpdateResult{}, err
	}
	setMD, _, err := record.NormalizeMetadata("setMetadata", req.SetMetadata)
	if err != nil {
		return UpdateResult{}, fromRecord(err)
	}
	if err := h.index.db.disk.Admit(int64(4*len(req.Values) + 8*len(newSparse.Idx) + record.MetadataJSONSize(setMD) + 2*len(req.ID))); err != nil {
		return UpdateResult{}, err
	}
	m, err := ix.write(ctx, h.name, false, func(t *storage.Txn, ns *namespaceState, m *mutation) error {
		rec, found, err := readRecord(t, ns, req.ID, true)
		if err != nil || !found {
			return err
		}
		m.matched = 1
		put := segPut{id: req.ID, values: rec.Values, md: rec.Metadata}
		if rec.SparseValues != nil {
			put.sparse = segment.Sparse{Idx: rec.SparseValues.Indices, Val: rec.SparseValues.Values}
		}
		// The stored JSON size is metadataJSONSize of the stored metadata.
		oldSize := record.Size(req.ID, record.MetadataJSONSize(rec.Metadata), ix.dim, len(put.sparse.Idx))
		if req.Values != nil || req.SparseValues != nil {
			if req.Values != nil {
				put.values = req.Values // the segment copies it in apply
			}
			if req.SparseValues != nil {
				put.sparse = newSparse
			}
			vec := storage.AppendVector(nil, &storage.VectorRecord{
				Values: put.values, SparseIndices: put.sparse.Idx, SparseValues: put.sparse.Val,
			})
			if err := t.Set(storage.VectorKey(ix.id, ns.id, req.ID), vec); err != nil {
				return err
			}
		}
		if setMD != nil {
			put.md = record.MergeMetadata(put.md, setMD)
		}
		mdSize := record.MetadataJSONSize(put.md)
		if setMD != nil {
			if mdSize > MaxMetadataBytes {
				return argErrf("setMetadata", nil, "the merged metadata is %d bytes as JSON, more than %d", mdSize, MaxMetadataBytes)
			}
			enc, err := storage.AppendMetadata(nil, put.md, mdSize)
			if err != nil {
				return err
			}
			if err := t.Set(storage.MetadataKey(ix.id, ns.id, req.ID), enc); err != nil {
				return err
			}
		}
		size := record.Size(req.ID, mdSize, ix.dim, len(put.sparse.Idx))
		m.bytes = int64(size) - int64(oldSize)
		m.written = oldSize + size
		m.puts = []segPut{put}
		return nil
	})
	if err != nil {
		return UpdateResult{}, err
	}
	res := UpdateResult{Usage: Usage{WriteUnits: usage.MinWriteUnits}}
	if m != nil {
		res.MatchedRecords = m.matched
		res.Usage.WriteUnits = usage.WriteUnits(m.written)
	}
	return res, nil
}

// updateByFilter is Update with req.Filter.
func (h *Namespace) updateByFilter(ctx context.Context, req UpdateRequest) (UpdateResult, error) {
	switch {
	case req.Filter == nil:
		return UpdateResult{}, argErr("dryRun", nil, "applies to updates by filter only")
	case req.ID != "":
		return UpdateResult{}, argErr("id", req.ID, "set id or filter, not both")
	case req.Values != nil || req.SparseValues != nil:
		return UpdateResult{}, argErr("filter", nil, "an update by filter changes metadata only; values and sparseValues must be unset")
	case len(req.SetMetadata) == 0 && !req.DryRun:
		return UpdateResult{}, argErr("setMetadata", nil, "an update by filter needs a non-empty setMetadata")
	}
	fn, err := compileFilter(req.Filter)
	if err != nil {
		return UpdateResult{}, err
	}
	setMD, _, err := record.NormalizeMetadata("setMetadata", req.SetMetadata)
	if err != nil {
		return UpdateResult{}, fromRecord(err)
	}
	if !req.DryRun {
		// What it adds depends on the matches; the guard needs only to
		// see that a write is coming.
		if err := h.index.db.disk.Admit(int64(record.MetadataJSONSize(setMD))); err != nil {
			return UpdateResult{}, err
		}
	}
	ix := h.ix()
	merge := func(t *storage.Txn, ns *namespaceState, id string) (old Metadata, oldSize int, merged Metadata, size int, err error) {
		if old, oldSize, err = storage.ReadMetadata(t, ix.id, ns.id, id); err != nil {
			return
		}
		merged = record.MergeMetadata(old, setMD)
		size = record.MetadataJSONSize(merged)
		if size > MaxMetadataBytes {
			err = argErrf("setMetadata", nil, "record %q: the merged metadata is %d bytes as JSON, more than %d", id, size, MaxMetadataBytes)
		}
		return
	}
	// check refuses the update if any merged record is too large, and
	// projects its growth: the records matched under the writer lock are
	// present, so write changes each by exactly size - oldSize.
	check := func(t *storage.Txn, ns *namespaceState, ids []string) ([]int64, error) {
		grow := make([]int64, len(ids))
		for i, id := range ids {
			_, oldSize, _, size, err := merge(t, ns, id)
			if err != nil {
				return nil, err
			}
			grow[i] = int64(size) - int64(oldSize)
		}
		return grow, nil
	}
	budget, maxEntries := txnBudget(h.index.db.store)
	write := func(t *storage.Txn, ns *namespaceState, ids []string, m *mutation) (int, error) {
		used := 0
		for i, id := range ids {
			if i == maxEntries {
				return i, nil
			}
			old, found, err := getHeader(t, ns, id)
			if err != nil {
				return 0, err
			}
			_, oldJSON, merged, size, err := merge(t, ns, id)
			if err != nil {
				return 0, err
			}
			enc, err := storage.AppendMetadata(nil, merged, size)
			if err != nil {
				return 0, err
			}
			key := storage.MetadataKey(ix.id, ns.id, id)
			cost := len(key) + len(enc) + storage.TxnEntryOverhead
			if i > 0 && used+cost > budget {
				return i, nil
			}
			used += cost
			if !found {
				continue // matched in memory, so present: cannot happen
			}
			if err := t.Set(key, enc); err != nil {
				return 0, err
			}
			newSize := old.size - uint64(oldJSON) + uint64(size)
			m.bytes += int64(newSize) - int64(old.size)
			m.written += old.size + newSize
			m.metas = append(m.metas, segPut{id: id, md: merged})
		}
		return len(ids), nil
	}
	if req.DryRun {
		write = nil
	}
	matched, units, err := ix.writeMatching(ctx, h.name, fn, h.index.db.opts.MaxUpdateByFilter, check, write)
	if err != nil {
		return UpdateResult{}, err
	}
	res := UpdateResult{MatchedRecords: matched, Usage: Usage{WriteUnits: units}}
	if req.DryRun {
		res.Usage = Usage{ReadUnits: usage.FetchReadUnits(matched)}
		if ns := ix.lookup(h.name); ns != nil {
			ns.usage.AddReads(uint64(res.Usage.ReadUnits))
		}
	} else if units == 0 {
		res.Usage.WriteUnits = usage.MinWriteUnits // the namespace does not exist
	}
	return res, nil
}
