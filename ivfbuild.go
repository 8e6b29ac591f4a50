package vectordb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/simd"
)

// IVF tuning, measured with benchmarks/cmd/annbench on the generated data
// sets of benchmarks/README.md.
const (
	// ivfListsPerSqrt: a namespace of n records gets about
	// ivfListsPerSqrt*sqrt(n) lists.
	ivfListsPerSqrt = 2
	// ivfTrainPerList: k-means trains on this many sampled records per
	// list.
	ivfTrainPerList = 64
	// calibrationQueries: how many of the namespace's own records a build
	// uses as queries to calibrate nprobe.
	calibrationQueries = 512
	// calibrationZ: the calibrated nprobe is the smallest whose estimated
	// recall, less calibrationZ standard errors, reaches the target, so
	// that held-out queries reach it about 90% of the time rather than
	// half (with 256 queries and no margin, 1M x 128 calibrated at 0.950
	// gave 0.944 held out).
	calibrationZ = 1.28
	// calibrationK is the k of the recall@k that calibration targets.
	calibrationK = 10
	// buildRetryDelay: after a failed automatic build, the next waits at
	// least this long.
	buildRetryDelay = time.Minute
)

// errCompacted: the segment compacted during a build, renumbering the
// slots the build had read; the build starts over.
var errCompacted = errors.New("vectordb: segment compacted during the IVF build")

// nlistFor is the number of lists for n records.
func nlistFor(n int) int {
	return max(1, min(n, int(math.Round(ivfListsPerSqrt*math.Sqrt(float64(n))))))
}

// wantsBuildLocked reports whether the segment should get a new IVF: it
// has minRecords (> 0) live records and either no IVF, or one trained
// when it held half or twice as many records, or whose lists have grown
// twice as unbalanced as they were when built.
// REQUIRES: mu held.
func (s *segment) wantsBuildLocked(minRecords int) bool {
	if minRecords <= 0 || s.live < minRecords || s.journal != nil {
		return false
	}
	st := s.ivf
	switch {
	case st == nil, s.live >= 2*st.trained, 2*s.live <= st.trained:
		return true
	}
	return st.lists.Imbalance() > 2*max(1, st.imbalance)
}

// startBuild builds the namespace's IVF in the background, unless a build
// is running or one failed recently.
func (ns *namespace) startBuild(seg *segment) {
	if time.Since(time.Unix(0, ns.buildFailed.Load())) < buildRetryDelay {
		return
	}
	ns.background(func(ctx context.Context) {
		// The build's workers run at background priority: a slot of the
		// namespace's only while no operation waits for one.
		gate := ns.ix.db.sched.Gate(ns.key(), false)
		if _, err := ns.build(ctx, gate, seg); err != nil && ctx.Err() == nil && !errors.Is(err, errDropped) {
			ns.buildFailed.Store(time.Now().UnixNano())
			ns.ix.db.opts.Logger.Warningf("IVF build of namespace %q of index %q failed: %v", ns.name, ns.ix.name, err)
		}
	})
}

// background runs fn, which builds or persists the IVF, in a goroutine
// that Close cancels and waits for, unless such a goroutine is running.
// When fn is done, the goroutine checks whether the namespace wants a new
// build: writes that asked for one while it ran (their startBuild found
// buildMu held, or the segment mid-build) would otherwise go unheard
// until the next write, which may never come.
// REQUIRES: called within a DB call or a background goroutine (Close
// waits for both), so that the goroutine starts before Close waits.
func (ns *namespace) background(fn func(ctx context.Context)) {
	if !ns.buildMu.TryLock() {
		return
	}
	db := ns.ix.db
	db.bg.Go(func() {
		fn(db.bgCtx)
		ns.buildMu.Unlock()
		if db.bgCtx.Err() != nil {
			return // closing
		}
		// After the unlock: a write that tries to start a build from now
		// on succeeds, and one that tried before has updated the segment
		// that this check reads.
		ns.writeMu.Lock()
		gone := ns.dropped || ns.ix.dropped.Load()
		ns.writeMu.Unlock()
		if seg := ns.seg.Load(); seg != nil && !gone {
			seg.mu.RLock()
			build := seg.wantsBuildLocked(db.opts.IVFMinRecords)
			seg.mu.RUnlock()
			if build {
				ns.startBuild(seg)
			}
		}
	})
}

// build trains a new IVF for seg, calibrates it, puts it in service and
// persists it. Queries use the exact scan (or the previous IVF) until it
// is in service; writes continue throughout, and those made during the
// build are applied to the new index before it takes over.
// REQUIRES: ns.buildMu held.
func (ns *namespace) build(ctx context.Context, gate ivf.Gate, seg *segment) (*ivfState, error) {
	for attempt := 0; ; attempt++ {
		st, err := ns.buildOnce(ctx, gate, seg)
		if err == errCompacted && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		// The lists count against the memory budget.
		ns.writeMu.Lock()
		if ns.seg.Load() == seg && !ns.dropped {
			ns.ix.db.reaccount(ns, seg)
		}
		ns.writeMu.Unlock()
		// Persist even when Close has cancelled ctx: Close waits for
		// this goroutine, and writing the index costs far less than the
		// retraining a reopen would otherwise do.
		if err := ns.persistIVF(context.WithoutCancel(ctx), seg, st); err != nil {
			return st, err
		}
		return st, nil
	}
}

// buildSample is what a build copies out of the segment at its start.
type buildSample struct {
	epoch   uint64
	n, live int
	train   []float32 // training rows, dim apart
	queries []float32 // calibration queries, dim apart
	qslots  []uint32  // each query's own slot
}

func (ns *namespace) buildOnce(ctx context.Context, gate ivf.Gate, seg *segment) (st *ivfState, err error) {
	start := time.Now()
	smp, err := seg.startBuild(uint64(ns.id))
	if err != nil {
		return nil, err
	}
	swapped := false
	defer func() {
		if !swapped {
			seg.mu.Lock()
			if seg.epoch == smp.epoch {
				seg.journal = nil
			}
			seg.mu.Unlock()
		}
	}()
	dim := seg.dim
	nlist := nlistFor(smp.live)
	q, err := ivf.Train(ctx, ivfMetric(seg.metric), dim, smp.train, ivf.TrainConfig{NList: nlist, Seed: uint64(ns.id)<<32 | uint64(smp.live), Gate: gate})
	if err != nil {
		return nil, err
	}
	if !ns.current(seg) {
		return nil, errDropped
	}
	lists, err := seg.fillLists(ctx, gate, q, smp)
	if err != nil {
		return nil, err
	}
	if !ns.current(seg) {
		return nil, errDropped
	}
	if err := seg.catchUp(ctx, gate, lists, smp.epoch); err != nil {
		return nil, err
	}
	nprobe, recall, err := seg.calibrate(ctx, gate, lists, smp, ns.ix.db.opts.IVFTargetRecall)
	if err != nil {
		return nil, err
	}
	st = &ivfState{lists: lists, nlist: q.NList(), nprobe: nprobe, recall: recall}
	seg.mu.Lock()
	defer seg.mu.Unlock()
	if seg.epoch != smp.epoch {
		return nil, errCompacted
	}
	seg.applyJournalLocked(lists, seg.journal)
	st.trained, st.imbalance = seg.live, lists.Imbalance()
	st.builtAt = time.Now()
	st.buildTime = st.builtAt.Sub(start)
	seg.ivf, seg.journal = st, nil
	seg.ivfBytes.Store(lists.MemBytes())
	swapped = true
	return st, nil
}

// current reports whether seg is still the hot segment of a live
// namespace: a build for a namespace dropped or emptied meanwhile stops
// early rather than finish for nothing.
func (ns *namespace) current(seg *segment) bool {
	return ns.ix.lookup(ns.name) == ns && ns.seg.Load() == seg && !ns.ix.dropped.Load()
}

// startBuild starts the journal of a build and copies out its training
// sample and calibration queries: up to ivfTrainPerList rows per list and
// calibrationQueries rows, drawn at random (seeded by seed) from the live
// rows.
func (s *segment) startBuild(seed uint64) (*buildSample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal != nil {
		return nil, errors.New("vectordb: an IVF build is already running")
	}
	if s.live == 0 {
		return nil, fmt.Errorf("%w: no records to build an IVF index from", ErrEmptyNamespace)
	}
	smp := &buildSample{epoch: s.epoch, n: s.n, live: s.live}
	live := s.liveSet.ToArray()
	rng := rand.New(rand.NewPCG(seed, uint64(len(live))))
	m := min(len(live), ivfTrainPerList*nlistFor(len(live)))
	nq := min(len(live), calibrationQueries)
	// A partial shuffle puts the training rows first, then the queries:
	// rows the centroids were not fitted to, as a user's queries are not
	// (queries drawn from the training rows overestimate the recall on
	// data with much overlap between clusters). A namespace too small to
	// spare them draws the queries from every row.
	for i := range min(len(live), m+nq) {
		j := i + rng.IntN(len(live)-i)
		live[i], live[j] = live[j], live[i]
	}
	smp.train = make([]float32, m*s.dim)
	for i, slot := range live[:m] {
		copy(smp.train[i*s.dim:], s.rowLocked(slot)[:s.dim])
	}
	pool := live[m:]
	if len(pool) < nq {
		pool = live
	}
	smp.queries = make([]float32, nq*s.dim)
	for i, slot := range pool[:nq] {
		smp.qslots = append(smp.qslots, slot)
		copy(smp.queries[i*s.dim:], s.rowLocked(slot)[:s.dim])
	}
	s.journal = roaring.New()
	return smp, nil
}

// fillLists assigns every row the build started with to its list and
// copies it there, a chunk at a time: the assignment runs without the
// segment's lock on a copy of each chunk, and the rows are then copied
// into the (still private) lists under a read lock. Rows written since the
// build started are in the journal and get fixed later.
func (s *segment) fillLists(ctx context.Context, gate ivf.Gate, q *ivf.Quantizer, smp *buildSample) (*ivf.Lists, error) {
	assign := make([]int32, smp.n)
	buf := simd.AlignedFloats(s.chunkRows * s.stride)
	for base := 0; base < smp.n; base += s.chunkRows {
		rows := min(s.chunkRows, smp.n-base)
		s.mu.RLock()
		if s.epoch != smp.epoch {
			s.mu.RUnlock()
			return nil, errCompacted
		}
		copy(buf, s.chunks[base>>s.chunkShift][:rows*s.stride])
		s.mu.RUnlock()
		if err := q.AssignBatch(ctx, gate, buf, s.stride, rows, assign[base:base+rows]); err != nil {
			return nil, err
		}
	}
	lists := ivf.NewLists(q, s.stride)
	size := make([]int, q.NList())
	for _, j := range assign {
		size[j]++
	}
	lists.Reserve(size)
	for base := 0; base < smp.n; base += s.chunkRows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.mu.RLock()
		if s.epoch != smp.epoch {
			s.mu.RUnlock()
			return nil, errCompacted
		}
		for slot := uint32(base); slot < uint32(min(base+s.chunkRows, smp.n)); slot++ {
			if !s.isDeletedLocked(slot) {
				lists.Add(slot, s.rowLocked(slot)[:s.dim], int(assign[slot]))
			}
		}
		s.mu.RUnlock()
	}
	return lists, nil
}

// catchUp applies the journal to the private lists in rounds, each taking
// the journal so far and assigning its rows without the lock, until what
// is left is small enough to apply under the write lock at the swap.
func (s *segment) catchUp(ctx context.Context, gate ivf.Gate, lists *ivf.Lists, epoch uint64) error {
	const small = 1024
	for range 4 {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		if s.epoch != epoch {
			s.mu.Unlock()
			return errCompacted
		}
		j := s.journal
		if j.GetCardinality() <= small {
			s.mu.Unlock()
			return nil
		}
		s.journal = roaring.New()
		s.mu.Unlock()
		// Copy the rows under a read lock, assign them without it.
		var slots []uint32
		var rows []float32
		s.mu.RLock()
		it := j.Iterator()
		for it.HasNext() {
			slot := it.Next()
			lists.Remove(slot)
			if int(slot) < s.n && !s.isDeletedLocked(slot) {
				slots = append(slots, slot)
				rows = append(rows, s.rowLocked(slot)[:s.dim]...)
			}
		}
		s.mu.RUnlock()
		assign := make([]int32, len(slots))
		if err := lists.Quantizer().AssignBatch(ctx, gate, rows, s.dim, len(slots), assign); err != nil {
			return err
		}
		for i, slot := range slots {
			lists.Add(slot, rows[i*s.dim:(i+1)*s.dim], int(assign[i]))
		}
		// A slot written again since is in the new journal: its entry is
		// replaced in a later round or at the swap.
	}
	return nil
}

// applyJournalLocked brings lists up to date with the slots in j.
// REQUIRES: mu held for writing.
func (s *segment) applyJournalLocked(lists *ivf.Lists, j *roaring.Bitmap) {
	var scratch ivf.Scratch
	it := j.Iterator()
	for it.HasNext() {
		slot := it.Next()
		lists.Remove(slot)
		if int(slot) < s.n && !s.isDeletedLocked(slot) {
			row := s.rowLocked(slot)[:s.dim]
			lists.Add(slot, row, lists.Quantizer().Assign(row, &scratch))
		}
	}
}

// calibrate finds the smallest nprobe whose recall@calibrationK reaches
// target (with a margin: see calibrationZ), and its estimated recall,
// with the sampled records as queries: for each it finds the
// exact top k+1 (see calibrationTruth), drops the query's own record (a
// held-out query is not in the namespace), and notes the probe rank of
// each true neighbour's list. A neighbour is among the IVF's top k at
// nprobe p exactly when its list is among the first p probed (every row
// that outranks it is a true neighbour too), so the ranks give the recall
// at every nprobe at once.
func (s *segment) calibrate(ctx context.Context, gate ivf.Gate, lists *ivf.Lists, smp *buildSample, target float64) (int, float64, error) {
	truth, err := s.calibrationTruth(ctx, gate, smp)
	if err != nil {
		return 0, 0, err
	}
	q := lists.Quantizer()
	nlist := q.NList()
	// found[i][p]: how many of query i's neighbours lie in lists of probe
	// rank p.
	found := make([][]int32, 0, len(truth))
	rank := make([]int32, nlist)
	var scratch ivf.Scratch
	s.mu.RLock()
	if s.epoch != smp.epoch {
		s.mu.RUnlock()
		return 0, 0, errCompacted
	}
	for i, hits := range truth {
		// Drop the query's own row; failing that (a tie may have pushed
		// it out), the k+1st.
		drop := -1
		for h := range hits {
			if hits[h].slot == smp.qslots[i] {
				drop = h
				break
			}
		}
		if drop < 0 && len(hits) > calibrationK {
			drop = len(hits) - 1
		}
		if drop >= 0 {
			hits = append(hits[:drop], hits[drop+1:]...)
		}
		if len(hits) == 0 {
			continue
		}
		q.Ranks(smp.queries[i*s.dim:(i+1)*s.dim], &scratch, rank)
		f := make([]int32, nlist)
		for _, h := range hits {
			j := lists.ListOf(h.slot)
			if j < 0 && int(h.slot) < s.n && !s.isDeletedLocked(h.slot) {
				// Written since the lists were filled.
				j = q.Assign(s.rowLocked(h.slot)[:s.dim], &scratch)
			}
			if j >= 0 {
				f[rank[j]]++
			}
		}
		// Per-query recall needs the query's own neighbour count.
		f = append(f, int32(len(hits)))
		found = append(found, f)
	}
	s.mu.RUnlock()
	if len(found) == 0 {
		return nlist, 1, nil
	}
	// Walk p up, keeping each query's recall at p, and stop at the first p
	// whose mean recall, less calibrationZ standard errors, reaches target.
	have := make([]int32, len(found))
	nq := float64(len(found))
	for p := 1; p <= nlist; p++ {
		var sum, sumSq float64
		for i, f := range found {
			have[i] += f[p-1]
			r := float64(have[i]) / float64(f[nlist])
			sum += r
			sumSq += r * r
		}
		mean := sum / nq
		se := math.Sqrt(max(0, sumSq/nq-mean*mean) / nq)
		if mean-calibrationZ*se >= target || p == nlist {
			return p, mean, nil
		}
	}
	return nlist, 1, nil
}

// calibrationTruth returns the exact top calibrationK+1 rows of each
// calibration query. Each worker scans the segment once for its share of
// the queries, a chunk at a time under the read lock, every query against
// the chunk while it is in cache: one pass over memory per worker instead
// of one per query, which for a large namespace is the difference between
// seconds and tens of seconds.
func (s *segment) calibrationTruth(ctx context.Context, gate ivf.Gate, smp *buildSample) ([][]hit, error) {
	nq := len(smp.qslots)
	asc := s.metric.ascending()
	tops := make([]*topK, nq)
	norms := make([]float32, nq)
	for i := range tops {
		tops[i] = newTopK(calibrationK+1, asc, nil)
		norms[i] = simd.SquaredNorm(smp.queries[i*s.dim : (i+1)*s.dim])
	}
	// Each worker owns the queries i%workers == w and scans the segment a
	// chunk at a time, each chunk admitted by gate and read under
	// the read lock (taken after the gate: never wait for a slot holding
	// a lock that an admitted writer may wait for).
	workers := min(runtime.GOMAXPROCS(0), nq)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			scores := make([]float32, s.chunkRows)
			for c := 0; ; c++ {
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				release, err := gate.Admit(ctx)
				if err != nil {
					errs[w] = err
					return
				}
				s.mu.RLock()
				switch {
				case s.epoch != smp.epoch:
					err = errCompacted
				case c<<s.chunkShift >= s.n:
					s.mu.RUnlock()
					release()
					return
				}
				if err == nil {
					for i := w; i < nq; i += workers {
						tops[i].ids = s.ids // appends may have moved it since the last chunk
						s.scanChunkLocked(c, smp.queries[i*s.dim:(i+1)*s.dim], norms[i], sparseVec{}, nil, scores, tops[i])
					}
				}
				s.mu.RUnlock()
				release()
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err // errCompacted
		}
	}
	truth := make([][]hit, nq)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.epoch != smp.epoch {
		// A compaction slipped in since the last chunk: the slots are
		// renumbered, and ids no longer matches them.
		return nil, errCompacted
	}
	for i, t := range tops {
		t.ids = s.ids
		truth[i] = t.sorted()
	}
	return truth, nil
}

// BuildIVF builds the namespace's IVF index now, whatever its size
// (replacing any it has), and returns its description once queries use
// it. Namespaces with Options.IVFMinRecords records get one automatically,
// in the background; BuildIVF is for bulk loads that want it at once, and
// for namespaces below the threshold (whose queries then use it only when
// they set NProbe). It waits for a build already running. A namespace
// that does not exist gives ErrNamespaceNotFound, an empty one
// ErrEmptyNamespace.
func (h *Namespace) BuildIVF(ctx context.Context) (IVFDescription, error) {
	if err := h.enter(ctx); err != nil {
		return IVFDescription{}, err
	}
	defer h.idx.db.leave()
	ns := h.ix().lookup(h.name)
	if ns == nil {
		return IVFDescription{}, fmt.Errorf("%w: %q", ErrNamespaceNotFound, h.name)
	}
	// Hold buildMu first, so that a load here does not start an automatic
	// build that this call would wait for and then redo.
	ns.buildMu.Lock()
	defer ns.buildMu.Unlock()
	seg, err := ns.hot(ctx)
	if err != nil {
		return IVFDescription{}, err
	}
	st, err := ns.build(ctx, h.idx.db.sched.Gate(h.key(), true), seg)
	if errors.Is(err, errDropped) {
		return IVFDescription{}, fmt.Errorf("%w: %q (deleted during the build)", ErrNamespaceNotFound, h.name)
	}
	if err != nil {
		return IVFDescription{}, err
	}
	return *st.describe(), nil
}
