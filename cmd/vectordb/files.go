package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/format"
)

// exportFile exports ns to the file at path, in the format its name says
// (format.FromFileName). It writes a temporary file beside path and
// renames it into place once complete and synced, so path never holds a
// partial export (JSON Lines cut at a line end would look whole) and a
// failed export leaves a file already at path as it was.
func exportFile(ctx context.Context, ns *vectordb.Namespace, path string) (vectordb.ExportResult, error) {
	ff := format.FromFileName(path)
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return vectordb.ExportResult{}, err
	}
	tmp := f.Name()
	info, err := export(ctx, ns, ff, f)
	var size int64
	if err == nil {
		err = f.Sync()
	}
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
		return vectordb.ExportResult{}, err
	}
	info.Bytes = size
	return info, nil
}

// export writes ns to f in format ff.
func export(ctx context.Context, ns *vectordb.Namespace, ff format.Format, f *os.File) (vectordb.ExportResult, error) {
	w, err := ff.NewWriter(f)
	if err != nil {
		return vectordb.ExportResult{}, err
	}
	var info vectordb.ExportResult
	if ff.JSONL {
		info, err = ns.ExportJSONL(ctx, w)
	} else {
		info, err = ns.Export(ctx, w)
	}
	return info, errors.Join(err, w.Close())
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
func importFile(ctx context.Context, ix *vectordb.Index, name, path string, opts *vectordb.ImportOptions) (vectordb.ImportResult, error) {
	ff := format.FromFileName(path)
	f, err := os.Open(path)
	if err != nil {
		return vectordb.ImportResult{}, err
	}
	defer f.Close()
	r, err := ff.NewReader(f)
	if err != nil {
		return vectordb.ImportResult{}, err
	}
	defer r.Close()
	if ff.JSONL {
		return ix.ImportNamespaceJSONL(ctx, name, r, opts)
	}
	return ix.ImportNamespace(ctx, name, r, opts)
}
