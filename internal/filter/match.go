package filter

// Match is the reference evaluator: whether metadata md (in stored form:
// string, float64, bool or []string values) satisfies n. A metadata
// index must agree with it.
func (n *Node) Match(md map[string]any) bool {
	switch n.Op {
	case OpAnd:
		for _, k := range n.Kids {
			if !k.Match(md) {
				return false
			}
		}
		return true
	case OpOr:
		for _, k := range n.Kids {
			if k.Match(md) {
				return true
			}
		}
		return false
	case OpNot:
		return !n.Kids[0].Match(md)
	}
	v, present := md[n.Field]
	if n.Op == OpExists {
		return present == n.Exists
	}
	if !present {
		return false
	}
	switch n.Op {
	case OpEq:
		return AnyElem(v, n.Val.equals)
	case OpNe:
		return !AnyElem(v, n.Val.equals)
	case OpIn:
		return AnyElem(v, n.inSet)
	case OpNin:
		return !AnyElem(v, n.inSet)
	}
	return AnyElem(v, func(e Value) bool { return e.Kind == 'n' && n.Rng.Contains(e.N) })
}

func (n *Node) inSet(e Value) bool {
	for _, s := range n.Set {
		if s.equals(e) {
			return true
		}
	}
	return false
}

func (v Value) equals(e Value) bool {
	if v.Kind != e.Kind {
		return false
	}
	switch v.Kind {
	case 'n':
		return v.N == e.N
	case 'b':
		return v.B == e.B
	}
	return v.S == e.S
}

// AnyElem reports whether pred holds for the stored value v, or for any
// element when v is a list.
func AnyElem(v any, pred func(Value) bool) bool {
	switch v := v.(type) {
	case string:
		return pred(Value{Kind: 's', S: v})
	case float64:
		return pred(Value{Kind: 'n', N: v})
	case bool:
		return pred(Value{Kind: 'b', B: v})
	case []string:
		for _, s := range v {
			if pred(Value{Kind: 's', S: s}) {
				return true
			}
		}
	}
	return false
}
