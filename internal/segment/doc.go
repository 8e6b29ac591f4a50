// Package segment is a namespace's hot, in-memory form and its search
// engine: the dense rows in a chunked arena, the slot <-> id maps, norms,
// sparse values, the deleted bitmap; the exact scan (parallel, with a
// top-k heap) and its scoring; the IVF lists kept in step with the rows,
// the IVF search, the IVF build (BuildIVF: sampling, training, filling the
// lists, catching up with writes, calibrating nprobe) and the segment's
// side of a stored IVF (EncodeIVF, LoadIVFLocked: matching stored list
// assignments to slots by id and checksum); and the metadata index that
// evaluates compiled filters (package filter) within a work budget.
//
// The metadata index lives here, in mdindex.go, rather than in a package
// of its own: it evaluates over the segment's live set and per-slot
// metadata under the segment's lock, and a compaction renumbers the slots
// of rows, metadata and postings together. Separated, it would need the
// segment's lock and slot numbering anyway.
//
// Locking: a Segment has one RWMutex (Lock, Unlock, RLock, RUnlock).
// Methods named ...Locked require the caller to hold it (for writing
// where their comment says so); the others take it themselves.
//
// The package must not touch storage transactions, namespaces, the
// catalog, the memory budget or the scheduler: the caller loads records
// (AppendLocked, IndexLocked), reads and writes stored IVFs (package
// storage's ReadIVF and WriteIVF, under the namespace's locks), decides
// when to build, accounts AccountedBytes and passes the scheduler in as
// Workers and ivf.Gate. It knows nothing of the public API's types;
// errors for the caller to convert are *filter.Error (a filter too costly
// to evaluate), ErrEmpty and ErrCompacted.
package segment
