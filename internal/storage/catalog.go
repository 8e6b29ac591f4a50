package storage

import (
	"encoding/binary"
	"maps"
	"slices"
)

// FormatVersion is the on-disk format this package writes and reads. Open
// refuses a directory holding any other version.
const FormatVersion uint32 = 1

// EncodeUint32 and DecodeUint32 serve the format-version and sequence keys.
func EncodeUint32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// DecodeUint32 decodes a value written by EncodeUint32.
func DecodeUint32(b []byte) (uint32, error) {
	if len(b) != 4 {
		return 0, corrupt("uint32 value")
	}
	return binary.BigEndian.Uint32(b), nil
}

// EncodeUint64 encodes the drop sequence and read-unit counters.
func EncodeUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// DecodeUint64 decodes a value written by EncodeUint64.
func DecodeUint64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, corrupt("uint64 value")
	}
	return binary.BigEndian.Uint64(b), nil
}

// IndexRecord is the catalog entry of an index; its name is the key.
type IndexRecord struct {
	ID                 uint32
	Dimension          int
	Metric             string
	DeletionProtection bool
	Tags               map[string]string
	CreatedAt          int64 // Unix nanoseconds
}

// Encode returns the stored form of r: version, id, dimension, metric,
// protection, created-at, then the tags in key order.
func (r *IndexRecord) Encode() []byte {
	b := []byte{recordVersion}
	b = binary.BigEndian.AppendUint32(b, r.ID)
	b = binary.AppendUvarint(b, uint64(r.Dimension))
	b = appendString(b, r.Metric)
	b = append(b, boolByte(r.DeletionProtection))
	b = binary.AppendVarint(b, r.CreatedAt)
	b = binary.AppendUvarint(b, uint64(len(r.Tags)))
	for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
		b = appendString(appendString(b, k), r.Tags[k])
	}
	return b
}

// DecodeIndexRecord decodes a value written by IndexRecord.Encode.
func DecodeIndexRecord(b []byte) (IndexRecord, error) {
	var r IndexRecord
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return r, corrupt("index record version")
	}
	r.ID = d.uint32()
	r.Dimension = int(d.uvarint())
	r.Metric = d.string()
	r.DeletionProtection = d.bool()
	r.CreatedAt = d.varint()
	if n := d.count(2); n > 0 {
		r.Tags = make(map[string]string, n)
		for range n {
			k := d.string()
			r.Tags[k] = d.string()
		}
	}
	return r, d.finish()
}

// CatalogRecordID returns the id an encoded IndexRecord or NamespaceRecord
// starts with (both begin with the version byte and the big-endian id), so
// that checking which generation a catalog entry names decodes nothing
// else.
func CatalogRecordID(b []byte) (uint32, error) {
	if len(b) < 5 || (b[0] != recordVersion && b[0] != quotaRecordVersion) {
		return 0, corrupt("catalog record")
	}
	return binary.BigEndian.Uint32(b[1:5]), nil
}

// NamespaceRecord is the catalog entry of a namespace; its index id and
// name are the key.
type NamespaceRecord struct {
	ID        uint32
	CreatedAt int64 // Unix nanoseconds
	// The namespace's quota; zero is no limit. A record without one
	// encodes exactly as before quotas existed.
	MaxRecords, MaxBytes uint64
}

// quotaRecordVersion tags a namespace record that carries a quota.
const quotaRecordVersion = 2

// Encode returns the stored form of r.
func (r *NamespaceRecord) Encode() []byte {
	v := byte(recordVersion)
	if r.MaxRecords != 0 || r.MaxBytes != 0 {
		v = quotaRecordVersion
	}
	b := []byte{v}
	b = binary.BigEndian.AppendUint32(b, r.ID)
	b = binary.AppendVarint(b, r.CreatedAt)
	if v == quotaRecordVersion {
		b = binary.AppendUvarint(b, r.MaxRecords)
		b = binary.AppendUvarint(b, r.MaxBytes)
	}
	return b
}

// DecodeNamespaceRecord decodes a value written by NamespaceRecord.Encode.
func DecodeNamespaceRecord(b []byte) (NamespaceRecord, error) {
	var r NamespaceRecord
	d := decoder{b: b}
	v := d.byte()
	if v != recordVersion && v != quotaRecordVersion {
		return r, corrupt("namespace record version")
	}
	r.ID = d.uint32()
	r.CreatedAt = d.varint()
	if v == quotaRecordVersion {
		r.MaxRecords = d.uvarint()
		r.MaxBytes = d.uvarint()
	}
	return r, d.finish()
}

// Stats are a namespace's persisted counters, written in the same
// transaction as the records they count.
type Stats struct {
	Records    uint64 // live records
	Bytes      uint64 // sum of the records' accounted sizes
	WriteUnits uint64 // cumulative write units
}

// Encode returns the stored form of s.
func (s *Stats) Encode() []byte {
	b := []byte{recordVersion}
	b = binary.AppendUvarint(b, s.Records)
	b = binary.AppendUvarint(b, s.Bytes)
	return binary.AppendUvarint(b, s.WriteUnits)
}

// DecodeStats decodes a value written by Stats.Encode.
func DecodeStats(b []byte) (Stats, error) {
	var s Stats
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return s, corrupt("stats version")
	}
	s.Records = d.uvarint()
	s.Bytes = d.uvarint()
	s.WriteUnits = d.uvarint()
	return s, d.finish()
}

// DropRecord is a pending drop: key prefixes whose data must be deleted.
// It is written in the same transaction that removes the catalog entries,
// and deleted only once a scan has shown every prefix empty.
type DropRecord struct {
	Prefixes [][]byte
}

// Encode returns the stored form of r.
func (r *DropRecord) Encode() []byte {
	b := []byte{recordVersion}
	b = binary.AppendUvarint(b, uint64(len(r.Prefixes)))
	for _, p := range r.Prefixes {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// DecodeDropRecord decodes a value written by DropRecord.Encode.
func DecodeDropRecord(b []byte) (DropRecord, error) {
	var r DropRecord
	d := decoder{b: b}
	if d.byte() != recordVersion {
		return r, corrupt("drop record version")
	}
	n := d.count(1)
	for range n {
		p := d.bytes()
		if len(p) == 0 {
			d.fail("empty drop prefix")
		}
		r.Prefixes = append(r.Prefixes, slices.Clone(p))
	}
	return r, d.finish()
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bool")
	return false
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}
