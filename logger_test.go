package vectordb

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb/internal/logging"
)

// TestLoggers: the default Logger is quiet; SlogLogger sends warnings at
// Warn and the engine's info lines at Debug only.
func TestLoggers(t *testing.T) {
	o, err := (&Options{}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := o.Logger.(logging.Discard); !ok {
		t.Fatalf("default Logger %T, want a quiet one", o.Logger)
	}
	var buf bytes.Buffer
	l := SlogLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	l.Warningf("disk %s\n", "slow")
	l.Infof("compaction %d", 3)
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, `msg="disk slow"`) || strings.Contains(out, "compaction") {
		t.Fatalf("slog output %q", out)
	}
}
