package vectordb

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/sched"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// Namespace is a handle to one namespace of an index: one tenant's records.
// Every data operation targets exactly one namespace, and no operation on
// one namespace can read or change another's records. The handle names the
// namespace rather than holding it: it follows the namespace through
// DeleteAll, and after DeleteNamespace it addresses the (empty) namespace
// that the next Upsert creates. It is safe for concurrent use by multiple
// goroutines.
//
// A namespace that does not exist reads as empty: Query, Fetch and List
// return no records, and Update and Delete change nothing.
type Namespace struct {
	index   *Index
	name    string
	nameErr error
}

// Name returns the canonical namespace name: DefaultNamespace for "".
func (h *Namespace) Name() string { return h.name }

// begin admits a call and waits for the namespace's turn at the
// scheduler (internal/sched); on success the caller must call leave, and
// passes the ticket to the code that may yield its slot or borrow more (a
// parameter, not a context value: the context carries deadlines and
// cancellation only).
func (h *Namespace) begin(ctx context.Context) (*sched.Ticket, error) {
	if err := h.enter(ctx); err != nil {
		return nil, err
	}
	a, err := h.index.db.sched.Admit(ctx, h.key())
	if err != nil {
		h.index.db.leave()
		return nil, err
	}
	return a, nil
}

// leave ends a call admitted by begin.
func (h *Namespace) leave() {
	h.index.db.sched.Release(h.key())
	h.index.db.leave()
}

// enter admits a call without waiting for a scheduler slot (for calls
// that only wait for work admitted on its own); on success the caller
// must call h.index.db.leave.
func (h *Namespace) enter(ctx context.Context) error {
	if h.nameErr != nil {
		return h.nameErr
	}
	return h.index.begin(ctx)
}

func (h *Namespace) key() sched.Key { return sched.Key{Index: h.index.ix.id, Namespace: h.name} }

func (ns *namespaceState) key() sched.Key { return sched.Key{Index: ns.ix.id, Namespace: ns.name} }

func (h *Namespace) ix() *indexState { return h.index.ix }

// UpsertResult reports an Upsert.
type UpsertResult struct {
	UpsertedCount int
	Usage         Usage
}

// Upsert writes records into the namespace, creating it if needed. A
// record whose id exists is replaced whole: values, sparse values and
// metadata. The call is atomic and durable: when it returns nil every
// record is stored (see Durability); when it returns an error none is.
//
// Every record is validated first; the first invalid one fails the call
// with an *ArgumentError or *DimensionError naming it (e.g.
// "records[3].values[7]"). Ids must be unique within the call. One call
// holds at most Options.MaxBatchRecords records and fits in one storage
// transaction (15% of Options.MemTableSize); otherwise it fails with a
// *BatchTooLargeError and the caller should split the batch. Upsert copies
// what it keeps: the caller may reuse records afterwards.
func (h *Namespace) Upsert(ctx context.Context, records []Record) (UpsertResult, error) {
	adm, err := h.begin(ctx)
	if err != nil {
		return UpsertResult{}, err
	}
	defer h.leave()
	ix := h.ix()
	prep, err := h.prepareUpsert(ctx, adm, records)
	if err != nil {
		return UpsertResult{}, err
	}
	var adds int64
	for i := range prep {
		adds += int64(2*(10+len(prep[i].ID)) + len(prep[i].Vector) + len(prep[i].Meta))
	}
	if err := h.index.db.disk.Admit(adds); err != nil {
		return UpsertResult{}, err
	}
	m, err := ix.write(ctx, h.name, true, func(t *storage.Txn, ns *namespaceState, m *mutation) error {
		m.puts = make([]segPut, 0, len(prep))
		for i := range prep {
			r := &prep[i]
			old, found, err := getHeader(t, ns, r.ID)
			if err != nil {
				return err
			}
			if found {
				m.records--
				m.bytes -= int64(old.size)
				m.written += old.size
				if old.hasMetadata && r.Meta == nil {
					if err := t.Delete(storage.MetadataKey(ix.id, ns.id, r.ID)); err != nil {
						return err
					}
				}
			}
			if err := putPrepared(t, ns, r); err != nil {
				return err
			}
			m.records++
			m.bytes += int64(r.Size)
			m.written += r.Size
			m.puts = append(m.puts, segPut{id: r.ID, values: r.Values, sparse: segment.Sparse(r.Sparse), md: r.Metadata})
		}
		return nil
	})
	if err != nil {
		return UpsertResult{}, err
	}
	return UpsertResult{UpsertedCount: len(prep), Usage: Usage{WriteUnits: usage.WriteUnits(m.written)}}, nil
}

// yieldEvery is how many records a bulk write prepares between checks
// whether to yield to waiting calls (see yieldQuantum): 0.28 ms of work at
// dimension 768 (measured: validating and encoding 128 records, with the
// machine shared).
const yieldEvery = 128

// prepareUpsert validates and encodes records, and checks that the batch
// fits in one transaction, yielding adm's slot between steps.
func (h *Namespace) prepareUpsert(ctx context.Context, adm *sched.Ticket, records []Record) ([]record.Prepared, error) {
	ix := h.ix()
	maxRecords := h.index.db.opts.MaxBatchRecords
	switch {
	case len(records) == 0:
		return nil, argErr("records", nil, "at least one record is required")
	case len(records) > maxRecords:
		return nil, &BatchTooLargeError{Field: "records", Records: len(records), MaxRecords: maxRecords}
	}
	prep := make([]record.Prepared, len(records))
	seen := make(map[string]int, len(records))
	// Transaction bytes as the storage engine counts them: each entry is
	// key + value + overhead, and an overwrite may add a tombstone for the
	// old metadata. A fixed allowance covers the counters and catalog.
	txnBytes := int64(4096)
	for i := range records {
		if i%yieldEvery == yieldEvery-1 {
			// A bulk upsert lets other namespaces' calls in between steps.
			adm.Yield(ctx)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if err := prepareRecord(&records[i], ix, &prep[i]); err != nil {
			return nil, inField(fmt.Sprintf("records[%d].", i), err)
		}
		id := records[i].ID
		if j, dup := seen[id]; dup {
			return nil, argErrf(fmt.Sprintf("records[%d].id", i), id, "duplicates records[%d].id", j)
		}
		seen[id] = i
		txnBytes += prep[i].TxnCost()
	}
	if err := checkTxnFits(h.index.db.store, "records", len(prep), txnBytes); err != nil {
		return nil, err
	}
	return prep, nil
}

// prepareRecord validates r for ix and encodes it into p. Errors name
// fields relative to the record ("values[3]").
func prepareRecord(r *Record, ix *indexState, p *record.Prepared) error {
	var sp SparseValues
	if r.SparseValues != nil {
		sp = *r.SparseValues
	}
	return fromRecord(record.Prepare(p, r.ID, r.Values, sp.Indices, sp.Values, r.Metadata, ix.metric.schema(ix.dim)))
}

// putPrepared stores p's values, and its metadata if it has any, in
// namespace ns.
func putPrepared(t *storage.Txn, ns *namespaceState, p *record.Prepared) error {
	if err := t.Set(storage.VectorKey(ns.ix.id, ns.id, p.ID), p.Vector); err != nil {
		return err
	}
	if p.Meta == nil {
		return nil
	}
	return t.Set(storage.MetadataKey(ns.ix.id, ns.id, p.ID), p.Meta)
}

// checkTxnFits checks that a batch of n records, costing txnBytes in the
// storage engine's accounting and up to two entries each, fits in one
// transaction.
func checkTxnFits(st *storage.Store, field string, n int, txnBytes int64) error {
	if maxRecords := int((st.MaxTxnEntries() - 8) / 2); n > maxRecords {
		return &BatchTooLargeError{Field: field, Records: n, MaxRecords: maxRecords}
	}
	if txnBytes >= st.MaxTxnBytes() {
		return &BatchTooLargeError{Field: field, Records: n, Bytes: txnBytes, MaxBytes: st.MaxTxnBytes()}
	}
	return nil
}

// recordHeader is what writers need to know of a stored record.
type recordHeader struct {
	size        uint64 // accounted size
	hasMetadata bool
}

// getHeader reports whether record id of ns exists and, if so, its
// accounted size and whether it has metadata (see
// storage.ReadRecordHeader).
func getHeader(t *storage.Txn, ns *namespaceState, id string) (recordHeader, bool, error) {
	h, found, err := storage.ReadRecordHeader(t, ns.ix.id, ns.id, id)
	return recordHeader{size: record.Size(id, h.MetadataJSONSize, h.Dim, h.NNZ), hasMetadata: h.HasMetadata}, found, err
}

// DeleteResult reports a Delete or DeleteAll.
type DeleteResult struct {
	DeletedCount int // records that existed and were deleted
	Usage        Usage
}

// Delete deletes the records with the given ids, atomically. Unknown ids
// are not an error. At most Options.MaxBatchRecords ids per call, within
// one storage transaction (a *BatchTooLargeError otherwise; only a very
// small Options.MemTableSize makes that bite below the record cap). A
// delete only shrinks the namespace, so its quota never refuses it.
func (h *Namespace) Delete(ctx context.Context, ids []string) (DeleteResult, error) {
	_, err := h.begin(ctx)
	if err != nil {
		return DeleteResult{}, err
	}
	defer h.leave()
	ix := h.ix()
	ids, err = record.UniqueIDs("ids", ids, h.index.db.opts.MaxBatchRecords)
	if err != nil {
		return DeleteResult{}, fromRecord(err)
	}
	// Each id may cost two tombstones (values and metadata).
	txnBytes := int64(4096)
	for _, id := range ids {
		txnBytes += 2 * int64(10+len(id)+storage.TxnEntryOverhead)
	}
	if err := checkTxnFits(h.index.db.store, "ids", len(ids), txnBytes); err != nil {
		return DeleteResult{}, err
	}
	m, err := ix.write(ctx, h.name, false, func(t *storage.Txn, ns *namespaceState, m *mutation) error {
		for _, id := range ids {
			vkey := storage.VectorKey(ix.id, ns.id, id)
			old, found, err := getHeader(t, ns, id)
			if err != nil {
				return err
			}
			if !found {
				continue
			}
			if err := t.Delete(vkey); err != nil {
				return err
			}
			if old.hasMetadata {
				if err := t.Delete(storage.MetadataKey(ix.id, ns.id, id)); err != nil {
					return err
				}
			}
			m.matched++
			m.records--
			m.bytes -= int64(old.size)
			m.written += old.size
			m.dels = append(m.dels, id)
		}
		return nil
	})
	if err != nil {
		return DeleteResult{}, err
	}
	res := DeleteResult{Usage: Usage{WriteUnits: usage.MinWriteUnits}}
	if m != nil {
		res.DeletedCount = m.matched
		res.Usage.WriteUnits = usage.WriteUnits(m.written)
	}
	return res, nil
}

// DeleteAll deletes every record of the namespace but keeps the namespace
// (DeleteNamespace removes it). Like DeleteNamespace it returns once the
// change is durable in the catalog, whatever the namespace's size, and the
// old records are removed in the background. Cumulative usage counters
// carry over. A namespace that does not exist is left alone.
func (h *Namespace) DeleteAll(ctx context.Context) (DeleteResult, error) {
	_, err := h.begin(ctx)
	if err != nil {
		return DeleteResult{}, err
	}
	defer h.leave()
	_, count, err := h.ix().dropNamespace(ctx, h.name, true)
	if err != nil {
		return DeleteResult{}, err
	}
	return DeleteResult{DeletedCount: int(count), Usage: Usage{WriteUnits: usage.MinWriteUnits}}, nil
}

// FetchResult holds the records a Fetch found.
type FetchResult struct {
	Records   map[string]Record // by id; unknown ids are absent
	Namespace string
	Usage     Usage
}

// Fetch returns the records with the given ids, with values, sparse values
// and metadata. Unknown ids are absent from the result. At most
// Options.MaxBatchRecords ids per call. The records are copies the caller
// owns.
func (h *Namespace) Fetch(ctx context.Context, ids []string) (FetchResult, error) {
	_, err := h.begin(ctx)
	if err != nil {
		return FetchResult{}, err
	}
	defer h.leave()
	ids, err = record.UniqueIDs("ids", ids, h.index.db.opts.MaxBatchRecords)
	if err != nil {
		return FetchResult{}, fromRecord(err)
	}
	res, ns, err := readGenerations(h.ix(), h.name, func(ns *namespaceState) (FetchResult, bool, error) {
		res := FetchResult{Records: make(map[string]Record), Namespace: h.name}
		if ns == nil {
			return res, true, nil
		}
		live := false
		err := h.index.db.store.View(func(t *storage.Txn) error {
			var err error
			if live, err = checkLive(t, ns); err != nil || !live {
				return err
			}
			for _, id := range ids {
				rec, found, err := readRecord(t, ns, id, true)
				if err != nil {
					return err
				}
				if found {
					res.Records[id] = rec
				}
			}
			return nil
		})
		return res, live, storageErr(err)
	})
	if err != nil {
		return FetchResult{}, err
	}
	res.Usage.ReadUnits = usage.FetchReadUnits(len(res.Records))
	if ns != nil {
		ns.usage.AddReads(uint64(res.Usage.ReadUnits))
	}
	return res, nil
}

// swapWait bounds how long readGenerations waits for a generation found
// dropped in storage to leave the namespace map.
const swapWait = 100 * time.Millisecond

// readGenerations runs read with the current generation of the namespace
// called name (nil if there is none). read reports whether it found that
// generation live in its snapshot; if not, the generation has just been
// dropped or replaced (DeleteNamespace, DeleteAll, an import with
// Replace), whose catalog commit comes a moment before the in-memory
// swap: readGenerations waits for the swap and reads again, from the
// successor, so that a read racing a replacement never answers with the
// empty gap between generations. It returns the last read's result and
// generation, which the caller charges.
func readGenerations[T any](ix *indexState, name string, read func(ns *namespaceState) (T, bool, error)) (T, *namespaceState, error) {
	for {
		ns := ix.lookup(name)
		res, live, err := read(ns)
		if err != nil || ns == nil || live {
			return res, ns, err
		}
		// The swap follows its commit at once (under the same locks);
		// the wait is bounded all the same.
		wait := time.NewTimer(swapWait)
		select {
		case <-ns.gone:
		case <-wait.C:
		}
		wait.Stop()
		if ix.lookup(name) == ns || ix.dropped.Load() {
			return res, ns, nil
		}
	}
}

// readRecord reads record id of ns from storage (see storage.ReadRecord).
func readRecord(t *storage.Txn, ns *namespaceState, id string, withValues bool) (Record, bool, error) {
	r, found, err := storage.ReadRecord(t, ns.ix.id, ns.id, id, withValues)
	rec := Record{ID: id, Values: r.Values, Metadata: r.Metadata}
	if r.SparseIndices != nil {
		rec.SparseValues = &SparseValues{Indices: r.SparseIndices, Values: r.SparseValues}
	}
	return rec, found, err
}

// ListRequest holds the parameters of List: the page of record ids to
// return.
type ListRequest struct {
	Prefix          string // only ids starting with Prefix
	Limit           int    // page size, 1 to MaxListLimit; 0 means DefaultListLimit
	PaginationToken string // NextToken of the previous page; "" for the first
}

// ListResult is one page of record ids, in bytewise order.
type ListResult struct {
	IDs       []string
	NextToken string // "" on the last page
	Namespace string
	Usage     Usage
}

// List returns a page of the namespace's record ids in bytewise order. It
// reads keys only.
func (h *Namespace) List(ctx context.Context, opts ListRequest) (ListResult, error) {
	_, err := h.begin(ctx)
	if err != nil {
		return ListResult{}, err
	}
	defer h.leave()
	limit, err := listLimit(opts.Limit)
	if err != nil {
		return ListResult{}, err
	}
	after, err := decodeToken(tokenIDs, opts.PaginationToken)
	if err != nil {
		return ListResult{}, err
	}
	res, ns, err := readGenerations(h.ix(), h.name, func(ns *namespaceState) (ListResult, bool, error) {
		res := ListResult{Namespace: h.name, Usage: Usage{ReadUnits: 1}}
		if ns == nil {
			return res, true, nil
		}
		prefix := storage.VectorPrefix(ns.ix.id, ns.id)
		iopts := storage.IterOptions{Prefix: append(prefix, opts.Prefix...), KeysOnly: true}
		if after != "" {
			// Resume just after the last id returned: its key plus a zero
			// byte is the smallest key greater than it.
			iopts.Start = append(storage.VectorKey(ns.ix.id, ns.id, after), 0)
		}
		more, live := false, false
		err := h.index.db.store.View(func(t *storage.Txn) error {
			var err error
			if live, err = checkLive(t, ns); err != nil || !live {
				return err
			}
			return t.Iterate(iopts, func(k, _ []byte) (bool, error) {
				if len(res.IDs) == limit {
					more = true
					return false, nil
				}
				id, err := storage.RecordIDFromKey(k)
				if err != nil {
					return false, err
				}
				res.IDs = append(res.IDs, string(id))
				return true, nil
			})
		})
		if err != nil {
			return ListResult{}, false, storageErr(err)
		}
		if more {
			res.NextToken = encodeToken(tokenIDs, res.IDs[len(res.IDs)-1])
		}
		return res, live, nil
	})
	if err != nil {
		return ListResult{}, err
	}
	if ns != nil {
		ns.usage.AddReads(1)
	}
	return res, nil
}

// IDs iterates over the namespace's record ids that start with prefix, in
// bytewise order, one List page at a time. It stops at the first error,
// which it yields.
func (h *Namespace) IDs(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		opts := ListRequest{Prefix: prefix, Limit: MaxListLimit}
		for {
			page, err := h.List(ctx, opts)
			if err != nil {
				yield("", err)
				return
			}
			for _, id := range page.IDs {
				if !yield(id, nil) {
					return
				}
			}
			if page.NextToken == "" {
				return
			}
			opts.PaginationToken = page.NextToken
		}
	}
}
