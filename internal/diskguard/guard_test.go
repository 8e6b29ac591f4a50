package diskguard

import (
	"errors"
	"testing"
	"time"
)

var errFull = errors.New("full")

// fake is a probe with a settable reading that counts its calls.
type fake struct {
	free  int64
	err   error
	calls int
}

func (f *fake) probe(string) (int64, error) { f.calls++; return f.free, f.err }

func newGuard(margin int64, f *fake) *Guard {
	return New(Config{Dir: "/db", Margin: margin, Full: errFull, Probe: f.probe})
}

// fresh makes g's reading count as current whatever the clock does, so
// that only the bytes written can make it stale.
func fresh(g *Guard) { g.readAt = time.Now().Add(time.Hour) }

// stale makes g's reading old enough to be read again.
func stale(g *Guard) { g.readAt = time.Now().Add(-probeEvery) }

func TestOffAdmitsEverything(t *testing.T) {
	var g *Guard
	if err := g.Admit(1 << 40); err != nil {
		t.Fatalf("nil guard: %v", err)
	}
	f := &fake{free: 0}
	if err := newGuard(0, f).Admit(1 << 40); err != nil || f.calls != 0 {
		t.Fatalf("margin 0: %v, %d probes", err, f.calls)
	}
}

// TestAdmitRefusesBelowMargin: the written bytes count against the last
// reading; a refusal wraps the caller's sentinel.
func TestAdmitRefusesBelowMargin(t *testing.T) {
	const margin = 1 << 20
	f := &fake{free: margin + 100}
	g := newGuard(margin, f)
	if err := g.Admit(1); err != nil { // the first reading
		t.Fatal(err)
	}
	fresh(g)
	if err := g.Admit(50); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit(60); !errors.Is(err, errFull) {
		t.Fatalf("110 bytes written with 100 to spare: %v, want the sentinel", err)
	}
	if f.calls != 1 {
		t.Fatalf("%d probes, want 1: the reading is current", f.calls)
	}
	f.free = 1 << 30
	stale(g)
	if err := g.Admit(60); err != nil || f.calls != 2 {
		t.Fatalf("once space is back: %v, %d probes", err, f.calls)
	}
}

// TestAdmitRereadsAfterAQuarterOfTheMargin: a current reading is read
// again once the writes since could have eaten a quarter of the margin.
func TestAdmitRereadsAfterAQuarterOfTheMargin(t *testing.T) {
	const margin = 1000
	f := &fake{free: 1 << 30}
	g := newGuard(margin, f)
	if err := g.Admit(1); err != nil {
		t.Fatal(err)
	}
	fresh(g)
	for range 2 {
		if err := g.Admit(100); err != nil {
			t.Fatal(err)
		}
	}
	if f.calls != 1 {
		t.Fatalf("%d probes after 200 bytes, want 1", f.calls)
	}
	if err := g.Admit(100); err != nil || f.calls != 2 {
		t.Fatalf("after 301 bytes: %v, %d probes; want a second", err, f.calls)
	}
}

func TestAdmitReportsProbeErrors(t *testing.T) {
	bad := errors.New("statfs failed")
	g := newGuard(1, &fake{err: bad})
	if err := g.Admit(1); !errors.Is(err, bad) || errors.Is(err, errFull) {
		t.Fatalf("probe failure: %v", err)
	}
}

func TestFreeBytes(t *testing.T) {
	n, err := FreeBytes(t.TempDir())
	if err != nil || n <= 0 {
		t.Fatalf("free bytes %d, %v", n, err)
	}
}
