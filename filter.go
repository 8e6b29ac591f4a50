package vectordb

import (
	"errors"

	"github.com/vectordb-go/vectordb/internal/filter"
	"github.com/vectordb-go/vectordb/internal/jsoncheck"
)

// Filter is a metadata filter in Pinecone's JSON object form, as a Go map:
//
//	vectordb.Filter{"genre": "drama", "year": vectordb.Filter{"$gte": 2020}}
//
// A filter object holds fields and logical operators, all of which must
// match (an implicit $and):
//
//   - "field": value is shorthand for {"field": {"$eq": value}}.
//   - "field": {op: operand, ...} applies every operator to the field:
//     $eq and $ne take a string, number or boolean; $gt, $gte, $lt and
//     $lte a number; $in and $nin an array of at most 10000 strings or
//     numbers; $exists a boolean.
//   - "$and" and "$or" take a non-empty array of filter objects; "$not"
//     takes one filter object and matches what it does not.
//
// Numbers compare as float64 (the ranges take numbers only); strings and
// booleans compare by equality; a value of another type never equals. A list-valued field matches $eq,
// $in and the ranges if any element does, and $ne and $nin if no element
// is excluded. A record without the field matches only $exists: false
// (and a $not around a clause the record fails): $ne and $nin need the
// field present.
//
// Rejected with an *ArgumentError naming the path (such as
// "filter.$and[1].year"): an empty object, an unknown operator, a
// comparison operator outside a field, null, an array as a value or as the
// operand of $eq or $ne, a non-array for $in or $nin, nested objects that
// are not operators, and operand types an operator does not take.
//
// A filter nests at most MaxFilterDepth levels of objects and arrays and
// holds at most MaxFilterNodes values; past either it is refused before
// anything proportional to its size is built.
//
// Values may be any Go string, bool, integer or float type (named types
// too), json.Number, slices of those, and nested Filter, Metadata or
// map[string]any values.
type Filter map[string]any

// Limits on a filter's size, checked before anything is built from it,
// so that a hostile filter costs no more than a few allocations and the
// time it takes to read up to the limit (compiling is linear in the
// filter's size). MaxFilterValues is Pinecone's limit on $in and $nin;
// the other two are vectordb's, far above what a real filter needs.
const (
	// MaxFilterValues is the most values $in or $nin takes.
	MaxFilterValues = filter.MaxValues
	// MaxFilterDepth is how deeply a filter's objects and arrays may
	// nest: the filter object is at depth 1, so {"$and": [{"a": {"$in":
	// [1]}}]} reaches depth 5 (object, array, object, object, array).
	MaxFilterDepth = filter.MaxDepth
	// MaxFilterNodes is the most values a filter holds in all: every
	// object, array, string, number and boolean counts one (keys do not).
	// A full $in list fits three times over.
	MaxFilterNodes = filter.MaxNodes
)

// ParseFilter parses and validates a filter written as a JSON object.
// Besides the rules of [Filter], the text must be valid UTF-8, with no
// lone surrogate escape and no repeated key in an object, and it must
// stay within MaxFilterDepth and MaxFilterNodes: these are checked in
// one pass over the bytes before anything is decoded. Errors are
// *ArgumentError values naming the path.
func ParseFilter(data []byte) (Filter, error) {
	obj, err := jsoncheck.DecodeObject("filter", data, jsoncheck.Limits{MaxDepth: MaxFilterDepth, MaxValues: MaxFilterNodes})
	if err != nil {
		var je *jsoncheck.Error
		if errors.As(err, &je) {
			return nil, &ArgumentError{Field: je.Path, Reason: je.Reason}
		}
		return nil, argErrf("filter", nil, "%v", err)
	}
	f := Filter(obj)
	if _, err := compileFilter(f); err != nil {
		return nil, err
	}
	return f, nil
}

// compileFilter validates f and compiles it (see filter.Compile), with
// errors as *ArgumentError values naming the path.
func compileFilter(f Filter) (*filter.Node, error) {
	n, err := filter.Compile(f, filterObject)
	return n, fromFilterErr(err)
}

// filterObject recognizes the public map types as nested filter objects.
func filterObject(v any) (map[string]any, bool) {
	switch o := v.(type) {
	case Filter:
		return o, true
	case Metadata:
		return o, true
	}
	return nil, false
}

// fromFilterErr turns a *filter.Error into the *ArgumentError users see;
// other errors (a context's) pass through.
func fromFilterErr(err error) error {
	var fe *filter.Error
	if errors.As(err, &fe) {
		return &ArgumentError{Field: fe.Path, Reason: fe.Reason}
	}
	return err
}
