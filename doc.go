// Package vectordb is an embeddable, persistent vector store with strict
// per-tenant isolation, modelled on Pinecone's serverless multitenancy.
//
// There are only a few types. A [DB] is a database in one directory. It
// holds indexes; an [Index] has a fixed dimension and [Metric] and serves
// one workload. An index holds namespaces; a [Namespace] is one tenant's
// physically separate set of records, created by its first upsert and
// offboarded by deleting it. A [Record] is an id, dense values, optional
// [SparseValues] and optional flat [Metadata]. Every data operation
// (Upsert, Update, Fetch, List, Delete, DeleteAll, Query) targets exactly
// one namespace and can never read or change another's records, whatever
// bytes names and ids hold. A [Filter] selects records by metadata in
// Query, Update, DeleteByFilter and FetchByMetadata. Results carry [Usage]
// in Pinecone's read and write units, and each namespace keeps cumulative
// counters of them.
//
//	db, err := vectordb.Open(dir, nil)
//	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 768})
//	tenant := ix.Namespace("customer-42")
//	_, err = tenant.Upsert(ctx, []vectordb.Record{{ID: "a", Values: vec}})
//	res, err := tenant.Query(ctx, vectordb.QueryRequest{Vector: q, TopK: 10})
//
// # Search
//
// A namespace is cold (only on disk) until its first query, which loads its
// vectors into a hot in-memory segment; writes then keep the segment
// current, along with an index of its metadata for filters. Hot segments
// count against Options.MemoryBudget, less the storage engine's share:
// past it, the least recently used namespaces are evicted back to cold
// ([DB.Stats] reports the totals). Scores are
// float32, as Pinecone computes them (cosine similarity and dot product,
// higher first; squared Euclidean distance, lower first).
//
// Small namespaces are searched exactly: every live record (that the
// filter allows) is scored. A hot namespace of Options.IVFMinRecords
// records gets an IVF (inverted file) index, built in the background: its
// records are split into lists around k-means centroids, and a query scans
// only the nprobe lists nearest to it. Each build calibrates the default
// nprobe to reach Options.IVFTargetRecall (recall@10) on a sample of the
// namespace's own records, and [IVFDescription] reports it; a query may
// set [QueryRequest].NProbe or Exact instead. Filters are always exact.
//
// # Concurrency
//
// DB, Index and Namespace are safe for concurrent use by multiple
// goroutines. Queries on a namespace run in parallel with each other;
// writes to one namespace are serialized; different namespaces do not
// wait for each other's locks. A call sees every write that returned
// before it began. Close waits for calls in flight; after it every call
// returns [ErrClosed].
//
// Namespaces share the CPU fairly: every namespace operation runs under
// one of Options.Concurrency slots, one namespace holds at most
// Options.NamespaceConcurrency of them, and queued calls are admitted one
// namespace at a time in turn, so one tenant's load cannot starve
// another's queries. A call waiting for its turn returns ctx's error if
// ctx ends first, having changed nothing.
//
// # Durability
//
// A write is durable when its call returns: with the default
// [DurabilitySync] it survives a process kill, an OS crash and a power
// cut; [DurabilityProcess] trades the last two for speed. Each Upsert,
// Delete and Update by ID is atomic: all of it is stored, or none. Updates
// and deletes by filter run in bounded transactions, each atomic.
// DeleteNamespace, DeleteAll and DeleteIndex take effect at once and
// durably; the dropped data is removed in the background, and a drop that
// a crash interrupts resumes at the next Open.
//
// # Backups and exports
//
// [Namespace.Export] writes one namespace, as one snapshot, to a
// compressed, checksummed stream that [Index.ImportNamespace] turns back
// into a namespace, atomically (all or nothing; ImportOptions.Replace
// swaps it for an existing one). [DB.Backup] writes the whole database the
// same way, and [Restore] rebuilds a directory from it. A damaged or
// truncated stream fails with a [*StreamError], which wraps [ErrCorrupt]
// (as stored data that cannot be decoded does): errors.As tells the
// caller's bad input from the database's own damage.
// [Namespace.ExportJSONL] and [Index.ImportNamespaceJSONL] do the same
// for one namespace as JSON Lines with Pinecone's field names, for
// interchange with other tools.
//
// # Errors
//
// Calls return sentinel errors ([ErrIndexNotFound], [ErrInvalidArgument],
// ...) or typed errors that wrap them and name the field and value
// ([*ArgumentError], [*DimensionError], [*BatchTooLargeError]). A call
// that fails on bad input changes nothing, as does a write refused by a
// namespace's [Quota] ([*QuotaError], [ErrQuotaExceeded]) or by a nearly
// full disk ([ErrDiskFull]). [DB.Check] verifies a database's consistency.
//
// # Code layout
//
// This package holds the public handles with their private state (db.go,
// index.go, namespace.go), the orchestration of the read and write paths
// (write.go, query.go, load.go, update.go, import.go), Options, errors and
// the request and result types. The subsystems live in packages of their
// own, under internal/ so that none of them is a compatibility promise:
//
//   - internal/storage: the Badger boundary: key layout, codecs,
//     transactions, prefix drops.
//   - internal/segment: a namespace's hot in-memory form: the arena, the
//     exact scan and its scoring, top-k, the metadata index that evaluates
//     compiled filters, the IVF lists kept in step, their build steps,
//     calibration and persistence.
//   - internal/ivf: k-means, the coarse quantizer and the inverted lists.
//   - internal/filter: a Filter compiled to a tree of nodes, validated with
//     paths, and matched against one record's metadata.
//   - internal/record: validation and canonical forms of ids, vectors,
//     sparse values and metadata, and the sizes quotas count.
//   - internal/sched: fair admission of calls per namespace, with an
//     explicit ticket.
//   - internal/memory: the hot set against the memory budget, and LRU
//     eviction.
//   - internal/janitor: background removal of dropped data.
//   - internal/diskguard: refusing growing writes on a nearly full disk.
//   - internal/transfer: export, JSON Lines and backup formats, over
//     internal/stream (checksummed block stream) and internal/format
//     (file forms and compression).
//   - internal/usage: read and write units, their counters and the
//     periodic flush of read units.
//   - internal/logging: the adapters behind Logger.
//   - internal/jsoncheck: one-pass checks of untrusted JSON.
//
// The package simd (float32 distance kernels in assembly, with a pure-Go
// fallback) stays public: it depends on nothing of vectordb's and is
// useful alone. The package server serves a DB over HTTP in Pinecone's
// REST protocol; cmd/vectordb is its command.
//
// # Lock order
//
// Outermost first: DB.life (shared by every call, exclusive by Close),
// namespaceState.buildMu (the one IVF build or persist of a namespace),
// indexState.gate (shared by every writer of the index, exclusive by
// DeleteIndex), DB.mu, a creator's name lock, namespaceState.writeMu,
// indexState.mu, then the segment's lock. The internal packages' own locks (the
// scheduler's, the hot set's, storage's write gate) are innermost: each is
// held only inside its package and never while calling out, except that
// storage's write gate is held across a transaction's function.
package vectordb
