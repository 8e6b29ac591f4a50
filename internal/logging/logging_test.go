package logging

import (
	"bytes"
	"log"
	"log/slog"
	"strings"
	"testing"
)

func TestStd(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var buf bytes.Buffer
		l := &Std{L: log.New(&buf, "", 0), Verbose: verbose}
		l.Errorf("e %d", 1)
		l.Warningf("w")
		l.Infof("i")
		l.Debugf("d")
		want := "ERROR: e 1\nWARNING: w\n"
		if verbose {
			want += "INFO: i\nDEBUG: d\n"
		}
		if buf.String() != want {
			t.Errorf("verbose %v: logged %q, want %q", verbose, buf.String(), want)
		}
	}
}

func TestSlog(t *testing.T) {
	var buf bytes.Buffer
	l := Slog{L: slog.New(slog.NewTextHandler(&buf, nil))} // Info and above
	l.Warningf("careful\n")
	l.Infof("quiet")
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "msg=careful") || strings.Contains(out, "quiet") {
		t.Fatalf("logged %q", out)
	}
}
