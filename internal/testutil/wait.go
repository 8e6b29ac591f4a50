package testutil

import (
	"runtime"
	"testing"
	"time"
)

// Patience is the deadline for conditions that should hold within
// milliseconds but may take far longer on a loaded machine (-race, two
// shared cores): waiting that long fails only a test that is stuck.
const Patience = 30 * time.Second

// pollEvery is how often Eventually re-checks its condition.
const pollEvery = time.Millisecond

// Eventually waits until cond holds, checking it every millisecond, and
// fails the test (t.Fatalf, naming what) if it does not within timeout.
// It is the way a test waits for something another goroutine does: never
// a bare sleep.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("gave up after %v waiting until %s", timeout, what)
	}
}

// Poll waits until cond holds or timeout has passed, checking it every
// millisecond, and reports whether it held. It is Eventually for callers
// that must clean up, or report more, before failing.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		runtime.Gosched()
		time.Sleep(pollEvery) // the poll's period, not a wait for an event
	}
	return true
}
