package record

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// encodingJSONSize is the reference MetadataJSONSize must match.
func encodingJSONSize(t testing.TB, md map[string]any) int {
	if len(md) == 0 {
		return 0
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(md); err != nil {
		t.Fatal(err)
	}
	return buf.Len() - 1
}

func TestMetadataJSONSizeMatchesEncodingJSON(t *testing.T) {
	cases := []map[string]any{
		{"a": "b"},
		{"quote\"back\\slash": "ctl\x00\x01\x1f\b\f\n\r\t<>&\u2028\u2029\u00e9\U0001F600\x7f"},
		{"n": 0.0, "m": -0.0, "x": 1e21, "y": 1e20, "z": 1e-6, "w": 1e-7, "v": 123456789.125, "u": -5e-324, "s": math.MaxFloat64},
		{"t": true, "f": false, "l": []string{}, "l2": []string{"a", "\"", ""}},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		md := map[string]any{}
		for range 1 + r.IntN(4) {
			b := make([]byte, r.IntN(8))
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			s := string(b)
			if !utf8.ValidString(s) {
				s = string([]rune(s))
			}
			switch r.IntN(4) {
			case 0:
				md[s] = s
			case 1:
				md[s] = math.Float64frombits(r.Uint64())
				if f := md[s].(float64); math.IsNaN(f) || math.IsInf(f, 0) {
					md[s] = r.NormFloat64() * math.Pow(10, float64(r.IntN(50)-25))
				}
			case 2:
				md[s] = r.IntN(2) == 0
			case 3:
				md[s] = []string{s, s + "x"}
			}
		}
		cases = append(cases, md)
	}
	for _, md := range cases {
		if got, want := MetadataJSONSize(md), encodingJSONSize(t, md); got != want {
			t.Fatalf("MetadataJSONSize(%q) = %d, encoding/json writes %d", md, got, want)
		}
	}
}

func FuzzMetadataJSONSize(f *testing.F) {
	f.Add("key", "value", 1.5)
	f.Add("\u2028", "\x00", 1e-7)
	f.Fuzz(func(t *testing.T, k, v string, x float64) {
		if !utf8.ValidString(k) || !utf8.ValidString(v) || math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		md := map[string]any{k: v, k + "n": x, k + "l": []string{v, k}}
		if got, want := MetadataJSONSize(md), encodingJSONSize(t, md); got != want {
			t.Fatalf("metadataJSONSize = %d, encoding/json writes %d", got, want)
		}
	})
}
