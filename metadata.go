package vectordb

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Metadata is a record's flat metadata. Keys are non-empty UTF-8 strings
// not starting with '$'. Values are strings (UTF-8), numbers, booleans or
// lists of strings; vectordb stores every number as a float64 and every
// list as a []string, and returns them that way. Accepted on input: string,
// bool, all Go integer and float types, json.Number, []string and []any
// holding strings. Nil values, nested maps, other lists and non-finite
// numbers are rejected. A record's metadata is at most MaxMetadataBytes
// when serialized as JSON.
type Metadata map[string]any

// normalizeMetadata validates md and returns a copy in stored form with
// its JSON size. field names the argument in errors, e.g. "metadata".
func normalizeMetadata(field string, md Metadata) (Metadata, int, error) {
	if len(md) == 0 {
		return nil, 0, nil
	}
	out := make(Metadata, len(md))
	for k, v := range md {
		switch {
		case k == "":
			return nil, 0, argErr(field, k, "metadata keys must not be empty")
		case strings.HasPrefix(k, "$"):
			return nil, 0, argErr(field, k, "metadata keys must not start with '$'")
		case !utf8.ValidString(k):
			return nil, 0, argErr(field, k, "metadata keys must be valid UTF-8")
		}
		nv, err := normalizeValue(v)
		if err != nil {
			return nil, 0, inField(fmt.Sprintf("%s[%q]", field, k), err)
		}
		out[k] = nv
	}
	size := metadataJSONSize(out)
	if size > MaxMetadataBytes {
		return nil, 0, argErrf(field, nil, "is %d bytes as JSON, more than %d", size, MaxMetadataBytes)
	}
	return out, size, nil
}

// normalizeValue converts one metadata value to its stored form. Errors
// name fields relative to the value ("" or "[3]").
func normalizeValue(v any) (any, error) {
	num := func(f float64) (any, error) {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, argErr("", f, "numbers must be finite")
		}
		return f, nil
	}
	switch v := v.(type) {
	case string:
		if !utf8.ValidString(v) {
			return nil, argErr("", v, "strings must be valid UTF-8")
		}
		return v, nil
	case bool:
		return v, nil
	case float64:
		return num(v)
	case float32:
		return num(float64(v))
	case int:
		return float64(v), nil
	case int8:
		return float64(v), nil
	case int16:
		return float64(v), nil
	case int32:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case uint:
		return float64(v), nil
	case uint8:
		return float64(v), nil
	case uint16:
		return float64(v), nil
	case uint32:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, argErr("", string(v), "not a number")
		}
		return num(f)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			if !utf8.ValidString(s) {
				return nil, argErr(fmt.Sprintf("[%d]", i), s, "strings must be valid UTF-8")
			}
			out[i] = s
		}
		return out, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, argErrf(fmt.Sprintf("[%d]", i), nil, "lists may hold only strings, not %T", e)
			}
			if !utf8.ValidString(s) {
				return nil, argErr(fmt.Sprintf("[%d]", i), s, "strings must be valid UTF-8")
			}
			out[i] = s
		}
		return out, nil
	case nil:
		return nil, argErr("", nil, "null values are not allowed")
	}
	return nil, argErrf("", nil, "type %T is not a string, number, boolean or list of strings", v)
}

// metadataJSONSize is the length of md serialized as compact JSON, byte
// for byte what encoding/json writes with HTML escaping off (a test holds
// the two together), computed without serializing.
func metadataJSONSize(md Metadata) int {
	if len(md) == 0 {
		return 0
	}
	n := 1 + len(md) // braces and the commas between members
	for k, v := range md {
		n += jsonStringLen(k) + 1
		switch v := v.(type) {
		case string:
			n += jsonStringLen(v)
		case float64:
			var buf [32]byte
			n += len(appendJSONFloat(buf[:0], v))
		case bool:
			n += 4
			if !v {
				n++
			}
		case []string:
			n += 1 + max(1, len(v)) // brackets and commas
			for _, e := range v {
				n += jsonStringLen(e)
			}
		}
	}
	return n
}

// jsonStringLen is the length of s as a JSON string from encoding/json:
// quotes, two-byte escapes for '"', '\\' and \b \f \n \r \t, six-byte
// \u00XX for other control bytes and \u2028 and \u2029 for those runes.
// s must be valid UTF-8.
func jsonStringLen(s string) int {
	n := 2 + len(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5
		case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9):
			n += 3 // U+2028, U+2029: 3 bytes become 6
			i += 2
		}
	}
	return n
}

// appendJSONFloat formats f as encoding/json does: shortest repr, 'f'
// format between 1e-6 and 1e21, else 'e' with a two-digit exponent
// shortened ("1e-07" becomes "1e-7").
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// mergeMetadata returns old with every key of set added or overwritten.
// Both are in stored form.
func mergeMetadata(old, set Metadata) Metadata {
	out := make(Metadata, len(old)+len(set))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	return out
}

// cloneMetadata returns a copy of md that shares nothing with it.
func cloneMetadata(md Metadata) Metadata {
	if md == nil {
		return nil
	}
	out := make(Metadata, len(md))
	for k, v := range md {
		if l, ok := v.([]string); ok {
			v = append([]string(nil), l...)
		}
		out[k] = v
	}
	return out
}
