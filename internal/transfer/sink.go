package transfer

import (
	"encoding/json"
	"io"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/stream"
)

// Sink encodes an export: the native stream (StreamSink) or JSON Lines
// (JSONLSink).
type Sink interface {
	// Begin starts the export of the namespace hdr describes.
	Begin(hdr *Header) error
	// Add encodes a record; mdJSON is its metadata as a JSON object, or
	// empty. The arguments are valid only during the call.
	Add(id []byte, v *storage.VectorView, mdJSON []byte) error
	// Abort ends a failed export, after Begin.
	Abort()
	// End completes the export and reports what it wrote.
	End() (Totals, error)
}

// StreamSink writes the native export stream.
type StreamSink struct {
	w  io.Writer
	sw *stream.Writer
}

// NewStreamSink returns a sink that writes the native export stream to w.
func NewStreamSink(w io.Writer) *StreamSink { return &StreamSink{w: w} }

// Begin writes the preamble and the header.
func (s *StreamSink) Begin(hdr *Header) error {
	header, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	s.sw, err = stream.NewWriter(s.w, stream.KindNamespace, header)
	return err
}

// Add appends a record.
func (s *StreamSink) Add(id []byte, v *storage.VectorView, mdJSON []byte) error {
	return s.sw.Append(func(b []byte) []byte { return AppendRecord(b, id, v, mdJSON) })
}

// Abort leaves the stream truncated, which a reader refuses.
func (s *StreamSink) Abort() { s.sw.Abort() }

// End writes the totals and ends the stream.
func (s *StreamSink) End() (Totals, error) {
	tot, err := s.sw.Close()
	return Totals{Records: tot.Items, RawBytes: tot.RawBytes, Bytes: tot.Bytes}, err
}
