package usage

import "sync/atomic"

// Counters are a namespace's cumulative units, shared by every generation
// of the same name (DeleteAll and a replacing import carry them over). It
// is safe for concurrent use.
type Counters struct {
	writes  atomic.Uint64
	reads   atomic.Uint64
	flushed atomic.Uint64 // read units known persisted
}

// Loaded returns the counters of a namespace read from storage: writes
// write units, and reads read units, all of them persisted.
func Loaded(writes, reads uint64) *Counters {
	c := &Counters{}
	c.writes.Store(writes)
	c.reads.Store(reads)
	c.flushed.Store(reads)
	return c
}

// Writes returns the write units.
func (c *Counters) Writes() uint64 { return c.writes.Load() }

// AddWrites counts n write units, once their write has committed.
func (c *Counters) AddWrites(n uint64) { c.writes.Add(n) }

// Reads returns the read units.
func (c *Counters) Reads() uint64 { return c.reads.Load() }

// AddReads counts n read units.
func (c *Counters) AddReads(n uint64) { c.reads.Add(n) }

// Flushed returns the read units known persisted.
func (c *Counters) Flushed() uint64 { return c.flushed.Load() }

// MarkFlushed records that v read units are persisted. Flushes may finish
// out of order, so it never lowers the mark.
func (c *Counters) MarkFlushed(v uint64) {
	for {
		cur := c.flushed.Load()
		if cur >= v || c.flushed.CompareAndSwap(cur, v) {
			return
		}
	}
}
