package storage

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"testing"
)

// TestVectorGolden pins the vector value encoding.
func TestVectorGolden(t *testing.T) {
	r := VectorRecord{Values: []float32{1, -2}, SparseIndices: []uint32{3}, SparseValues: []float32{0.5}}
	got := hex.EncodeToString(AppendVector(nil, &r))
	want := "01" + "02" + "0000803f" + "000000c0" + "01" + "03000000" + "0000003f"
	if got != want {
		t.Fatalf("encoding = %s, want %s", got, want)
	}
}

func TestVectorRoundTrip(t *testing.T) {
	for _, r := range []VectorRecord{
		{Values: []float32{0.25}},
		{Values: []float32{1, 2, 3, float32(math.Inf(1))}},
		{Values: make([]float32, 768), SparseIndices: []uint32{0, 7, 1 << 31}, SparseValues: []float32{1, -1, 0.5}},
		{},
	} {
		b := AppendVector([]byte("prefix"), &r)[len("prefix"):]
		v, err := ParseVector(b)
		if err != nil {
			t.Fatalf("ParseVector: %v", err)
		}
		if v.Dim != len(r.Values) || v.NNZ != len(r.SparseIndices) {
			t.Fatalf("header = %+v, want %+v", v, r)
		}
		if d := v.Dense(); !reflect.DeepEqual(d, append([]float32{}, r.Values...)) {
			t.Fatalf("dense = %v, want %v", d, r.Values)
		}
		idx, val := v.Sparse()
		if !reflect.DeepEqual(idx, r.SparseIndices) || !reflect.DeepEqual(val, r.SparseValues) {
			t.Fatalf("sparse = %v %v, want %v %v", idx, val, r.SparseIndices, r.SparseValues)
		}
	}
}

func TestParseVectorRejectsCorrupt(t *testing.T) {
	good := AppendVector(nil, &VectorRecord{Values: []float32{1, 2}, SparseIndices: []uint32{1}, SparseValues: []float32{2}})
	cases := map[string][]byte{
		"empty":       nil,
		"version":     append([]byte{9}, good[1:]...),
		"truncated":   good[:len(good)-1],
		"trailing":    append(append([]byte{}, good...), 0),
		"huge dim":    {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge sparse": {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range cases {
		if _, err := ParseVector(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

// TestMetadataGolden pins the metadata encoding, including key order.
func TestMetadataGolden(t *testing.T) {
	b, err := AppendMetadata(nil, map[string]any{"z": true, "a": "x", "n": 1.5, "l": []string{"p", ""}, "f": false}, 300)
	if err != nil {
		t.Fatal(err)
	}
	want := "01" + "ac02" + "05" +
		"0161" + "73" + "0178" + // a: "x"
		"0166" + "66" + // f: false
		"016c" + "6c" + "02" + "0170" + "00" + // l: ["p", ""]
		"016e" + "6e" + "000000000000f83f" + // n: 1.5
		"017a" + "74" // z: true
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encoding = %s, want %s", got, want)
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	for _, md := range []map[string]any{
		{},
		{"genre": "drama", "year": 2020.0, "tags": []string{"a", "b"}, "ok": true, "no": false},
		{"": "", "\u00e9": -0.0, "big": math.MaxFloat64, "empty": []string{}},
	} {
		b, err := AppendMetadata(nil, md, 77)
		if err != nil {
			t.Fatal(err)
		}
		got, size, err := DecodeMetadata(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, md) || size != 77 {
			t.Fatalf("round trip = %#v %d, want %#v 77", got, size, md)
		}
		if size, err := MetadataJSONSize(b); err != nil || size != 77 {
			t.Fatalf("MetadataJSONSize = %d %v", size, err)
		}
	}
	if _, err := AppendMetadata(nil, map[string]any{"x": 1}, 7); err == nil {
		t.Fatal("AppendMetadata accepted an int; the root package must normalise first")
	}
}

func TestDecodeMetadataRejectsCorrupt(t *testing.T) {
	good, _ := AppendMetadata(nil, map[string]any{"a": "x", "l": []string{"p"}}, 20)
	for name, b := range map[string][]byte{
		"empty":      nil,
		"version":    append([]byte{2}, good[1:]...),
		"truncated":  good[:len(good)-1],
		"trailing":   append(append([]byte{}, good...), 0),
		"bad tag":    {1, 9, 1, 1, 'a', 'q'},
		"huge count": {1, 9, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge list":  {1, 9, 1, 1, 'a', 'l', 0xff, 0xff, 0xff, 0x0f},
	} {
		if _, _, err := DecodeMetadata(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestCatalogRecordsRoundTrip(t *testing.T) {
	ir := IndexRecord{ID: 7, Dimension: 768, Metric: "cosine", DeletionProtection: true,
		Tags: map[string]string{"env": "prod", "team": "x"}, CreatedAt: -5}
	if got, err := DecodeIndexRecord(ir.Encode()); err != nil || !reflect.DeepEqual(got, ir) {
		t.Fatalf("index record = %+v %v", got, err)
	}
	nr := NamespaceRecord{ID: 1 << 31, CreatedAt: 1234567890123}
	if got, err := DecodeNamespaceRecord(nr.Encode()); err != nil || got != nr {
		t.Fatalf("namespace record = %+v %v", got, err)
	}
	st := Stats{Records: 3, Bytes: 1 << 50, WriteUnits: 9}
	if got, err := DecodeStats(st.Encode()); err != nil || got != st {
		t.Fatalf("stats = %+v %v", got, err)
	}
	dr := DropRecord{Prefixes: [][]byte{NamespaceDataPrefix(1, 2), StatsPrefix(3)}}
	if got, err := DecodeDropRecord(dr.Encode()); err != nil || !reflect.DeepEqual(got, dr) {
		t.Fatalf("drop record = %+v %v", got, err)
	}
	if _, err := DecodeDropRecord([]byte{1, 1, 0}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("empty drop prefix accepted: %v", err)
	}
	if _, err := DecodeUint32([]byte{1}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short uint32 accepted: %v", err)
	}
}

func FuzzParseVector(f *testing.F) {
	f.Add(AppendVector(nil, &VectorRecord{Values: []float32{1, 2}, SparseIndices: []uint32{1}, SparseValues: []float32{2}}))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVector(b)
		if err != nil {
			return
		}
		d := v.Dense()
		idx, val := v.Sparse()
		// A value that parses must re-encode to the same bytes.
		again := AppendVector(nil, &VectorRecord{Values: d, SparseIndices: idx, SparseValues: val})
		v2, err := ParseVector(again)
		if err != nil || v2.Dim != v.Dim || v2.NNZ != v.NNZ {
			t.Fatalf("re-encoding changed the value: %v", err)
		}
	})
}

func FuzzDecodeMetadata(f *testing.F) {
	good, _ := AppendMetadata(nil, map[string]any{"a": "x", "n": 2.0, "l": []string{"p"}, "t": true}, 40)
	f.Add(good)
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		md, size, err := DecodeMetadata(b)
		if err != nil {
			return
		}
		enc, err := AppendMetadata(nil, md, size)
		if err != nil {
			t.Fatalf("decoded metadata does not re-encode: %v", err)
		}
		md2, size2, err := DecodeMetadata(enc)
		if err != nil || len(md2) != len(md) || size2 != size {
			t.Fatalf("re-decoding failed: %v", err)
		}
	})
}

// TestPortableVectorPath runs the byte-order-independent encode and decode
// loops (used on big-endian machines) and checks they agree with the
// memmove path.
func TestPortableVectorPath(t *testing.T) {
	r := VectorRecord{Values: []float32{1.5, -2, float32(math.Pi), 0}}
	fast := AppendVector(nil, &r)
	saved := littleEndian
	littleEndian = false
	defer func() { littleEndian = saved }()
	slow := AppendVector(nil, &r)
	if hex.EncodeToString(fast) != hex.EncodeToString(slow) {
		t.Fatalf("encodings differ: %x vs %x", fast, slow)
	}
	v, err := ParseVector(slow)
	if err != nil {
		t.Fatal(err)
	}
	if d := v.Dense(); !reflect.DeepEqual(d, r.Values) {
		t.Fatalf("portable decode = %v", d)
	}
}
