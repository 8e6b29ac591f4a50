package record

import (
	"math"
	"strconv"
)

// MetadataJSONSize is the length of md, in stored form, serialized as
// compact JSON: byte for byte what encoding/json writes with HTML
// escaping off (a test holds the two together), computed without
// serializing. It is the size that MaxMetadataBytes limits and that
// Size, and so quotas and usage, count.
func MetadataJSONSize(md map[string]any) int {
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
