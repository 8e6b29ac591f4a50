package vectordb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// JSON Lines: one record per line, as a JSON object with Pinecone's field
// names, for interchange with tools that do not read Export's format:
//
//	{"id":"a","values":[0.1,0.2],"sparseValues":{"indices":[3],"values":[0.5]},"metadata":{"genre":"drama"}}
//
// sparseValues and metadata are left out when a record has none. Floats
// are written in the shortest form that parses back to the same float32.
// There is no header and no checksum: compress the lines with gzip or zstd
// (the vectordb command does, by file extension) to detect damage.

// MaxJSONLLine is the longest line ImportNamespaceJSONL reads, in bytes.
// The longest record that validates (MaxDimension values, the largest
// sparse vector and MaxMetadataBytes of metadata) is far shorter.
const MaxJSONLLine = 16 << 20

// ExportJSONL writes every record of the namespace to w as JSON Lines, one
// record per line, in id order, from one snapshot, as Export does, and
// with the same costs. The lines are not compressed; Bytes and RawBytes of
// the result both count the bytes written. Ids are escaped only as JSON
// requires (and U+2028 and U+2029). A record id that is not valid UTF-8
// cannot be written as JSON: the export then fails with an error
// wrapping errors.ErrUnsupported (Export keeps any id). A failed export
// leaves w with some of the lines and, unlike Export's stream, nothing
// marks them as incomplete: discard them.
func (h *Namespace) ExportJSONL(ctx context.Context, w io.Writer) (ExportResult, error) {
	return h.export(ctx, &jsonlSink{w: w})
}

// jsonlSink writes JSON Lines.
type jsonlSink struct {
	w    io.Writer
	bw   *bufio.Writer
	line []byte
	info ExportResult
}

func (s *jsonlSink) begin(*exportHeader) error {
	s.bw = bufio.NewWriterSize(s.w, 64<<10)
	return nil
}

func (s *jsonlSink) add(id []byte, v *storage.VectorView, mdJSON []byte) error {
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

func (s *jsonlSink) abort() {}

func (s *jsonlSink) end() (ExportResult, error) {
	s.info.Bytes = s.info.RawBytes
	return s.info, s.bw.Flush()
}

// ImportNamespaceJSONL creates the namespace called name from JSON Lines:
// one record per line in the form ExportJSONL writes, with "sparse_values"
// accepted for "sparseValues". Field names match as encoding/json matches
// them (ignoring case; a field given twice keeps its last value). Blank
// lines and a byte order mark are skipped, and the last line needs no
// newline. The records may come in any order, but no id twice. Metadata
// numbers are float64s, as in an Upsert. The import is atomic and bounded
// in memory, exactly as ImportNamespace (whose opts, quota and
// concurrency rules apply); r is read as it is, so decompress it first.
// No input at all is an empty namespace, as ExportJSONL writes one.
//
// A line that is not a JSON object of those fields (an unknown field, a
// wrong type, trailing data, a number too large for a float32 (smaller
// ones round to zero), text that is not UTF-8 or a lone UTF-16 surrogate
// escape, which encoding/json would silently turn into U+FFFD) fails the
// import with a *StreamError naming the line, and so does an error from r
// (a decompressor's checksum, say), which it wraps. An invalid record
// fails it with the *ArgumentError or *DimensionError an Upsert would
// return, its field prefixed with "lines[N]." (N counts from 1), and so
// does a repeated id. The error reported is the first in r. Nothing
// detects lines lost at the end of r: that is what compression's own
// checks (gzip, zstd) are for. The result's RawBytes counts the bytes of
// text read.
func (h *Index) ImportNamespaceJSONL(ctx context.Context, name string, r io.Reader, opts *ImportOptions) (ImportResult, error) {
	return h.importNamespace(ctx, name, opts, func() (importSource, error) {
		return &jsonlSource{br: bufio.NewReaderSize(r, 64<<10)}, nil
	})
}

// jsonlSource reads JSON Lines.
type jsonlSource struct {
	br   *bufio.Reader
	buf  []byte // a line longer than br's buffer
	line int    // lines read
	info ImportResult
}

// jsonlRecord is a line's record. Both spellings of the sparse values are
// accepted, but not together.
type jsonlRecord struct {
	ID                string       `json:"id"`
	Values            jsonFloats   `json:"values"`
	SparseValues      *jsonlSparse `json:"sparseValues"`
	SparseValuesSnake *jsonlSparse `json:"sparse_values"`
	Metadata          Metadata     `json:"metadata"`
}

type jsonlSparse struct {
	Indices []uint32   `json:"indices"`
	Values  jsonFloats `json:"values"`
}

// jsonFloats decodes a JSON array of numbers into float32s without
// encoding/json's reflection per element, which makes a line of 768
// values decode about 1.5 times as fast (BenchmarkImportJSONL): the
// values are nearly all of a line.
type jsonFloats []float32

// UnmarshalJSON decodes b, which the caller (encoding/json) has checked is
// one JSON value. A number that float32 cannot hold is an error, as it is
// for encoding/json.
func (f *jsonFloats) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b)) // one copy: substrings of it parse without more
	if s == "null" {
		*f = nil
		return nil
	}
	if len(s) < 2 || s[0] != '[' {
		return fmt.Errorf("not an array of numbers: %.20s", s)
	}
	out := (*f)[:0]
	for i := 1; i < len(s); {
		for i < len(s) && isJSONSpace(s[i]) {
			i++
		}
		if i == len(s) || (s[i] == ']' && len(out) == 0) {
			break
		}
		j := i
		for j < len(s) && s[j] != ',' && s[j] != ']' && !isJSONSpace(s[j]) {
			j++
		}
		tok := s[i:j]
		if tok == "" || (tok[0] != '-' && (tok[0] < '0' || tok[0] > '9')) {
			return fmt.Errorf("not an array of numbers: element %d is %.20s", len(out), s[i:])
		}
		v, err := strconv.ParseFloat(tok, 32)
		if err != nil {
			return fmt.Errorf("element %d: %s is not a float32", len(out), tok)
		}
		out = append(out, float32(v))
		for j < len(s) && isJSONSpace(s[j]) {
			j++
		}
		if j < len(s) && s[j] == ']' {
			break
		}
		i = j + 1 // past the comma
	}
	*f = out
	return nil
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *jsonlSource) next() (Record, int, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			return Record{}, 0, err
		}
		s.line++
		s.info.RawBytes += int64(len(line))
		if s.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\uFEFF")) // a byte order mark, as some tools write
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rec, err := decodeJSONLRecord(line)
		if err != nil {
			return Record{}, 0, &StreamError{Reason: err.Error(), Block: -1, Item: -1, Line: int64(s.line)}
		}
		s.info.Records++
		return rec, s.line, nil
	}
}

func (s *jsonlSource) field(line int) string { return fmt.Sprintf("lines[%d].", line) }

// readLine returns the next line, its newline included, valid until the
// next call; or io.EOF when r is exhausted.
func (s *jsonlSource) readLine() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		frag, err := s.br.ReadSlice('\n')
		if err == nil && len(s.buf) == 0 {
			return frag, nil // the common case: no copy
		}
		if len(s.buf)+len(frag) > MaxJSONLLine {
			return nil, &StreamError{Reason: fmt.Sprintf("longer than %d bytes", MaxJSONLLine), Block: -1, Item: -1, Line: int64(s.line + 1)}
		}
		s.buf = append(s.buf, frag...)
		switch {
		case err == nil:
			return s.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(s.buf) > 0:
			return s.buf, nil // a last line without a newline
		case err == io.EOF:
			return nil, err
		}
		// Usually a decompressor's finding (a cut, a bad checksum): the
		// lines are damaged.
		return nil, &StreamError{Reason: "unreadable", Block: -1, Item: -1, Line: int64(s.line + 1), Err: err}
	}
}

// decodeJSONLRecord decodes one line. It refuses text that is not valid
// UTF-8, which encoding/json would silently replace with U+FFFD: an id
// changed that way is another record's, or two records' at once.
func decodeJSONLRecord(line []byte) (Record, error) {
	if t := bytes.TrimLeft(line, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Record{}, fmt.Errorf("not a JSON object: %.20q", t)
	}
	if !utf8.Valid(line) {
		return Record{}, errors.New("not valid UTF-8")
	}
	if loneSurrogate(line) {
		return Record{}, errors.New(`a \u escape of half a UTF-16 surrogate pair`)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var jr jsonlRecord
	if err := dec.Decode(&jr); err != nil {
		return Record{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Record{}, errors.New("data after the record")
	}
	sp := jr.SparseValues
	if jr.SparseValuesSnake != nil {
		if sp != nil {
			return Record{}, errors.New(`both "sparseValues" and "sparse_values"`)
		}
		sp = jr.SparseValuesSnake
	}
	rec := Record{ID: jr.ID, Values: []float32(jr.Values), Metadata: jr.Metadata}
	if sp != nil {
		rec.SparseValues = &SparseValues{Indices: sp.Indices, Values: []float32(sp.Values)}
	}
	return rec, nil
}

// loneSurrogate reports whether JSON text b holds a \u escape of a UTF-16
// surrogate that is not part of a pair. Outside strings valid JSON holds
// no backslash, so b is scanned whole.
func loneSurrogate(b []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
		return rune(v), err == nil
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // another escape: skip the escaped byte
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := hex4(i + 6)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
		i += 5
	}
	return false
}

func (s *jsonlSource) sorted() bool { return false }

func (s *jsonlSource) end() (ImportResult, error) { return s.info, nil }

func (s *jsonlSource) close() {}
