package transfer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// MaxLine is the longest line a JSONLSource reads, in bytes. The longest
// record that validates is far shorter.
const MaxLine = 16 << 20

// JSONLSource reads JSON Lines.
type JSONLSource struct {
	br   *bufio.Reader
	buf  []byte // a line longer than br's buffer
	line int    // lines read
	info Totals
}

// NewJSONLSource returns a source of the JSON Lines read from r.
func NewJSONLSource(r io.Reader) *JSONLSource {
	return &JSONLSource{br: bufio.NewReaderSize(r, 64<<10)}
}

// jsonlRecord is a line's record. Both spellings of the sparse values are
// accepted, but not together.
type jsonlRecord struct {
	ID                string         `json:"id"`
	Values            jsonFloats     `json:"values"`
	SparseValues      *jsonlSparse   `json:"sparseValues"`
	SparseValuesSnake *jsonlSparse   `json:"sparse_values"`
	Metadata          map[string]any `json:"metadata"`
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

// Next decodes the next line that is not blank. A line that is not a
// record's JSON object, or an error from the reader, is a *StreamError
// naming the line.
func (s *JSONLSource) Next() (Record, int, error) {
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

// Field returns "lines[line].".
func (s *JSONLSource) Field(line int) string { return fmt.Sprintf("lines[%d].", line) }

// readLine returns the next line, its newline included, valid until the
// next call; or io.EOF when r is exhausted.
func (s *JSONLSource) readLine() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		frag, err := s.br.ReadSlice('\n')
		if err == nil && len(s.buf) == 0 {
			return frag, nil // the common case: no copy
		}
		if len(s.buf)+len(frag) > MaxLine {
			return nil, &StreamError{Reason: fmt.Sprintf("longer than %d bytes", MaxLine), Block: -1, Item: -1, Line: int64(s.line + 1)}
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
		rec.Sparse = &Sparse{Indices: sp.Indices, Values: []float32(sp.Values)}
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

// Sorted returns false: lines may come in any order.
func (s *JSONLSource) Sorted() bool { return false }

// End reports the records and the bytes of text read.
func (s *JSONLSource) End() (Totals, error) { return s.info, nil }

// Close does nothing: the reader is the caller's.
func (s *JSONLSource) Close() {}
