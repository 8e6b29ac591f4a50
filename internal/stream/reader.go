package stream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// Reader reads a stream written by Writer, verifying it as it goes. It is
// not safe for concurrent use.
type Reader struct {
	dec    *zstd.Decoder
	in     *bufio.Reader
	seq    uint64
	block  []byte // the current data block's unread items
	buf    []byte // the block buffer, reused
	blocks int64  // data blocks read
	totals Totals
	done   bool
	err    error // sticky
}

// corruptf reports damage found in block (-1: the preamble).
func corruptf(block int64, format string, args ...any) error {
	return &CorruptError{Block: block, Reason: fmt.Sprintf(format, args...)}
}

// NewReader reads the preamble and header block of a stream of the given
// kind from r and returns the header. The Reader must be closed.
func NewReader(r io.Reader, kind byte) (*Reader, []byte, error) {
	var pre [len(magic) + 2]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, nil, corruptf(-1, "reading the preamble: %v", err)
	}
	switch {
	case string(pre[:len(magic)]) != magic:
		return nil, nil, corruptf(-1, "not a vectordb stream (magic %q)", pre[:len(magic)])
	case pre[len(magic)] != kind:
		return nil, nil, corruptf(-1, "a %s stream, not a %s", kindName(pre[len(magic)]), kindName(kind))
	case pre[len(magic)+1] == 0 || pre[len(magic)+1] > Version:
		return nil, nil, corruptf(-1, "format version %d; this build reads versions 1 to %d", pre[len(magic)+1], Version)
	}
	dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow),
		zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, nil, err
	}
	sr := &Reader{dec: dec, in: bufio.NewReader(dec)}
	typ, header, err := sr.readBlock()
	if err == nil && typ != typeHeader {
		err = corruptf(0, "of type %q, not a header", typ)
	}
	if err != nil {
		dec.Close()
		return nil, nil, err
	}
	return sr, append([]byte(nil), header...), nil
}

func kindName(k byte) string {
	switch k {
	case KindBackup:
		return "backup"
	case KindNamespace:
		return "namespace export"
	}
	return fmt.Sprintf("unknown (%q)", k)
}

// readBlock reads and verifies the next block. The payload is valid until
// the next call.
func (r *Reader) readBlock() (byte, []byte, error) {
	typ, err := r.in.ReadByte()
	if err != nil {
		return 0, nil, r.streamErr(err)
	}
	n, err := binary.ReadUvarint(r.in)
	if err != nil {
		return 0, nil, r.streamErr(err)
	}
	if n > MaxBlock {
		return 0, nil, corruptf(int64(r.seq), "claims %d bytes (limit %d)", n, MaxBlock)
	}
	// Grow the buffer a chunk at a time as bytes arrive, so that a damaged
	// length cannot make the reader allocate more than the stream holds.
	need := int(n) + 4
	r.buf = r.buf[:0]
	for len(r.buf) < need {
		chunk := min(need-len(r.buf), 1<<20)
		r.buf = slices.Grow(r.buf, chunk)
		m, err := io.ReadFull(r.in, r.buf[len(r.buf):len(r.buf)+chunk])
		r.buf = r.buf[:len(r.buf)+m]
		if err != nil {
			return 0, nil, r.streamErr(err)
		}
	}
	payload, sum := r.buf[:n], binary.LittleEndian.Uint32(r.buf[n:])
	if blockCRC(r.seq, typ, payload) != sum {
		return 0, nil, corruptf(int64(r.seq), "checksum mismatch")
	}
	r.seq++
	return typ, payload, nil
}

// streamErr turns an error reading the decompressed stream into a
// *CorruptError, keeping the cause.
func (r *Reader) streamErr(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &CorruptError{Block: int64(r.seq), Reason: "unreadable", Err: err}
}

// Block returns the block that held the item Next last returned (the
// header is block 0).
func (r *Reader) Block() int64 { return int64(r.seq) - 1 }

// Next returns the next item, valid until the next call, or io.EOF once
// the end block has been read and verified and the stream is over.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	for len(r.block) == 0 {
		if r.done {
			return nil, io.EOF
		}
		if r.err = r.nextBlock(); r.err != nil {
			return nil, r.err
		}
	}
	n, k := binary.Uvarint(r.block)
	if k <= 0 || n > uint64(len(r.block)-k) {
		r.err = corruptf(r.Block(), "bad item length")
		return nil, r.err
	}
	item := r.block[k : k+int(n)]
	r.block = r.block[k+int(n):]
	r.totals.Items++
	r.totals.RawBytes += int64(n)
	return item, nil
}

// nextBlock reads a data block into r.block, or the end block.
func (r *Reader) nextBlock() error {
	typ, payload, err := r.readBlock()
	if err != nil {
		return err
	}
	switch typ {
	case typeData:
		if len(payload) == 0 {
			return corruptf(r.Block(), "empty data block")
		}
		r.blocks++
		r.block = payload
		return nil
	case typeEnd:
		return r.finish(payload)
	}
	return corruptf(r.Block(), "unexpected block type %q", typ)
}

// finish checks the end block's totals and that nothing follows it.
func (r *Reader) finish(payload []byte) error {
	var want [3]uint64
	for i := range want {
		v, k := binary.Uvarint(payload)
		if k <= 0 {
			return corruptf(r.Block(), "malformed end block")
		}
		want[i], payload = v, payload[k:]
	}
	if len(payload) != 0 {
		return corruptf(r.Block(), "malformed end block")
	}
	// Items are counted by Next as they are handed out; the current block
	// is empty here, so every item has been.
	if want[0] != uint64(r.blocks) || want[1] != uint64(r.totals.Items) || want[2] != uint64(r.totals.RawBytes) {
		return corruptf(r.Block(), "end block counts %d blocks, %d items, %d bytes; the stream held %d, %d, %d",
			want[0], want[1], want[2], r.blocks, r.totals.Items, r.totals.RawBytes)
	}
	if _, err := r.in.ReadByte(); err != io.EOF {
		if err == nil {
			return corruptf(r.Block(), "data after the end block")
		}
		return r.streamErr(err)
	}
	r.done = true
	return nil
}

// Totals reports what has been read so far (Bytes is not known to a
// reader and stays 0).
func (r *Reader) Totals() Totals { return r.totals }

// Close releases the decoder.
func (r *Reader) Close() { r.dec.Close() }
