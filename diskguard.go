package vectordb

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The free-space guard. The storage engine does not survive a full disk
// gracefully (a failed memtable flush or compaction leaves it unable to
// write), so writes that add data are refused with ErrDiskFull while the
// file system holding the database has less than Options.MinFreeDiskBytes
// free. Deletes, DeleteAll and drops pass: they are how space comes back.

// catalogEntryBytes is what creating an index or a namespace adds, about.
const catalogEntryBytes = 256

// diskProbeEvery bounds how stale the free-space reading may be; a write
// also re-reads it once the writes since the last reading could have
// eaten a quarter of the margin.
const diskProbeEvery = 100 * time.Millisecond

// diskGuard refuses growing writes when free space runs low.
type diskGuard struct {
	dir    string
	margin int64                           // Options.MinFreeDiskBytes; <= 0: off
	probe  func(dir string) (int64, error) // free bytes; replaced in tests

	mu      sync.Mutex
	free    int64     // guarded by mu: at the last reading
	readAt  time.Time // guarded by mu
	written atomic.Int64
}

// admit reports ErrDiskFull (wrapped with the figures) if a write adding
// about n bytes should be refused.
func (g *diskGuard) admit(n int64) error {
	if g == nil || g.margin <= 0 {
		return nil
	}
	w := g.written.Add(n)
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.readAt) >= diskProbeEvery || w >= g.margin/4 {
		free, err := g.probe(g.dir)
		if err != nil {
			return fmt.Errorf("vectordb: reading free disk space of %s: %w", g.dir, err)
		}
		g.free, g.readAt = free, time.Now()
		g.written.Store(0)
		w = 0
	}
	if g.free-w < g.margin {
		return fmt.Errorf("%w: %d bytes free on the file system of %s, below Options.MinFreeDiskBytes (%d)",
			ErrDiskFull, g.free-w, g.dir, g.margin)
	}
	return nil
}
