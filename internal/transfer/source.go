package transfer

import (
	"fmt"
	"io"

	"github.com/vectordb-go/vectordb/internal/stream"
)

// Source decodes the records of an import: the native stream
// (StreamSource) or JSON Lines (JSONLSource). Input damage is a
// *StreamError.
type Source interface {
	// Next returns the next record and its position (the record's index,
	// or its line), or io.EOF after the last.
	Next() (rec Record, pos int, err error)
	// Field names the record at pos in errors, as a field prefix
	// ("export.records[7].").
	Field(pos int) string
	// Sorted reports whether the ids come in strictly increasing order,
	// checked by Next; if not, the importer checks for repeated ids.
	Sorted() bool
	// End checks the source once Next has returned io.EOF, and reports
	// what it read.
	End() (Totals, error)
	// Close releases the source.
	Close()
}

// StreamSource reads the native export stream; OpenExport returns one.
// Its zero value answers only Sorted and Field.
type StreamSource struct {
	sr      *stream.Reader
	records int64 // the header's count
	dim     int
	n       int
	last    string
}

// OpenExport reads the preamble and header of an export from r. The
// caller checks the header against the index it imports into, and closes
// the source if it refuses it.
func OpenExport(r io.Reader) (*StreamSource, *Header, error) {
	var hdr Header
	sr, err := openStream(r, stream.KindNamespace, &hdr)
	if err != nil {
		return nil, nil, err
	}
	return &StreamSource{sr: sr, records: hdr.Records, dim: hdr.Dimension}, &hdr, nil
}

// Next decodes the next record; its id must follow the previous one's.
func (s *StreamSource) Next() (Record, int, error) {
	item, err := s.sr.Next()
	if err != nil {
		return Record{}, 0, fromStream(err, -1)
	}
	n := s.n
	s.n++
	rec, err := DecodeRecord(item, s.dim)
	if se, ok := err.(*StreamError); ok {
		se.Block, se.Item = s.sr.Block(), int64(n)
	}
	if err != nil {
		return Record{}, 0, err
	}
	if n > 0 && rec.ID <= s.last {
		return Record{}, 0, &StreamError{Reason: fmt.Sprintf("id %q does not follow %q", rec.ID, s.last), Block: s.sr.Block(), Item: int64(n)}
	}
	s.last = rec.ID
	return rec, n, nil
}

// Field returns "export.records[pos].".
func (s *StreamSource) Field(pos int) string { return fmt.Sprintf("export.records[%d].", pos) }

// Sorted returns true: an export's ids are in increasing order.
func (s *StreamSource) Sorted() bool { return true }

// End checks that the stream held as many records as its header said.
func (s *StreamSource) End() (Totals, error) {
	tot := s.sr.Totals()
	if tot.Items != s.records {
		return Totals{}, badStream("the header announces %d records, the stream holds %d", s.records, tot.Items)
	}
	return Totals{Records: tot.Items, RawBytes: tot.RawBytes}, nil
}

// Close releases the stream's decoder.
func (s *StreamSource) Close() { s.sr.Close() }
