package record

import "github.com/vectordb-go/vectordb/internal/storage"

// Prepared is a validated record in stored form with its values encoded
// for storage: what a write (an upsert, an import) puts in a transaction
// and then hands to the namespace's segment.
type Prepared struct {
	ID       string
	Values   []float32 // the caller's slice, not copied: see Prepare
	Sparse   Sparse
	Metadata map[string]any // stored form, nil without metadata
	Size     uint64         // accounted size (Size)
	Vector   []byte         // the vector value (storage.AppendVector)
	Meta     []byte         // the metadata value (storage.AppendMetadata), nil without metadata
}

// Prepare validates a record for an index of schema s, in the order id,
// values, sparse values, metadata, and encodes it into p. Errors name
// fields relative to the record ("values[3]"). values is not copied: the
// caller must keep it unchanged until the write has applied it (a
// segment copies what it keeps).
func Prepare(p *Prepared, id string, values []float32, sparseIdx []uint32, sparseVal []float32, md map[string]any, s Schema) error {
	if err := CheckID("id", id); err != nil {
		return err
	}
	if err := CheckVector("values", values, s.Dim); err != nil {
		return err
	}
	sp, err := NormalizeSparse("sparseValues", sparseIdx, sparseVal, s)
	if err != nil {
		return err
	}
	md, mdSize, err := NormalizeMetadata("metadata", md)
	if err != nil {
		return err
	}
	*p = Prepared{ID: id, Values: values, Sparse: sp, Metadata: md, Size: Size(id, mdSize, s.Dim, len(sp.Idx))}
	if md != nil {
		if p.Meta, err = storage.AppendMetadata(nil, md, mdSize); err != nil {
			return argErr("metadata", nil, err.Error())
		}
	}
	p.Vector = storage.AppendVector(nil, &storage.VectorRecord{
		Values: values, SparseIndices: sp.Idx, SparseValues: sp.Val,
	})
	return nil
}

// TxnCost is what writing p costs in the storage engine's transaction
// accounting: each entry is key + value + overhead, and an overwrite may
// add a tombstone for the old metadata.
func (p *Prepared) TxnCost() int64 {
	keyLen := int64(10 + len(p.ID) + storage.TxnEntryOverhead)
	return keyLen + int64(len(p.Vector)) + keyLen + int64(len(p.Meta))
}
