// Package jsoncheck checks untrusted JSON before anything decodes it:
// that it is well formed, that every string is valid UTF-8 with no lone
// UTF-16 surrogate escape (encoding/json would silently rewrite both to
// U+FFFD, so that two different byte strings decode to one name), that no
// object repeats a key (decoders disagree on which one wins), and that
// its nesting and its number of values stay within limits. The check
// runs in one pass, in time linear in the input; it allocates a stack of
// open containers and of the keys of small objects (maps only for objects
// of more than 16 keys), and stops at the first problem, so a hostile
// document costs only the bytes read up to it.
//
// Errors name the place in the document as a path ("filter.$and[3].year")
// so that a caller can report the field.
//
// It must not decode values nor know any request's schema: callers decode
// after the check and apply their own rules.
package jsoncheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Limits bound a document's shape.
type Limits struct {
	// MaxDepth bounds how deeply objects and arrays nest: the top-level
	// value is at depth 1, a value inside it at depth 2. Zero means
	// DefaultMaxDepth (the scan keeps a frame per level, so some bound is
	// always in force).
	MaxDepth int
	// MaxValues bounds the values in the document: every object, array,
	// string, number, true, false and null counts one (object keys do
	// not). Zero means no limit.
	MaxValues int
}

// DefaultMaxDepth is the depth limit when Limits.MaxDepth is zero:
// encoding/json's own.
const DefaultMaxDepth = 10000

// Error is a document that breaks a rule.
type Error struct {
	Path   string // where: the root's name, then ".key" and "[index]" steps
	Offset int    // the byte offset at which the problem was found
	Reason string
}

// Error returns the path and the reason.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (at byte %d)", e.Path, e.Reason, e.Offset)
}

// Check checks data, a whole JSON document named root in errors, and
// returns an *Error for the first problem it finds.
func Check(root string, data []byte, lim Limits) error {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	s := scanner{data: data, lim: lim, root: root}
	return s.run()
}

// DecodeObject checks data as Check does, then decodes it, with numbers
// as json.Number, into a map: the document must be one JSON object.
func DecodeObject(root string, data []byte, lim Limits) (map[string]any, error) {
	if err := Check(root, data, lim); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil { // Check found it well formed
		return nil, &Error{Path: root, Reason: err.Error()}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Path: root, Reason: "must be a JSON object"}
	}
	return obj, nil
}

// frame is one open object or array.
type frame struct {
	object   bool
	index    int  // array: the current element
	key      span // object: the current member's key
	keyStart int  // object: where its keys start in scanner.keys
	big      map[string]struct{}
}

// closer is the byte that closes f.
func (f *frame) closer() byte {
	if f.object {
		return '}'
	}
	return ']'
}

// span is a string's bytes in the document, between its quotes.
type span struct {
	start, end int
	escaped    bool // holds backslash escapes
}

// smallObject is how many keys an object holds before its duplicate
// check moves from a linear scan to a map.
const smallObject = 16

type scanner struct {
	data   []byte
	pos    int
	lim    Limits
	root   string
	stack  []frame
	keys   []span // the keys of the open small objects
	values int
}

func (s *scanner) run() error {
	for {
		// A value is expected at s.pos.
		s.skipSpace()
		opened, err := s.value()
		if err != nil {
			return err
		}
		if opened {
			s.skipSpace()
			top := &s.stack[len(s.stack)-1]
			if s.pos < len(s.data) && s.data[s.pos] == top.closer() {
				s.pos++
				s.pop()
			} else {
				if top.object {
					if err := s.key(top); err != nil {
						return err
					}
				}
				continue // to the first member's value
			}
		}
		// After a value: close containers, or move to the next member.
		for {
			s.skipSpace()
			if len(s.stack) == 0 {
				if s.pos != len(s.data) {
					return s.errorf("data after the JSON value")
				}
				return nil
			}
			top := &s.stack[len(s.stack)-1]
			c, ok := s.next()
			switch {
			case !ok:
				return s.errorf("unexpected end of input")
			case c == ',' && top.object:
				if err := s.key(top); err != nil {
					return err
				}
			case c == ',':
				top.index++
			case c == top.closer():
				s.pop()
				continue
			default:
				return s.errorf("unexpected %q after a value", c)
			}
			break
		}
	}
}

// value scans one value; a container is pushed, and opened reports it:
// its members are the caller's to scan.
func (s *scanner) value() (opened bool, err error) {
	s.values++
	if s.lim.MaxValues > 0 && s.values > s.lim.MaxValues {
		return false, s.errorf("more than %d values", s.lim.MaxValues)
	}
	c, ok := s.next()
	if !ok {
		return false, s.errorf("unexpected end of input")
	}
	switch {
	case c == '{' || c == '[':
		if len(s.stack) >= s.lim.MaxDepth {
			return false, s.errorf("nested more than %d levels deep", s.lim.MaxDepth)
		}
		s.stack = append(s.stack, frame{object: c == '{', keyStart: len(s.keys)})
		return true, nil
	case c == '"':
		_, err := s.str()
		return false, err
	case c == 't':
		return false, s.literal("rue")
	case c == 'f':
		return false, s.literal("alse")
	case c == 'n':
		return false, s.literal("ull")
	case c == '-' || c >= '0' && c <= '9':
		s.pos--
		return false, s.number()
	}
	s.pos--
	return false, s.errorf("unexpected %q where a value belongs", c)
}

// key reads an object member's key and its colon, and checks that the
// key is new in the object.
func (s *scanner) key(top *frame) error {
	top.key = span{}
	s.skipSpace()
	if c, ok := s.next(); !ok || c != '"' {
		return s.errorf("an object key must be a string")
	}
	k, err := s.str()
	if err != nil {
		return err
	}
	if err := s.remember(top, k); err != nil {
		return err
	}
	top.key = k
	s.skipSpace()
	if c, ok := s.next(); !ok || c != ':' {
		return s.errorf("a colon must follow an object key")
	}
	return nil
}

// remember records key k of object top, refusing a repeat.
func (s *scanner) remember(top *frame, k span) error {
	if top.big != nil {
		name := s.unquote(k)
		if _, dup := top.big[name]; dup {
			return s.errorf("the key %s appears twice", renderKey(name))
		}
		top.big[name] = struct{}{}
		return nil
	}
	for _, o := range s.keys[top.keyStart:] {
		if s.sameKey(o, k) {
			return s.errorf("the key %s appears twice", renderKey(s.unquote(k)))
		}
	}
	s.keys = append(s.keys, k)
	if n := len(s.keys) - top.keyStart; n > smallObject {
		top.big = make(map[string]struct{}, 2*n)
		for _, o := range s.keys[top.keyStart:] {
			top.big[s.unquote(o)] = struct{}{}
		}
		s.keys = s.keys[:top.keyStart]
	}
	return nil
}

func (s *scanner) sameKey(a, b span) bool {
	if !a.escaped && !b.escaped {
		return bytes.Equal(s.data[a.start:a.end], s.data[b.start:b.end])
	}
	return s.unquote(a) == s.unquote(b)
}

// unquote returns the text of a string that str accepted.
func (s *scanner) unquote(k span) string {
	if !k.escaped {
		return string(s.data[k.start:k.end])
	}
	var out string
	if err := json.Unmarshal(s.data[k.start-1:k.end+1], &out); err != nil {
		return string(s.data[k.start:k.end]) // unreachable: str checked it
	}
	return out
}

func (s *scanner) pop() {
	top := s.stack[len(s.stack)-1]
	if top.object && top.big == nil {
		s.keys = s.keys[:top.keyStart]
	}
	s.stack = s.stack[:len(s.stack)-1]
}

func (s *scanner) next() (byte, bool) {
	if s.pos >= len(s.data) {
		return 0, false
	}
	c := s.data[s.pos]
	s.pos++
	return c, true
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) literal(rest string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(rest)) {
		return s.errorf("not a JSON value")
	}
	s.pos += len(rest)
	return nil
}

// number scans a number in JSON's grammar.
func (s *scanner) number() error {
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case digits() == 0:
		s.pos = i
		return s.errorf("malformed number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			s.pos = i
			return s.errorf("malformed number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.pos = i
			return s.errorf("malformed number")
		}
	}
	s.pos = i
	return nil
}

// str scans a string whose opening quote was just read, and returns its
// span. It refuses control characters, bad escapes, invalid UTF-8 and
// lone surrogate escapes.
func (s *scanner) str() (span, error) {
	d := s.data
	sp := span{start: s.pos}
	for i := s.pos; i < len(d); {
		c := d[i]
		switch {
		case c == '"':
			sp.end = i
			s.pos = i + 1
			return sp, nil
		case c < 0x20:
			s.pos = i
			return sp, s.errorf("a control character (byte 0x%02x) in a string must be escaped", c)
		case c == '\\':
			sp.escaped = true
			n, err := s.escape(i)
			if err != nil {
				return sp, err
			}
			i += n
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && n <= 1 {
				s.pos = i
				return sp, s.errorf("a string holds invalid UTF-8 (byte 0x%02x)", c)
			}
			i += n
		}
	}
	s.pos = len(d)
	return sp, s.errorf("unterminated string")
}

// escape checks the escape at d[i] (a backslash) and returns its length.
func (s *scanner) escape(i int) (int, error) {
	d := s.data
	if i+1 >= len(d) {
		s.pos = i
		return 0, s.errorf("unterminated string")
	}
	switch d[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
	default:
		s.pos = i
		return 0, s.errorf("invalid escape \\%c in a string", d[i+1])
	}
	r, ok := hex4(d, i+2)
	if !ok {
		s.pos = i
		return 0, s.errorf("invalid \\u escape in a string")
	}
	switch {
	case r >= 0xdc00 && r <= 0xdfff:
		s.pos = i
		return 0, s.errorf("a lone UTF-16 surrogate \\u%04x in a string", r)
	case r >= 0xd800 && r <= 0xdbff:
		lo, ok := rune(0), i+12 <= len(d) && d[i+6] == '\\' && d[i+7] == 'u'
		if ok {
			lo, ok = hex4(d, i+8)
		}
		if !ok || lo < 0xdc00 || lo > 0xdfff {
			s.pos = i
			return 0, s.errorf("a lone UTF-16 surrogate \\u%04x in a string", r)
		}
		return 12, nil
	}
	return 6, nil
}

// hex4 reads four hex digits at d[i:].
func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// errorf returns an *Error at the current position. The path is built
// here, only when there is an error to report.
func (s *scanner) errorf(format string, args ...any) error {
	var b []byte
	b = append(b, s.root...)
	for _, f := range s.stack {
		if f.object {
			if f.key.start > 0 { // zero: no key read yet, the path ends at the object
				b = append(b, '.')
				b = append(b, renderKey(s.unquote(f.key))...)
			}
			continue
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(f.index), 10)
		b = append(b, ']')
	}
	return &Error{Path: string(b), Offset: s.pos, Reason: fmt.Sprintf(format, args...)}
}

// renderKey writes a key in a path as it is when that is unambiguous,
// quoted otherwise, and cut after maxKey bytes.
func renderKey(k string) string {
	const maxKey = 64
	if len(k) > maxKey {
		return strconv.Quote(k[:maxKey]) + "..."
	}
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == '.' || c == '[' || c == ']' || c == '"' || c == '\\' {
			return strconv.Quote(k)
		}
	}
	return k
}
