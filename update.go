package vectordb

import (
	"context"
	"slices"

	"github.com/vectordb-go/vectordb/storage"
)

// UpdateRequest changes one record. Nil fields are left alone; at least
// one must be set.
type UpdateRequest struct {
	ID           string
	Values       []float32     // replaces the dense values
	SparseValues *SparseValues // replaces the sparse values (dotproduct indexes)
	SetMetadata  Metadata      // merged key by key into the metadata
}

// UpdateResult reports an Update.
type UpdateResult struct {
	MatchedRecords int // 1 if the record existed, else 0
	Usage          Usage
}

// Update changes the record req.ID: Values and SparseValues replace the
// stored ones, SetMetadata adds or overwrites metadata keys and keeps the
// others. An unknown id (or namespace) is not an error: nothing changes
// and MatchedRecords is 0. The merged metadata must still fit in
// MaxMetadataBytes.
func (h *Namespace) Update(ctx context.Context, req UpdateRequest) (UpdateResult, error) {
	if err := h.begin(ctx); err != nil {
		return UpdateResult{}, err
	}
	defer h.leave()
	ix := h.ix()
	if err := checkID("id", req.ID); err != nil {
		return UpdateResult{}, err
	}
	if req.Values == nil && req.SparseValues == nil && req.SetMetadata == nil {
		return UpdateResult{}, argErr("update", nil, "set at least one of values, sparseValues and setMetadata")
	}
	if req.Values != nil {
		if err := checkVector("values", req.Values, ix.dim); err != nil {
			return UpdateResult{}, err
		}
	}
	newSparse, err := normalizeSparse("sparseValues", req.SparseValues, ix.metric)
	if err != nil {
		return UpdateResult{}, err
	}
	setMD, _, err := normalizeMetadata("setMetadata", req.SetMetadata)
	if err != nil {
		return UpdateResult{}, err
	}
	m, err := ix.write(ctx, h.name, false, func(t *storage.Txn, ns *namespace, m *mutation) error {
		old, found, err := getHeader(t, ns, req.ID)
		if err != nil || !found {
			return err
		}
		m.matched = 1
		rec, _, err := readRecord(t, ns, req.ID, true)
		if err != nil {
			return err
		}
		put := segPut{id: req.ID, values: rec.Values, md: rec.Metadata}
		if rec.SparseValues != nil {
			put.sparse = sparseVec{idx: rec.SparseValues.Indices, val: rec.SparseValues.Values}
		}
		if req.Values != nil || req.SparseValues != nil {
			if req.Values != nil {
				put.values = slices.Clone(req.Values)
			}
			if req.SparseValues != nil {
				put.sparse = newSparse
			}
			vec := storage.AppendVector(nil, &storage.VectorRecord{
				Values: put.values, SparseIndices: put.sparse.idx, SparseValues: put.sparse.val,
			})
			if err := t.Set(storage.VectorKey(ix.id, ns.id, req.ID), vec); err != nil {
				return err
			}
		}
		if setMD != nil {
			put.md = mergeMetadata(put.md, setMD)
		}
		mdSize := metadataJSONSize(put.md)
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
		size := recordSize(req.ID, mdSize, ix.dim, len(put.sparse.idx))
		m.bytes = int64(size) - int64(old.size)
		m.written = old.size + size
		m.puts = []segPut{put}
		return nil
	})
	if err != nil {
		return UpdateResult{}, err
	}
	res := UpdateResult{Usage: Usage{WriteUnits: minWriteUnits}}
	if m != nil {
		res.MatchedRecords = m.matched
		res.Usage.WriteUnits = writeUnits(m.written)
	}
	return res, nil
}
