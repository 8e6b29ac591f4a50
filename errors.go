package vectordb

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/transfer"
)

// Sentinel errors. Every error a vectordb call returns for one of these
// reasons satisfies errors.Is against the sentinel; the typed errors below
// carry the details.
var (
	// ErrClosed is returned by every call on a DB, or a handle derived from
	// it, after Close.
	ErrClosed = errors.New("vectordb: closed")
	// ErrIndexNotFound is returned when no index has the given name, or a
	// handle's index has been deleted.
	ErrIndexNotFound = errors.New("vectordb: index not found")
	// ErrIndexExists is returned by CreateIndex when the name is taken.
	ErrIndexExists = errors.New("vectordb: index already exists")
	// ErrNamespaceNotFound is returned by namespace-level calls (describe,
	// delete) when the namespace does not exist.
	ErrNamespaceNotFound = errors.New("vectordb: namespace not found")
	// ErrNamespaceExists is returned by CreateNamespace when the namespace
	// already exists.
	ErrNamespaceExists = errors.New("vectordb: namespace already exists")
	// ErrInvalidArgument is returned when an argument is malformed or out of
	// range. Such a call changes nothing.
	ErrInvalidArgument = errors.New("vectordb: invalid argument")
	// ErrDimensionMismatch is returned when a vector's length differs from
	// the index dimension. It also satisfies ErrInvalidArgument.
	ErrDimensionMismatch = errors.New("vectordb: dimension mismatch")
	// ErrBatchTooLarge is returned when a batch exceeds the record or byte
	// limit of one atomic call. It also satisfies ErrInvalidArgument.
	ErrBatchTooLarge = errors.New("vectordb: batch too large")

	// ErrMetricMismatch is wrapped by *MetricError.
	ErrMetricMismatch = errors.New("vectordb: metric mismatch")
	// ErrDeletionProtected is returned by DeleteIndex on an index with
	// deletion protection enabled.
	ErrDeletionProtected = errors.New("vectordb: index is deletion protected")
	// ErrLocked is returned by Open when another DB (in this process or
	// another) has the directory open.
	ErrLocked = errors.New("vectordb: database directory is in use")
	// ErrIncompatible is returned by Open when the directory holds data in
	// another format version, or data that is not a vectordb database.
	ErrIncompatible = errors.New("vectordb: incompatible data directory")
	// ErrCorrupt is returned when stored data cannot be decoded or is
	// inconsistent, and wrapped by every *StreamError (an export, backup
	// or JSON Lines input that is damaged or truncated). To tell the
	// caller's bad input from the database's own damage, use errors.As
	// with *StreamError first.
	ErrCorrupt = errors.New("vectordb: corrupt data")
	// ErrQuotaExceeded is returned (as a *QuotaError) by a write that would
	// take a namespace past its quota. The write changes nothing.
	ErrQuotaExceeded = errors.New("vectordb: namespace quota exceeded")
	// ErrEmptyNamespace is returned by BuildIVF for a namespace without
	// records: there is nothing to index.
	ErrEmptyNamespace = errors.New("vectordb: namespace is empty")
	// ErrDiskFull is returned by a write that adds data while the file
	// system holding the database has less than Options.MinFreeDiskBytes
	// free. The write changes nothing; deletes still work.
	ErrDiskFull = errors.New("vectordb: disk nearly full")
)

// ArgumentError describes an invalid argument: which field, the value
// given and why it was refused. It unwraps to ErrInvalidArgument.
type ArgumentError struct {
	Field  string // e.g. "records[3].values[7]", "topK", "name"
	Value  any    // the offending value, or nil when it is not printable
	Reason string
}

// Error names the field, the value and the reason.
func (e *ArgumentError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("vectordb: invalid argument: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("vectordb: invalid argument: %s: %s: %s", e.Field, quote(e.Value), e.Reason)
}

// Unwrap returns ErrInvalidArgument.
func (e *ArgumentError) Unwrap() error { return ErrInvalidArgument }

// DimensionError reports a vector whose length is not the index dimension.
// It unwraps to both ErrDimensionMismatch and ErrInvalidArgument.
type DimensionError struct {
	Field string // e.g. "records[0].values", "vector"
	Want  int    // the index dimension
	Got   int    // the vector's length
}

// Error uses Pinecone's wording for the mismatch.
func (e *DimensionError) Error() string {
	return fmt.Sprintf("vectordb: dimension mismatch: %s: vector dimension %d does not match the dimension of the index %d",
		e.Field, e.Got, e.Want)
}

// Unwrap returns ErrDimensionMismatch and ErrInvalidArgument.
func (e *DimensionError) Unwrap() []error { return []error{ErrDimensionMismatch, ErrInvalidArgument} }

// MetricError reports data of one metric offered to an index of another
// (an export imported into an index of a different metric). It unwraps to
// both ErrMetricMismatch and ErrInvalidArgument.
type MetricError struct {
	Field string // e.g. "export.metric"
	Want  Metric // the index's metric
	Got   Metric // the data's
}

func (e *MetricError) Error() string {
	return fmt.Sprintf("vectordb: metric mismatch: %s: metric %q does not match the metric of the index %q", e.Field, e.Got, e.Want)
}

// Unwrap returns ErrMetricMismatch and ErrInvalidArgument.
func (e *MetricError) Unwrap() []error { return []error{ErrMetricMismatch, ErrInvalidArgument} }

// StreamError reports an input stream that ImportNamespace,
// ImportNamespaceJSONL or Restore refuses: damaged, truncated, of the
// wrong kind (a backup given as an export, or the reverse), of a newer
// format version, inconsistent with itself, or, for JSON Lines, a line
// that is not a record's JSON object. Nothing of such an input is
// imported or restored. It unwraps to ErrCorrupt and to its cause, if
// any; the data already stored is not damaged, so an HTTP server answers
// it as the client's error.
type StreamError struct {
	Reason string // what is wrong
	// Block is the block of an export or backup stream where the damage
	// was found, counting the header block as 0; -1 when unknown or not
	// in a block (the preamble, a JSON Lines input).
	Block int64
	// Item is the record of an export, or the key of a backup, counting
	// from 0; -1 when unknown or not about one item.
	Item int64
	// Line is the line of a JSON Lines input, counting from 1; 0 for
	// other streams.
	Line int64
	// Err is the cause, or nil: the reader's error, say a decompressor's
	// checksum or a cut connection.
	Err error
}

// Error says where and what, as internal/transfer words it.
func (e *StreamError) Error() string {
	t := transfer.StreamError{Reason: e.Reason, Block: e.Block, Item: e.Item, Line: e.Line, Err: e.Err}
	return "vectordb: " + t.Error()
}

// Unwrap returns ErrCorrupt and the cause, if any.
func (e *StreamError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCorrupt}
	}
	return []error{ErrCorrupt, e.Err}
}

// fromTransfer turns internal/transfer's typed errors into what users
// see: a *StreamError for a damaged input, ErrCorrupt for stored data that
// does not add up. Other errors pass through.
func fromTransfer(err error) error {
	switch e := err.(type) {
	case *transfer.StreamError:
		return &StreamError{Reason: e.Reason, Block: e.Block, Item: e.Item, Line: e.Line, Err: e.Err}
	case *transfer.DataError:
		return fmt.Errorf("%w: %s", ErrCorrupt, e.Reason)
	}
	return err
}

// fromRecord turns internal/record's typed errors into what users see:
// the same fields in an *ArgumentError, *DimensionError or
// *BatchTooLargeError. Other errors, and nil, pass through.
func fromRecord(err error) error {
	switch e := err.(type) {
	case *record.Error:
		return &ArgumentError{Field: e.Field, Value: e.Value, Reason: e.Reason}
	case *record.DimensionError:
		return &DimensionError{Field: e.Field, Want: e.Want, Got: e.Got}
	case *record.CountError:
		return &BatchTooLargeError{Field: e.Field, Records: e.Count, MaxRecords: e.Max}
	}
	return err
}

// BatchTooLargeError reports a batch beyond the limits of one atomic call.
// It unwraps to both ErrBatchTooLarge and ErrInvalidArgument.
type BatchTooLargeError struct {
	Field      string // "records" or "ids"
	Records    int    // records (or ids) in the batch
	Bytes      int64  // encoded bytes of the batch, 0 when the count was the problem
	MaxRecords int    // Options.MaxBatchRecords
	MaxBytes   int64  // the storage transaction cap
}

// Error says which limit the batch exceeds.
func (e *BatchTooLargeError) Error() string {
	if e.Records == 0 {
		return fmt.Sprintf("vectordb: batch too large: %s: the batch does not fit in one storage transaction of %d bytes; split it",
			e.Field, e.MaxBytes)
	}
	if e.Bytes > 0 {
		return fmt.Sprintf("vectordb: batch too large: %s: %d records encode to %d bytes, more than the %d bytes one atomic call holds; split the batch",
			e.Field, e.Records, e.Bytes, e.MaxBytes)
	}
	return fmt.Sprintf("vectordb: batch too large: %s: %d entries, more than the limit of %d per call",
		e.Field, e.Records, e.MaxRecords)
}

// Unwrap returns ErrBatchTooLarge and ErrInvalidArgument.
func (e *BatchTooLargeError) Unwrap() []error { return []error{ErrBatchTooLarge, ErrInvalidArgument} }

// quote renders a value for an error message: strings quoted (so that any
// bytes in an id or name print safely) and cut to a readable length.
func quote(v any) string {
	const max = 64
	switch v := v.(type) {
	case string:
		if len(v) > max {
			return strconv.Quote(v[:max]) + "..."
		}
		return strconv.Quote(v)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	default:
		s := fmt.Sprint(v)
		if len(s) > max {
			s = s[:max] + "..."
		}
		return s
	}
}

// inField prefixes the field that a typed argument error names. Helpers
// name fields relative to what they validate ("values[3]"); callers add
// the path ("records[2].") only when there is an error, so the valid path
// formats nothing.
func inField(prefix string, err error) error {
	var (
		ae *ArgumentError
		de *DimensionError
	)
	switch {
	case errors.As(err, &ae):
		ae.Field = prefix + ae.Field
	case errors.As(err, &de):
		de.Field = prefix + de.Field
	}
	return err
}

func argErr(field string, value any, reason string) error {
	return &ArgumentError{Field: field, Value: value, Reason: reason}
}

func argErrf(field string, value any, format string, args ...any) error {
	return &ArgumentError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// QuotaError reports a write refused by a namespace's quota. It unwraps
// to ErrQuotaExceeded.
type QuotaError struct {
	Namespace string
	Limit     string // "records" or "bytes"
	Max       int64  // the quota
	Would     int64  // what the namespace would have held after the write
}

// Error names the namespace, the limit and the amounts.
func (e *QuotaError) Error() string {
	return fmt.Sprintf("vectordb: namespace quota exceeded: namespace %q would hold %d %s, its quota is %d",
		e.Namespace, e.Would, e.Limit, e.Max)
}

// Unwrap returns ErrQuotaExceeded.
func (e *QuotaError) Unwrap() error { return ErrQuotaExceeded }
