package filter

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ObjectFunc returns v as a filter object, if it is one. The caller's
// named map types (a public Filter or Metadata type) are objects only if
// it says so.
type ObjectFunc func(v any) (map[string]any, bool)

// Compile validates f and compiles it; errors are *Error values whose
// path starts at "filter". A nil or empty filter is the caller's to
// handle: Compile rejects it. Its cost is linear in the filter's size,
// which MaxDepth and MaxNodes bound before any container's elements are
// read. object recognizes nested filter objects besides map[string]any;
// nil recognizes only those.
func Compile(f map[string]any, object ObjectFunc) (*Node, error) {
	c := compiler{objectOf: object}
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
	return &Error{Path: p.String(), Reason: fmt.Sprintf(format, args...)}
}

// compiler compiles one filter and counts its size against the limits.
type compiler struct {
	nodes    int // values seen, as MaxNodes counts them
	objectOf ObjectFunc
}

// count adds n values, and enter checks a container's depth: both before
// the container's elements are read or copied.
func (c *compiler) count(p *fpath, n int) error {
	c.nodes += n
	if c.nodes > MaxNodes {
		return filterErr(p, "the filter holds more than %d values", MaxNodes)
	}
	return nil
}

func (c *compiler) enter(p *fpath, depth int) error {
	if depth > MaxDepth {
		return filterErr(p, "the filter is nested more than %d levels deep", MaxDepth)
	}
	return nil
}

// asObject returns v as a filter object, if it is one.
func (c *compiler) asObject(v any) (map[string]any, bool) {
	if o, ok := v.(map[string]any); ok {
		return o, true
	}
	if c.objectOf != nil {
		return c.objectOf(v)
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

// asScalar converts a string, bool or number to an Value.
func asScalar(v any) (Value, bool) {
	switch v := v.(type) {
	case string:
		return Value{Kind: 's', S: v}, true
	case bool:
		return Value{Kind: 'b', B: v}, true
	case json.Number:
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return Value{}, false
		}
		return Value{Kind: 'n', N: f}, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return Value{}, false
	}
	var f float64
	switch rv.Kind() {
	case reflect.String:
		return Value{Kind: 's', S: rv.String()}, true
	case reflect.Bool:
		return Value{Kind: 'b', B: rv.Bool()}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f = float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		f = float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		f = rv.Float()
	default:
		return Value{}, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return Value{}, false
	}
	return Value{Kind: 'n', N: f}, true
}

// describe names a rejected operand for an error message, cut to a few
// dozen bytes: a hostile operand (a number of millions of digits) must not
// come back whole in the error.
func (c *compiler) describe(v any) string {
	const max = 64
	d := c.describeWhole(v)
	if len(d) > max {
		return d[:max] + "..."
	}
	return d
}

func (c *compiler) describeWhole(v any) string {
	if v == nil {
		return "null"
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if n, ok := v.(json.Number); ok {
		return string(n)
	}
	if _, ok := c.asObject(v); ok {
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
func (c *compiler) object(p *fpath, depth int, obj map[string]any) (*Node, error) {
	if err := c.enter(p, depth); err != nil {
		return nil, err
	}
	if err := c.count(p, 1); err != nil {
		return nil, err
	}
	if len(obj) == 0 {
		return nil, filterErr(p, "an empty filter object is not allowed")
	}
	if len(obj) > MaxNodes-c.nodes { // each entry holds a value at least
		return nil, filterErr(p, "the filter holds more than %d values", MaxNodes)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // errors name the first bad key in a stable order
	var kids []*Node
	for _, key := range keys {
		v := obj[key]
		sub := p.child(key)
		switch key {
		case "$and", "$or":
			n, ok := arrayLen(v)
			if !ok || n == 0 {
				return nil, filterErr(sub, "%s needs a non-empty array of filter objects, got %s", key, c.describe(v))
			}
			if err := c.enter(sub, depth+1); err != nil {
				return nil, err
			}
			if err := c.count(sub, 1+n); err != nil { // the array and, at least, its elements
				return nil, err
			}
			c.nodes -= n // each element counts itself as it compiles
			arr, _ := asArray(v)
			node := &Node{Op: OpAnd, Kids: make([]*Node, 0, n)}
			if key == "$or" {
				node.Op = OpOr
			}
			for i, e := range arr {
				o, ok := c.asObject(e)
				if !ok {
					return nil, filterErr(sub.elem(i), "%s needs filter objects, got %s", key, c.describe(e))
				}
				k, err := c.object(sub.elem(i), depth+2, o)
				if err != nil {
					return nil, err
				}
				node.Kids = append(node.Kids, k)
			}
			kids = append(kids, node)
		case "$not":
			o, ok := c.asObject(v)
			if !ok {
				return nil, filterErr(sub, "$not needs a filter object, got %s", c.describe(v))
			}
			k, err := c.object(sub, depth+1, o)
			if err != nil {
				return nil, err
			}
			kids = append(kids, &Node{Op: OpNot, Kids: []*Node{k}})
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
			n, err := c.fieldConds(sub, depth+1, key, v)
			if err != nil {
				return nil, err
			}
			kids = append(kids, n...)
		}
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &Node{Op: OpAnd, Kids: kids}, nil
}

// field compiles the conditions on one field, whose value v is at depth.
func (c *compiler) fieldConds(p *fpath, depth int, field string, v any) ([]*Node, error) {
	if v == nil {
		return nil, filterErr(p, "null is not a filter value")
	}
	if o, ok := c.asObject(v); ok {
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
			out []*Node
			rng *Node
		)
		for _, op := range ops {
			n, err := c.operator(p, depth+1, field, op, o[op])
			if err != nil {
				return nil, err
			}
			if n.Op == OpRange {
				if rng != nil {
					rng.Rng = rng.Rng.intersect(n.Rng)
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
		return nil, filterErr(p, "%s is not a string, number or boolean", c.describe(v))
	}
	if err := c.count(p, 1); err != nil {
		return nil, err
	}
	return []*Node{{Op: OpEq, Field: field, Val: sc}}, nil
}

// op compiles one operator of a field; its operand is at depth.
func (c *compiler) operator(p *fpath, depth int, field, name string, operand any) (*Node, error) {
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
	n := &Node{Op: op, Field: field}
	switch op {
	case OpEq, OpNe:
		if _, isArr := arrayLen(operand); isArr {
			return nil, filterErr(p, "%s takes one value, not an array; use $in or $nin", name)
		}
		sc, ok := asScalar(operand)
		if !ok {
			return nil, filterErr(p, "%s needs a string, number or boolean, got %s", name, c.describe(operand))
		}
		n.Val = sc
	case OpGt, OpGte, OpLt, OpLte:
		sc, ok := asScalar(operand)
		if !ok || sc.Kind != 'n' {
			return nil, filterErr(p, "%s needs a number, got %s", name, c.describe(operand))
		}
		n.Op = OpRange
		switch op {
		case OpGt, OpGte:
			n.Rng = Range{Lo: sc.N, HasLo: true, LoIncl: op == OpGte}
		default:
			n.Rng = Range{Hi: sc.N, HasHi: true, HiIncl: op == OpLte}
		}
	case OpIn, OpNin:
		size, ok := arrayLen(operand)
		if !ok {
			return nil, filterErr(p, "%s needs an array, got %s", name, c.describe(operand))
		}
		if size > MaxValues {
			return nil, filterErr(p, "%s has %d values, more than %d", name, size, MaxValues)
		}
		if err := c.enter(p, depth); err != nil {
			return nil, err
		}
		if err := c.count(p, 1+size); err != nil {
			return nil, err
		}
		var vals []Value
		if strs, ok := operand.([]string); ok { // the common case, without boxing
			vals = make([]Value, len(strs))
			for i, s := range strs {
				vals[i] = Value{Kind: 's', S: s}
			}
		} else {
			arr, _ := asArray(operand)
			vals = make([]Value, len(arr))
			for i, e := range arr {
				sc, ok := asScalar(e)
				if !ok || sc.Kind == 'b' {
					return nil, filterErr(p.child(name).elem(i), "%s takes strings and numbers, got %s", name, c.describe(e))
				}
				vals[i] = sc
			}
		}
		seen := make(map[Key]bool, len(vals))
		for _, v := range vals {
			if k := v.Key(); !seen[k] {
				seen[k] = true
				n.Set = append(n.Set, v)
			}
		}
		return n, nil
	case OpExists:
		b, ok := operand.(bool)
		if !ok {
			return nil, filterErr(p, "$exists needs true or false, got %s", c.describe(operand))
		}
		n.Exists = b
	}
	if err := c.count(p, 1); err != nil {
		return nil, err
	}
	return n, nil
}
