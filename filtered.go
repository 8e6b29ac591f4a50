package vectordb

import (
	"context"

	"github.com/vectordb-go/vectordb/internal/filter"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// Operations that select records by metadata filter rather than by id.

// txnBudget is how many bytes and entries a chunked write (update or
// delete by filter) puts in one transaction: half of the storage caps.
func txnBudget(st *storage.Store) (bytes, entries int) {
	return int(st.MaxTxnBytes() / 2), int(st.MaxTxnEntries() / 2)
}

// requiredFilter compiles a filter that an operation cannot do without.
func requiredFilter(f Filter) (*filter.Node, error) {
	if f == nil {
		return nil, argErr("filter", nil, "a filter is required")
	}
	return compileFilter(f)
}

// DeleteByFilter deletes every record whose metadata filter matches, as of
// one moment (other writers of the namespace wait). The deletes go in
// transactions of bounded size, each atomic. Once the first is committed
// the delete runs to its end, even if ctx is cancelled; only a storage
// failure can stop it midway, leaving the earlier transactions applied. A
// namespace that does not exist matches nothing. Every transaction only
// removes records and bytes, so the quota never refuses it, even on a
// namespace past a lowered quota.
func (h *Namespace) DeleteByFilter(ctx context.Context, filter Filter) (DeleteResult, error) {
	_, err := h.begin(ctx)
	if err != nil {
		return DeleteResult{}, err
	}
	defer h.leave()
	fn, err := requiredFilter(filter)
	if err != nil {
		return DeleteResult{}, err
	}
	ix := h.ix()
	budget, maxEntries := txnBudget(h.index.db.store)
	write := func(t *storage.Txn, ns *namespaceState, ids []string, m *mutation) (int, error) {
		used := 0
		for i, id := range ids {
			cost := 2 * (10 + len(id) + storage.TxnEntryOverhead)
			if i > 0 && (used+cost > budget || 2*i >= maxEntries) {
				return i, nil
			}
			used += cost
			old, found, err := getHeader(t, ns, id)
			if err != nil {
				return 0, err
			}
			if !found {
				continue
			}
			if err := t.Delete(storage.VectorKey(ix.id, ns.id, id)); err != nil {
				return 0, err
			}
			if old.hasMetadata {
				if err := t.Delete(storage.MetadataKey(ix.id, ns.id, id)); err != nil {
					return 0, err
				}
			}
			m.records--
			m.bytes -= int64(old.size)
			m.written += old.size
			m.dels = append(m.dels, id)
		}
		return len(ids), nil
	}
	matched, units, err := ix.writeMatching(ctx, h.name, fn, 0, nil, write)
	if err != nil {
		return DeleteResult{}, err
	}
	return DeleteResult{DeletedCount: matched, Usage: Usage{WriteUnits: max(units, usage.MinWriteUnits)}}, nil
}

// FetchByMetadataRequest selects a page of records by metadata.
type FetchByMetadataRequest struct {
	Filter          Filter // required
	Limit           int    // page size, 1 to MaxListLimit; 0 means DefaultListLimit
	PaginationToken string // NextToken of the previous page; "" for the first
}

// FetchByMetadataResult is one page of the records a filter matches.
type FetchByMetadataResult struct {
	Records   []Record // in id order; copies the caller owns
	NextToken string   // "" on the last page
	Namespace string
	Usage     Usage
}

// FetchByMetadata returns the records whose metadata filter matches, with
// values and metadata, in pages in id order. Each page is consistent (one
// moment); records written between pages appear or not according to their
// ids. It costs the read units of a Fetch of the records returned.
func (h *Namespace) FetchByMetadata(ctx context.Context, req FetchByMetadataRequest) (FetchByMetadataResult, error) {
	_, err := h.begin(ctx)
	if err != nil {
		return FetchByMetadataResult{}, err
	}
	defer h.leave()
	fn, err := requiredFilter(req.Filter)
	if err != nil {
		return FetchByMetadataResult{}, err
	}
	limit, err := listLimit(req.Limit)
	if err != nil {
		return FetchByMetadataResult{}, err
	}
	after, err := decodeToken(tokenMetadata, req.PaginationToken)
	if err != nil {
		return FetchByMetadataResult{}, err
	}
	res, ns, err := readGenerations(h.ix(), h.name, func(ns *namespaceState) (FetchByMetadataResult, bool, error) {
		res := FetchByMetadataResult{Namespace: h.name}
		if ns == nil {
			return res, true, nil
		}
		seg, err := ns.hotIndexed(ctx)
		if err != nil {
			return FetchByMetadataResult{}, false, err
		}
		snap, ok := ns.readAgreeing(seg)
		for !ok { // evicted since the load: load it again
			if seg, err = ns.hotIndexed(ctx); err != nil {
				return FetchByMetadataResult{}, false, err
			}
			snap, ok = ns.readAgreeing(seg)
		}
		defer snap.Discard()
		allowed, err := seg.EvalLocked(ctx, fn)
		if err != nil {
			seg.RUnlock()
			return FetchByMetadataResult{}, false, fromFilterErr(err)
		}
		ids := seg.FirstIDsLocked(allowed, after, limit+1)
		seg.RUnlock()
		if len(ids) > limit {
			ids = ids[:limit]
			res.NextToken = encodeToken(tokenMetadata, ids[limit-1])
		}
		live, err := checkLive(snap, ns)
		if err != nil {
			return FetchByMetadataResult{}, false, storageErr(err)
		}
		if !live {
			return FetchByMetadataResult{Namespace: h.name}, false, nil
		}
		for _, id := range ids {
			rec, found, err := readRecord(snap, ns, id, true)
			if err != nil {
				return FetchByMetadataResult{}, false, storageErr(err)
			}
			if found {
				res.Records = append(res.Records, rec)
			}
		}
		return res, true, nil
	})
	if err != nil {
		return FetchByMetadataResult{}, err
	}
	res.Usage.ReadUnits = usage.FetchReadUnits(len(res.Records))
	if ns != nil {
		ns.usage.AddReads(uint64(res.Usage.ReadUnits))
	}
	return res, nil
}
