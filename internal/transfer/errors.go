package transfer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vectordb-go/vectordb/internal/stream"
)

// StreamError reports an input that a reader refuses: damaged, truncated,
// of the wrong kind or version, inconsistent with itself, or a JSON Lines
// line that is not a record. Its fields mean what those of the vectordb
// package's StreamError mean, which it becomes at the package boundary.
type StreamError struct {
	Reason string
	Block  int64 // the stream block, header = 0; -1 when unknown or none
	Item   int64 // the record or key, from 0; -1 when unknown or none
	Line   int64 // the JSON Lines line, from 1; 0 for other streams
	Err    error // the cause, or nil
}

// Error says where and what, like the vectordb package's StreamError.
func (e *StreamError) Error() string {
	var b strings.Builder
	b.WriteString("corrupt or unreadable stream: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Block >= 0 {
		fmt.Fprintf(&b, "block %d: ", e.Block)
	}
	if e.Item >= 0 {
		fmt.Fprintf(&b, "item %d: ", e.Item)
	}
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, if any.
func (e *StreamError) Unwrap() error { return e.Err }

// DataError reports stored data that an export finds inconsistent (a
// record of the wrong dimension, counters that disagree with the records).
// The vectordb package turns it into its ErrCorrupt with Reason.
type DataError struct {
	Reason string
}

// Error returns the reason.
func (e *DataError) Error() string { return "corrupt data: " + e.Reason }

func dataErr(format string, args ...any) error {
	return &DataError{Reason: fmt.Sprintf(format, args...)}
}

// badStream returns a *StreamError about no block or item in particular.
func badStream(format string, args ...any) *StreamError {
	return &StreamError{Reason: fmt.Sprintf(format, args...), Block: -1, Item: -1}
}

// fromStream turns the stream reader's *stream.CorruptError into a
// *StreamError about item (-1: none); other errors pass through.
func fromStream(err error, item int64) error {
	var ce *stream.CorruptError
	if errors.As(err, &ce) {
		return &StreamError{Reason: ce.Reason, Block: ce.Block, Item: item, Err: ce.Err}
	}
	return err
}
