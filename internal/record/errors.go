package record

import "fmt"

// Error is an argument the package refuses: which field, the value given
// (nil when it is not worth printing) and why.
type Error struct {
	Field  string
	Value  any
	Reason string
}

// Error renders the field and the reason; callers convert the fields to
// their own error type rather than show this.
func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// DimensionError reports dense values whose length is not the index
// dimension.
type DimensionError struct {
	Field string
	Want  int // the index dimension
	Got   int // the values' length
}

// Error renders the field and both lengths.
func (e *DimensionError) Error() string {
	return fmt.Sprintf("%s: dimension %d, want %d", e.Field, e.Got, e.Want)
}

// CountError reports a list of ids longer than one call takes.
type CountError struct {
	Field string
	Count int // ids given
	Max   int // ids allowed
}

// Error renders the field and the counts.
func (e *CountError) Error() string {
	return fmt.Sprintf("%s: %d entries, more than %d", e.Field, e.Count, e.Max)
}

// inField prefixes the field that err names. Validators name fields
// relative to what they check ("[3]"); the path is added only when there
// is an error, so the valid path formats nothing.
func inField(prefix string, err error) error {
	if e, ok := err.(*Error); ok {
		e.Field = prefix + e.Field
	}
	return err
}

func argErr(field string, value any, reason string) error {
	return &Error{Field: field, Value: value, Reason: reason}
}

func argErrf(field string, value any, format string, args ...any) error {
	return &Error{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}
