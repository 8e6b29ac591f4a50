package storage

import (
	"encoding/binary"
	"errors"
)

// Key tags: the first byte of every key.
const (
	tagMeta      byte = 0x01
	tagIndex     byte = 0x02
	tagNamespace byte = 0x03
	tagStats     byte = 0x04
	tagReads     byte = 0x05
	tagDrop      byte = 0x06
	tagStaging   byte = 0x07
	tagData      byte = 0x10
)

// Sub-kinds inside a namespace's data range.
const (
	kindVector   byte = 'v'
	kindMetadata byte = 'm'
	kindIVF      byte = 'i'
)

// ErrBadKey is returned when a key does not have the layout its parser expects.
var ErrBadKey = errors.New("storage: malformed key")

// FormatKey holds the on-disk format version.
func FormatKey() []byte { return []byte{tagMeta, 'f'} }

// IndexSeqKey holds the next index id.
func IndexSeqKey() []byte { return []byte{tagMeta, 'i'} }

// NamespaceSeqKey holds the end of the namespace ids leased so far in
// index ix: every id ever used is below it.
func NamespaceSeqKey(ix uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagMeta, 'n'}, ix)
}

// IndexKey is the catalog key of the index called name.
func IndexKey(name string) []byte {
	return append([]byte{tagIndex}, name...)
}

// IndexCatalogPrefix is the prefix of every index catalog key.
func IndexCatalogPrefix() []byte { return []byte{tagIndex} }

// IndexNameFromKey returns the name held in an index catalog key.
func IndexNameFromKey(key []byte) (string, error) {
	if len(key) < 1 || key[0] != tagIndex {
		return "", ErrBadKey
	}
	return string(key[1:]), nil
}

// NamespaceKey is the catalog key of namespace name in index ix.
func NamespaceKey(ix uint32, name string) []byte {
	k := make([]byte, 0, 5+len(name))
	k = append(k, tagNamespace)
	k = binary.BigEndian.AppendUint32(k, ix)
	return append(k, name...)
}

// NamespaceCatalogPrefix is the prefix of every namespace catalog key of index ix.
func NamespaceCatalogPrefix(ix uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagNamespace}, ix)
}

// AllNamespacesPrefix is the prefix of every namespace catalog key.
func AllNamespacesPrefix() []byte { return []byte{tagNamespace} }

// NamespaceFromKey returns the index id and namespace name held in a
// namespace catalog key.
func NamespaceFromKey(key []byte) (ix uint32, name string, err error) {
	if len(key) < 5 || key[0] != tagNamespace {
		return 0, "", ErrBadKey
	}
	return binary.BigEndian.Uint32(key[1:5]), string(key[5:]), nil
}

func idPair(tag byte, ix, ns uint32) []byte {
	k := make([]byte, 9)
	k[0] = tag
	binary.BigEndian.PutUint32(k[1:5], ix)
	binary.BigEndian.PutUint32(k[5:9], ns)
	return k
}

// StatsKey holds the counters of namespace ns of index ix.
func StatsKey(ix, ns uint32) []byte { return idPair(tagStats, ix, ns) }

// StatsPrefix is the prefix of every stats key of index ix.
func StatsPrefix(ix uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagStats}, ix)
}

// ReadUnitsKey holds the cumulative read units of namespace ns of index ix.
// They live apart from StatsKey so that the lazy flusher never writes a key
// that a namespace writer also writes.
func ReadUnitsKey(ix, ns uint32) []byte { return idPair(tagReads, ix, ns) }

// ReadUnitsPrefix is the prefix of every read-units key of index ix.
func ReadUnitsPrefix(ix uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagReads}, ix)
}

// DropKey is the key of the pending drop with the given id.
func DropKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagDrop}, id)
}

// DropPrefix is the prefix of every pending-drop key.
func DropPrefix() []byte { return []byte{tagDrop} }

// IndexDataPrefix is the prefix of all record data of index ix.
func IndexDataPrefix(ix uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagData}, ix)
}

// NamespaceDataPrefix is the prefix of all record data of namespace ns of index ix.
func NamespaceDataPrefix(ix, ns uint32) []byte { return idPair(tagData, ix, ns) }

// VectorPrefix is the prefix of every vector key of namespace ns of index ix.
func VectorPrefix(ix, ns uint32) []byte {
	return append(idPair(tagData, ix, ns), kindVector)
}

// MetadataPrefix is the prefix of every metadata key of namespace ns of index ix.
func MetadataPrefix(ix, ns uint32) []byte {
	return append(idPair(tagData, ix, ns), kindMetadata)
}

func recordKey(ix, ns uint32, kind byte, id string) []byte {
	k := make([]byte, 10, 10+len(id))
	k[0] = tagData
	binary.BigEndian.PutUint32(k[1:5], ix)
	binary.BigEndian.PutUint32(k[5:9], ns)
	k[9] = kind
	return append(k, id...)
}

// VectorKey is the key of record id's values in namespace ns of index ix.
func VectorKey(ix, ns uint32, id string) []byte { return recordKey(ix, ns, kindVector, id) }

// MetadataKey is the key of record id's metadata in namespace ns of index ix.
func MetadataKey(ix, ns uint32, id string) []byte { return recordKey(ix, ns, kindMetadata, id) }

// RecordIDFromKey returns the record id held in a vector or metadata key.
// It does not copy: the result aliases key.
func RecordIDFromKey(key []byte) ([]byte, error) {
	if len(key) < 11 || key[0] != tagData || (key[9] != kindVector && key[9] != kindMetadata) {
		return nil, ErrBadKey
	}
	return key[10:], nil
}

// AllStatsPrefix is the prefix of every stats key.
func AllStatsPrefix() []byte { return []byte{tagStats} }

// AllReadUnitsPrefix is the prefix of every read-units key.
func AllReadUnitsPrefix() []byte { return []byte{tagReads} }

// StagingKey marks namespace id ns of index ix as being imported: its data
// range is filled but the namespace is not yet in the catalog. The import's
// final transaction deletes the key; one found at Open is an import that
// never finished, whose data must be dropped.
func StagingKey(ix, ns uint32) []byte { return idPair(tagStaging, ix, ns) }

// StagingPrefix is the prefix of every staging key.
func StagingPrefix() []byte { return []byte{tagStaging} }

// IDPairFromKey returns the index and namespace ids of a stats,
// read-units or staging key.
func IDPairFromKey(key []byte) (ix, ns uint32, err error) {
	if len(key) != 9 || (key[0] != tagStats && key[0] != tagReads && key[0] != tagStaging) {
		return 0, 0, ErrBadKey
	}
	return binary.BigEndian.Uint32(key[1:5]), binary.BigEndian.Uint32(key[5:9]), nil
}

// DropIDFromKey returns the id of a pending-drop key.
func DropIDFromKey(key []byte) (uint64, error) {
	if len(key) != 9 || key[0] != tagDrop {
		return 0, ErrBadKey
	}
	return binary.BigEndian.Uint64(key[1:]), nil
}

// AllDataPrefix is the prefix of every key under a namespace's data range.
func AllDataPrefix() []byte { return []byte{tagData} }

// DataIDPairFromKey returns the index and namespace ids of a key in a
// namespace's data range.
func DataIDPairFromKey(key []byte) (ix, ns uint32, err error) {
	if len(key) < 10 || key[0] != tagData {
		return 0, 0, ErrBadKey
	}
	return binary.BigEndian.Uint32(key[1:5]), binary.BigEndian.Uint32(key[5:9]), nil
}
