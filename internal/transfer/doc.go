// Package transfer holds the byte formats that move data in and out of a
// vectordb database: the namespace export (an internal/stream stream of
// records), JSON Lines, and the whole-database backup.
//
// It owns the encoding and decoding of those formats, the iteration of a
// storage snapshot that an export or a backup writes, the writing of a
// backup's pairs into a fresh store, and the BatchWriter with which an
// import commits one batch while it reads the next (the commits
// themselves are the caller's). The formats are fixed: streams written
// before must read back identically.
//
// It must not touch the vectordb package's namespaces, indexes, catalog
// cache, quotas or write path: the caller checks that a namespace is live,
// validates and stages the records it imports, and turns this package's
// typed errors (*StreamError, *DataError) into the errors users see.
//
// # Namespace export
//
// The stream's header is Header in JSON and its items are records in id
// order, each:
//
//	uvarint id length, id bytes
//	dimension x float32, little endian (the dense values)
//	uvarint nnz, nnz x uint32 indices, nnz x float32 values (sparse values)
//	uvarint length, metadata as a JSON object (length 0: no metadata)
//
// # JSON Lines
//
// One record per line, as a JSON object with Pinecone's field names:
//
//	{"id":"a","values":[0.1,0.2],"sparseValues":{"indices":[3],"values":[0.5]},"metadata":{"genre":"drama"}}
//
// sparseValues and metadata are left out when a record has none. Floats
// are written in the shortest form that parses back to the same float32.
// There is no header and no checksum.
//
// # Backup
//
// The stream's header is BackupHeader in JSON and its items are the
// database's keys and values as one snapshot holds them, in key order,
// each a uvarint key length, the key, then the value. Pending drops and
// imports in progress, with their data, are left out.
package transfer
