package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// ErrCorrupt is returned when a stored value cannot be decoded.
var ErrCorrupt = errors.New("storage: corrupt value")

func corrupt(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }

// recordVersion is the first byte of every vector and metadata value.
const recordVersion = 1

// VectorRecord is the stored form of a record's values. Layout (version 1):
//
//	byte     version (1)
//	uvarint  dimension d
//	d x 4    dense values, float32 little-endian
//	uvarint  number of sparse entries n
//	n x 4    sparse indices, uint32 little-endian, strictly increasing
//	n x 4    sparse values, float32 little-endian
//
// A record's metadata is a separate value (AppendMetadata), so that a
// metadata-only update never rewrites the vector.
type VectorRecord struct {
	Values        []float32
	SparseIndices []uint32
	SparseValues  []float32
}

// AppendVector appends the encoding of r to dst.
func AppendVector(dst []byte, r *VectorRecord) []byte {
	dst = slices.Grow(dst, 1+2*binary.MaxVarintLen64+4*len(r.Values)+8*len(r.SparseIndices))
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(len(r.Values)))
	if littleEndian {
		dst = append(dst, floatBytes(r.Values)...)
	} else {
		for _, v := range r.Values {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(r.SparseIndices)))
	for _, i := range r.SparseIndices {
		dst = binary.LittleEndian.AppendUint32(dst, i)
	}
	for _, v := range r.SparseValues {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

// VectorView is a decoded vector value that still points into the encoded
// bytes; it is valid only as long as they are.
type VectorView struct {
	Dim     int
	NNZ     int
	dense   []byte
	indices []byte
	values  []byte
}

// ParseVector decodes the layout of an encoded vector value without copying.
func ParseVector(b []byte) (VectorView, error) {
	var v VectorView
	if len(b) < 1 {
		return v, corrupt("vector value too short")
	}
	if b[0] != recordVersion {
		return v, corrupt(fmt.Sprintf("vector value version %d", b[0]))
	}
	b = b[1:]
	dim, n := binary.Uvarint(b)
	if n <= 0 || dim > uint64(len(b)-n)/4 {
		return v, corrupt("vector dimension")
	}
	b = b[n:]
	v.Dim = int(dim)
	v.dense, b = b[:4*dim], b[4*dim:]
	nnz, n := binary.Uvarint(b)
	if n <= 0 || nnz > uint64(len(b)-n)/8 {
		return v, corrupt("sparse length")
	}
	b = b[n:]
	if uint64(len(b)) != 8*nnz {
		return v, corrupt("vector value length")
	}
	v.NNZ = int(nnz)
	v.indices, v.values = b[:4*nnz], b[4*nnz:]
	return v, nil
}

// DenseBytes returns the dense values as stored: Dim little-endian
// float32s. It does not copy.
func (v *VectorView) DenseBytes() []byte { return v.dense }

// SparseBytes returns the sparse indices and values as stored: NNZ
// little-endian uint32s and float32s. It does not copy.
func (v *VectorView) SparseBytes() (indices, values []byte) { return v.indices, v.values }

// DenseInto decodes the dense values into dst, which must have length v.Dim.
func (v *VectorView) DenseInto(dst []float32) { DecodeFloats(dst[:v.Dim], v.dense) }

// DecodeFloats decodes len(dst) little-endian float32s from src.
func DecodeFloats(dst []float32, src []byte) {
	if littleEndian && len(dst) > 0 {
		// The encoded bytes are the in-memory form: one memmove (4x the
		// loop below on a namespace load, BenchmarkColdLoad).
		copy(floatBytes(dst), src[:4*len(dst)])
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// littleEndian reports whether float32s are stored little-endian in memory,
// as in the encoding.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// floatBytes views f's memory as bytes.
func floatBytes(f []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
}

// Dense returns a new slice holding the dense values.
func (v *VectorView) Dense() []float32 {
	out := make([]float32, v.Dim)
	if v.Dim > 0 {
		v.DenseInto(out)
	}
	return out
}

// Sparse returns new slices holding the sparse indices and values, or nils
// when the record has no sparse part.
func (v *VectorView) Sparse() ([]uint32, []float32) {
	if v.NNZ == 0 {
		return nil, nil
	}
	idx := make([]uint32, v.NNZ)
	val := make([]float32, v.NNZ)
	for i := range idx {
		idx[i] = binary.LittleEndian.Uint32(v.indices[4*i:])
		val[i] = math.Float32frombits(binary.LittleEndian.Uint32(v.values[4*i:]))
	}
	return idx, val
}

// Metadata value type tags.
const (
	mdString byte = 's'
	mdNumber byte = 'n'
	mdTrue   byte = 't'
	mdFalse  byte = 'f'
	mdList   byte = 'l'
)

// AppendMetadata appends the encoding of md to dst. Values must be string,
// float64, bool or []string (the root package normalises user input to
// these); keys are written in sorted order so equal maps encode equally.
// jsonSize is md's size as JSON, which usage accounting needs on every
// overwrite and delete: it is stored so that reading it decodes nothing.
// Layout (version 1): version byte, uvarint jsonSize, uvarint count, then
// per key: uvarint length, key bytes, type tag, value (string: uvarint
// length + bytes; number: float64 little-endian; bool: tag only; list:
// uvarint count, then strings).
func AppendMetadata(dst []byte, md map[string]any, jsonSize int) ([]byte, error) {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(jsonSize))
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendString(dst, k)
		switch v := md[k].(type) {
		case string:
			dst = appendString(append(dst, mdString), v)
		case float64:
			dst = binary.LittleEndian.AppendUint64(append(dst, mdNumber), math.Float64bits(v))
		case bool:
			if v {
				dst = append(dst, mdTrue)
			} else {
				dst = append(dst, mdFalse)
			}
		case []string:
			dst = binary.AppendUvarint(append(dst, mdList), uint64(len(v)))
			for _, s := range v {
				dst = appendString(dst, s)
			}
		default:
			return nil, fmt.Errorf("storage: metadata %q has unsupported type %T", k, v)
		}
	}
	return dst, nil
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// MetadataJSONSize returns the JSON size stored in an encoded metadata
// value, reading only its header.
func MetadataJSONSize(b []byte) (int, error) {
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return 0, corrupt("metadata version")
	}
	size := d.uvarint()
	return int(size), d.err
}

// DecodeMetadata decodes a value written by AppendMetadata into a new map,
// and returns the stored JSON size.
func DecodeMetadata(b []byte) (map[string]any, int, error) {
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return nil, 0, corrupt("metadata version")
	}
	size := int(d.uvarint())
	n := d.count(2)
	md := make(map[string]any, n)
	for range n {
		k := d.string()
		switch d.byte() {
		case mdString:
			md[k] = d.string()
		case mdNumber:
			md[k] = math.Float64frombits(d.uint64())
		case mdTrue:
			md[k] = true
		case mdFalse:
			md[k] = false
		case mdList:
			l := make([]string, d.count(1))
			for i := range l {
				l[i] = d.string()
			}
			md[k] = l
		default:
			d.fail("metadata type tag")
		}
		if d.err != nil {
			return nil, 0, d.err
		}
	}
	if err := d.finish(); err != nil {
		return nil, 0, err
	}
	return md, size, nil
}

// decoder reads the uvarint-based encodings; the first failure sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = corrupt(what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a uvarint element count and checks it against the bytes left,
// given the minimum encoded size of one element, so corrupt input cannot
// make the caller allocate without bound.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/minSize) {
		d.fail("count exceeds input")
		return 0
	}
	return int(n)
}

func (d *decoder) uint32() uint32 {
	if len(d.b) < 4 {
		d.fail("truncated")
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("truncated")
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}
