package storage

import "context"

// RecordHeader is what the headers of a stored record's values tell,
// decoding nothing else: enough for a writer to account the record it
// overwrites or deletes.
type RecordHeader struct {
	Dim, NNZ         int // dense values and sparse entries
	HasMetadata      bool
	MetadataJSONSize int // 0 without metadata
}

// ReadRecordHeader reports whether record id of namespace ns in index ix
// exists and, if so, its header. It reads only the headers of the
// record's vector and metadata values.
func ReadRecordHeader(t *Txn, ix, ns uint32, id string) (RecordHeader, bool, error) {
	var h RecordHeader
	found, err := t.Get(VectorKey(ix, ns, id), func(b []byte) error {
		v, err := ParseVector(b)
		h.Dim, h.NNZ = v.Dim, v.NNZ
		return err
	})
	if err != nil || !found {
		return RecordHeader{}, false, err
	}
	h.HasMetadata, err = t.Get(MetadataKey(ix, ns, id), func(b []byte) error {
		var err error
		h.MetadataJSONSize, err = MetadataJSONSize(b)
		return err
	})
	return h, true, err
}

// StoredRecord is a record read back from storage, in new slices and a
// new map the caller owns.
type StoredRecord struct {
	Values        []float32
	SparseIndices []uint32       // nil without sparse values
	SparseValues  []float32      // nil without sparse values
	Metadata      map[string]any // nil without metadata
}

// ReadRecord reads record id of namespace ns in index ix and reports
// whether it exists. Without withValues it decodes only the metadata.
func ReadRecord(t *Txn, ix, ns uint32, id string, withValues bool) (StoredRecord, bool, error) {
	var r StoredRecord
	found, err := t.Get(VectorKey(ix, ns, id), func(b []byte) error {
		if !withValues {
			return nil
		}
		v, err := ParseVector(b)
		if err != nil {
			return err
		}
		r.Values = v.Dense()
		r.SparseIndices, r.SparseValues = v.Sparse()
		return nil
	})
	if err != nil || !found {
		return r, false, err
	}
	r.Metadata, _, err = ReadMetadata(t, ix, ns, id)
	return r, err == nil, err
}

// ReadMetadata reads the metadata of record id of namespace ns in index
// ix, nil if it has none, and its JSON size.
func ReadMetadata(t *Txn, ix, ns uint32, id string) (map[string]any, int, error) {
	var (
		md   map[string]any
		size int
	)
	_, err := t.Get(MetadataKey(ix, ns, id), func(b []byte) error {
		var err error
		md, size, err = DecodeMetadata(b)
		return err
	})
	return md, size, err
}

// scanCheckEvery is how many records ScanRecords reads between context
// checks.
const scanCheckEvery = 4096

// ScanRecords calls fn with the record id and value of every key under
// prefix (a namespace's VectorPrefix or MetadataPrefix), in id order,
// checking ctx every scanCheckEvery records: a namespace's load or check
// reads all of it. id and v are valid only during fn.
func ScanRecords(ctx context.Context, t *Txn, prefix []byte, fn func(id, v []byte) error) error {
	rows := 0
	return t.Iterate(IterOptions{Prefix: prefix}, func(k, v []byte) (bool, error) {
		if rows++; rows%scanCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		id, err := RecordIDFromKey(k)
		if err != nil {
			return false, err
		}
		return true, fn(id, v)
	})
}
