// Package usage owns the metering of calls in read and write units: the
// unit arithmetic that vectordb.Usage documents, a namespace's cumulative
// counters (write units, read units and the read units already persisted)
// and the periodic flush of read units to storage. Write units are persisted by
// the write path, in the transaction of the write they count; read units
// are counted in memory by every read and persisted lazily, by Flusher,
// so that reads never write.
//
// It must not know namespaces' in-memory state, locks or the catalog
// beyond the ids and names the caller hands it: the caller lists the
// namespaces to flush (Entry), and a flush checks each one's catalog
// entries in its own transaction, so that a concurrent drop makes the
// commit conflict and the retry skips the dropped namespace.
package usage
