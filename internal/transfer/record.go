package transfer

import (
	"encoding/binary"
	"encoding/json"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// Record is a record as a source decodes it. Its fields mirror the
// vectordb package's Record, and Sparse converts to its *SparseValues, so
// that handing a record over allocates nothing.
type Record struct {
	ID       string
	Values   []float32
	Sparse   *Sparse // nil: none
	Metadata map[string]any
}

// Sparse holds a record's sparse values.
type Sparse struct {
	Indices []uint32
	Values  []float32
}

// Totals is what a sink wrote or a source read.
type Totals struct {
	Records  int64 // records (or keys, for a backup)
	RawBytes int64 // bytes of record data, uncompressed
	Bytes    int64 // bytes of the stream (0 when reading)
}

// AppendRecord appends the export form of a record: its id, the stored
// vector v and its metadata as a JSON object (or empty).
func AppendRecord(b, id []byte, v *storage.VectorView, mdJSON []byte) []byte {
	b = append(binary.AppendUvarint(b, uint64(len(id))), id...)
	b = append(b, v.DenseBytes()...)
	idx, val := v.SparseBytes()
	b = append(append(binary.AppendUvarint(b, uint64(v.NNZ)), idx...), val...)
	return append(binary.AppendUvarint(b, uint64(len(mdJSON))), mdJSON...)
}

// DecodeRecord decodes an item of an export of dimension dim. The
// record's id and slices are fresh copies. It fails with a *StreamError
// about no block or item in particular; the caller says where.
func DecodeRecord(item []byte, dim int) (Record, error) {
	var r Record
	bad := func(what string) (Record, error) {
		return Record{}, badStream("malformed record (%s)", what)
	}
	n, k := binary.Uvarint(item)
	if k <= 0 || n > uint64(len(item)-k) {
		return bad("id")
	}
	r.ID, item = string(item[k:k+int(n)]), item[k+int(n):]
	if len(item) < 4*dim {
		return bad("values")
	}
	r.Values = decodeFloats(item[:4*dim])
	item = item[4*dim:]
	n, k = binary.Uvarint(item)
	if k <= 0 || n > uint64(len(item)-k)/8 {
		return bad("sparse values")
	}
	item = item[k:]
	if n > 0 {
		sp := &Sparse{Indices: make([]uint32, n)}
		for i := range sp.Indices {
			sp.Indices[i] = binary.LittleEndian.Uint32(item[4*i:])
		}
		sp.Values = decodeFloats(item[4*n : 8*n])
		r.Sparse, item = sp, item[8*n:]
	}
	n, k = binary.Uvarint(item)
	if k <= 0 || n != uint64(len(item)-k) {
		return bad("metadata length")
	}
	if n > 0 {
		if err := json.Unmarshal(item[k:], &r.Metadata); err != nil || r.Metadata == nil {
			return bad("metadata")
		}
	}
	return r, nil
}

// decodeFloats returns the little-endian float32s of b in a new slice.
func decodeFloats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	storage.DecodeFloats(out, b)
	return out
}
