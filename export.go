package vectordb

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/transfer"
)

// Namespace exports: the public entry points and the namespace checks
// around one snapshot. The formats (the stream's records, JSON Lines) are
// internal/transfer's.

// ExportResult is what Export and ExportJSONL return.
type ExportResult struct {
	Records  int64 // records written
	RawBytes int64 // bytes of record data, uncompressed
	Bytes    int64 // bytes written to the stream
}

// Export writes every record of the namespace (id, values, sparse values,
// metadata) to w as a compressed, checksummed stream that
// Index.ImportNamespace reads back. It reads one snapshot: the export is
// the namespace as it was when Export began, whatever writes run
// meanwhile. Memory stays constant whatever the namespace's size. It
// fails with ErrNamespaceNotFound if the namespace does not exist. A
// failed export leaves w with a truncated stream, which an import
// refuses.
//
// While it runs, an export holds its snapshot, so the storage engine
// keeps the versions it sees and reclaiming a large deleted namespace's
// space waits for it. It takes no scheduler slot: its pace is usually
// w's, and a slot held while a slow client reads would keep other
// tenants' calls waiting. It is not metered.
func (h *Namespace) Export(ctx context.Context, w io.Writer) (ExportResult, error) {
	return h.export(ctx, transfer.NewStreamSink(w))
}

// export writes the namespace through sink, from one snapshot.
func (h *Namespace) export(ctx context.Context, sink transfer.Sink) (ExportResult, error) {
	// No scheduler slot: the pace is usually w's, and a slot held while a
	// slow client reads would keep other tenants' calls waiting.
	if err := h.enter(ctx); err != nil {
		return ExportResult{}, err
	}
	defer h.index.db.leave()
	ix := h.ix()
	for {
		ns := ix.lookup(h.name)
		if ns == nil {
			return ExportResult{}, fmt.Errorf("%w: %q", ErrNamespaceNotFound, h.name)
		}
		t := ix.db.store.Snapshot()
		info, err := exportSnapshot(ctx, t, ns, sink)
		t.Discard()
		if errors.Is(err, errReplaced) {
			continue // emptied or replaced before the snapshot: export its successor
		}
		return info, storageErr(fromTransfer(err))
	}
}

// errReplaced reports a namespace that is no longer live in a snapshot
// while another of the same name is.
var errReplaced = errors.New("vectordb: namespace replaced")

// exportSnapshot writes the export of ns as t sees it through sink.
func exportSnapshot(ctx context.Context, t *storage.Txn, ns *namespaceState, sink transfer.Sink) (ExportResult, error) {
	ix := ns.ix
	live, err := checkLive(t, ns)
	if err != nil {
		return ExportResult{}, err
	}
	if !live {
		if next := ix.lookup(ns.name); next != nil && next != ns {
			return ExportResult{}, errReplaced
		}
		return ExportResult{}, fmt.Errorf("%w: %q", ErrNamespaceNotFound, ns.name)
	}
	tot, err := transfer.Export(ctx, t, &transfer.Namespace{
		IndexID: ix.id, NamespaceID: ns.id, Index: ix.name, Dimension: ix.dim, Metric: string(ix.metric), Name: ns.name,
	}, sink)
	return ExportResult{Records: tot.Records, RawBytes: tot.RawBytes, Bytes: tot.Bytes}, err
}
