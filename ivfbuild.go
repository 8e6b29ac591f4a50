package vectordb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/segment"
)

// buildRetryDelay: after a failed automatic build, the next waits at
// least this long.
const buildRetryDelay = time.Minute

// startBuild builds the namespace's IVF in the background, unless a build
// is running or one failed recently.
func (ns *namespace) startBuild(seg *segment.Segment) {
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
			seg.RLock()
			build := seg.WantsBuildLocked(db.opts.IVFMinRecords)
			seg.RUnlock()
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
func (ns *namespace) build(ctx context.Context, gate ivf.Gate, seg *segment.Segment) (*segment.IVF, error) {
	for attempt := 0; ; attempt++ {
		st, err := ns.buildOnce(ctx, gate, seg)
		if err == segment.ErrCompacted && attempt < 3 {
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

func (ns *namespace) buildOnce(ctx context.Context, gate ivf.Gate, seg *segment.Segment) (*segment.IVF, error) {
	start := time.Now()
	smp, err := seg.StartBuild(uint64(ns.id))
	if errors.Is(err, segment.ErrEmpty) {
		return nil, fmt.Errorf("%w: no records to build an IVF index from", ErrEmptyNamespace)
	}
	if err != nil {
		return nil, err
	}
	swapped := false
	defer func() {
		if !swapped {
			seg.AbortBuild(smp)
		}
	}()
	nlist := segment.NListFor(smp.Live)
	q, err := ivf.Train(ctx, seg.Metric(), seg.Dim(), smp.Train, ivf.TrainConfig{NList: nlist, Seed: uint64(ns.id)<<32 | uint64(smp.Live), Gate: gate})
	if err != nil {
		return nil, err
	}
	if !ns.current(seg) {
		return nil, errDropped
	}
	lists, err := seg.FillLists(ctx, gate, q, smp)
	if err != nil {
		return nil, err
	}
	if !ns.current(seg) {
		return nil, errDropped
	}
	if err := seg.CatchUp(ctx, gate, lists, smp); err != nil {
		return nil, err
	}
	nprobe, recall, err := seg.Calibrate(ctx, gate, lists, smp, ns.ix.db.opts.IVFTargetRecall)
	if err != nil {
		return nil, err
	}
	st := &segment.IVF{Lists: lists, NList: q.NList(), NProbe: nprobe, Recall: recall}
	if err := seg.SwapIVF(st, smp, start); err != nil {
		return nil, err
	}
	swapped = true
	return st, nil
}

// current reports whether seg is still the hot segment of a live
// namespace: a build for a namespace dropped or emptied meanwhile stops
// early rather than finish for nothing.
func (ns *namespace) current(seg *segment.Segment) bool {
	return ns.ix.lookup(ns.name) == ns && ns.seg.Load() == seg && !ns.ix.dropped.Load()
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
	return *describeIVF(st), nil
}
