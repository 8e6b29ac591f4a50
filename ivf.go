package vectordb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/storage"
)

// A namespace's IVF index: when to build it, the build's namespace side
// (locks, memory accounting, persisting), loading the stored one, and its
// public description. The index itself, its build steps and its stored
// form are the segment's (internal/segment) and storage's.

// buildRetryDelay: after a failed automatic build, the next waits at
// least this long.
const buildRetryDelay = time.Minute

// errDropped: the namespace was dropped while its IVF was being built or
// persisted.
var errDropped = errors.New("vectordb: namespace dropped")

// startBuild builds the namespace's IVF in the background, unless a build
// is running or one failed recently.
func (ns *namespaceState) startBuild(seg *segment.Segment) {
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
func (ns *namespaceState) background(fn func(ctx context.Context)) {
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

// build builds a new IVF for seg (see segment.BuildIVF), accounts its
// lists against the memory budget and persists it. A build for a
// namespace dropped or emptied meanwhile stops early, with errDropped,
// rather than finish for nothing.
// REQUIRES: ns.buildMu held.
func (ns *namespaceState) build(ctx context.Context, gate ivf.Gate, seg *segment.Segment) (*segment.IVF, error) {
	st, err := seg.BuildIVF(ctx, gate, segment.BuildConfig{
		Seed:         uint64(ns.id),
		TargetRecall: ns.ix.db.opts.IVFTargetRecall,
		Check: func() error {
			if ns.ix.lookup(ns.name) != ns || ns.seg.Load() != seg || ns.ix.dropped.Load() {
				return errDropped
			}
			return nil
		},
	})
	if errors.Is(err, segment.ErrEmpty) {
		return nil, fmt.Errorf("%w: no records to build an IVF index from", ErrEmptyNamespace)
	}
	if err != nil {
		return nil, err
	}
	ns.writeMu.Lock()
	if ns.seg.Load() == seg && !ns.dropped {
		ns.ix.db.reaccount(ns, seg)
	}
	ns.writeMu.Unlock()
	// Persist even when Close has cancelled ctx: Close waits for this
	// goroutine, and writing the index costs far less than the retraining
	// a reopen would otherwise do.
	return st, ns.persistIVF(context.WithoutCancel(ctx), seg, st)
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
	defer h.index.db.leave()
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
	st, err := ns.build(ctx, h.index.db.sched.Gate(h.key(), true), seg)
	if errors.Is(err, errDropped) {
		return IVFDescription{}, fmt.Errorf("%w: %q (deleted during the build)", ErrNamespaceNotFound, h.name)
	}
	if err != nil {
		return IVFDescription{}, err
	}
	return *describeIVF(st), nil
}

// persistIVF stores st, seg's IVF, so that a restart does not retrain
// (see storage.WriteIVF), unless a newer build superseded it. A namespace
// dropped meanwhile is left alone.
func (ns *namespaceState) persistIVF(ctx context.Context, seg *segment.Segment, st *segment.IVF) error {
	h, body, ok := seg.EncodeIVF(st)
	if !ok {
		return nil
	}
	stored, err := ns.ix.db.store.WriteIVF(ctx, ns.ix.id, ns.id, h, body, func(fn func(*storage.Txn) error) error {
		return ns.writeIVF(ctx, fn)
	})
	if stored {
		ns.ivfDesc.Store(&ivfDescCache{describeIVF(st)})
	}
	if errors.Is(err, errDropped) {
		return nil
	}
	return storageErr(err)
}

// writeIVF commits fn as a write of the namespace's IVF keys, under the
// same locks as record writes, so that nothing lands under the prefix of a
// dropped namespace (which the janitor may have cleared already).
func (ns *namespaceState) writeIVF(ctx context.Context, fn func(t *storage.Txn) error) error {
	ix := ns.ix
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	if ix.dropped.Load() {
		return errDropped
	}
	ns.writeMu.Lock()
	defer ns.writeMu.Unlock()
	if ns.dropped {
		return errDropped
	}
	return ix.db.store.Update(ctx, fn)
}

// loadIVF puts the stored IVF, if any, in service in seg, freshly loaded
// in t, and returns how many records it reassigned (see
// segment.LoadIVFLocked). A stored IVF that does not match the index or
// fails its checksums is ignored, with a warning: it is derived data, and
// the next build replaces it.
func (ns *namespaceState) loadIVF(t *storage.Txn, seg *segment.Segment) (reassigned int, err error) {
	stored, err := storage.ReadIVF(t, ns.ix.id, ns.id)
	switch {
	case errors.Is(err, storage.ErrCorrupt):
	case err != nil || stored == nil:
		return 0, err
	default:
		if reassigned, err = seg.LoadIVFLocked(stored); err == nil {
			return reassigned, nil
		}
	}
	ns.ix.db.opts.Logger.Warningf("ignoring the stored IVF index of namespace %q of index %q: %v", ns.name, ns.ix.name, err)
	return 0, nil
}

// storedIVF describes the stored IVF of a cold namespace, or returns nil.
// The answer is cached on the namespace (a description of many cold
// namespaces would otherwise read a key each), and replaced whenever the
// namespace stores a new index.
func (ns *namespaceState) storedIVF() *IVFDescription {
	if c := ns.ivfDesc.Load(); c != nil {
		return c.d
	}
	var d *IVFDescription
	_ = ns.ix.db.store.View(func(t *storage.Txn) error {
		h, ok, err := storage.ReadIVFHeader(t, ns.ix.id, ns.id)
		if ok {
			d = describeIVF(segment.HeaderIVF(&h))
		}
		return err
	})
	ns.ivfDesc.CompareAndSwap(nil, &ivfDescCache{d})
	return d
}

// ivfDescCache holds a namespace's stored IVF description; d is nil when
// it has none.
type ivfDescCache struct{ d *IVFDescription }

// IVFDescription describes a namespace's IVF (inverted file) index, which
// queries use instead of the exact scan once the namespace has
// Options.IVFMinRecords records.
type IVFDescription struct {
	// Lists is the number of lists (k-means centroids).
	Lists int
	// NProbe is the calibrated number of lists a query scans by default:
	// the smallest that reached Options.IVFTargetRecall.
	NProbe int
	// EstimatedRecall is the recall@10 measured at NProbe when the index
	// was built, with a sample of the namespace's own records as queries.
	EstimatedRecall float64
	// TrainedRecords is how many records the namespace held when the index
	// was built. It is rebuilt when the namespace has doubled or halved
	// since, or its lists have become unbalanced.
	TrainedRecords int64
	// BuiltAt is when the build finished, and BuildTime how long it took
	// (training, assignment and calibration).
	BuiltAt   time.Time
	BuildTime time.Duration
}

// describeIVF describes st.
func describeIVF(st *segment.IVF) *IVFDescription {
	return &IVFDescription{
		Lists:           st.NList,
		NProbe:          st.NProbe,
		EstimatedRecall: st.Recall,
		TrainedRecords:  int64(st.Trained),
		BuiltAt:         st.BuiltAt,
		BuildTime:       st.BuildTime,
	}
}
