package segment

import (
	"context"
	"errors"
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
)

// Build errors.
var (
	// ErrCompacted: the segment compacted during a build, renumbering the
	// slots the build had read; BuildIVF starts over, up to
	// buildAttempts times.
	ErrCompacted = errors.New("vectordb: segment compacted during the IVF build")
	// ErrEmpty: BuildIVF on a segment without live rows.
	ErrEmpty = errors.New("segment: no records to build an IVF index from")
)

// NListFor is the number of lists for n records.
func NListFor(n int) int {
	return max(1, min(n, int(math.Round(ivfListsPerSqrt*math.Sqrt(float64(n))))))
}

// WantsBuildLocked reports whether the segment should get a new IVF: it
// has minRecords (> 0) live records and either no IVF, or one trained
// when it held half or twice as many records, or whose lists have grown
// twice as unbalanced as they were when built.
// REQUIRES: mu held.
func (s *Segment) WantsBuildLocked(minRecords int) bool {
	if minRecords <= 0 || s.live < minRecords || s.journal != nil {
		return false
	}
	st := s.ivf
	switch {
	case st == nil, s.live >= 2*st.Trained, 2*s.live <= st.Trained:
		return true
	}
	return st.Lists.Imbalance() > 2*max(1, st.Imbalance)
}

// BuildConfig configures BuildIVF.
type BuildConfig struct {
	// Seed seeds the sampling and the training: builds with the same seed
	// over the same rows give the same IVF.
	Seed uint64
	// TargetRecall is the recall@10 that the calibrated nprobe reaches.
	TargetRecall float64
	// Check, if set, is called between the steps of the build: an error
	// it returns ends the build with that error (the caller's namespace
	// was dropped meanwhile, say).
	Check func() error
}

// buildAttempts: how many times BuildIVF starts over after a compaction.
const buildAttempts = 4

// BuildIVF trains a new IVF over the segment's rows, fills its lists,
// calibrates its nprobe and puts it in service, and returns it. Queries
// use the exact scan (or the previous IVF) until then; writes continue
// throughout, and those made during the build are applied to the new
// lists before they take over. The training, assignment and calibration
// workers run as gate admits them. A segment without live rows gives
// ErrEmpty.
func (s *Segment) BuildIVF(ctx context.Context, gate ivf.Gate, cfg BuildConfig) (*IVF, error) {
	for attempt := 1; ; attempt++ {
		st, err := s.buildOnce(ctx, gate, cfg)
		if err == ErrCompacted && attempt < buildAttempts {
			continue
		}
		return st, err
	}
}

func (s *Segment) buildOnce(ctx context.Context, gate ivf.Gate, cfg BuildConfig) (*IVF, error) {
	check := func() error {
		if cfg.Check == nil {
			return nil
		}
		return cfg.Check()
	}
	start := time.Now()
	smp, err := s.startBuild(cfg.Seed)
	if err != nil {
		return nil, err
	}
	swapped := false
	defer func() {
		if !swapped {
			s.abortBuild(smp)
		}
	}()
	tc := ivf.TrainConfig{NList: NListFor(smp.live), Seed: cfg.Seed<<32 | uint64(smp.live), Gate: gate}
	q, err := ivf.Train(ctx, s.metric, s.dim, smp.train, tc)
	if err != nil {
		return nil, err
	}
	if err := check(); err != nil {
		return nil, err
	}
	lists, err := s.fillLists(ctx, gate, q, smp)
	if err != nil {
		return nil, err
	}
	if err := check(); err != nil {
		return nil, err
	}
	if err := s.catchUp(ctx, gate, lists, smp); err != nil {
		return nil, err
	}
	nprobe, recall, err := s.calibrate(ctx, gate, lists, smp, cfg.TargetRecall)
	if err != nil {
		return nil, err
	}
	st := &IVF{Lists: lists, NList: q.NList(), NProbe: nprobe, Recall: recall}
	if err := s.swapIVF(st, smp, start); err != nil {
		return nil, err
	}
	swapped = true
	return st, nil
}

// buildSample is what a build copies out of the segment at its start
// (startBuild): the training rows it trains a quantizer on, and what
// fillLists, catchUp, calibrate and swapIVF need.
type buildSample struct {
	epoch   uint64
	n       int
	live    int       // live rows at the start
	train   []float32 // training rows, dim apart
	queries []float32 // calibration queries, dim apart
	qslots  []uint32  // each query's own slot
}

// startBuild starts the journal of a build and copies out its training
// sample and calibration queries: up to ivfTrainPerList rows per list and
// calibrationQueries rows, drawn at random (seeded by seed) from the live
// rows.
func (s *Segment) startBuild(seed uint64) (*buildSample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal != nil {
		return nil, errors.New("vectordb: an IVF build is already running")
	}
	if s.live == 0 {
		return nil, ErrEmpty
	}
	smp := &buildSample{epoch: s.epoch, n: s.n, live: s.live}
	live := s.liveSet.ToArray()
	rng := rand.New(rand.NewPCG(seed, uint64(len(live))))
	m := min(len(live), ivfTrainPerList*NListFor(len(live)))
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
		copy(smp.train[i*s.dim:], s.RowLocked(slot)[:s.dim])
	}
	pool := live[m:]
	if len(pool) < nq {
		pool = live
	}
	smp.queries = make([]float32, nq*s.dim)
	for i, slot := range pool[:nq] {
		smp.qslots = append(smp.qslots, slot)
		copy(smp.queries[i*s.dim:], s.RowLocked(slot)[:s.dim])
	}
	s.journal = roaring.New()
	return smp, nil
}

// fillLists assigns every row the build started with to its list and
// copies it there, a chunk at a time: the assignment runs without the
// segment's lock on a copy of each chunk, and the rows are then copied
// into the (still private) lists under a read lock. Rows written since the
// build started are in the journal and get fixed later.
func (s *Segment) fillLists(ctx context.Context, gate ivf.Gate, q *ivf.Quantizer, smp *buildSample) (*ivf.Lists, error) {
	assign := make([]int32, smp.n)
	buf := simd.AlignedFloats(s.chunkRows * s.stride)
	for base := 0; base < smp.n; base += s.chunkRows {
		rows := min(s.chunkRows, smp.n-base)
		s.mu.RLock()
		if s.epoch != smp.epoch {
			s.mu.RUnlock()
			return nil, ErrCompacted
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
			return nil, ErrCompacted
		}
		for slot := uint32(base); slot < uint32(min(base+s.chunkRows, smp.n)); slot++ {
			if !s.isDeletedLocked(slot) {
				lists.Add(slot, s.RowLocked(slot)[:s.dim], int(assign[slot]))
			}
		}
		s.mu.RUnlock()
	}
	return lists, nil
}

// catchUp applies the journal to the private lists in rounds, each taking
// the journal so far and assigning its rows without the lock, until what
// is left is small enough to apply under the write lock at the swap.
func (s *Segment) catchUp(ctx context.Context, gate ivf.Gate, lists *ivf.Lists, smp *buildSample) error {
	epoch := smp.epoch
	const small = 1024
	for range 4 {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		if s.epoch != epoch {
			s.mu.Unlock()
			return ErrCompacted
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
				rows = append(rows, s.RowLocked(slot)[:s.dim]...)
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

// ApplyJournalLocked brings lists up to date with the slots in j.
// REQUIRES: mu held for writing.
func (s *Segment) ApplyJournalLocked(lists *ivf.Lists, j *roaring.Bitmap) {
	var scratch ivf.Scratch
	it := j.Iterator()
	for it.HasNext() {
		slot := it.Next()
		lists.Remove(slot)
		if int(slot) < s.n && !s.isDeletedLocked(slot) {
			row := s.RowLocked(slot)[:s.dim]
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
func (s *Segment) calibrate(ctx context.Context, gate ivf.Gate, lists *ivf.Lists, smp *buildSample, target float64) (int, float64, error) {
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
		return 0, 0, ErrCompacted
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
				j = q.Assign(s.RowLocked(h.slot)[:s.dim], &scratch)
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
func (s *Segment) calibrationTruth(ctx context.Context, gate ivf.Gate, smp *buildSample) ([][]hit, error) {
	nq := len(smp.qslots)
	asc := s.ascending()
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
					err = ErrCompacted
				case c<<s.chunkShift >= s.n:
					s.mu.RUnlock()
					release()
					return
				}
				if err == nil {
					for i := w; i < nq; i += workers {
						tops[i].ids = s.ids // appends may have moved it since the last chunk
						s.scanChunkLocked(c, smp.queries[i*s.dim:(i+1)*s.dim], norms[i], Sparse{}, nil, scores, tops[i])
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
			return nil, err // ErrCompacted
		}
	}
	truth := make([][]hit, nq)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.epoch != smp.epoch {
		// A compaction slipped in since the last chunk: the slots are
		// renumbered, and ids no longer matches them.
		return nil, ErrCompacted
	}
	for i, t := range tops {
		t.ids = s.ids
		truth[i] = t.sorted()
	}
	return truth, nil
}

// abortBuild ends the journal of a build that did not swap its lists in
// (unless a compaction voided it already).
func (s *Segment) abortBuild(smp *buildSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch == smp.epoch {
		s.journal = nil
	}
}

// swapIVF puts st, built from smp since start, in service: it applies the
// rest of the journal to st's lists under the write lock, records the
// build's statistics in st and ends the journal. It returns ErrCompacted
// if the segment compacted since smp was taken.
func (s *Segment) swapIVF(st *IVF, smp *buildSample, start time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch != smp.epoch {
		return ErrCompacted
	}
	s.ApplyJournalLocked(st.Lists, s.journal)
	st.Trained, st.Imbalance = s.live, st.Lists.Imbalance()
	st.BuiltAt = time.Now()
	st.BuildTime = st.BuiltAt.Sub(start)
	s.ivf, s.journal = st, nil
	s.ivfBytes.Store(st.Lists.MemBytes())
	return nil
}
