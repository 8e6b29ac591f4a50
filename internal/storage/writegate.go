package storage

import (
	"context"
	"sync"
)

// writeGate keeps read-write transactions and DropPrefix apart. Badger's
// DropPrefix blocks the write channel and then opens a read transaction,
// which waits until every commit that took a timestamp has been applied;
// a commit that took its timestamp just as the channel was blocked can
// then never be applied, and both wait for ever. So a drop first waits
// for the transactions in flight to finish and holds new ones back until
// it is done. Unlike a sync.RWMutex, every wait here honours a context.
//
// A transaction's fn must not start another Update of the same Store
// while a drop may be waiting: the drop waits for the outer one, the
// inner one for the drop.
type writeGate struct {
	mu     sync.Mutex
	active int           // transactions in flight
	drop   chan struct{} // non-nil from a drop's start to its end, closed then
	idle   chan struct{} // non-nil while a drop waits for active to reach 0
}

// enter admits a transaction once no drop is under way, or returns ctx's
// error. Each successful enter is paired with one exit.
func (g *writeGate) enter(ctx context.Context) error {
	if err := g.lockNoDrop(ctx); err != nil {
		return err
	}
	g.active++
	g.mu.Unlock()
	return nil
}

// lockNoDrop locks g.mu once no drop is under way, or returns ctx's
// error with g.mu unlocked.
func (g *writeGate) lockNoDrop(ctx context.Context) error {
	g.mu.Lock()
	for g.drop != nil {
		ch := g.drop
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
		g.mu.Lock()
	}
	return nil
}

// exit ends a transaction admitted by enter.
func (g *writeGate) exit() {
	g.mu.Lock()
	g.active--
	if g.active == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// close waits for any other drop to end, then holds new transactions
// back and waits for those in flight to finish. On success the caller
// must call open; on ctx's error the gate is as it was.
func (g *writeGate) close(ctx context.Context) error {
	if err := g.lockNoDrop(ctx); err != nil {
		return err
	}
	g.drop = make(chan struct{})
	if g.active == 0 {
		g.mu.Unlock()
		return nil
	}
	g.idle = make(chan struct{})
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		g.idle = nil
		g.mu.Unlock()
		g.open()
		return ctx.Err()
	}
}

// open lets transactions in again after close.
func (g *writeGate) open() {
	g.mu.Lock()
	close(g.drop)
	g.drop = nil
	g.mu.Unlock()
}
