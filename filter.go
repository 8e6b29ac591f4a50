package vectordb

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

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
	MaxFilterValues = 10000
	// MaxFilterDepth is how deeply a filter's objects and arrays may
	// nest: the filter object is at depth 1, so {"$and": [{"a": {"$in":
	// [1]}}]} reaches depth 5 (object, array, object, object, array).
	MaxFilterDepth = 32
	// MaxFilterNodes is the most values a filter holds in all: every
	// object, array, string, number and boolean counts one (keys do not).
	// A full $in list fits three times over.
	MaxFilterNodes = 30000
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

// fop is a compiled filter operation.
type fop uint8

const (
	opAnd fop = iota
	opOr
	opNot
	opEq
	opNe
	opGt
	opGte
	opLt
	opLte
	opIn
	opNin
	opExists
	opRange // the ranges of one field object, merged: lo < or <= x < or <= hi
)

var opNames = map[string]fop{
	"$eq": opEq, "$ne": opNe, "$gt": opGt, "$gte": opGte, "$lt": opLt, "$lte": opLte,
	"$in": opIn, "$nin": opNin, "$exists": opExists,
}

func (o fop) String() string {
	switch o {
	case opAnd:
		return "$and"
	case opOr:
		return "$or"
	case opNot:
		return "$not"
	case opRange:
		return "$range"
	}
	for name, op := range opNames {
		if op == o {
			return name
		}
	}
	return "?"
}

// fvalue is a scalar filter operand: a string, a number or a boolean.
type fvalue struct {
	kind byte // 's', 'n' or 'b'
	s    string
	n    float64
	b    bool
}

// fkey identifies a value in the segment's postings (a comparable struct,
// so lookups allocate nothing). -0 and 0 share a key.
type fkey struct {
	kind byte
	s    string
	bits uint64
}

func (v fvalue) key() fkey {
	switch v.kind {
	case 'n':
		n := v.n
		if n == 0 {
			n = 0
		}
		return fkey{kind: 'n', bits: math.Float64bits(n)}
	case 'b':
		if v.b {
			return fkey{kind: 'b', bits: 1}
		}
		return fkey{kind: 'b'}
	}
	return fkey{kind: 's', s: v.s}
}

func (v fvalue) String() string {
	switch v.kind {
	case 'n':
		return strconv.FormatFloat(v.n, 'g', -1, 64)
	case 'b':
		return strconv.FormatBool(v.b)
	}
	return strconv.Quote(v.s)
}

// fnode is a compiled filter: validated once, evaluated many times, by
// the reference evaluator (match) or on a hot segment's index.
type fnode struct {
	op     fop
	field  string   // comparisons
	val    fvalue   // $eq $ne
	set    []fvalue // $in $nin, without duplicates
	exists bool     // $exists
	kids   []*fnode // $and $or $not
	rng    numRange // $gt $gte $lt $lte, as opRange
}

// numRange is an interval of numbers; a missing bound is infinite. The
// range operators of one field object compile to one numRange, so that
// {"$gte": a, "$lt": b} costs what its matches cost, not two half-lines.
type numRange struct {
	lo, hi         float64
	hasLo, hasHi   bool
	loIncl, hiIncl bool
}

func (r numRange) contains(x float64) bool {
	if r.hasLo && (x < r.lo || (x == r.lo && !r.loIncl)) {
		return false
	}
	if r.hasHi && (x > r.hi || (x == r.hi && !r.hiIncl)) {
		return false
	}
	return true
}

// intersect narrows r by o.
func (r numRange) intersect(o numRange) numRange {
	if o.hasLo && (!r.hasLo || o.lo > r.lo || (o.lo == r.lo && !o.loIncl)) {
		r.lo, r.loIncl, r.hasLo = o.lo, o.loIncl, true
	}
	if o.hasHi && (!r.hasHi || o.hi < r.hi || (o.hi == r.hi && !o.hiIncl)) {
		r.hi, r.hiIncl, r.hasHi = o.hi, o.hiIncl, true
	}
	return r
}

func (r numRange) String() string {
	var parts []string
	if r.hasLo {
		op := ">"
		if r.loIncl {
			op = ">="
		}
		parts = append(parts, op+strconv.FormatFloat(r.lo, 'g', -1, 64))
	}
	if r.hasHi {
		op := "<"
		if r.hiIncl {
			op = "<="
		}
		parts = append(parts, op+strconv.FormatFloat(r.hi, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

// String renders n canonically: equal meanings print equally.
func (n *fnode) String() string {
	switch n.op {
	case opAnd, opOr, opNot:
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = k.String()
		}
		if n.op != opNot {
			slices.Sort(parts)
		}
		return n.op.String() + "(" + strings.Join(parts, ",") + ")"
	case opIn, opNin:
		parts := make([]string, len(n.set))
		for i, v := range n.set {
			parts[i] = v.String()
		}
		slices.Sort(parts)
		return strconv.Quote(n.field) + n.op.String() + "[" + strings.Join(parts, ",") + "]"
	case opExists:
		return strconv.Quote(n.field) + "$exists(" + strconv.FormatBool(n.exists) + ")"
	case opRange:
		return strconv.Quote(n.field) + "$range(" + n.rng.String() + ")"
	}
	return strconv.Quote(n.field) + n.op.String() + "(" + n.val.String() + ")"
}

// compileFilter validates f and compiles it. A nil or empty filter is the
// caller's to handle: compileFilter rejects it. Its cost is linear in the
// filter's size, which MaxFilterDepth and MaxFilterNodes bound before
// any container's elements are read.
func compileFilter(f Filter) (*fnode, error) {
	c := compiler{}
	return c.object(&fpath{key: "filter"}, 1, f)
}

// fpath is where a compiler is in the filter, as a chain of steps from
// the root: an error renders it (filter.$and[1].year), nothing else
// does, so that compiling costs no string per level.
type fpath struct {
	parent *fpath
	key    string // a key step, or the root's name
	index  int    // an index step, when key is ""
}

func (p *fpath) child(key string) *fpath { return &fpath{parent: p, key: key} }
func (p *fpath) elem(index int) *fpath   { return &fpath{parent: p, index: index} }
func (p *fpath) String() string          { return string(p.append(nil)) }
func (p *fpath) append(b []byte) []byte {
	if p.parent != nil {
		b = p.parent.append(b)
		if p.key == "" {
			return append(strconv.AppendInt(append(b, '['), int64(p.index), 10), ']')
		}
		b = append(b, '.')
	}
	return append(b, p.key...)
}

func filterErr(p *fpath, format string, args ...any) error {
	return &ArgumentError{Field: p.String(), Reason: fmt.Sprintf(format, args...)}
}

// compiler compiles one filter and counts its size against the limits.
type compiler struct {
	nodes int // values seen, as MaxFilterNodes counts them
}

// count adds n values, and enter checks a container's depth: both before
// the container's elements are read or copied.
func (c *compiler) count(p *fpath, n int) error {
	c.nodes += n
	if c.nodes > MaxFilterNodes {
		return filterErr(p, "the filter holds more than %d values", MaxFilterNodes)
	}
	return nil
}

func (c *compiler) enter(p *fpath, depth int) error {
	if depth > MaxFilterDepth {
		return filterErr(p, "the filter is nested more than %d levels deep", MaxFilterDepth)
	}
	return nil
}

// asObject returns v as a filter object, if it is one.
func asObject(v any) (map[string]any, bool) {
	switch o := v.(type) {
	case Filter:
		return o, true
	case Metadata:
		return o, true
	case map[string]any:
		return o, true
	}
	return nil, false
}

// arrayLen returns the length of v if it is a slice or array (and not a
// string), without copying it.
func arrayLen(v any) (int, bool) {
	switch a := v.(type) {
	case []any:
		return len(a), true
	case []string:
		return len(a), true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return 0, false
	}
	return rv.Len(), true
}

// asArray returns the elements of v if it is a slice or array (and not a
// string). Callers check arrayLen against the limits first: it copies.
func asArray(v any) ([]any, bool) {
	if a, ok := v.([]any); ok {
		return a, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// asScalar converts a string, bool or number to an fvalue.
func asScalar(v any) (fvalue, bool) {
	switch v := v.(type) {
	case string:
		return fvalue{kind: 's', s: v}, true
	case bool:
		return fvalue{kind: 'b', b: v}, true
	case json.Number:
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fvalue{}, false
		}
		return fvalue{kind: 'n', n: f}, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return fvalue{}, false
	}
	var f float64
	switch rv.Kind() {
	case reflect.String:
		return fvalue{kind: 's', s: rv.String()}, true
	case reflect.Bool:
		return fvalue{kind: 'b', b: rv.Bool()}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f = float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		f = float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		f = rv.Float()
	default:
		return fvalue{}, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fvalue{}, false
	}
	return fvalue{kind: 'n', n: f}, true
}

// describe names a rejected operand for an error message, cut to a few
// dozen bytes: a hostile operand (a number of millions of digits) must not
// come back whole in the error.
func describe(v any) string {
	const max = 64
	d := describeWhole(v)
	if len(d) > max {
		return d[:max] + "..."
	}
	return d
}

func describeWhole(v any) string {
	if v == nil {
		return "null"
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if n, ok := v.(json.Number); ok {
		return string(n)
	}
	if _, ok := asObject(v); ok {
		return "an object"
	}
	if _, ok := arrayLen(v); ok {
		return "an array"
	}
	if sc, ok := asScalar(v); ok {
		return sc.String()
	}
	return fmt.Sprintf("%T", v)
}

// object compiles a filter object at depth: the AND of its entries.
func (c *compiler) object(p *fpath, depth int, obj map[string]any) (*fnode, error) {
	if err := c.enter(p, depth); err != nil {
		return nil, err
	}
	if err := c.count(p, 1); err != nil {
		return nil, err
	}
	if len(obj) == 0 {
		return nil, filterErr(p, "an empty filter object is not allowed")
	}
	if len(obj) > MaxFilterNodes-c.nodes { // each entry holds a value at least
		return nil, filterErr(p, "the filter holds more than %d values", MaxFilterNodes)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // errors name the first bad key in a stable order
	var kids []*fnode
	for _, key := range keys {
		v := obj[key]
		sub := p.child(key)
		switch key {
		case "$and", "$or":
			n, ok := arrayLen(v)
			if !ok || n == 0 {
				return nil, filterErr(sub, "%s needs a non-empty array of filter objects, got %s", key, describe(v))
			}
			if err := c.enter(sub, depth+1); err != nil {
				return nil, err
			}
			if err := c.count(sub, 1+n); err != nil { // the array and, at least, its elements
				return nil, err
			}
			c.nodes -= n // each element counts itself as it compiles
			arr, _ := asArray(v)
			node := &fnode{op: opAnd, kids: make([]*fnode, 0, n)}
			if key == "$or" {
				node.op = opOr
			}
			for i, e := range arr {
				o, ok := asObject(e)
				if !ok {
					return nil, filterErr(sub.elem(i), "%s needs filter objects, got %s", key, describe(e))
				}
				k, err := c.object(sub.elem(i), depth+2, o)
				if err != nil {
					return nil, err
				}
				node.kids = append(node.kids, k)
			}
			kids = append(kids, node)
		case "$not":
			o, ok := asObject(v)
			if !ok {
				return nil, filterErr(sub, "$not needs a filter object, got %s", describe(v))
			}
			k, err := c.object(sub, depth+1, o)
			if err != nil {
				return nil, err
			}
			kids = append(kids, &fnode{op: opNot, kids: []*fnode{k}})
		default:
			if key == "" {
				return nil, filterErr(sub, "field names must not be empty")
			}
			if strings.HasPrefix(key, "$") {
				if _, known := opNames[key]; known {
					return nil, filterErr(sub, "%s must apply to a field, as {\"field\": {%q: ...}}", key, key)
				}
				return nil, filterErr(sub, "unknown operator %s", key)
			}
			n, err := c.field(sub, depth+1, key, v)
			if err != nil {
				return nil, err
			}
			kids = append(kids, n...)
		}
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &fnode{op: opAnd, kids: kids}, nil
}

// field compiles the conditions on one field, whose value v is at depth.
func (c *compiler) field(p *fpath, depth int, field string, v any) ([]*fnode, error) {
	if v == nil {
		return nil, filterErr(p, "null is not a filter value")
	}
	if o, ok := asObject(v); ok {
		if err := c.enter(p, depth); err != nil {
			return nil, err
		}
		if err := c.count(p, 1); err != nil {
			return nil, err
		}
		if len(o) == 0 {
			return nil, filterErr(p, "an empty operator object is not allowed")
		}
		if len(o) > len(opNames) {
			return nil, filterErr(p, "%d operators on one field, more than the %d there are", len(o), len(opNames))
		}
		ops := make([]string, 0, len(o))
		for k := range o {
			ops = append(ops, k)
		}
		slices.Sort(ops)
		var (
			out []*fnode
			rng *fnode
		)
		for _, op := range ops {
			n, err := c.op(p, depth+1, field, op, o[op])
			if err != nil {
				return nil, err
			}
			if n.op == opRange {
				if rng != nil {
					rng.rng = rng.rng.intersect(n.rng)
					continue
				}
				rng = n
			}
			out = append(out, n)
		}
		return out, nil
	}
	if _, ok := arrayLen(v); ok {
		return nil, filterErr(p, "an array is not a value to compare with; use $in")
	}
	sc, ok := asScalar(v)
	if !ok {
		return nil, filterErr(p, "%s is not a string, number or boolean", describe(v))
	}
	if err := c.count(p, 1); err != nil {
		return nil, err
	}
	return []*fnode{{op: opEq, field: field, val: sc}}, nil
}

// op compiles one operator of a field; its operand is at depth.
func (c *compiler) op(p *fpath, depth int, field, name string, operand any) (*fnode, error) {
	op, known := opNames[name]
	if !known {
		switch {
		case name == "$and" || name == "$or" || name == "$not":
			return nil, filterErr(p, "%s applies to filter objects, not inside a field", name)
		case strings.HasPrefix(name, "$"):
			return nil, filterErr(p, "unknown operator %s", name)
		}
		return nil, filterErr(p, "nested metadata objects are not supported (key %q)", name)
	}
	n := &fnode{op: op, field: field}
	switch op {
	case opEq, opNe:
		if _, isArr := arrayLen(operand); isArr {
			return nil, filterErr(p, "%s takes one value, not an array; use $in or $nin", name)
		}
		sc, ok := asScalar(operand)
		if !ok {
			return nil, filterErr(p, "%s needs a string, number or boolean, got %s", name, describe(operand))
		}
		n.val = sc
	case opGt, opGte, opLt, opLte:
		sc, ok := asScalar(operand)
		if !ok || sc.kind != 'n' {
			return nil, filterErr(p, "%s needs a number, got %s", name, describe(operand))
		}
		n.op = opRange
		switch op {
		case opGt, opGte:
			n.rng = numRange{lo: sc.n, hasLo: true, loIncl: op == opGte}
		default:
			n.rng = numRange{hi: sc.n, hasHi: true, hiIncl: op == opLte}
		}
	case opIn, opNin:
		size, ok := arrayLen(operand)
		if !ok {
			return nil, filterErr(p, "%s needs an array, got %s", name, describe(operand))
		}
		if size > MaxFilterValues {
			return nil, filterErr(p, "%s has %d values, more than %d", name, size, MaxFilterValues)
		}
		if err := c.enter(p, depth); err != nil {
			return nil, err
		}
		if err := c.count(p, 1+size); err != nil {
			return nil, err
		}
		var vals []fvalue
		if strs, ok := operand.([]string); ok { // the common case, without boxing
			vals = make([]fvalue, len(strs))
			for i, s := range strs {
				vals[i] = fvalue{kind: 's', s: s}
			}
		} else {
			arr, _ := asArray(operand)
			vals = make([]fvalue, len(arr))
			for i, e := range arr {
				sc, ok := asScalar(e)
				if !ok || sc.kind == 'b' {
					return nil, filterErr(p.child(name).elem(i), "%s takes strings and numbers, got %s", name, describe(e))
				}
				vals[i] = sc
			}
		}
		seen := make(map[fkey]bool, len(vals))
		for _, v := range vals {
			if k := v.key(); !seen[k] {
				seen[k] = true
				n.set = append(n.set, v)
			}
		}
		return n, nil
	case opExists:
		b, ok := operand.(bool)
		if !ok {
			return nil, filterErr(p, "$exists needs true or false, got %s", describe(operand))
		}
		n.exists = b
	}
	if err := c.count(p, 1); err != nil {
		return nil, err
	}
	return n, nil
}

// match is the reference evaluator: whether metadata md (in stored form)
// satisfies n. The segment's index must agree with it.
func (n *fnode) match(md Metadata) bool {
	switch n.op {
	case opAnd:
		for _, k := range n.kids {
			if !k.match(md) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.match(md) {
				return true
			}
		}
		return false
	case opNot:
		return !n.kids[0].match(md)
	}
	v, present := md[n.field]
	if n.op == opExists {
		return present == n.exists
	}
	if !present {
		return false
	}
	switch n.op {
	case opEq:
		return anyElem(v, n.val.equals)
	case opNe:
		return !anyElem(v, n.val.equals)
	case opIn:
		return anyElem(v, n.inSet)
	case opNin:
		return !anyElem(v, n.inSet)
	}
	return anyElem(v, func(e fvalue) bool { return e.kind == 'n' && n.rng.contains(e.n) })
}

func (n *fnode) inSet(e fvalue) bool {
	for _, s := range n.set {
		if s.equals(e) {
			return true
		}
	}
	return false
}

func (v fvalue) equals(e fvalue) bool {
	if v.kind != e.kind {
		return false
	}
	switch v.kind {
	case 'n':
		return v.n == e.n
	case 'b':
		return v.b == e.b
	}
	return v.s == e.s
}

// anyElem reports whether pred holds for the stored value v, or for any
// element when v is a list.
func anyElem(v any, pred func(fvalue) bool) bool {
	switch v := v.(type) {
	case string:
		return pred(fvalue{kind: 's', s: v})
	case float64:
		return pred(fvalue{kind: 'n', n: v})
	case bool:
		return pred(fvalue{kind: 'b', b: v})
	case []string:
		for _, s := range v {
			if pred(fvalue{kind: 's', s: s}) {
				return true
			}
		}
	}
	return false
}
