package filter

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Op is a compiled filter operation.
type Op uint8

// The operations of a compiled filter. The range operators ($gt, $gte,
// $lt, $lte) compile to OpRange.
const (
	OpAnd Op = iota
	OpOr
	OpNot
	OpEq
	OpNe
	OpGt
	OpGte
	OpLt
	OpLte
	OpIn
	OpNin
	OpExists
	OpRange // the ranges of one field object, merged: lo < or <= x < or <= hi
)

var opNames = map[string]Op{
	"$eq": OpEq, "$ne": OpNe, "$gt": OpGt, "$gte": OpGte, "$lt": OpLt, "$lte": OpLte,
	"$in": OpIn, "$nin": OpNin, "$exists": OpExists,
}

// String returns the operator's name, such as "$eq".
func (o Op) String() string {
	switch o {
	case OpAnd:
		return "$and"
	case OpOr:
		return "$or"
	case OpNot:
		return "$not"
	case OpRange:
		return "$range"
	}
	for name, op := range opNames {
		if op == o {
			return name
		}
	}
	return "?"
}

// Value is a scalar filter operand: a string, a number or a boolean.
type Value struct {
	Kind byte // 's', 'n' or 'b'
	S    string
	N    float64
	B    bool
}

// Key identifies a value in a metadata index's postings (a comparable
// struct, so lookups allocate nothing). -0 and 0 share a key.
type Key struct {
	Kind byte
	S    string // for strings
	Bits uint64 // for numbers (their float64 bits) and booleans
}

// Key returns v's posting key.
func (v Value) Key() Key {
	switch v.Kind {
	case 'n':
		n := v.N
		if n == 0 {
			n = 0
		}
		return Key{Kind: 'n', Bits: math.Float64bits(n)}
	case 'b':
		if v.B {
			return Key{Kind: 'b', Bits: 1}
		}
		return Key{Kind: 'b'}
	}
	return Key{Kind: 's', S: v.S}
}

// String renders v as a filter would write it.
func (v Value) String() string {
	switch v.Kind {
	case 'n':
		return strconv.FormatFloat(v.N, 'g', -1, 64)
	case 'b':
		return strconv.FormatBool(v.B)
	}
	return strconv.Quote(v.S)
}

// Node is a compiled filter: validated once, evaluated many times, by
// the reference evaluator (Match) or on a hot segment's index.
type Node struct {
	Op     Op
	Field  string  // comparisons
	Val    Value   // $eq $ne
	Set    []Value // $in $nin, without duplicates
	Exists bool    // $exists
	Kids   []*Node // $and $or $not
	Rng    Range   // $gt $gte $lt $lte, as OpRange
}

// Range is an interval of numbers; a missing bound is infinite. The
// range operators of one field object compile to one Range, so that
// {"$gte": a, "$lt": b} costs what its matches cost, not two half-lines.
type Range struct {
	Lo, Hi         float64
	HasLo, HasHi   bool
	LoIncl, HiIncl bool
}

// Contains reports whether x lies in r.
func (r Range) Contains(x float64) bool {
	if r.HasLo && (x < r.Lo || (x == r.Lo && !r.LoIncl)) {
		return false
	}
	if r.HasHi && (x > r.Hi || (x == r.Hi && !r.HiIncl)) {
		return false
	}
	return true
}

// intersect narrows r by o.
func (r Range) intersect(o Range) Range {
	if o.HasLo && (!r.HasLo || o.Lo > r.Lo || (o.Lo == r.Lo && !o.LoIncl)) {
		r.Lo, r.LoIncl, r.HasLo = o.Lo, o.LoIncl, true
	}
	if o.HasHi && (!r.HasHi || o.Hi < r.Hi || (o.Hi == r.Hi && !o.HiIncl)) {
		r.Hi, r.HiIncl, r.HasHi = o.Hi, o.HiIncl, true
	}
	return r
}

// String renders r as its bounds, such as ">=1,<5".
func (r Range) String() string {
	var parts []string
	if r.HasLo {
		op := ">"
		if r.LoIncl {
			op = ">="
		}
		parts = append(parts, op+strconv.FormatFloat(r.Lo, 'g', -1, 64))
	}
	if r.HasHi {
		op := "<"
		if r.HiIncl {
			op = "<="
		}
		parts = append(parts, op+strconv.FormatFloat(r.Hi, 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}

// String renders n canonically: equal meanings print equally.
func (n *Node) String() string {
	switch n.Op {
	case OpAnd, OpOr, OpNot:
		parts := make([]string, len(n.Kids))
		for i, k := range n.Kids {
			parts[i] = k.String()
		}
		if n.Op != OpNot {
			slices.Sort(parts)
		}
		return n.Op.String() + "(" + strings.Join(parts, ",") + ")"
	case OpIn, OpNin:
		parts := make([]string, len(n.Set))
		for i, v := range n.Set {
			parts[i] = v.String()
		}
		slices.Sort(parts)
		return strconv.Quote(n.Field) + n.Op.String() + "[" + strings.Join(parts, ",") + "]"
	case OpExists:
		return strconv.Quote(n.Field) + "$exists(" + strconv.FormatBool(n.Exists) + ")"
	case OpRange:
		return strconv.Quote(n.Field) + "$range(" + n.Rng.String() + ")"
	}
	return strconv.Quote(n.Field) + n.Op.String() + "(" + n.Val.String() + ")"
}
