package vectordb

import (
	"context"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/sched"
	"github.com/vectordb-go/vectordb/simd"
)

// segment is a namespace's hot, in-memory form: its dense vectors in
// 64-byte aligned chunks of a row-major arena, the slot <-> id maps, each
// row's norm, sparse values (dotproduct indexes only), a deleted bitmap,
// each record's metadata and the metadata index that filters use
// (filterindex.go).
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
type segment struct {
	dim, stride int
	metric      Metric
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
	sparse     []sparseVec     // guarded by mu: per slot; nil unless dotproduct
	deleted    []uint64        // guarded by mu: bitmap over slots
	free       []uint32        // guarded by mu: deleted slots to reuse
	liveSet    *roaring.Bitmap // guarded by mu: the live slots

	// The metadata index, built on first use by a filter (hotIndexed);
	// until then meta holds only nils and fields nothing, and writes skip
	// both.
	indexed atomic.Bool            // set under mu held for writing
	bulk    bool                   // guarded by mu: defer numeric merges
	meta    []Metadata             // guarded by mu: per slot, stored form; nil when none
	fields  map[string]*fieldIndex // guarded by mu

	// The IVF index (ivfsearch.go, ivfbuild.go), nil until built. While a
	// build runs, journal collects the slots written since it started, and
	// a compaction (which renumbers slots) bumps epoch to void it.
	ivf        *ivfState       // guarded by mu
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

func newSegment(dim int, metric Metric, hint int) *segment {
	stride := (dim + strideAlign - 1) / strideAlign * strideAlign
	rows := chunkBytes / (4 * stride)
	rows = max(16, min(4096, rows))
	shift := uint(bits.Len(uint(rows)) - 1)
	s := &segment{
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
func (s *segment) ensureCapLocked(rows int) {
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

// rowLocked returns the stride-long row of slot.
// REQUIRES: mu held.
func (s *segment) rowLocked(slot uint32) []float32 {
	c := s.chunks[slot>>s.chunkShift]
	off := int(slot&uint32(s.chunkRows-1)) * s.stride
	return c[off : off+s.stride : off+s.stride]
}

func (s *segment) isDeletedLocked(slot uint32) bool {
	return s.deleted[slot/64]&(1<<(slot%64)) != 0
}

// putLocked inserts or overwrites the record id. values has length dim;
// md is in stored form. list is the row's IVF list if the caller assigned
// it with quantizer q, else -1.
// REQUIRES: mu held for writing.
func (s *segment) putLocked(id string, values []float32, sp sparseVec, md Metadata, q *ivf.Quantizer, list int) {
	slot, ok := s.slots[id]
	if !ok {
		slot = s.newSlotLocked(id)
	}
	row := s.rowLocked(slot)
	copy(row, values)
	clear(row[s.dim:])
	s.norms[slot] = norm(row[:s.dim])
	if s.metric == DotProduct {
		s.sparse[slot] = sp
	}
	s.setMetadataSlotLocked(slot, md)
	s.ivfPutLocked(slot, row[:s.dim], q, list)
}

// newSlotLocked gives id a slot, reusing a deleted one if there is one. The
// caller fills the row, norm and sparse values.
// REQUIRES: mu held for writing.
func (s *segment) newSlotLocked(id string) uint32 {
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
		if s.metric == DotProduct {
			s.sparse = append(s.sparse, sparseVec{})
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

// deleteLocked removes id; it reports whether id was present.
// REQUIRES: mu held for writing.
func (s *segment) deleteLocked(id string) bool {
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
	if s.metric == DotProduct {
		s.sparse[slot] = sparseVec{}
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
func (s *segment) compactLocked() {
	c := newSegment(s.dim, s.metric, s.live)
	c.indexed.Store(s.indexed.Load())
	c.bulk = true
	renumber := make([]uint32, s.n)
	for slot := range uint32(s.n) {
		if s.isDeletedLocked(slot) {
			continue
		}
		var sp sparseVec
		if s.metric == DotProduct {
			sp = s.sparse[slot]
		}
		renumber[slot] = uint32(c.n)
		c.putLocked(s.ids[slot], s.rowLocked(slot)[:s.dim], sp, s.meta[slot], nil, -1)
	}
	if s.ivf != nil {
		s.ivf.lists.Renumber(func(old uint32) uint32 { return renumber[old] })
	}
	s.epoch++ // a running build's slot numbers are void
	s.journal = nil
	c.bulk = false
	c.mergeAllLocked()
	s.chunks, s.capRows, s.arenaBytes, s.n, s.live = c.chunks, c.capRows, c.arenaBytes, c.n, c.live
	s.ids, s.slots, s.norms, s.sparse = c.ids, c.slots, c.norms, c.sparse
	s.deleted, s.free = c.deleted, c.free
	s.meta, s.fields, s.liveSet = c.meta, c.fields, c.liveSet
	s.memBytes.Store(c.memBytes.Load())
	if s.indexed.Load() {
		s.accountMetadataLocked()
	}
}

// sparseScanRatio: a filtered search scores the allowed rows one by one
// when they are fewer than 1/sparseScanRatio of the live rows, and scans
// every row (skipping the others) otherwise. Measured with
// BenchmarkFilteredQuery on 2 cores: at 10% of 100k x 768 rows, one by one
// takes 5.8 ms against 15 ms for the (parallel) full scan; at 50%, 24.5 ms
// against 15.6 ms.
const sparseScanRatio = 4

// searchLocked returns the k best rows for the query q (of length dim),
// best first, among the live rows or, if allowed is not nil, the allowed
// ones. qNormSq is |q|^2; sq is the sparse part (dotproduct only). Large
// scans are split across up to GOMAXPROCS goroutines, as many as the
// call's admission adm lets run (see ExtraWorkers; nil: all), and ctx is
// checked between chunks.
// REQUIRES: mu held for reading.
func (s *segment) searchLocked(ctx context.Context, adm *sched.Ticket, q []float32, qNormSq float32, sq sparseVec, k int, allowed *roaring.Bitmap) ([]hit, error) {
	if allowed != nil {
		c := int(allowed.GetCardinality())
		if c == 0 {
			return nil, nil
		}
		if c*sparseScanRatio < s.live {
			return s.searchAllowedLocked(ctx, q, qNormSq, sq, k, allowed)
		}
	}
	mask := s.maskOf(allowed)
	nchunks := (s.n + s.chunkRows - 1) >> s.chunkShift
	asc := s.metric.ascending()
	workers := 1
	if s.n*s.stride >= parallelMinFloats {
		// Helpers beyond the call's own goroutine run on extra admission
		// slots, taken only while the CPU is free to take.
		workers += adm.ExtraWorkers(min(runtime.GOMAXPROCS(0), nchunks) - 1)
	}
	if workers <= 1 {
		t := newTopK(k, asc, s.ids)
		scores := make([]float32, s.chunkRows)
		for c := range nchunks {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			s.scanChunkLocked(c, q, qNormSq, sq, mask, scores, t)
		}
		return t.sorted(), nil
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		tops = make([]*topK, workers)
	)
	scan := func(t *topK, helper bool) {
		scores := make([]float32, s.chunkRows)
		for {
			if helper && adm.Contended() {
				return // hand the core back; the others finish the scan
			}
			c := int(next.Add(1) - 1)
			if c >= nchunks || ctx.Err() != nil {
				return
			}
			s.scanChunkLocked(c, q, qNormSq, sq, mask, scores, t)
		}
	}
	for w := range workers {
		tops[w] = newTopK(k, asc, s.ids)
		if w > 0 {
			wg.Go(func() {
				defer adm.GiveBack()
				scan(tops[w], true)
			})
		}
	}
	scan(tops[0], false)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, t := range tops[1:] {
		tops[0].merge(t)
	}
	return tops[0].sorted(), nil
}

// score turns a row's raw kernel result into the metric's score.
// REQUIRES: mu held for reading.
func (s *segment) scoreLocked(raw, qNormSq float32, sq sparseVec, slot uint32) float32 {
	switch s.metric {
	case Cosine:
		return cosineScore(raw, qNormSq, s.norms[slot])
	case DotProduct:
		if len(sq.idx) > 0 {
			return raw + sparseDot(sq, s.sparse[slot])
		}
	}
	return raw
}

// batchKernel scores rows (stride floats apart) against q into out: the
// squared distance for euclidean, the dot product otherwise (cosine then
// divides by the stored norms). Every search path scores through it, so a
// row gets the same bits whichever finds it.
func (s *segment) batchKernel(q, rows []float32, stride int, out []float32) {
	if s.metric == Euclidean {
		simd.L2SquaredBatch(q, rows, stride, out)
	} else {
		simd.DotBatch(q, rows, stride, out)
	}
}

// scanChunkLocked scores chunk c into scores and offers each live row to t
// (each row set in mask, when mask is not nil).
// REQUIRES: mu held for reading.
func (s *segment) scanChunkLocked(c int, q []float32, qNormSq float32, sq sparseVec, mask []uint64, scores []float32, t *topK) {
	base := c << s.chunkShift
	n := min(s.chunkRows, s.n-base)
	rows := s.chunks[c]
	scores = scores[:n]
	// One batch kernel call per chunk; cosine then needs only the stored
	// norms, so the scan is one dot product per row whatever the metric.
	s.batchKernel(q, rows, s.stride, scores)
	for i, sc := range scores {
		slot := uint32(base + i)
		if s.deleted[slot/64]&(1<<(slot%64)) != 0 || (mask != nil && mask[slot/64]&(1<<(slot%64)) == 0) {
			continue
		}
		t.offer(hit{slot: slot, score: s.scoreLocked(sc, qNormSq, sq, slot)})
	}
}

// searchAllowedLocked scores only the allowed rows, one kernel call each:
// the plan for selective filters.
// REQUIRES: mu held for reading.
func (s *segment) searchAllowedLocked(ctx context.Context, q []float32, qNormSq float32, sq sparseVec, k int, allowed *roaring.Bitmap) ([]hit, error) {
	t := newTopK(k, s.metric.ascending(), s.ids)
	var raw [1]float32
	it := allowed.Iterator()
	for i := 0; it.HasNext(); i++ {
		if i%loadCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		slot := it.Next()
		// A batch of one, not the pair kernels: the batch kernels score a
		// row the same bits wherever they meet it, so a record's score
		// does not depend on the plan.
		s.batchKernel(q, s.rowLocked(slot), s.stride, raw[:])
		t.offer(hit{slot: slot, score: s.scoreLocked(raw[0], qNormSq, sq, slot)})
	}
	return t.sorted(), nil
}
