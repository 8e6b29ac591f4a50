// Package format names the forms a namespace's export takes outside the
// library, as the vectordb command (by file name) and the server (by a
// format parameter) spell them, and wraps readers and writers in their
// compression (github.com/klauspost/compress). Whether the records are
// in vectordb's own export format or JSON Lines is the caller's to act on
// (Namespace.Export or ExportJSONL, and the matching imports).
//
// It must not read or write records itself, nor touch storage: it only
// names forms and wraps byte streams.
package format

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format is one form of an export.
type Format struct {
	JSONL       bool   // JSON Lines; otherwise vectordb's own (compressed, checksummed) format
	Compression string // for JSON Lines: "", "gzip" or "zstd"
}

// Names of the formats, as Parse reads them and String writes them.
var names = map[string]Format{
	"native":    {},
	"jsonl":     {JSONL: true},
	"jsonl.gz":  {JSONL: true, Compression: "gzip"},
	"jsonl.zst": {JSONL: true, Compression: "zstd"},
}

// Parse reads a format's name: "native" (or ""), "jsonl", "jsonl.gz" or
// "jsonl.zst".
func Parse(name string) (Format, error) {
	if name == "" {
		return Format{}, nil
	}
	f, ok := names[name]
	if !ok {
		return Format{}, fmt.Errorf("format %q is none of native, jsonl, jsonl.gz, jsonl.zst", name)
	}
	return f, nil
}

// String returns f's name, as Parse reads it.
func (f Format) String() string {
	switch {
	case !f.JSONL:
		return "native"
	case f.Compression == "gzip":
		return "jsonl.gz"
	case f.Compression == "zstd":
		return "jsonl.zst"
	}
	return "jsonl"
}

// FromFileName reads a file name's extension, in any case: .jsonl or
// .ndjson for JSON Lines, followed by .gz or .zst if compressed; any other
// name is the native format.
func FromFileName(path string) Format {
	name := strings.ToLower(path)
	var f Format
	switch {
	case strings.HasSuffix(name, ".gz"):
		f.Compression, name = "gzip", strings.TrimSuffix(name, ".gz")
	case strings.HasSuffix(name, ".zst"):
		f.Compression, name = "zstd", strings.TrimSuffix(name, ".zst")
	}
	if strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson") {
		f.JSONL = true
		return f
	}
	return Format{}
}

// NewWriter returns w wrapped in f's compression. Close flushes the
// compressor; it does not close w.
func (f Format) NewWriter(w io.Writer) (io.WriteCloser, error) {
	switch f.Compression {
	case "gzip":
		return gzip.NewWriter(w), nil
	case "zstd":
		return zstd.NewWriter(w)
	}
	return nopWriteCloser{w}, nil
}

// MaxZstdWindow is the largest zstd window NewReader accepts: the zstd
// command's levels up to 19 use at most 8 MiB; --long and --ultra ask for
// more.
const MaxZstdWindow = 32 << 20

// zstdReader names the window limit when a stream exceeds it.
type zstdReader struct{ d *zstd.Decoder }

func (z zstdReader) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		err = fmt.Errorf("%w: the zstd window is limited to %d MiB (compress without --long or --ultra)", err, MaxZstdWindow>>20)
	}
	return n, err
}

func (z zstdReader) Close() error {
	z.d.Close()
	return nil
}

// NewReader returns r wrapped in f's decompression. Close releases the
// decompressor; it does not close r.
func (f Format) NewReader(r io.Reader) (io.ReadCloser, error) {
	switch f.Compression {
	case "gzip":
		return gzip.NewReader(r)
	case "zstd":
		// Bounded: a few bytes of input must not make the decoder take
		// the half gigabyte its defaults allow, nor a goroutine per CPU.
		zr, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(MaxZstdWindow),
			zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, err
		}
		return zstdReader{zr}, nil
	}
	return io.NopCloser(r), nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
