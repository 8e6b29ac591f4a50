package filter

import "fmt"

// Limits on a filter's size, checked before anything is built from it,
// so that a hostile filter costs no more than a few allocations and the
// time it takes to read up to the limit (compiling is linear in the
// filter's size). MaxValues is Pinecone's limit on $in and $nin; the
// other two are vectordb's, far above what a real filter needs.
const (
	// MaxValues is the most values $in or $nin takes.
	MaxValues = 10000
	// MaxDepth is how deeply a filter's objects and arrays may nest: the
	// filter object is at depth 1, so {"$and": [{"a": {"$in": [1]}}]}
	// reaches depth 5 (object, array, object, object, array).
	MaxDepth = 32
	// MaxNodes is the most values a filter holds in all: every object,
	// array, string, number and boolean counts one (keys do not). A full
	// $in list fits three times over.
	MaxNodes = 30000
)

// Error is a filter that Compile refuses, or one too costly to evaluate.
type Error struct {
	Path   string // where: "filter", then ".key" and "[index]" steps
	Reason string
}

// Error returns the path and the reason.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Path, e.Reason) }
