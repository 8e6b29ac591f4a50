package server

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vectordb-go/vectordb"
)

// Responses that may be large (query matches, fetched records, id pages)
// are written as they are built, record by record, so that no request
// holds its whole JSON body in memory (encoding/json's Encoder buffers the
// whole value); each record's share of the response budget
// (respbudget.go) is given back once it is written.

// streamChunk is how many bytes of JSON a response buffers before it
// writes them on.
const streamChunk = 32 << 10

// jsonStream writes a JSON response as it is built, streamChunk bytes at a
// time, in exactly the form encoding/json gives the same values. After a
// failed write it writes nothing more (the client is gone).
type jsonStream struct {
	w   io.Writer
	buf []byte
	err error
}

// newJSONStream answers 200 with a JSON body to come.
func newJSONStream(w http.ResponseWriter) *jsonStream {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return &jsonStream{w: w, buf: make([]byte, 0, streamChunk+4096)}
}

// flush writes the buffered bytes on.
func (s *jsonStream) flush() {
	if s.err == nil && len(s.buf) > 0 {
		_, s.err = s.w.Write(s.buf)
	}
	s.buf = s.buf[:0]
}

func (s *jsonStream) more() {
	if len(s.buf) >= streamChunk {
		s.flush()
	}
}

// raw appends JSON text as it is.
func (s *jsonStream) raw(text string) {
	s.buf = append(s.buf, text...)
	s.more()
}

// str appends a JSON string.
func (s *jsonStream) str(v string) {
	plain := true
	for i := 0; i < len(v) && plain; i++ {
		c := v[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if !plain { // escapes as encoding/json makes them
		s.value(v)
		return
	}
	s.buf = append(s.buf, '"')
	s.buf = append(s.buf, v...)
	s.buf = append(s.buf, '"')
	s.more()
}

// value appends v as encoding/json writes it.
func (s *jsonStream) value(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Nothing the database returns fails to encode; should it, the
		// response is cut, never whole-looking.
		panic(http.ErrAbortHandler)
	}
	s.buf = append(s.buf, b...)
	s.more()
}

// int appends an integer.
func (s *jsonStream) int(n int) {
	s.buf = strconv.AppendInt(s.buf, int64(n), 10)
}

// float appends a float32 as encoding/json writes it: like ES6's number
// to string conversion, shortest form, exponent past 1e21 and below 1e-6.
func (s *jsonStream) float(f float32) {
	s.buf = appendFloat32(s.buf, f)
}

// floats appends an array of float32s ([] for nil).
func (s *jsonStream) floats(v []float32) {
	s.buf = append(s.buf, '[')
	for i, f := range v {
		if i > 0 {
			s.buf = append(s.buf, ',')
		}
		s.buf = appendFloat32(s.buf, f)
		if len(s.buf) >= streamChunk {
			s.flush()
		}
	}
	s.buf = append(s.buf, ']')
	s.more()
}

// usage appends the usage member's value.
func (s *jsonStream) usage(readUnits int) {
	s.raw(`{"readUnits":`)
	s.int(readUnits)
	s.raw("}")
}

// end closes the response: encoding/json's Encoder ends it with a
// newline.
func (s *jsonStream) end() {
	s.buf = append(s.buf, '\n')
	s.flush()
}

func appendFloat32(b []byte, f float32) []byte {
	abs := float32(math.Abs(float64(f)))
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, float64(f), format, -1, 32)
	if format == 'e' { // e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// writeMatches streams a query's answer, shaped as
// {"matches":[...],"namespace":...,"results":[],"usage":{...}}, giving
// each match's part of rsv back once it is written.
func writeMatches(w http.ResponseWriter, res *vectordb.QueryResult, namespace string, rsv *reservation) {
	s := newJSONStream(w)
	s.raw(`{"matches":[`)
	for i := range res.Matches {
		m := &res.Matches[i]
		if i > 0 {
			s.raw(",")
		}
		s.entry(m.ID, &m.Score, m.Values, m.SparseValues, m.Metadata)
		rsv.giveBack(recordSize(m.ID, m.Values, m.SparseValues, m.Metadata))
		*m = vectordb.Match{} // written: its values may go
		if s.err != nil {
			return
		}
	}
	s.raw(`],"namespace":`)
	s.str(namespace)
	s.raw(`,"results":[],"usage":`)
	s.usage(res.Usage.ReadUnits)
	s.raw("}")
	s.end()
}

// record appends one record, shaped as the vector type encodes.
func (s *jsonStream) record(rec *vectordb.Record) {
	s.entry(rec.ID, nil, rec.Values, rec.SparseValues, rec.Metadata)
}

// entry appends a record, or a match when score is not nil, shaped as
// encoding/json gives the wire types.
func (s *jsonStream) entry(id string, score *float32, values []float32, sp *vectordb.SparseValues, md vectordb.Metadata) {
	s.raw(`{"id":`)
	s.str(id)
	if score != nil {
		s.raw(`,"score":`)
		s.float(*score)
	}
	s.raw(`,"values":`)
	s.floats(values)
	if sp != nil {
		s.raw(`,"sparseValues":`)
		s.value(wireSparse(sp))
	}
	if len(md) > 0 {
		s.raw(`,"metadata":`)
		s.value(md)
	}
	s.raw("}")
}

// writeRecords streams a fetch's answer, shaped as
// {"namespace":...,"pagination":{"next":...},"usage":{...},"vectors":{key: record, ...}}
// with the members in key order (keys[i] is recs[i]'s) and pagination only
// when next is not empty, giving each record's part of rsv back once it is
// written.
func writeRecords(w http.ResponseWriter, keys []string, recs []vectordb.Record, namespace, next string, readUnits int, rsv *reservation) {
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	// encoding/json sorts a map's keys bytewise.
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	s := newJSONStream(w)
	s.page(namespace, next, readUnits)
	s.raw(`,"vectors":{`)
	for j, i := range order {
		rec := &recs[i]
		if j > 0 {
			s.raw(",")
		}
		s.str(keys[i])
		s.raw(":")
		s.record(rec)
		rsv.giveBack(recordSize(rec.ID, rec.Values, rec.SparseValues, rec.Metadata))
		*rec = vectordb.Record{} // written: its values may go
		if s.err != nil {
			return
		}
	}
	s.raw("}}")
	s.end()
}

// page begins a paged answer: {"namespace":...,"pagination":{"next":...},
// "usage":{...}, with the pagination only when there is a next page.
func (s *jsonStream) page(namespace, next string, readUnits int) {
	s.raw(`{"namespace":`)
	s.str(namespace)
	if next != "" {
		s.raw(`,"pagination":{"next":`)
		s.str(next)
		s.raw("}")
	}
	s.raw(`,"usage":`)
	s.usage(readUnits)
}

// writeIDs streams a list's answer, shaped as
// {"namespace":...,"pagination":{"next":...},"usage":{...},"vectors":[{"id":...},...]}.
func writeIDs(w http.ResponseWriter, ids []string, namespace, next string, readUnits int) {
	s := newJSONStream(w)
	s.page(namespace, next, readUnits)
	s.raw(`,"vectors":[`)
	for i, id := range ids {
		if i > 0 {
			s.raw(",")
		}
		s.raw(`{"id":`)
		s.str(id)
		s.raw("}")
		if s.err != nil {
			return
		}
	}
	s.raw("]}")
	s.end()
}
