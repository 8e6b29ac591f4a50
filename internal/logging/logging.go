// Package logging holds the adapters behind vectordb.StdLogger and
// vectordb.SlogLogger, and the default logger that drops every line. Each
// implements vectordb.Logger (the method set of Badger's logger too); the
// package must not log anything itself or decide what is logged.
package logging

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"strings"
)

// Discard drops every line.
type Discard struct{}

// Errorf drops the line.
func (Discard) Errorf(string, ...any) {}

// Warningf drops the line.
func (Discard) Warningf(string, ...any) {}

// Infof drops the line.
func (Discard) Infof(string, ...any) {}

// Debugf drops the line.
func (Discard) Debugf(string, ...any) {}

// Std writes to a *log.Logger, each line prefixed with its level; info
// and debug lines only if verbose.
type Std struct {
	L       *log.Logger
	Verbose bool
}

// Errorf logs an error.
func (s *Std) Errorf(f string, a ...any) { s.L.Printf("ERROR: "+f, a...) }

// Warningf logs a warning.
func (s *Std) Warningf(f string, a ...any) { s.L.Printf("WARNING: "+f, a...) }

// Infof logs an info line, if verbose.
func (s *Std) Infof(f string, a ...any) {
	if s.Verbose {
		s.L.Printf("INFO: "+f, a...)
	}
}

// Debugf logs a debug line, if verbose.
func (s *Std) Debugf(f string, a ...any) {
	if s.Verbose {
		s.L.Printf("DEBUG: "+f, a...)
	}
}

// Slog writes to a *slog.Logger: errors at level Error, warnings at Warn,
// info and debug lines at Debug.
type Slog struct{ L *slog.Logger }

// Errorf logs at level Error.
func (s Slog) Errorf(f string, a ...any) { s.L.Error(strings.TrimSpace(fmt.Sprintf(f, a...))) }

// Warningf logs at level Warn.
func (s Slog) Warningf(f string, a ...any) { s.L.Warn(strings.TrimSpace(fmt.Sprintf(f, a...))) }

// Infof logs at level Debug.
func (s Slog) Infof(f string, a ...any) { s.debug(f, a) }

// Debugf logs at level Debug.
func (s Slog) Debugf(f string, a ...any) { s.debug(f, a) }

// debug formats the line only if it will be logged: the storage engine
// emits many.
func (s Slog) debug(f string, a []any) {
	if s.L.Enabled(context.Background(), slog.LevelDebug) {
		s.L.Debug(strings.TrimSpace(fmt.Sprintf(f, a...)))
	}
}
