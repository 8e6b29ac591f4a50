package jsoncheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		in       string
		lim      Limits
		path     string // "" if valid
		contains string
	}{
		{in: `{}`},
		{in: ` [ ] `},
		{in: `{"a":[1,-2.5e+3,true,false,null,"x\u00e9\ud83d\ude00\n"],"b":{"c":{}}}`},
		{in: `"plain"`},
		{in: `0`},
		{in: `{"a":1,"b":2,"A":3}`}, // keys are case-sensitive
		{in: "\"\xe2\x82\xac\""},    // multi-byte UTF-8
		{in: `{"vectors":[{"id":"k` + "\xff" + `"}]}`, path: "body.vectors[0].id", contains: "invalid UTF-8"},
		{in: `{"k` + "\xfe" + `":1}`, path: "body", contains: "invalid UTF-8"},
		{in: `{"id":"s\ud800"}`, path: "body.id", contains: "lone UTF-16 surrogate \\ud800"},
		{in: `{"id":"s\udc00x"}`, path: "body.id", contains: "lone UTF-16 surrogate \\udc00"},
		{in: `{"id":"s\ud800\u0041"}`, path: "body.id", contains: "lone UTF-16 surrogate"},
		{in: `{"id":"s\ud800\udbff"}`, path: "body.id", contains: "lone UTF-16 surrogate"},
		{in: "{\"id\":\"\x01\"}", path: "body.id", contains: "control character"},
		{in: `{"id":"\q"}`, path: "body.id", contains: "invalid escape"},
		{in: `{"id":"\u12g4"}`, path: "body.id", contains: `invalid \u escape`},
		{in: `{"id":"a","id":"b"}`, path: "body", contains: "the key id appears twice"},
		{in: `{"id":"a","\u0069d":"b"}`, path: "body", contains: "appears twice"},
		{in: `{"a":{"x.y":[0,{"z":1,"z":2}]}}`, path: `body.a."x.y"[1]`, contains: "the key z appears twice"},
		{in: `{"a":1}x`, path: "body", contains: "data after"},
		{in: `{"a":1`, path: "body.a", contains: "end of input"},
		{in: `{"a" 1}`, path: "body.a", contains: "colon"},
		{in: `{1:2}`, path: "body", contains: "key must be a string"},
		{in: `[1,]`, path: "body[1]", contains: "where a value belongs"},
		{in: `[01]`, path: "body[0]", contains: "after a value"},
		{in: `[1.]`, path: "body[0]", contains: "malformed number"},
		{in: `[-]`, path: "body[0]", contains: "malformed number"},
		{in: `[1e]`, path: "body[0]", contains: "malformed number"},
		{in: `[tru]`, path: "body[0]", contains: "not a JSON value"},
		{in: ``, path: "body", contains: "end of input"},
		{in: `"abc`, path: "body", contains: "unterminated"},
		{in: `[[[1]]]`, lim: Limits{MaxDepth: 3}},
		{in: `[[[[1]]]]`, lim: Limits{MaxDepth: 3}, path: "body[0][0][0]", contains: "nested more than 3 levels"},
		{in: `[1,2,3]`, lim: Limits{MaxValues: 4}},
		{in: `[1,2,3,4]`, lim: Limits{MaxValues: 4}, path: "body[3]", contains: "more than 4 values"},
		{in: `{"a":{"b":1}}`, lim: Limits{MaxValues: 2}, path: "body.a.b", contains: "more than 2 values"},
	} {
		err := Check("body", []byte(tc.in), tc.lim)
		if tc.path == "" {
			if err != nil {
				t.Errorf("Check(%q) = %v, want nil", tc.in, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Check(%q) = %v, want an *Error", tc.in, err)
			continue
		}
		if e.Path != tc.path || !strings.Contains(e.Reason, tc.contains) {
			t.Errorf("Check(%q) = path %q reason %q, want path %q reason containing %q", tc.in, e.Path, e.Reason, tc.path, tc.contains)
		}
	}
}

// TestCheckManyKeys crosses the small-object threshold, where duplicate
// detection moves to a map, on both sides.
func TestCheckManyKeys(t *testing.T) {
	for _, n := range []int{smallObject - 1, smallObject, smallObject + 1, 3 * smallObject} {
		var b strings.Builder
		b.WriteString(`{"outer":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"k` + strings.Repeat("x", i) + `":[{"in":1},{"in":2}]`)
		}
		good := b.String() + `},"after":{"in":3}}`
		if err := Check("f", []byte(good), Limits{}); err != nil {
			t.Fatalf("%d keys: %v", n, err)
		}
		for _, dup := range []string{`"k"`, `"k` + strings.Repeat("x", n-1) + `"`, `"\u006b"`} {
			bad := b.String() + `,` + dup + `:0}}`
			err := Check("f", []byte(bad), Limits{})
			var e *Error
			if !errors.As(err, &e) || e.Path != "f.outer" || !strings.Contains(e.Reason, "appears twice") {
				t.Fatalf("%d keys, repeat %s: %v", n, dup, err)
			}
		}
	}
}

// TestCheckHostileCost: a document nested 10,000 deep or with a million
// values is refused after reading a bounded prefix, allocating little.
func TestCheckHostileCost(t *testing.T) {
	deep := []byte(strings.Repeat(`{"$not":`, 10000) + `{"a":1}` + strings.Repeat(`}`, 10000))
	wide := []byte(`{"$or":[` + strings.Repeat(`{"a":1},`, 1_000_000) + `{"a":1}]}`)
	lim := Limits{MaxDepth: 32, MaxValues: 30000}
	for name, doc := range map[string][]byte{"deep": deep, "wide": wide} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := Check("filter", doc, lim)
		runtime.ReadMemStats(&after)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: %v, want an *Error", name, err)
		}
		if e.Offset > 1<<20 {
			t.Errorf("%s: refused at byte %d, want within the first MiB", name, e.Offset)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<10 {
			t.Errorf("%s: allocated %d bytes, want under 64 KiB", name, alloc)
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestDecodeObject decodes with json.Number, and only objects.
func TestDecodeObject(t *testing.T) {
	obj, err := DecodeObject("filter", []byte(`{"n":12345678901234567890}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := obj["n"].(json.Number); !ok || n.String() != "12345678901234567890" {
		t.Fatalf("n = %#v", obj["n"])
	}
	for _, in := range []string{`[1]`, `"s"`, `null`, `{"a":"\ud800"}`} {
		if _, err := DecodeObject("filter", []byte(in), Limits{}); err == nil {
			t.Errorf("DecodeObject(%s) accepted", in)
		}
	}
}

// FuzzCheck compares Check with encoding/json: whatever Check accepts,
// encoding/json accepts and decodes without rewriting any string; what
// encoding/json accepts and Check refuses, Check refuses for one of its
// own rules.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{}`, `[1,"a",{"b":null}]`, `{"a":"\ud83d\ude00"}`, `{"a":1,"a":2}`, "\"\xff\"", `"\ud800"`, `1e400`, `{"a":[[[]]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check("x", data, Limits{})
		valid := json.Valid(data)
		if err == nil {
			if !valid {
				t.Fatalf("Check accepted %q, which encoding/json refuses", data)
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("Check accepted %q, Unmarshal: %v", data, err)
			}
			// No replacement character appears that the input did not
			// spell: encoding/json rewrote nothing.
			out, _ := json.Marshal(v)
			if bytes.Contains(out, []byte("\ufffd")) && !bytes.Contains(data, []byte("\ufffd")) && !bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
				t.Fatalf("Check accepted %q, which decodes with U+FFFD", data)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Check(%q) = %v, not an *Error", data, err)
		}
		if valid {
			for _, rule := range []string{"invalid UTF-8", "surrogate", "appears twice"} {
				if strings.Contains(e.Reason, rule) {
					return
				}
			}
			t.Fatalf("Check refused valid JSON %q: %v", data, err)
		}
	})
}
