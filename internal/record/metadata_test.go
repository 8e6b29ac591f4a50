package record

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
)

// TestNormalizeMetadataStoredForm: every accepted input type comes out in
// stored form (float64, string, bool, []string) with its JSON size.
func TestNormalizeMetadataStoredForm(t *testing.T) {
	in := map[string]any{
		"i": 3, "i8": int8(-1), "u64": uint64(7), "f32": float32(0.5), "n": json.Number("2.5"),
		"s": "x", "b": false, "ls": []string{"a"}, "la": []any{"b", "c"},
	}
	got, size, err := NormalizeMetadata("metadata", in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i": 3.0, "i8": -1.0, "u64": 7.0, "f32": 0.5, "n": 2.5,
		"s": "x", "b": false, "ls": []string{"a"}, "la": []string{"b", "c"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("NormalizeMetadata = %#v, want %#v", got, want)
	}
	if size != MetadataJSONSize(want) {
		t.Fatalf("size %d, MetadataJSONSize says %d", size, MetadataJSONSize(want))
	}
	if md, size, err := NormalizeMetadata("metadata", map[string]any{}); md != nil || size != 0 || err != nil {
		t.Fatalf("empty metadata: %v %d %v", md, size, err)
	}
}

// TestErrorsNameFields: errors name the field relative to what was
// validated, with the value where it is worth printing.
func TestErrorsNameFields(t *testing.T) {
	for _, c := range []struct {
		err   error
		field string
		value any
	}{
		{func() error { _, _, err := NormalizeMetadata("md", map[string]any{"k": []any{"a", 1}}); return err }(), `md["k"][1]`, nil},
		{func() error { _, _, err := NormalizeMetadata("md", map[string]any{"k": math.Inf(1)}); return err }(), `md["k"]`, math.Inf(1)},
		{func() error { _, _, err := NormalizeMetadata("md", map[string]any{"$k": 1}); return err }(), "md", "$k"},
		{CheckVector("values", []float32{1, float32(math.NaN())}, 2), "values[1]", nil},
		{CheckID("ids[2]", "a\x00"), "ids[2]", "a\x00"},
		{CheckNamespace("a\x00"), "namespace", "a\x00"},
		{func() error {
			_, err := NormalizeSparse("sp", []uint32{4, 4}, []float32{1, 2}, Schema{Sparse: true})
			return err
		}(), "sp.indices", uint32(4)},
	} {
		var e *Error
		if !errors.As(c.err, &e) {
			t.Fatalf("%v (%T) is not an *Error", c.err, c.err)
		}
		if e.Field != c.field || (c.value != nil && e.Value != c.value) {
			t.Errorf("%v: field %q value %#v, want %q %#v", c.err, e.Field, e.Value, c.field, c.value)
		}
	}
	var de *DimensionError
	if err := CheckVector("v", []float32{1}, 2); !errors.As(err, &de) || de.Want != 2 || de.Got != 1 {
		t.Errorf("CheckVector of the wrong length: %v", err)
	}
	var ce *CountError
	if _, err := UniqueIDs("ids", []string{"a", "b", "c"}, 2); !errors.As(err, &ce) || ce.Count != 3 || ce.Max != 2 {
		t.Errorf("UniqueIDs past max: %v", err)
	}
	if ids, err := UniqueIDs("ids", []string{"b", "a", "b"}, 3); err != nil || !reflect.DeepEqual(ids, []string{"b", "a"}) {
		t.Errorf("UniqueIDs = %q, %v", ids, err)
	}
}

// TestNormalizeSparseSorts: sparse values come back sorted by index,
// copied.
func TestNormalizeSparseSorts(t *testing.T) {
	in, vals := []uint32{9, 2, 5}, []float32{0.9, 0.2, 0.5}
	sp, err := NormalizeSparse("sp", in, vals, Schema{Sparse: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sp, Sparse{Idx: []uint32{2, 5, 9}, Val: []float32{0.2, 0.5, 0.9}}) {
		t.Fatalf("NormalizeSparse = %v", sp)
	}
	if in[0] != 9 {
		t.Fatal("NormalizeSparse changed its input")
	}
}
