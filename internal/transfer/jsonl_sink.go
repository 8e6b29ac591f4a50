package transfer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// JSONLSink writes JSON Lines.
type JSONLSink struct {
	w    io.Writer
	bw   *bufio.Writer
	line []byte
	info Totals
}

// NewJSONLSink returns a sink that writes JSON Lines to w.
func NewJSONLSink(w io.Writer) *JSONLSink { return &JSONLSink{w: w} }

// Begin starts buffering; JSON Lines have no header.
func (s *JSONLSink) Begin(*Header) error {
	s.bw = bufio.NewWriterSize(s.w, 64<<10)
	return nil
}

// Add writes a record's line. An id that is not valid UTF-8 fails it
// with an error wrapping errors.ErrUnsupported: JSON cannot hold it.
func (s *JSONLSink) Add(id []byte, v *storage.VectorView, mdJSON []byte) error {
	if !utf8.Valid(id) {
		return fmt.Errorf("%w: record id %q is not valid UTF-8, which JSON cannot hold; Export keeps it", errors.ErrUnsupported, id)
	}
	b := appendJSONString(append(s.line[:0], `{"id":`...), id)
	b = appendJSONFloats(append(b, `,"values":`...), v.DenseBytes())
	if idx, val := v.SparseBytes(); len(idx) > 0 {
		b = append(b, `,"sparseValues":{"indices":[`...)
		for i := 0; i < len(idx); i += 4 {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(binary.LittleEndian.Uint32(idx[i:])), 10)
		}
		b = appendJSONFloats(append(b, `],"values":`...), val)
		b = append(b, '}')
	}
	if len(mdJSON) > 0 {
		b = append(append(b, `,"metadata":`...), mdJSON...)
	}
	b = append(b, "}\n"...)
	s.line = b
	s.info.Records++
	s.info.RawBytes += int64(len(b))
	_, err := s.bw.Write(b)
	return err
}

// appendJSONString appends valid UTF-8 str as a JSON string, escaping
// only what JSON requires, and U+2028 and U+2029, which JavaScript did
// not allow in strings: an id like "a<b" stays readable.
func appendJSONString(b, str []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(str); {
		c := str[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, n := utf8.DecodeRune(str[i:])
			if r == '\u2028' || r == '\u2029' {
				b = append(b, `\u202`...)
				b = append(b, hex[r&0xf])
			} else {
				b = append(b, str[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(b, '"')
}

// appendJSONFloats appends the little-endian float32s of f as a JSON
// array.
func appendJSONFloats(b, f []byte) []byte {
	b = append(b, '[')
	for i := 0; i < len(f); i += 4 {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(math.Float32frombits(binary.LittleEndian.Uint32(f[i:]))), 'g', -1, 32)
	}
	return append(b, ']')
}

// Abort does nothing: nothing marks lines as incomplete.
func (s *JSONLSink) Abort() {}

// End flushes the lines; Bytes and RawBytes both count them.
func (s *JSONLSink) End() (Totals, error) {
	s.info.Bytes = s.info.RawBytes
	return s.info, s.bw.Flush()
}
