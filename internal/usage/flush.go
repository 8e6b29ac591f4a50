package usage

import (
	"context"
	"errors"
	"iter"
	"sync"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// Entry is a namespace whose read units a flush may persist: the ids and
// names of its catalog entries, and its counters.
type Entry struct {
	IndexName string
	IndexID   uint32
	Name      string
	ID        uint32
	Counters  *Counters
}

// Logger receives the periodic flush's failures.
type Logger interface {
	Warningf(format string, args ...any)
}

// Flusher persists read units to storage.
type Flusher struct {
	store *storage.Store
	list  iter.Seq[Entry]

	// One flush at a time (the periodic one, a backup's and Close's):
	// each writes the values it read, and a stale one committed last
	// would win.
	mu sync.Mutex
}

// NewFlusher returns a flusher into store of the namespaces list yields,
// ranged over anew by each flush (the live ones, at the time).
func NewFlusher(store *storage.Store, list iter.Seq[Entry]) *Flusher {
	return &Flusher{store: store, list: list}
}

// Flush persists the read units counted since the last flush, in
// transactions of at most a thousand namespaces. Each namespace's
// catalog entries are read in the same transaction, so a concurrent drop
// makes the commit conflict and the retry skips the dropped namespace. A
// failed transaction does not stop the others; the errors are joined.
func (f *Flusher) Flush(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	type pending struct {
		e  Entry
		ru uint64
	}
	var todo []pending
	for e := range f.list {
		if ru := e.Counters.Reads(); ru != e.Counters.Flushed() {
			todo = append(todo, pending{e, ru})
		}
	}
	// Three entries per namespace (two catalog reads and a write) must fit
	// in a transaction, with room to spare.
	chunk := int(max(1, min(1000, f.store.MaxTxnEntries()/8)))
	var errs []error
	for len(todo) > 0 {
		batch := todo[:min(chunk, len(todo))]
		todo = todo[len(batch):]
		var written []pending
		err := f.store.Update(ctx, func(t *storage.Txn) error {
			written = written[:0]
			for _, p := range batch {
				live, err := storage.NamespaceLive(t, p.e.IndexName, p.e.IndexID, p.e.Name, p.e.ID)
				if err != nil {
					return err
				}
				if !live {
					continue
				}
				if err := t.Set(storage.ReadUnitsKey(p.e.IndexID, p.e.ID), storage.EncodeUint64(p.ru)); err != nil {
					return err
				}
				written = append(written, p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range written {
			p.e.Counters.MarkFlushed(p.ru)
		}
	}
	return errors.Join(errs...)
}

// Run flushes every interval until ctx ends, logging failures other than
// the store's closing.
func (f *Flusher) Run(ctx context.Context, interval time.Duration, log Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := f.Flush(ctx); err != nil && !errors.Is(err, storage.ErrClosed) && ctx.Err() == nil {
				log.Warningf("flushing read units: %v", err)
			}
		}
	}
}
