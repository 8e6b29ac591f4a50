package record

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// NormalizeMetadata validates md and returns a copy in stored form with
// its JSON size (nil and 0 for empty metadata). Keys must be non-empty
// UTF-8 not starting with '$'; values are converted by the rules of
// vectordb.Metadata: strings, booleans, every Go integer and float type
// and json.Number (as a finite float64), []string and []any of strings
// (as a []string). The JSON size must be at most MaxMetadataBytes. field
// names the argument in errors, e.g. "metadata"; a value's errors name
// field["key"] and, in a list, field["key"][i].
func NormalizeMetadata(field string, md map[string]any) (map[string]any, int, error) {
	if len(md) == 0 {
		return nil, 0, nil
	}
	out := make(map[string]any, len(md))
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
	size := MetadataJSONSize(out)
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

// MergeMetadata returns old with every key of set added or overwritten.
// Both are in stored form; neither is changed.
func MergeMetadata(old, set map[string]any) map[string]any {
	out := make(map[string]any, len(old)+len(set))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	return out
}
