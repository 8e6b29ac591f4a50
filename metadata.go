package vectordb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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
// its JSON size. field names the argument in errors, e.g.
// "records[3].metadata".
func normalizeMetadata(field string, md Metadata) (Metadata, int, error) {
	if len(md) == 0 {
		return nil, 0, nil
	}
	out := make(Metadata, len(md))
	for k, v := range md {
		kf := fmt.Sprintf("%s[%q]", field, k)
		switch {
		case k == "":
			return nil, 0, argErr(field, k, "metadata keys must not be empty")
		case strings.HasPrefix(k, "$"):
			return nil, 0, argErr(kf, nil, "metadata keys must not start with '$'")
		case !utf8.ValidString(k):
			return nil, 0, argErr(field, k, "metadata keys must be valid UTF-8")
		}
		nv, err := normalizeValue(kf, v)
		if err != nil {
			return nil, 0, err
		}
		out[k] = nv
	}
	size, err := metadataJSONSize(out)
	if err != nil {
		return nil, 0, argErr(field, nil, err.Error())
	}
	if size > MaxMetadataBytes {
		return nil, 0, argErrf(field, nil, "is %d bytes as JSON, more than %d", size, MaxMetadataBytes)
	}
	return out, size, nil
}

func normalizeValue(field string, v any) (any, error) {
	num := func(f float64) (any, error) {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, argErr(field, f, "numbers must be finite")
		}
		return f, nil
	}
	switch v := v.(type) {
	case string:
		if !utf8.ValidString(v) {
			return nil, argErr(field, v, "strings must be valid UTF-8")
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
			return nil, argErr(field, string(v), "not a number")
		}
		return num(f)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			if !utf8.ValidString(s) {
				return nil, argErr(fmt.Sprintf("%s[%d]", field, i), s, "strings must be valid UTF-8")
			}
			out[i] = s
		}
		return out, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, argErrf(fmt.Sprintf("%s[%d]", field, i), nil, "lists may hold only strings, not %T", e)
			}
			if !utf8.ValidString(s) {
				return nil, argErr(fmt.Sprintf("%s[%d]", field, i), s, "strings must be valid UTF-8")
			}
			out[i] = s
		}
		return out, nil
	case nil:
		return nil, argErr(field, nil, "null values are not allowed")
	}
	return nil, argErrf(field, nil, "type %T is not a string, number, boolean or list of strings", v)
}

// metadataJSONSize is the length of md serialized as compact JSON without
// HTML escaping.
func metadataJSONSize(md Metadata) (int, error) {
	if len(md) == 0 {
		return 0, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any(md)); err != nil {
		return 0, err
	}
	return buf.Len() - 1, nil // Encode appends a newline
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
