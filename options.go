package vectordb

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"runtime"
	"time"

	"github.com/vectordb-go/vectordb/internal/logging"
	"github.com/vectordb-go/vectordb/internal/memory"
)

// Durability says what an acknowledged write survives.
type Durability int

const (
	// DurabilitySync, the default, syncs every commit to stable storage
	// before the call returns: an acknowledged write survives a process
	// kill, an OS crash and a power cut.
	DurabilitySync Durability = iota
	// DurabilityProcess skips the sync. An acknowledged write survives the
	// process being killed (Badger writes through mmap, so the OS holds
	// it), but an OS crash or power cut may lose recent writes. Small
	// transactions commit several times faster.
	DurabilityProcess
)

// String returns "sync" or "process".
func (d Durability) String() string {
	switch d {
	case DurabilitySync:
		return "sync"
	case DurabilityProcess:
		return "process"
	}
	return fmt.Sprintf("Durability(%d)", int(d))
}

// Logger receives the log lines of the storage engine and of the
// database's background work (a failed automatic IVF build, a retried
// cleanup). *log.Logger and *slog.Logger do not satisfy it; see StdLogger
// and SlogLogger.
type Logger interface {
	Errorf(format string, args ...any)
	Warningf(format string, args ...any)
	Infof(format string, args ...any)
	Debugf(format string, args ...any)
}

// Options configure a DB. A nil *Options, and every zero field, means the
// documented default.
type Options struct {
	// InMemory keeps everything in memory: no directory, no durability.
	// Meant for tests. Open's dir must then be "".
	InMemory bool

	// Durability is what an acknowledged write survives. Default DurabilitySync.
	Durability Durability

	// MaxBatchRecords caps the records of one Upsert and the ids of one
	// Fetch or Delete. Default 1000 (Pinecone's wire limit); raise it for
	// bulk loads. An Upsert is also capped in bytes by the storage
	// transaction limit, 15% of MemTableSize: see BatchTooLargeError.
	MaxBatchRecords int

	// MaxUpdateByFilter caps the records one update by filter may change;
	// a filter matching more fails with a *BatchTooLargeError (a dry run
	// just counts them). Default 100000.
	MaxUpdateByFilter int

	// MemoryBudget bounds the database's memory, in bytes: the storage
	// engine's share (DBStats.StorageReserve: its memtables and
	// the buffers of its flushes and compactions) is set aside, and the rest holds
	// hot namespaces (their vectors, ids, IVF lists and metadata indexes);
	// past it, the least recently used are evicted to cold and reloaded by
	// their next query. Unless MemTableSize is set, the memtables are sized
	// from the budget (a 32nd of it, between 16 and 64 MiB). The hot share
	// is never less than a quarter of the budget, so a budget under 4/3 of
	// the reserve (235 MiB at 16 MiB memtables) is exceeded by the storage
	// engine. Default: a quarter of the machine's RAM (1 GiB where it
	// cannot be read); negative means no cap. A namespace larger than the
	// budget is still served.
	// Not counted: the catalog, and the garbage that evictions leave to
	// the Go collector, whose default pacing lets the heap reach twice its
	// live size: to bound the process's memory, also set the runtime's
	// soft memory limit (GOMEMLIMIT) to about 1.2 x the budget plus the
	// rest of the program's needs (see README).
	MemoryBudget int64

	// NamespaceQuota is every namespace's quota, unless the namespace has
	// its own (Index.SetNamespaceQuota). Default: no limit.
	NamespaceQuota Quota

	// IVFMinRecords is the size from which a namespace gets an IVF
	// (inverted file) index, built in the background, and queries use it
	// instead of the exact scan. Default 20000; negative turns automatic
	// builds off (Namespace.BuildIVF still builds one, which queries then
	// use only when they set QueryRequest.NProbe).
	IVFMinRecords int

	// IVFTargetRecall is the recall@10 that each IVF build calibrates its
	// default nprobe for, measured with a sample of the namespace's own
	// records as queries. Default 0.95; at most 1.
	IVFTargetRecall float64

	// Concurrency is how many namespace operations run at once across the
	// DB (queries, writes, fetches, lists; the helper goroutines of a
	// parallel scan and the workers of IVF builds each count as one). The
	// rest queue, and each freed slot goes to the next waiting namespace
	// in turn, so that every busy namespace gets an equal share however
	// many callers it has. Default GOMAXPROCS at Open.
	Concurrency int

	// NamespaceConcurrency is how many of those slots one namespace may
	// hold at once for its calls. Default Concurrency-1 (1 on a single
	// core): one tenant's calls never take the last slot, so another
	// tenant's query starts at once. A call's parallel scan helpers (and
	// BuildIVF's workers) may still borrow idle slots past the limit; they
	// hand them back as soon as another call waits. Raise it to
	// Concurrency for a DB with one busy tenant; lower it to share among
	// many busy ones.
	NamespaceConcurrency int

	// ReclaimMinBytes is the size from which the data of a deleted
	// namespace or index is removed by dropping whole storage tables,
	// which gives the disk space back at once but makes every call that
	// reads or writes storage wait while it runs (writes, fetches, loads
	// and metadata reads of every namespace; queries on hot namespaces
	// without metadata do not touch storage): 0.7 s for a 300 MB namespace
	// on the machine of benchmarks/README.md, once per large drop. Smaller
	// data are deleted with tombstones, whose space comes back as later
	// compactions pass. Default 32 MiB; negative: never (nothing waits,
	// and the space of large drops comes back slowly, partly only at
	// Close).
	ReclaimMinBytes int64

	// MinFreeDiskBytes is the free space below which writes that add data
	// (Upsert, Update, CreateIndex, CreateNamespace) fail with ErrDiskFull,
	// so that the storage engine never meets a full disk: it writes its
	// tables through mmap, and a write that finds no space kills the
	// process (SIGBUS). The margin must cover the compactions still to
	// come, which need as much room as the tables they merge: on a small
	// disk that is a large share of the data (a 64 MiB file system holding
	// 40 MiB needed more than 16 MiB; 24 MiB held), so raise it for a
	// database that is large next to its disk. Deletes still pass.
	// Default: 16 x MemTableSize (1 GiB at the default memtable size), at
	// least 256 MiB; negative turns the guard off. Ignored with InMemory.
	MinFreeDiskBytes int64

	// MemTableSize is the size of one storage memtable in bytes. It bounds
	// the largest atomic Upsert (15% of it: 9.6 MiB, about 3100 records of
	// dimension 768, at the default 64 MiB; 2.4 MiB, about 790 such
	// records, at the 16 MiB a budget of 512 MiB or less gets). Default:
	// from MemoryBudget (a 32nd of it, between 16 and 64 MiB), else 64 MiB.
	MemTableSize int64

	// NumMemtables is how many memtables the storage engine keeps in
	// memory, counting the one being written. Default 3.
	NumMemtables int

	// BlockCacheSize is the storage engine's block cache in bytes. Default
	// 0: no cache and no block compression; tables are read through mmap.
	// A positive size turns on Snappy compression of table blocks.
	BlockCacheSize int64

	// IndexCacheSize bounds the memory used for table indexes and bloom
	// filters, in bytes. Default 0: unbounded, all held in memory.
	IndexCacheSize int64

	// NumCompactors is the number of background compaction goroutines.
	// Default 2, the minimum the storage engine accepts.
	NumCompactors int

	// ReadUnitsFlushInterval is how often cumulative per-namespace read
	// units are persisted. Write units are persisted with the writes they
	// count; read units, which queries produce, are batched so that reads
	// never wait for a disk sync, and up to one interval's worth can be lost
	// in a crash. Default 1s.
	ReadUnitsFlushInterval time.Duration

	// Logger receives the log lines of the storage engine and of the
	// database's background work. Default: none; the database is quiet
	// unless a Logger is set (StdLogger and SlogLogger adapt the standard
	// loggers). Errors that concern a call are returned to it either way.
	Logger Logger
}

// Defaults applied by Open.
const (
	defaultMaxBatchRecords        = 1000
	defaultMaxUpdateByFilter      = 100_000
	defaultMemoryBudgetFallback   = 1 << 30
	defaultIVFMinRecords          = 20_000
	defaultIVFTargetRecall        = 0.95
	defaultMemTableSize           = 64 << 20
	minBudgetMemTableSize         = 16 << 20
	defaultNumMemtables           = 3
	defaultNumCompactors          = 2
	defaultReclaimMinBytes        = 32 << 20
	defaultMinFreeDiskBytes       = 256 << 20
	defaultReadUnitsFlushInterval = time.Second
)

// withDefaults returns a copy of o (or of the zero Options) with defaults
// filled in, or an error naming every invalid field.
func (o *Options) withDefaults() (Options, error) {
	var out Options
	if o != nil {
		out = *o
	}
	var bad []error
	check := func(ok bool, field string, v any, reason string) {
		if !ok {
			bad = append(bad, argErr("Options."+field, v, reason))
		}
	}
	check(out.Durability == DurabilitySync || out.Durability == DurabilityProcess, "Durability", int(out.Durability), "unknown durability mode")
	check(out.MaxBatchRecords >= 0, "MaxBatchRecords", out.MaxBatchRecords, "must not be negative")
	check(out.MaxUpdateByFilter >= 0, "MaxUpdateByFilter", out.MaxUpdateByFilter, "must not be negative")
	if err := out.NamespaceQuota.check("Options.NamespaceQuota"); err != nil {
		bad = append(bad, err)
	}
	check(out.IVFTargetRecall >= 0 && out.IVFTargetRecall <= 1, "IVFTargetRecall", out.IVFTargetRecall, "must be between 0 and 1")
	check(out.MemTableSize == 0 || out.MemTableSize >= 1<<20, "MemTableSize", out.MemTableSize, "must be at least 1 MiB")
	check(out.NumMemtables >= 0, "NumMemtables", out.NumMemtables, "must not be negative")
	check(out.BlockCacheSize >= 0, "BlockCacheSize", out.BlockCacheSize, "must not be negative")
	check(out.IndexCacheSize >= 0, "IndexCacheSize", out.IndexCacheSize, "must not be negative")
	check(out.NumCompactors == 0 || out.NumCompactors >= 2, "NumCompactors", out.NumCompactors, "must be at least 2")
	check(out.Concurrency >= 0, "Concurrency", out.Concurrency, "must not be negative")
	check(out.NamespaceConcurrency >= 0, "NamespaceConcurrency", out.NamespaceConcurrency, "must not be negative")
	check(out.ReadUnitsFlushInterval >= 0, "ReadUnitsFlushInterval", out.ReadUnitsFlushInterval, "must not be negative")
	if len(bad) > 0 {
		return out, errors.Join(bad...)
	}
	if out.MaxBatchRecords == 0 {
		out.MaxBatchRecords = defaultMaxBatchRecords
	}
	if out.MaxUpdateByFilter == 0 {
		out.MaxUpdateByFilter = defaultMaxUpdateByFilter
	}
	if out.MemoryBudget == 0 {
		out.MemoryBudget = defaultMemoryBudgetFallback
		if ram := memory.PhysicalMemory(); ram > 0 {
			out.MemoryBudget = ram / 4
		}
	}
	if out.IVFMinRecords == 0 {
		out.IVFMinRecords = defaultIVFMinRecords
	}
	if out.IVFTargetRecall == 0 {
		out.IVFTargetRecall = defaultIVFTargetRecall
	}
	if out.MemTableSize == 0 {
		out.MemTableSize = defaultMemTableSize
		if out.MemoryBudget > 0 {
			out.MemTableSize = min(defaultMemTableSize, max(minBudgetMemTableSize, out.MemoryBudget/32>>20<<20))
		}
	}
	if out.NumMemtables == 0 {
		out.NumMemtables = defaultNumMemtables
	}
	if out.NumCompactors == 0 {
		out.NumCompactors = defaultNumCompactors
	}
	if out.Concurrency == 0 {
		out.Concurrency = runtime.GOMAXPROCS(0)
	}
	if out.NamespaceConcurrency == 0 {
		out.NamespaceConcurrency = max(1, out.Concurrency-1)
	}
	if out.NamespaceConcurrency > out.Concurrency {
		bad = append(bad, argErrf("Options.NamespaceConcurrency", out.NamespaceConcurrency, "must not exceed Concurrency (%d)", out.Concurrency))
		return out, errors.Join(bad...)
	}
	if out.MinFreeDiskBytes == 0 {
		out.MinFreeDiskBytes = max(defaultMinFreeDiskBytes, 16*out.MemTableSize)
	}
	if out.ReclaimMinBytes == 0 {
		out.ReclaimMinBytes = defaultReclaimMinBytes
	}
	if out.ReadUnitsFlushInterval == 0 {
		out.ReadUnitsFlushInterval = defaultReadUnitsFlushInterval
	}
	if out.Logger == nil {
		out.Logger = logging.Discard{}
	}
	return out, nil
}

// StdLogger adapts a *log.Logger to Logger. With verbose false it drops
// info and debug lines, which the storage engine emits on every open and
// compaction.
func StdLogger(l *log.Logger, verbose bool) Logger {
	return &logging.Std{L: l, Verbose: verbose}
}

// SlogLogger adapts a *slog.Logger to Logger: errors at level Error,
// warnings at Warn, and the storage engine's frequent info and debug
// lines at Debug.
func SlogLogger(l *slog.Logger) Logger { return logging.Slog{L: l} }
