package diskguard

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// probeEvery bounds how stale the free-space reading may be; a write also
// re-reads it once the writes since the last reading could have eaten a
// quarter of the margin.
const probeEvery = 100 * time.Millisecond

// Config configures a Guard.
type Config struct {
	// Dir is a directory on the guarded file system.
	Dir string
	// Margin is the free space, in bytes, below which growing writes are
	// refused; 0 or less turns the guard off.
	Margin int64
	// Full is the error refusals wrap (vectordb.ErrDiskFull), so that
	// callers match it with errors.Is.
	Full error
	// Probe reads the free bytes of dir's file system; nil means
	// FreeBytes. Tests inject readings through it.
	Probe func(dir string) (int64, error)
}

// Guard refuses growing writes when free space runs low. A nil *Guard
// admits everything (an in-memory database has no disk to fill).
type Guard struct {
	cfg Config

	mu      sync.Mutex
	free    int64     // guarded by mu: at the last reading
	readAt  time.Time // guarded by mu
	written atomic.Int64
}

// New returns a guard configured by cfg; its first Admit reads the free
// space.
func New(cfg Config) *Guard {
	if cfg.Probe == nil {
		cfg.Probe = FreeBytes
	}
	return &Guard{cfg: cfg}
}

// Admit returns an error wrapping Config.Full, with the figures, if a
// write adding about n bytes should be refused, and one wrapping the
// probe's error if free space cannot be read.
func (g *Guard) Admit(n int64) error {
	if g == nil || g.cfg.Margin <= 0 {
		return nil
	}
	// The messages name vectordb's option: they are what its users read.
	w := g.written.Add(n)
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.readAt) >= probeEvery || w >= g.cfg.Margin/4 {
		free, err := g.cfg.Probe(g.cfg.Dir)
		if err != nil {
			return fmt.Errorf("vectordb: reading free disk space of %s: %w", g.cfg.Dir, err)
		}
		g.free, g.readAt = free, time.Now()
		g.written.Store(0)
		w = 0
	}
	if g.free-w < g.cfg.Margin {
		return fmt.Errorf("%w: %d bytes free on the file system of %s, below Options.MinFreeDiskBytes (%d)",
			g.cfg.Full, g.free-w, g.cfg.Dir, g.cfg.Margin)
	}
	return nil
}
