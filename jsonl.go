package vectordb

import (
	"context"
	"io"

	"github.com/vectordb-go/vectordb/internal/transfer"
)

// JSON Lines, encoded and decoded by internal/transfer: one record per
// line, as a JSON object with Pinecone's field names, for interchange with
// tools that do not read Export's format:
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
const MaxJSONLLine = transfer.MaxLine

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
	return h.export(ctx, transfer.NewJSONLSink(w))
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
	return h.importNamespace(ctx, name, opts, func() (transfer.Source, error) {
		return transfer.NewJSONLSource(r), nil
	})
}
