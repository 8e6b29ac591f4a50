package segment

import (
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/simd"
)

// Segment is a namespace's hot, in-memory form: its dense vectors in
// 64-byte aligned chunks of a row-major arena, the slot <-> id maps, each
// row's norm, sparse values (dotproduct indexes only), a deleted bitmap,
// each record's metadata and the metadata index that filters use
// (mdindex.go).
// A deleted slot is reused by the next new record, and the segment compacts
// itself when more than half of its slots are deleted.
//
// The arena is chunked rather than one slice so that growing it never
// copies or doubles memory (only the first chunk grows, up to chunkRows),
// and so that chunks are the natural unit for parallel scans and context
// checks.
//
// A segment is safe for concurrent use: queries hold mu for reading,
// write-through from the namespace's writer holds it for writing.
type Segment struct {
	dim, stride int
	metric      ivf.Metric
	chunkRows   int // rows per full chunk, a power of two
	chunkShift  uint

	mu         sync.RWMutex
	chunks     [][]float32 // guarded by mu
	capRows    int         // guarded by mu: rows allocated across chunks
	arenaBytes int64       // guarded by mu: the chunks' allocations, as the allocator sizes them
	n          int         // guarded by mu: slots in use, live or deleted
	live       int         // guarded by mu
	ids        []string    // guarded by mu: slot -> id, "" when deleted
	slots      map[string]uint32
	norms      []float32       // guarded by mu: |v| per slot
	sparse     []Sparse        // guarded by mu: per slot; nil unless dotproduct
	deleted    []uint64        // guarded by mu: bitmap over slots
	free       []uint32        // guarded by mu: deleted slots to reuse
	liveSet    *roaring.Bitmap // guarded by mu: the live slots

	// The metadata index, built on first use by a filter (hotIndexed);
	// until then meta holds only nils and fields nothing, and writes skip
	// both.
	indexed atomic.Bool            // set under mu held for writing
	bulk    bool                   // guarded by mu: defer numeric merges
	meta    []map[string]any       // guarded by mu: per slot, stored form; nil when none
	fields  map[string]*fieldIndex // guarded by mu

	// The IVF index (ivfsearch.go, ivfbuild.go, ivfstore.go), nil until
	// built. While a build runs, journal collects the slots written since
	// it started, and a compaction (which renumbers slots) bumps epoch to
	// void it.
	ivf        *IVF            // guarded by mu
	journal    *roaring.Bitmap // guarded by mu
	epoch      uint64          // guarded by mu
	ivfScratch ivf.Scratch     // guarded by mu held for writing

	memBytes    atomic.Int64 // approximate heap held, for reporting
	ivfBytes    atomic.Int64 // approximate heap held by the IVF
	metaBytes   atomic.Int64 // approximate heap held by metadata and its index
	metaChanges int          // guarded by mu: metadata changes since metaBytes was estimated
}

// Tuning constants, measured on the 2-core machine of
// benchmarks/README.md.
const (
	// chunkBytes sizes a full chunk: big enough that per-chunk overhead
	// (a context check, a goroutine hand-off) is noise, small enough that
	// a small namespace with a large dimension does not over-allocate.
	chunkBytes = 1 << 20
	// parallelMinFloats is the arena size from which a scan is split
	// across GOMAXPROCS goroutines; below it the hand-off costs more than
	// it saves.
	parallelMinFloats = 1 << 18
	// compactMinSlots: a segment with fewer slots never compacts.
	compactMinSlots = 1024
	// strideAlign pads rows to a multiple of 8 float32s (32 bytes), so
	// that every row starts on a 32-byte boundary: the AVX2 kernels then
	// never split a load across cache lines. (The kernels handle any
	// length with masked tails; the padding is never read.)
	strideAlign = 8
)

// New returns an empty segment of dimension dim scoring by metric, with
// room for hint records.
func New(dim int, metric ivf.Metric, hint int) *Segment {
	stride := (dim + strideAlign - 1) / strideAlign * strideAlign
	rows := chunkBytes / (4 * stride)
	rows = max(16, min(4096, rows))
	shift := uint(bits.Len(uint(rows)) - 1)
	s := &Segment{
		dim: dim, stride: stride, metric: metric,
		chunkRows: 1 << shift, chunkShift: shift,
		slots:   make(map[string]uint32, hint),
		fields:  make(map[string]*fieldIndex),
		liveSet: roaring.New(),
	}
	s.ids = make([]string, 0, hint)
	s.norms = make([]float32, 0, hint)
	if hint > 0 {
		s.ensureCapLocked(hint)
	}
	return s
}

// ensureCapLocked allocates rows up to at least rows.
// REQUIRES: mu held for writing (or the segment not yet shared).
func (s *Segment) ensureCapLocked(rows int) {
	if s.capRows >= rows {
		return // the common case: called for every new row
	}
	for s.capRows < rows {
		if len(s.chunks) == 1 && s.capRows < s.chunkRows {
			// Grow the first chunk geometrically, so small namespaces
			// with large dimensions stay small.
			newRows := min(s.chunkRows, max(2*s.capRows, rows))
			c := simd.AlignedFloats(newRows * s.stride)
			copy(c, s.chunks[0])
			s.arenaBytes += allocSize(int64(len(c))*4) - allocSize(int64(len(s.chunks[0]))*4)
			s.chunks[0] = c
			s.capRows = newRows
			continue
		}
		newRows := s.chunkRows
		if len(s.chunks) == 0 {
			// Exactly what is asked (a load asks for the namespace's
			// size): most namespaces are small and never grow.
			newRows = min(s.chunkRows, max(16, rows))
		}
		s.chunks = append(s.chunks, simd.AlignedFloats(newRows*s.stride))
		s.arenaBytes += allocSize(int64(newRows*s.stride) * 4)
		s.capRows += newRows
	}
	// The arena as allocated, plus per row the id's string header and the
	// norm and about 80 bytes for the slot map's entry and the id's bytes.
	// Measured with runtime.MemStats on 50k rows with 16-byte ids: 117 and
	// 1639 bytes per row at dimensions 8 and 384, against 141 and 1642
	// accounted; on 4000 namespaces of 20 rows of dimension 384, 45-52 KB
	// per namespace against 52 KB accounted (before first chunks were
	// sized exactly).
	s.memBytes.Store(segmentOverhead + s.arenaBytes + int64(s.capRows)*(16+4+80))
}

// segmentOverhead is a segment's fixed cost (the struct, its maps and
// bitmaps): measured at about 740 bytes on 4000 namespaces of 20 rows of
// dimension 8, beyond the per-row figures.
const segmentOverhead = 1 << 10

// allocSize approximates the bytes the Go allocator takes for an object
// of n bytes: whole 8 KiB pages above 32 KiB, and below it a size class,
// which is at most an eighth above n.
func allocSize(n int64) int64 {
	if n > 32<<10 {
		return (n + 8<<10 - 1) &^ (8<<10 - 1)
	}
	step := max(16, int64(1)<<bits.Len64(uint64(n))/8)
	return (n + step - 1) / step * step
}

// RowLocked returns the stride-long row of slot.
// REQUIRES: mu held.
func (s *Segment) RowLocked(slot uint32) []float32 {
	c := s.chunks[slot>>s.chunkShift]
	off := int(slot&uint32(s.chunkRows-1)) * s.stride
	return c[off : off+s.stride : off+s.stride]
}

func (s *Segment) isDeletedLocked(slot uint32) bool {
	return s.deleted[slot/64]&(1<<(slot%64)) != 0
}

// PutLocked inserts or overwrites the record id. values has length dim;
// md is in stored form. list is the row's IVF list if the caller assigned
// it with quantizer q, else -1.
// REQUIRES: mu held for writing.
func (s *Segment) PutLocked(id string, values []float32, sp Sparse, md map[string]any, q *ivf.Quantizer, list int) {
	slot, ok := s.slots[id]
	if !ok {
		slot = s.newSlotLocked(id)
	}
	row := s.RowLocked(slot)
	copy(row, values)
	clear(row[s.dim:])
	s.norms[slot] = norm(row[:s.dim])
	if s.metric == ivf.Dot {
		s.sparse[slot] = sp
	}
	s.setMetadataSlotLocked(slot, md)
	s.ivfPutLocked(slot, row[:s.dim], q, list)
}

// newSlotLocked gives id a slot, reusing a deleted one if there is one. The
// caller fills the row, norm and sparse values.
// REQUIRES: mu held for writing.
func (s *Segment) newSlotLocked(id string) uint32 {
	var slot uint32
	if n := len(s.free); n > 0 {
		slot = s.free[n-1]
		s.free = s.free[:n-1]
		s.deleted[slot/64] &^= 1 << (slot % 64)
		s.ids[slot] = id
	} else {
		s.meta = append(s.meta, nil)
		s.ensureCapLocked(s.n + 1)
		slot = uint32(s.n)
		s.n++
		s.ids = append(s.ids, id)
		s.norms = append(s.norms, 0)
		if s.metric == ivf.Dot {
			s.sparse = append(s.sparse, Sparse{})
		}
		if len(s.deleted)*64 < s.n {
			s.deleted = append(s.deleted, 0)
		}
	}
	s.slots[id] = slot
	s.live++
	s.liveSet.Add(slot)
	return slot
}

// norm is |v| in float32, as the cosine formula takes it.
func norm(v []float32) float32 {
	return sqrt32(simd.SquaredNorm(v))
}

// DeleteLocked removes id; it reports whether id was present.
// REQUIRES: mu held for writing.
func (s *Segment) DeleteLocked(id string) bool {
	slot, ok := s.slots[id]
	if !ok {
		return false
	}
	delete(s.slots, id)
	s.ivfDeleteLocked(slot)
	s.setMetadataSlotLocked(slot, nil)
	s.liveSet.Remove(slot)
	s.ids[slot] = ""
	s.deleted[slot/64] |= 1 << (slot % 64)
	if s.metric == ivf.Dot {
		s.sparse[slot] = Sparse{}
	}
	s.free = append(s.free, slot)
	s.live--
	if s.n >= compactMinSlots && s.live < s.n/2 {
		s.compactLocked()
	}
	return true
}

// compactLocked rebuilds the segment with its live rows only.
// REQUIRES: mu held for writing.
func (s *Segment) compactLocked() {
	c := New(s.dim, s.metric, s.live)
	c.indexed.Store(s.indexed.Load())
	c.bulk = true
	renumber := make([]uint32, s.n)
	for slot := range uint32(s.n) {
		if s.isDeletedLocked(slot) {
			continue
		}
		var sp Sparse
		if s.metric == ivf.Dot {
			sp = s.sparse[slot]
		}
		renumber[slot] = uint32(c.n)
		c.PutLocked(s.ids[slot], s.RowLocked(slot)[:s.dim], sp, s.meta[slot], nil, -1)
	}
	if s.ivf != nil {
		s.ivf.Lists.Renumber(func(old uint32) uint32 { return renumber[old] })
	}
	s.epoch++ // a running build's slot numbers are void
	s.journal = nil
	c.bulk = false
	c.MergeAllLocked()
	s.chunks, s.capRows, s.arenaBytes, s.n, s.live = c.chunks, c.capRows, c.arenaBytes, c.n, c.live
	s.ids, s.slots, s.norms, s.sparse = c.ids, c.slots, c.norms, c.sparse
	s.deleted, s.free = c.deleted, c.free
	s.meta, s.fields, s.liveSet = c.meta, c.fields, c.liveSet
	s.memBytes.Store(c.memBytes.Load())
	if s.indexed.Load() {
		s.accountMetadataLocked()
	}
}

// AccountedBytes is the memory a segment is accounted: its arena, per-row
// bookkeeping and ids, its IVF lists, and its metadata and metadata index
// once a filter has needed them.
func (s *Segment) AccountedBytes() int64 {
	return s.memBytes.Load() + s.ivfBytes.Load() + s.metaBytes.Load()
}
