package stream

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Writer writes a stream. It is not safe for concurrent use.
type Writer struct {
	out    countingWriter
	enc    *zstd.Encoder
	seq    uint64
	block  []byte // the data block being filled
	blocks int64  // data blocks written
	totals Totals
	err    error // sticky
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewWriter writes the preamble of a stream of the given kind and its
// header block to w.
func NewWriter(w io.Writer, kind byte, header []byte) (*Writer, error) {
	if len(header) > MaxBlock {
		return nil, fmt.Errorf("stream: header of %d bytes exceeds %d", len(header), MaxBlock)
	}
	sw := &Writer{out: countingWriter{w: w}}
	if _, err := sw.out.Write(append([]byte(magic), kind, Version)); err != nil {
		return nil, err
	}
	// The fastest level: vectors are float noise that compresses little
	// (metadata and ids compress well at any level), and exports must keep
	// up with the disk.
	enc, err := zstd.NewWriter(&sw.out, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithWindowSize(encoderWindow), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, err
	}
	sw.enc = enc
	sw.writeBlock(typeHeader, header)
	if sw.err != nil {
		return nil, sw.err
	}
	return sw, nil
}

// writeBlock writes one block; errors stick.
func (w *Writer) writeBlock(typ byte, payload []byte) {
	if w.err != nil {
		return
	}
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = typ
	n := 1 + binary.PutUvarint(head[1:], uint64(len(payload)))
	crc := binary.LittleEndian.AppendUint32(nil, blockCRC(w.seq, typ, payload))
	w.seq++
	for _, b := range [][]byte{head[:n], payload, crc} {
		if _, err := w.enc.Write(b); err != nil {
			w.err = err
			return
		}
	}
}

// Append adds one item, whose bytes fill appends to the slice it is given
// and returns (it must only append). Items larger than MaxBlock less a
// few bytes are refused.
func (w *Writer) Append(fill func([]byte) []byte) error {
	if w.err != nil {
		return w.err
	}
	// Reserve the longest length prefix, then move the item into place.
	start := len(w.block)
	w.block = append(w.block, make([]byte, binary.MaxVarintLen64)...)
	w.block = fill(w.block)
	size := len(w.block) - start - binary.MaxVarintLen64
	if size > MaxBlock-2*binary.MaxVarintLen64 {
		w.block = w.block[:start]
		return fmt.Errorf("stream: item of %d bytes exceeds the block limit", size)
	}
	var pre [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(pre[:], uint64(size))
	copy(w.block[start+n:], w.block[start+binary.MaxVarintLen64:])
	copy(w.block[start:], pre[:n])
	w.block = w.block[:start+n+size]
	if len(w.block) > MaxBlock {
		// The item does not fit after the block's others: they go first,
		// and the item starts the next block.
		w.writeBlock(typeData, w.block[:start])
		w.blocks++
		w.block = w.block[:copy(w.block, w.block[start:])]
	}
	w.totals.Items++
	w.totals.RawBytes += int64(size)
	if len(w.block) >= blockTarget {
		w.flushBlock()
	}
	return w.err
}

func (w *Writer) flushBlock() {
	if len(w.block) == 0 {
		return
	}
	w.writeBlock(typeData, w.block)
	w.blocks++
	w.block = w.block[:0]
}

// Close writes the end block and ends the zstd stream; it does not close
// the underlying writer. It returns the stream's totals.
func (w *Writer) Close() (Totals, error) {
	w.flushBlock()
	end := binary.AppendUvarint(nil, uint64(w.blocks))
	end = binary.AppendUvarint(end, uint64(w.totals.Items))
	end = binary.AppendUvarint(end, uint64(w.totals.RawBytes))
	w.writeBlock(typeEnd, end)
	if err := w.enc.Close(); err != nil && w.err == nil {
		w.err = err
	}
	w.totals.Bytes = w.out.n
	return w.totals, w.err
}

// Abort releases the encoder without finishing the stream, which a reader
// will then find truncated.
func (w *Writer) Abort() {
	w.enc.Reset(io.Discard)
	w.enc.Close()
	w.err = fmt.Errorf("stream: aborted")
}
