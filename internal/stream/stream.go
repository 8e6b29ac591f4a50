// Package stream is the container format of vectordb's backups and
// namespace exports: a short uncompressed preamble naming the kind of
// stream and its format version, then one zstd stream of blocks. Each
// block is checksummed together with its sequence number, so a damaged,
// lost, repeated or reordered block is detected; the last block carries
// the totals, so a truncated stream is detected too. A reader never
// accepts a block larger than MaxBlock nor a zstd window larger than
// maxWindow, so no input makes it allocate without bound.
//
//	preamble  "VECTORDB" kind(1) version(1)
//	block     type(1) length(uvarint) payload crc(4)
//	crc       CRC-32C (Castagnoli), little endian, of seq(8, LE) type payload
//	stream    header block, data blocks, end block, then the end of the zstd stream
//
// A data block holds items, each a uvarint length and that many bytes;
// what an item means is the caller's business (a record of an export, a
// key and value of a backup). The end block holds three uvarints: the
// number of data blocks, of items, and of item bytes.
//
// It must not interpret items: what they hold is internal/transfer's.
package stream

import (
	"errors"
	"fmt"
	"hash/crc32"
)

// Block types.
const (
	typeHeader byte = 'H'
	typeData   byte = 'D'
	typeEnd    byte = 'E'
)

// Kinds of stream, the byte after the magic.
const (
	KindBackup    byte = 'B'
	KindNamespace byte = 'N'
)

const (
	magic = "VECTORDB"
	// Version is the format version this package writes and the newest it
	// reads.
	Version byte = 1
	// MaxBlock bounds a block's payload, and so an item or a header.
	MaxBlock = 16 << 20
	// blockTarget is the payload size at which a writer ends a data block.
	blockTarget = 1 << 20
	// maxWindow bounds the zstd window a reader accepts (a writer uses
	// encoderWindow).
	maxWindow     = 8 << 20
	encoderWindow = 4 << 20
)

// ErrCorrupt is wrapped by every *CorruptError. The vectordb package
// turns a *CorruptError into its own *StreamError; this sentinel does not
// leave the module.
var ErrCorrupt = errors.New("corrupt or unreadable stream")

// CorruptError reports a stream that is damaged, truncated, of another
// kind, or of a format version this build does not read.
type CorruptError struct {
	Block  int64  // the block where it was found (the header is block 0), or -1 (the preamble)
	Reason string // what is wrong
	Err    error  // the cause (the reader's error, say), or nil
}

func (e *CorruptError) Error() string {
	msg := ErrCorrupt.Error() + ": "
	if e.Block >= 0 {
		msg += fmt.Sprintf("block %d: ", e.Block)
	}
	msg += e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrCorrupt and the cause.
func (e *CorruptError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCorrupt}
	}
	return []error{ErrCorrupt, e.Err}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// blockCRC is the checksum of block seq of type typ.
func blockCRC(seq uint64, typ byte, payload []byte) uint32 {
	var head [9]byte
	for i := range 8 {
		head[i] = byte(seq >> (8 * i))
	}
	head[8] = typ
	return crc32.Update(crc32.Update(0, castagnoli, head[:]), castagnoli, payload)
}

// Totals describe a stream's content.
type Totals struct {
	Items    int64 // items written or read
	RawBytes int64 // bytes of those items
	Bytes    int64 // bytes of the stream itself, preamble included
}
