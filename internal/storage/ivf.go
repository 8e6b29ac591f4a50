package storage

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
)

// A namespace's IVF index is stored under its data range, kind 'i': a
// header key naming the current generation, and that generation's body
// (centroids, then each record's list) split into parts small enough for
// one transaction each. A build writes the parts of a new generation, then
// the header in one transaction, then deletes every other generation's
// parts, so a crash at any point leaves the old index or the new one, and
// at worst unreferenced parts that the next build or the namespace's drop
// removes.

// IVFPrefix is the prefix of every IVF key of namespace ns of index ix.
func IVFPrefix(ix, ns uint32) []byte { return append(idPair(tagData, ix, ns), kindIVF) }

// IVFHeaderKey holds the IVF header of namespace ns of index ix.
func IVFHeaderKey(ix, ns uint32) []byte { return append(IVFPrefix(ix, ns), 'h') }

// IVFPartsPrefix is the prefix of the body parts of every generation.
func IVFPartsPrefix(ix, ns uint32) []byte { return append(IVFPrefix(ix, ns), 'p') }

// IVFPartKey is the key of body part n of generation gen.
func IVFPartKey(ix, ns uint32, gen uint64, n uint32) []byte {
	k := binary.BigEndian.AppendUint64(IVFPartsPrefix(ix, ns), gen)
	return binary.BigEndian.AppendUint32(k, n)
}

// IVFPartGen returns the generation of a body part key.
func IVFPartGen(key []byte) (uint64, error) {
	if len(key) != 10+1+8+4 || key[0] != tagData || key[9] != kindIVF || key[10] != 'p' {
		return 0, ErrBadKey
	}
	return binary.BigEndian.Uint64(key[11:19]), nil
}

// IVFHeader describes a stored IVF index.
type IVFHeader struct {
	Gen            uint64 // the generation whose parts hold the body
	Metric         uint8  // ivf.Metric
	Dim, NList     uint32
	TrainedRecords uint64  // live records when trained
	NProbe         uint32  // calibrated
	Recall         float64 // estimated recall@10 at NProbe
	Imbalance      float64 // list imbalance when built
	BuiltAt        int64   // Unix nanoseconds
	BuildNanos     int64
	Parts          uint32 // body parts
	BodyLen        uint64 // body bytes, across the parts
	BodyCRC        uint32 // CRC-32C of the body
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode returns the stored form of h.
func (h *IVFHeader) Encode() []byte {
	b := []byte{recordVersion}
	b = binary.AppendUvarint(b, h.Gen)
	b = append(b, h.Metric)
	for _, v := range []uint64{uint64(h.Dim), uint64(h.NList), h.TrainedRecords, uint64(h.NProbe)} {
		b = binary.AppendUvarint(b, v)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Recall))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(h.Imbalance))
	b = binary.AppendVarint(b, h.BuiltAt)
	b = binary.AppendVarint(b, h.BuildNanos)
	b = binary.AppendUvarint(b, uint64(h.Parts))
	b = binary.AppendUvarint(b, h.BodyLen)
	return binary.BigEndian.AppendUint32(b, h.BodyCRC)
}

// DecodeIVFHeader decodes a value written by IVFHeader.Encode.
func DecodeIVFHeader(b []byte) (IVFHeader, error) {
	var h IVFHeader
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return h, corrupt("ivf header version")
	}
	h.Gen = d.uvarint()
	h.Metric = d.byte()
	h.Dim = uint32(d.uvarint())
	h.NList = uint32(d.uvarint())
	h.TrainedRecords = d.uvarint()
	h.NProbe = uint32(d.uvarint())
	h.Recall = math.Float64frombits(d.uint64())
	h.Imbalance = math.Float64frombits(d.uint64())
	h.BuiltAt = d.varint()
	h.BuildNanos = d.varint()
	h.Parts = uint32(d.uvarint())
	h.BodyLen = d.uvarint()
	h.BodyCRC = d.uint32()
	if d.err == nil && (h.Dim == 0 || h.NList == 0 || h.NProbe == 0 || h.NProbe > h.NList) {
		d.fail("ivf header fields")
	}
	return h, d.finish()
}

// IVFAssignment is one record's list in a stored IVF body, with the
// CRC-32C of its values when assigned (VectorCRC), so that a loader can
// tell whether the record has changed since.
type IVFAssignment struct {
	ID   string
	List uint32
	CRC  uint32
}

// EncodeIVFBody returns the body of an IVF index: nlist*dim centroid
// floats, then the assignments, which must be sorted by id.
func EncodeIVFBody(centroids []float32, as []IVFAssignment) []byte {
	size := 4*len(centroids) + 10
	for i := range as {
		size += len(as[i].ID) + 10
	}
	b := make([]byte, 0, size)
	for _, f := range centroids {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	b = binary.AppendUvarint(b, uint64(len(as)))
	for i := range as {
		b = binary.AppendUvarint(b, uint64(len(as[i].ID)))
		b = append(b, as[i].ID...)
		b = binary.BigEndian.AppendUint32(b, as[i].List)
		b = binary.BigEndian.AppendUint32(b, as[i].CRC)
	}
	return b
}

// SplitIVFBody cuts body into parts of at most size bytes and returns the
// header fields that describe them (Parts, BodyLen, BodyCRC).
func SplitIVFBody(body []byte, size int) (parts [][]byte, h IVFHeader) {
	for len(body) > 0 || len(parts) == 0 {
		n := min(size, len(body))
		parts = append(parts, body[:n])
		body = body[n:]
	}
	h.Parts = uint32(len(parts))
	for _, p := range parts {
		h.BodyLen += uint64(len(p))
		h.BodyCRC = crc32.Update(h.BodyCRC, castagnoli, p)
	}
	return parts, h
}

// IVFEntry is a decoded IVFAssignment; ID aliases the decoded body.
type IVFEntry struct {
	ID   []byte
	List uint32
	CRC  uint32
}

// DecodeIVFBody checks the joined parts against h and decodes them: the
// centroids, and the assignments in stored (id) order, without copying
// their ids (a load merges a million of them with its records).
// Assignments naming a list >= NList, or out of order, are corrupt.
func DecodeIVFBody(h *IVFHeader, body []byte) (centroids []float32, es []IVFEntry, err error) {
	if uint64(len(body)) != h.BodyLen || crc32.Checksum(body, castagnoli) != h.BodyCRC {
		return nil, nil, corrupt("ivf body checksum")
	}
	nc := uint64(h.NList) * uint64(h.Dim)
	if nc > uint64(len(body))/4 {
		return nil, nil, corrupt("ivf body truncated")
	}
	centroids = make([]float32, nc)
	for i := range centroids {
		centroids[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	d := decoder{b: body[4*nc:]}
	n := d.count(1 + 8)
	es = make([]IVFEntry, 0, n)
	for range n {
		e := IVFEntry{ID: d.bytes(), List: d.uint32(), CRC: d.uint32()}
		switch {
		case d.err != nil:
		case e.List >= h.NList:
			d.fail("ivf list out of range")
		case len(es) > 0 && bytes.Compare(es[len(es)-1].ID, e.ID) >= 0:
			d.fail("ivf assignments out of order")
		}
		es = append(es, e)
	}
	if err := d.finish(); err != nil {
		return nil, nil, err
	}
	return centroids, es, nil
}

// VectorCRC is the CRC-32C of dense values as IVF assignments record it:
// of their little-endian bytes. On little-endian CPUs those are the
// values' memory, hashed in place.
func VectorCRC(values []float32) uint32 {
	if littleEndian {
		return crc32.Checksum(floatBytes(values), castagnoli)
	}
	var buf [256]byte
	var c uint32
	for len(values) > 0 {
		n := min(len(values), len(buf)/4)
		for i, f := range values[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
		}
		c = crc32.Update(c, castagnoli, buf[:4*n])
		values = values[n:]
	}
	return c
}
