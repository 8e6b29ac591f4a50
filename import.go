package vectordb

import (
	"context"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/transfer"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// Namespace imports. An import writes the records under a fresh namespace
// id that no catalog entry names, marked by a staging key, and only its
// last transaction puts the namespace in the catalog (and, replacing,
// drops the old one): until then the namespace does not exist, or is
// unchanged. A failed import turns its staging key into a pending drop;
// one interrupted by a crash is dropped at the next Open.
//
// The records come decoded from an internal/transfer Source. The importer
// stays here, not in internal/transfer: staging, batching, quota checks
// and the commit run on the index's write path (its gate, name locks,
// namespace publication and replacement, disk admission, the janitor),
// which no small interface would cover.

// ImportResult is what ImportNamespace and ImportNamespaceJSONL return.
type ImportResult struct {
	Records  int64 // records read and imported
	RawBytes int64 // bytes of record data, uncompressed
}

// ImportOptions tune ImportNamespace and ImportNamespaceJSONL. It is
// named Options, not Request, like Options itself: optional knobs passed
// as a pointer that may be nil (nil means the defaults), where a Request
// holds a call's parameters by value.
type ImportOptions struct {
	// Replace lets the import replace a namespace of the same name, which
	// readers keep seeing whole until the import commits. Without it, the
	// import fails with ErrNamespaceExists if the namespace exists when it
	// starts or when it would commit.
	Replace bool
	// UTF8IDs refuses records whose ids are not valid UTF-8 (an
	// *ArgumentError naming the record), as a service that hands ids to
	// JSON clients needs: JSON cannot carry other bytes, and would
	// rewrite them so that distinct ids look alike. The library itself
	// takes any id bytes but NUL; JSON Lines imports hold only UTF-8.
	UTF8IDs bool
}

// ImportNamespace creates the namespace called name from an export
// written by Namespace.Export (of this index or another of the same
// dimension and metric). It is atomic: the records are written under a
// namespace id that no catalog entry names, and one last transaction puts
// it in the catalog (with opts.Replace, in place of the namespace of that
// name, whose data it then drops). Until then the namespace does not
// exist, or is unchanged; a failure or a cancelled ctx leaves nothing but
// a pending drop that the background janitor completes, and a crash
// leaves a staging mark that the next Open turns into one. Reads see the
// replaced namespace whole until the commit and the new one whole after
// it, never an empty namespace in between. The stream's records are
// validated like an Upsert's and their ids must come in strictly
// increasing order, as an export writes them.
//
// The quota bounds the namespace the import publishes: its records and
// bytes must fit Options.NamespaceQuota for a new namespace, or the
// quota of the namespace it replaces (its own, else the default), even if
// that namespace held more (see Quota). The import fails with a
// *QuotaError as soon as the records read pass the quota in force when it
// started, and the check is made again at the commit, under the lock
// that serializes the namespace's writers (or creators), with the quota
// then in force. Either way the refused import changes nothing that
// reads can see and costs no write units: its staged records become a
// pending drop.
//
// It fails with a *StreamError for a damaged, truncated or foreign stream,
// a *DimensionError or *MetricError when the export's index differs from
// this one, ErrNamespaceExists, a *QuotaError, ErrDiskFull, or the
// *ArgumentError of an invalid record. The records are written in
// transactions of up to a quarter of the storage engine's limit, by a
// goroutine that commits one batch while the next is read. Like Export,
// it takes no scheduler slot (its pace is usually the reader's) and is
// not metered in read or write units beyond the write units of the data
// written. The namespace is cold afterwards.
func (h *Index) ImportNamespace(ctx context.Context, name string, r io.Reader, opts *ImportOptions) (ImportResult, error) {
	return h.importNamespace(ctx, name, opts, func() (transfer.Source, error) {
		src, hdr, err := transfer.OpenExport(r)
		if err != nil {
			return nil, fromTransfer(err)
		}
		ix := h.ix
		switch {
		case hdr.Dimension != ix.dim:
			err = &DimensionError{Field: "export.dimension", Want: ix.dim, Got: hdr.Dimension}
		case Metric(hdr.Metric) != ix.metric:
			err = &MetricError{Field: "export.metric", Want: ix.metric, Got: Metric(hdr.Metric)}
		case hdr.Records < 0:
			err = &StreamError{Reason: fmt.Sprintf("header: %d records", hdr.Records), Block: 0, Item: -1}
		}
		if err != nil {
			src.Close()
			return nil, err
		}
		return src, nil
	})
}

// importNamespace imports the records of the source open returns into the
// namespace called name.
func (h *Index) importNamespace(ctx context.Context, name string, opts *ImportOptions, open func() (transfer.Source, error)) (ImportResult, error) {
	canon, err := canonicalNamespace(name)
	if err != nil {
		return ImportResult{}, err
	}
	// No scheduler slot, as for Export: the pace is usually r's.
	if err := h.begin(ctx); err != nil {
		return ImportResult{}, err
	}
	defer h.db.leave()
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	ix := h.ix
	if !o.Replace && ix.lookup(canon) != nil {
		return ImportResult{}, fmt.Errorf("%w: %q", ErrNamespaceExists, canon)
	}
	src, err := open()
	if err != nil {
		return ImportResult{}, err
	}
	defer src.Close()
	im := &importer{ix: ix, quota: ix.db.opts.NamespaceQuota, src: src}
	if old := ix.lookup(canon); old != nil {
		im.quota = old.effectiveQuota()
	}
	if err := im.stage(ctx, canon); err != nil {
		return ImportResult{}, err
	}
	info, err := im.run(ctx, &o)
	if err != nil {
		im.abandon(context.WithoutCancel(ctx)) // cleans up after a cancellation too
		return ImportResult{}, err
	}
	return info, nil
}

// importer writes one import. A writer goroutine commits each batch while
// the next one is read and validated.
type importer struct {
	ix      *indexState
	ns      *namespaceState // unpublished until commit
	quota   Quota
	src     transfer.Source
	records int64
	bytes   int64
	written uint64
	batch   []record.Prepared
	pos     []int // with dedupe, the position of each record of batch
	txn     int64 // the batch's transaction bytes

	w *transfer.BatchWriter[importBatch] // commits one batch while the next is read
}

// dedupe reports whether ids may repeat, so that the writer checks each
// is new.
func (im *importer) dedupe() bool { return !im.src.Sorted() }

type importBatch struct {
	recs []record.Prepared
	pos  []int
	txn  int64
}

// stage takes a fresh namespace id for the import and writes the staging
// key that makes an interrupted import's data droppable. Both happen under
// the index gate, once the index is known live, so that a DeleteIndex
// cannot have cleared the index's keys before the id lease is written.
func (im *importer) stage(ctx context.Context, name string) error {
	ix := im.ix
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	if ix.dropped.Load() {
		return fmt.Errorf("%w: %q", ErrIndexNotFound, ix.name)
	}
	ns, err := ix.newNamespace(ctx, name, time.Now(), &usage.Counters{})
	if err != nil {
		return err
	}
	im.ns = ns
	return storageErr(ix.db.store.Update(ctx, func(t *storage.Txn) error {
		return t.Set(storage.StagingKey(ix.id, ns.id), nil)
	}))
}

// locked runs fn in a transaction under the index gate, failing once the
// index is deleted (so that no write lands under a dropped index's prefix
// after the janitor has cleared it).
func (im *importer) locked(ctx context.Context, fn func(*storage.Txn) error) error {
	im.ix.gate.RLock()
	defer im.ix.gate.RUnlock()
	if im.ix.dropped.Load() {
		return fmt.Errorf("%w: %q", ErrIndexNotFound, im.ix.name)
	}
	return storageErr(im.ix.db.store.Update(ctx, fn))
}

// run reads the records, writes them in batches and commits.
func (im *importer) run(ctx context.Context, o *ImportOptions) (ImportResult, error) {
	src := im.src
	im.startWriter(ctx)
	err := im.read(ctx, src, o.UTF8IDs)
	if err != nil && ctx.Err() == nil {
		// The records before the failure go to the writer too, so that
		// the error reported is the first in the stream: a repeated id
		// the writer would find, say, before a bad line further on.
		im.flush()
	}
	// The writer must be done before the caller may drop the data. Its
	// errors concern records read before the reader's.
	if werr := im.stopWriter(); werr != nil {
		err = werr
	}
	if err != nil {
		return ImportResult{}, err
	}
	tot, err := src.End()
	if err != nil {
		return ImportResult{}, fromTransfer(err)
	}
	if err := im.commit(ctx, o); err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Records: tot.Records, RawBytes: tot.RawBytes}, nil
}

// read reads, validates and queues every record of the source; with
// utf8IDs, ids must be valid UTF-8.
func (im *importer) read(ctx context.Context, src transfer.Source, utf8IDs bool) error {
	for {
		tr, pos, err := src.Next()
		if err == io.EOF {
			break
		}
		if im.w.Failed() {
			return nil // stopWriter reports why
		}
		if err != nil {
			return fromTransfer(err)
		}
		// Field by field: a *transfer.Sparse converts, nothing is copied.
		rec := Record{ID: tr.ID, Values: tr.Values, SparseValues: (*SparseValues)(tr.Sparse), Metadata: tr.Metadata}
		if err := ctx.Err(); err != nil {
			return err
		}
		if utf8IDs && !utf8.ValidString(rec.ID) {
			return inField(src.Field(pos), argErr("id", rec.ID, "is not valid UTF-8"))
		}
		var p record.Prepared
		if err := prepareRecord(&rec, im.ix, &p); err != nil {
			return inField(src.Field(pos), err)
		}
		if err := im.add(p, pos); err != nil {
			return err
		}
	}
	im.flush()
	return nil
}

// add queues a record, writing the batch first if the record would not
// fit in its transaction.
func (im *importer) add(p record.Prepared, pos int) error {
	cost := p.TxnCost()
	st := im.ix.db.store
	if len(im.batch) > 0 && (im.txn+cost >= st.MaxTxnBytes()/transfer.TxnShare || int64(2*len(im.batch)+2) >= st.MaxTxnEntries()/transfer.TxnShare) {
		im.flush()
	}
	im.records++
	im.bytes += int64(p.Size)
	im.written += p.Size
	if err := im.checkQuota(); err != nil {
		return err
	}
	im.batch = append(im.batch, p)
	if im.dedupe() {
		im.pos = append(im.pos, pos)
	}
	im.txn += cost
	return nil
}

// checkQuota refuses an import past its quota.
func (im *importer) checkQuota() error {
	q := im.quota
	if q.MaxRecords > 0 && im.records > q.MaxRecords {
		return &QuotaError{Namespace: im.ns.name, Limit: "records", Max: q.MaxRecords, Would: im.records}
	}
	if q.MaxBytes > 0 && im.bytes > q.MaxBytes {
		return &QuotaError{Namespace: im.ns.name, Limit: "bytes", Max: q.MaxBytes, Would: im.bytes}
	}
	return nil
}

// startWriter starts the writer of queued batches.
func (im *importer) startWriter(ctx context.Context) {
	im.w = transfer.StartBatchWriter(func(b importBatch) error { return im.write(ctx, b) })
}

// stopWriter waits for the queued batches and returns the writer's error.
func (im *importer) stopWriter() error { return im.w.Close() }

// flush hands the queued records to the writer.
func (im *importer) flush() {
	if len(im.batch) > 0 {
		im.w.Send(importBatch{recs: im.batch, pos: im.pos, txn: im.txn})
		im.batch, im.pos, im.txn = nil, nil, 0
	}
}

// write commits one batch.
func (im *importer) write(ctx context.Context, b importBatch) error {
	ix, ns := im.ix, im.ns
	if err := ix.db.disk.Admit(b.txn); err != nil {
		return err
	}
	return im.locked(ctx, func(t *storage.Txn) error {
		for i := range b.recs {
			p := &b.recs[i]
			if im.dedupe() {
				// The transaction sees its own writes: this finds a
				// repeat within the batch as well as in earlier ones.
				found, err := t.Get(storage.VectorKey(ix.id, ns.id, p.ID), nil)
				if err != nil {
					return err
				}
				if found {
					return argErr(im.src.Field(b.pos[i])+"id", p.ID, "repeats the id of an earlier record")
				}
			}
			if err := putPrepared(t, ns, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// commit publishes the imported namespace, replacing the namespace of the
// same name if there is one and o allows it.
func (im *importer) commit(ctx context.Context, o *ImportOptions) error {
	ix, ns := im.ix, im.ns
	charge := uint64(usage.WriteUnits(im.written))
	ns.records.Store(im.records)
	ns.bytes.Store(uint64(im.bytes))
	unstage := func(t *storage.Txn) error { return t.Delete(storage.StagingKey(ix.id, ns.id)) }
	// Lock order as in index.write: the gate, then the name.
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	unlock := ix.lockName(ns.name)
	defer unlock()
	for {
		if ix.dropped.Load() {
			return fmt.Errorf("%w: %q", ErrIndexNotFound, ix.name)
		}
		old := ix.lookup(ns.name)
		if old == nil {
			im.quota = ix.db.opts.NamespaceQuota
			if err := im.checkQuota(); err != nil {
				return err
			}
			err := ix.db.store.Update(ctx, func(t *storage.Txn) error {
				if err := unstage(t); err != nil {
					return err
				}
				return ix.putNamespace(t, ns, storage.Stats{Records: uint64(im.records), Bytes: uint64(im.bytes), WriteUnits: charge})
			})
			if err != nil {
				return storageErr(err)
			}
			ns.usage.AddWrites(charge)
			ix.publish(ns)
			return nil
		}
		if !o.Replace {
			return fmt.Errorf("%w: %q", ErrNamespaceExists, ns.name)
		}
		old.writeMu.Lock()
		if old.dropped {
			old.writeMu.Unlock()
			continue
		}
		// The quota may have changed while the records were written.
		im.quota = old.effectiveQuota()
		if err := im.checkQuota(); err != nil {
			old.writeMu.Unlock()
			return err
		}
		ns.usage = old.usage
		ns.quota.Store(old.quota.Load())
		err := ix.replaceLocked(ctx, old, ns, charge, unstage)
		old.writeMu.Unlock()
		if err == nil {
			ix.db.janitor.Wake()
		}
		return err
	}
}

// abandon turns a failed import's staging key into a pending drop. If
// that fails too, the staging key stays and the next Open drops the data.
func (im *importer) abandon(ctx context.Context) {
	ix, ns := im.ix, im.ns
	err := ix.db.store.Update(ctx, func(t *storage.Txn) error {
		if err := t.Delete(storage.StagingKey(ix.id, ns.id)); err != nil {
			return err
		}
		return ix.db.janitor.Put(t, &storage.DropRecord{Prefixes: [][]byte{storage.NamespaceDataPrefix(ix.id, ns.id)}})
	})
	if err == nil {
		ix.db.janitor.Wake()
	}
}
