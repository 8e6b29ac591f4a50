package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/vectordb-go/vectordb"
)

// fileFormat is what a file's name says it holds.
type fileFormat struct {
	jsonl       bool   // JSON Lines; otherwise vectordb's export format
	compression string // for JSON Lines: "", "gzip" or "zstd"
}

// formatOf reads a file name's extension: .jsonl or .ndjson for JSON
// Lines, followed by .gz or .zst if compressed, in any case.
func formatOf(path string) fileFormat {
	name := strings.ToLower(path)
	var ff fileFormat
	switch {
	case strings.HasSuffix(name, ".gz"):
		ff.compression, name = "gzip", strings.TrimSuffix(name, ".gz")
	case strings.HasSuffix(name, ".zst"):
		ff.compression, name = "zstd", strings.TrimSuffix(name, ".zst")
	}
	if strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson") {
		ff.jsonl = true
		return ff
	}
	return fileFormat{}
}

// exportFile exports ns to the file at path, in the format its name says.
// It writes a temporary file beside path and renames it into place once
// complete and synced, so path never holds a partial export (JSON Lines
// cut at a line end would look whole) and a failed export leaves a file
// already at path as it was.
func exportFile(ctx context.Context, ns *vectordb.Namespace, path string) (vectordb.ExportInfo, error) {
	ff := formatOf(path)
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return vectordb.ExportInfo{}, err
	}
	tmp := f.Name()
	var (
		w    io.Writer = f
		comp io.WriteCloser
	)
	switch ff.compression {
	case "gzip":
		comp = gzip.NewWriter(f)
	case "zstd":
		if comp, err = zstd.NewWriter(f); err != nil {
			f.Close()
			os.Remove(tmp)
			return vectordb.ExportInfo{}, err
		}
	}
	if comp != nil {
		w = comp
	}
	var info vectordb.ExportInfo
	if ff.jsonl {
		info, err = ns.ExportJSONL(ctx, w)
	} else {
		info, err = ns.Export(ctx, w)
	}
	if comp != nil {
		err = errors.Join(err, comp.Close())
	}
	if err == nil {
		err = f.Sync()
	}
	var size int64
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil {
			size = st.Size()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return vectordb.ExportInfo{}, err
	}
	info.Bytes = size
	return info, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// importFile imports the file at path, in the format its name says, as
// the namespace called name of ix.
func importFile(ctx context.Context, ix *vectordb.Index, name, path string, opts *vectordb.ImportOptions) (vectordb.ExportInfo, error) {
	ff := formatOf(path)
	f, err := os.Open(path)
	if err != nil {
		return vectordb.ExportInfo{}, err
	}
	defer f.Close()
	if !ff.jsonl {
		return ix.ImportNamespace(ctx, name, f, opts)
	}
	var r io.Reader = f
	switch ff.compression {
	case "gzip":
		zr, err := gzip.NewReader(f)
		if err != nil {
			return vectordb.ExportInfo{}, err
		}
		defer zr.Close()
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(f)
		if err != nil {
			return vectordb.ExportInfo{}, err
		}
		defer zr.Close()
		r = zr
	}
	return ix.ImportNamespaceJSONL(ctx, name, r, opts)
}
