// Package storage is vectordb's boundary with Badger: the key layout, the
// record and catalog codecs, the format version and the decoded catalog
// Open reads (ReadCatalog), the reads of one stored record,
// transactions with Badger's errors translated,
// the chunked prefix deletion behind namespace and index drops, and the
// generations protocol by which a namespace's IVF index is written and
// read back (ivfstore.go). It knows nothing of namespaces or segments:
// the caller commits the IVF's writes under its own locks, and package
// segment encodes the index and matches it to the rows it loads.
//
// # Key layout
//
// Every key starts with a one-byte tag; catalog and data keys then carry
// fixed-width big-endian numeric ids, so no namespace's key range can be a
// prefix of another's whatever bytes its name or record ids hold, and an id
// is never reused, so a re-created name can never see old data.
//
//	0x01 'f'                       format version (uint32)
//	0x01 'i'                       next index id (uint32)
//	0x01 'n' ix                    end of the namespace ids leased in index ix
//	0x02 name                      index catalog entry (IndexRecord)
//	0x03 ix name                   namespace catalog entry (NamespaceRecord)
//	0x04 ix ns                     namespace counters (Stats)
//	0x05 ix ns                     namespace read units, flushed lazily
//	0x06 dropID                    pending drop (DropRecord); ids are unique
//	                               among pending drops, found anew at open
//	0x10 ix ns 'v' recordID        dense and sparse values (AppendVector)
//	0x10 ix ns 'm' recordID        metadata (AppendMetadata)
//	0x10 ix ns 'i' 'h'             IVF index header (IVFHeader)
//	0x10 ix ns 'i' 'p' gen part    IVF body part: centroids, then each
//	                               record's list (EncodeIVFBody)
//
// A namespace's data is the single range 0x10 ix ns, an index's data the
// range 0x10 ix: dropping either is one range deletion. Vectors and metadata
// sit in separate sub-ranges so loading a namespace scans vector bytes only;
// the IVF index, derived data, sits beside them and goes with the drop.
// Values are small (a few KiB) and stay inline in Badger's LSM tree, below
// its value threshold, so the value log never holds vectors.
//
// It must not know namespaces' in-memory state, quotas or scheduling: it
// stores and reads what callers hand it, and no other package's code imports
// Badger. SetFaultHook, the test hook that fails the n-th operation, is
// compiled in rather than put behind a build tag: the package is internal,
// so the hook is no promise to anyone, and a tag would take the fault
// injection tests out of the plain go test ./... run; when unset it costs
// one atomic load per operation.
package storage
