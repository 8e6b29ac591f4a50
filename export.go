package vectordb

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/stream"
)

// Namespace export and import. An export is a stream (internal/stream:
// zstd-compressed, every block checksummed, totals at the end) whose
// header is exportHeader in JSON and whose items are records in id order,
// each:
//
//	uvarint id length, id bytes
//	dimension x float32, little endian (the dense values)
//	uvarint nnz, nnz x uint32 indices, nnz x float32 values (sparse values)
//	uvarint length, metadata as a JSON object (length 0: no metadata)
//
// An import writes the records under a fresh namespace id that no catalog
// entry names, marked by a staging key, and only its last transaction puts
// the namespace in the catalog (and, replacing, drops the old one): until
// then the namespace does not exist, or is unchanged. A failed import
// turns its staging key into a pending drop; one interrupted by a crash is
// dropped at the next Open.

// exportHeader is the header of a namespace export.
type exportHeader struct {
	Format    int       `json:"format"`   // stream.Version
	Vectordb  string    `json:"vectordb"` // the module version that wrote it
	CreatedAt time.Time `json:"createdAt"`
	Index     string    `json:"index"`
	Dimension int       `json:"dimension"`
	Metric    Metric    `json:"metric"`
	Namespace string    `json:"namespace"`
	Records   int64     `json:"records"`
}

// ExportResult is what Export and ExportJSONL return.
type ExportResult struct {
	Records  int64 // records written
	RawBytes int64 // bytes of record data, uncompressed
	Bytes    int64 // bytes written to the stream
}

// ImportResult is what ImportNamespace and ImportNamespaceJSONL return.
type ImportResult struct {
	Records  int64 // records read and imported
	RawBytes int64 // bytes of record data, uncompressed
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
	return h.export(ctx, &streamSink{w: w})
}

// export writes the namespace through sink, from one snapshot.
func (h *Namespace) export(ctx context.Context, sink exportSink) (ExportResult, error) {
	// No scheduler slot: the pace is usually w's, and a slot held while a
	// slow client reads would keep other tenants' calls waiting.
	if err := h.enter(ctx); err != nil {
		return ExportResult{}, err
	}
	defer h.idx.db.leave()
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
		return info, storageErr(err)
	}
}

// errReplaced reports a namespace that is no longer live in a snapshot
// while another of the same name is.
var errReplaced = errors.New("vectordb: namespace replaced")

// exportSink encodes an export: Export's stream or ExportJSONL's lines.
type exportSink interface {
	begin(hdr *exportHeader) error
	// add encodes a record; mdJSON is its metadata as a JSON object, or
	// empty. The arguments are valid only during the call.
	add(id []byte, v *storage.VectorView, mdJSON []byte) error
	abort() // after begin, on failure
	end() (ExportResult, error)
}

// streamSink writes Export's format.
type streamSink struct {
	w  io.Writer
	sw *stream.Writer
}

func (s *streamSink) begin(hdr *exportHeader) error {
	header, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	s.sw, err = stream.NewWriter(s.w, stream.KindNamespace, header)
	return err
}

func (s *streamSink) add(id []byte, v *storage.VectorView, mdJSON []byte) error {
	return s.sw.Append(func(b []byte) []byte { return appendExportRecord(b, id, v, mdJSON) })
}

func (s *streamSink) abort() { s.sw.Abort() }

func (s *streamSink) end() (ExportResult, error) {
	tot, err := s.sw.Close()
	return ExportResult{Records: tot.Items, RawBytes: tot.RawBytes, Bytes: tot.Bytes}, err
}

// exportSnapshot writes the export of ns as t sees it through sink.
func exportSnapshot(ctx context.Context, t *storage.Txn, ns *namespace, sink exportSink) (ExportResult, error) {
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
	v, _, err := t.GetCopy(storage.StatsKey(ix.id, ns.id))
	if err != nil {
		return ExportResult{}, err
	}
	st, err := storage.DecodeStats(v)
	if err != nil {
		return ExportResult{}, fmt.Errorf("%w: counters of %q: %v", ErrCorrupt, ns.name, err)
	}
	err = sink.begin(&exportHeader{
		Format: int(stream.Version), Vectordb: moduleVersion(), CreatedAt: time.Now().UTC(),
		Index: ix.name, Dimension: ix.dim, Metric: ix.metric, Namespace: ns.name, Records: int64(st.Records),
	})
	if err != nil {
		return ExportResult{}, err
	}
	cur, err := t.Cursor(storage.MetadataPrefix(ix.id, ns.id), nil)
	if err != nil {
		sink.abort()
		return ExportResult{}, err
	}
	defer cur.Close()
	var mdKey, mdJSON []byte
	n := 0
	err = scanRecords(ctx, t, storage.VectorPrefix(ix.id, ns.id), func(id, val []byte) error {
		n++
		view, err := storage.ParseVector(val)
		if err != nil {
			return err
		}
		if view.Dim != ix.dim {
			return fmt.Errorf("%w: record %q has dimension %d in an index of dimension %d", ErrCorrupt, id, view.Dim, ix.dim)
		}
		// The metadata range is in id order too: advance to this id.
		mdKey = append(append(mdKey[:0], storage.MetadataPrefix(ix.id, ns.id)...), id...)
		for cur.Valid() && bytes.Compare(cur.Key(), mdKey) < 0 {
			cur.Next()
		}
		mdJSON = mdJSON[:0]
		if cur.Valid() && bytes.Equal(cur.Key(), mdKey) {
			err := cur.Value(func(b []byte) error {
				md, _, err := storage.DecodeMetadata(b)
				if err != nil {
					return err
				}
				mdJSON, err = json.Marshal(md)
				return err
			})
			if err != nil {
				return err
			}
		}
		return sink.add(id, &view, mdJSON)
	})
	if err == nil && int64(n) != int64(st.Records) {
		err = fmt.Errorf("%w: namespace %q holds %d records, its counter says %d", ErrCorrupt, ns.name, n, st.Records)
	}
	if err != nil {
		sink.abort()
		return ExportResult{}, err
	}
	return sink.end()
}

// appendExportRecord appends the export form of a record.
func appendExportRecord(b, id []byte, v *storage.VectorView, mdJSON []byte) []byte {
	b = append(binary.AppendUvarint(b, uint64(len(id))), id...)
	b = append(b, v.DenseBytes()...)
	idx, val := v.SparseBytes()
	b = append(append(binary.AppendUvarint(b, uint64(v.NNZ)), idx...), val...)
	return append(binary.AppendUvarint(b, uint64(len(mdJSON))), mdJSON...)
}

// decodeExportRecord decodes an item of an export of dimension dim. The
// record's id and slices are fresh copies.
func decodeExportRecord(item []byte, dim int) (Record, error) {
	var r Record
	bad := func(what string) (Record, error) {
		return Record{}, badStream("malformed record (%s)", what)
	}
	n, k := binary.Uvarint(item)
	if k <= 0 || n > uint64(len(item)-k) {
		return bad("id")
	}
	r.ID, item = string(item[k:k+int(n)]), item[k+int(n):]
	if len(item) < 4*dim {
		return bad("values")
	}
	r.Values = decodeFloats(item[:4*dim])
	item = item[4*dim:]
	n, k = binary.Uvarint(item)
	if k <= 0 || n > uint64(len(item)-k)/8 {
		return bad("sparse values")
	}
	item = item[k:]
	if n > 0 {
		sp := &SparseValues{Indices: make([]uint32, n)}
		for i := range sp.Indices {
			sp.Indices[i] = binary.LittleEndian.Uint32(item[4*i:])
		}
		sp.Values = decodeFloats(item[4*n : 8*n])
		r.SparseValues, item = sp, item[8*n:]
	}
	n, k = binary.Uvarint(item)
	if k <= 0 || n != uint64(len(item)-k) {
		return bad("metadata length")
	}
	if n > 0 {
		if err := json.Unmarshal(item[k:], &r.Metadata); err != nil || r.Metadata == nil {
			return bad("metadata")
		}
	}
	return r, nil
}

// decodeFloats returns the little-endian float32s of b in a new slice.
func decodeFloats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	storage.DecodeFloats(out, b)
	return out
}

// openStream reads the preamble of a stream of the given kind and decodes
// its JSON header into hdr.
func openStream(r io.Reader, kind byte, hdr any) (*stream.Reader, error) {
	sr, raw, err := stream.NewReader(r, kind)
	if err != nil {
		return nil, fromStream(err, -1)
	}
	if err := json.Unmarshal(raw, hdr); err != nil {
		sr.Close()
		return nil, &StreamError{Reason: "header: " + err.Error(), Block: 0, Item: -1}
	}
	return sr, nil
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
	return h.importNamespace(ctx, name, opts, func() (importSource, error) {
		var hdr exportHeader
		sr, err := openStream(r, stream.KindNamespace, &hdr)
		if err != nil {
			return nil, err
		}
		ix := h.ix
		switch {
		case hdr.Dimension != ix.dim:
			err = &DimensionError{Field: "export.dimension", Want: ix.dim, Got: hdr.Dimension}
		case hdr.Metric != ix.metric:
			err = &MetricError{Field: "export.metric", Want: ix.metric, Got: hdr.Metric}
		case hdr.Records < 0:
			err = &StreamError{Reason: fmt.Sprintf("header: %d records", hdr.Records), Block: 0, Item: -1}
		}
		if err != nil {
			sr.Close()
			return nil, err
		}
		return &streamSource{sr: sr, records: hdr.Records, dim: ix.dim}, nil
	})
}

// importNamespace imports the records of the source open returns into the
// namespace called name.
func (h *Index) importNamespace(ctx context.Context, name string, opts *ImportOptions, open func() (importSource, error)) (ImportResult, error) {
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
	defer src.close()
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

// importSource decodes the records of an import.
type importSource interface {
	// next returns the next record and its position (the record's
	// index, or its line), or io.EOF after the last.
	next() (rec Record, pos int, err error)
	// field names the record at pos in errors, as a field prefix
	// ("export.records[7].").
	field(pos int) string
	// sorted reports whether the ids come in strictly increasing order,
	// checked by next; if not, the import checks for repeated ids.
	sorted() bool
	// end checks the source once next has returned io.EOF, and reports
	// what it read.
	end() (ImportResult, error)
	close()
}

// streamSource reads Export's format.
type streamSource struct {
	sr      *stream.Reader
	records int64 // the header's count
	dim     int
	n       int
	last    string
}

func (s *streamSource) next() (Record, int, error) {
	item, err := s.sr.Next()
	if err != nil {
		return Record{}, 0, fromStream(err, -1)
	}
	n := s.n
	s.n++
	rec, err := decodeExportRecord(item, s.dim)
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

func (s *streamSource) field(pos int) string { return fmt.Sprintf("export.records[%d].", pos) }

func (s *streamSource) sorted() bool { return true }

func (s *streamSource) end() (ImportResult, error) {
	tot := s.sr.Totals()
	if tot.Items != s.records {
		return ImportResult{}, badStream("the header announces %d records, the stream holds %d", s.records, tot.Items)
	}
	return ImportResult{Records: tot.Items, RawBytes: tot.RawBytes}, nil
}

func (s *streamSource) close() { s.sr.Close() }

// importer writes one import. A writer goroutine commits each batch while
// the next one is read and validated.
type importer struct {
	ix      *index
	ns      *namespace // unpublished until commit
	quota   Quota
	src     importSource
	records int64
	bytes   int64
	written uint64
	batch   []preparedRecord
	pos     []int // with dedupe, the position of each record of batch
	txn     int64 // the batch's transaction bytes

	pending chan importBatch // to the writer
	done    chan error       // the writer's first error, once pending is closed
	failed  atomic.Bool      // the writer has failed: stop reading
}

// dedupe reports whether ids may repeat, so that the writer checks each
// is new.
func (im *importer) dedupe() bool { return !im.src.sorted() }

type importBatch struct {
	recs []preparedRecord
	pos  []int
	txn  int64
}

// importTxnShare is the share of the storage engine's transaction limit
// one import transaction fills: big enough that a sync per transaction
// costs little, small enough to commit quickly.
const importTxnShare = 4

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
	ns, err := ix.newNamespace(ctx, name, time.Now(), &usage{})
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
	info, err := src.end()
	if err != nil {
		return ImportResult{}, err
	}
	if err := im.commit(ctx, o); err != nil {
		return ImportResult{}, err
	}
	return info, nil
}

// read reads, validates and queues every record of the source; with
// utf8IDs, ids must be valid UTF-8.
func (im *importer) read(ctx context.Context, src importSource, utf8IDs bool) error {
	for {
		rec, pos, err := src.next()
		if err == io.EOF {
			break
		}
		if im.failed.Load() {
			return nil // stopWriter reports why
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if utf8IDs && !utf8.ValidString(rec.ID) {
			return inField(src.field(pos), argErr("id", rec.ID, "is not valid UTF-8"))
		}
		var p preparedRecord
		if err := prepareRecord(&rec, im.ix, &p); err != nil {
			return inField(src.field(pos), err)
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
func (im *importer) add(p preparedRecord, pos int) error {
	cost := p.txnCost()
	st := im.ix.db.store
	if len(im.batch) > 0 && (im.txn+cost >= st.MaxTxnBytes()/importTxnShare || int64(2*len(im.batch)+2) >= st.MaxTxnEntries()/importTxnShare) {
		im.flush()
	}
	im.records++
	im.bytes += int64(p.size)
	im.written += p.size
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

// startWriter starts the goroutine that writes queued batches.
func (im *importer) startWriter(ctx context.Context) {
	im.pending = make(chan importBatch) // one batch written while the next fills
	im.done = make(chan error, 1)
	go func() {
		var err error
		for b := range im.pending {
			if err == nil {
				if err = im.write(ctx, b); err != nil {
					im.failed.Store(true)
				}
			}
		}
		im.done <- err
	}()
}

// stopWriter waits for the queued batches and returns the writer's error.
func (im *importer) stopWriter() error {
	close(im.pending)
	return <-im.done
}

// flush hands the queued records to the writer.
func (im *importer) flush() {
	if len(im.batch) > 0 {
		im.pending <- importBatch{recs: im.batch, pos: im.pos, txn: im.txn}
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
				found, err := t.Get(storage.VectorKey(ix.id, ns.id, p.id), nil)
				if err != nil {
					return err
				}
				if found {
					return argErr(im.src.field(b.pos[i])+"id", p.id, "repeats the id of an earlier record")
				}
			}
			if err := p.put(t, ix, ns); err != nil {
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
	charge := uint64(writeUnits(im.written))
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
			ns.usage.writeUnits.Add(charge)
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

// dropStaged turns the staging keys of imports that never finished (the
// process stopped) into pending drops. Open calls it before any import
// can start.
func (db *DB) dropStaged() error {
	var keys [][]byte
	err := db.store.View(func(t *storage.Txn) error {
		return t.Iterate(storage.IterOptions{Prefix: storage.StagingPrefix(), KeysOnly: true}, func(k, _ []byte) (bool, error) {
			keys = append(keys, bytes.Clone(k))
			return true, nil
		})
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	return db.store.Update(context.Background(), func(t *storage.Txn) error { // at Open, which takes no context
		for _, k := range keys {
			ixID, nsID, err := storage.IDPairFromKey(k)
			if err != nil {
				return fmt.Errorf("%w: staging key %x", ErrCorrupt, k)
			}
			if err := t.Delete(k); err != nil {
				return err
			}
			if err := db.janitor.Put(t, &storage.DropRecord{Prefixes: [][]byte{storage.NamespaceDataPrefix(ixID, nsID)}}); err != nil {
				return err
			}
		}
		return nil
	})
}
