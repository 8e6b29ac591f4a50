package storage

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestIVFRoundTrip(t *testing.T) {
	cents := []float32{1, 2, 3, 4, 5, 6} // 3 lists of dimension 2
	as := []IVFAssignment{{"a", 0, 7}, {"b\x00c", 2, 8}, {"z", 1, 0xffffffff}}
	body := EncodeIVFBody(cents, as)
	parts, h := SplitIVFBody(body, 5)
	if len(parts) != (len(body)+4)/5 || !bytes.Equal(bytes.Join(parts, nil), body) {
		t.Fatalf("split into %d parts", len(parts))
	}
	h.Gen, h.Metric, h.Dim, h.NList, h.TrainedRecords, h.NProbe = 9, 1, 2, 3, 3, 2
	h.Recall, h.Imbalance, h.BuiltAt, h.BuildNanos = 0.96, 1.3, 12345, -1
	got, err := DecodeIVFHeader(h.Encode())
	if err != nil || got != h {
		t.Fatalf("header round trip: %+v, %v; want %+v", got, err, h)
	}
	c2, a2, err := DecodeIVFBody(&got, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2) != len(cents) || len(a2) != len(as) {
		t.Fatalf("decoded %v %v", c2, a2)
	}
	for i := range as {
		if string(a2[i].ID) != as[i].ID || a2[i].List != as[i].List || a2[i].CRC != as[i].CRC {
			t.Fatalf("assignment %d: %+v, want %+v", i, a2[i], as[i])
		}
	}
	// Every truncation and every flipped byte is caught by the checksum.
	for i := range body {
		if _, _, err := DecodeIVFBody(&got, body[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
		bad := bytes.Clone(body)
		bad[i] ^= 0x10
		if _, _, err := DecodeIVFBody(&got, bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped byte %d: %v", i, err)
		}
	}
	// A well-checksummed body with a list out of range, or out of order.
	for _, bad := range [][]IVFAssignment{{{"a", 3, 0}}, {{"b", 0, 0}, {"a", 0, 0}}} {
		b := EncodeIVFBody(cents, bad)
		_, h2 := SplitIVFBody(b, 100)
		h2.Dim, h2.NList = 2, 3
		if _, _, err := DecodeIVFBody(&h2, b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("assignments %v: %v", bad, err)
		}
	}
	for i := range h.Encode() {
		if _, err := DecodeIVFHeader(h.Encode()[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("header truncated at %d: %v", i, err)
		}
	}
}

func TestIVFKeys(t *testing.T) {
	k := IVFPartKey(1, 2, 0x0102030405060708, 9)
	if !bytes.HasPrefix(k, IVFPartsPrefix(1, 2)) || !bytes.HasPrefix(k, NamespaceDataPrefix(1, 2)) {
		t.Fatalf("part key %x outside its prefixes", k)
	}
	if gen, err := IVFPartGen(k); err != nil || gen != 0x0102030405060708 {
		t.Fatalf("IVFPartGen = %x, %v", gen, err)
	}
	if _, err := IVFPartGen(IVFHeaderKey(1, 2)); err == nil {
		t.Error("IVFPartGen accepted a header key")
	}
	// IVF keys never parse as record keys, so record scans skip them.
	for _, k := range [][]byte{k, IVFHeaderKey(1, 2)} {
		if bytes.HasPrefix(k, VectorPrefix(1, 2)) || bytes.HasPrefix(k, MetadataPrefix(1, 2)) {
			t.Errorf("IVF key %x inside a record range", k)
		}
		if _, err := RecordIDFromKey(k); err == nil {
			t.Errorf("IVF key %x parses as a record key", k)
		}
	}
	if VectorCRC([]float32{1, 2}) == VectorCRC([]float32{2, 1}) {
		t.Error("VectorCRC ignores order")
	}
}

// FuzzDecodeIVF: arbitrary header and body bytes never panic, and what
// decodes survives a re-encode (varints need not be minimal in the input,
// so the bytes may differ; the values may not).
func FuzzDecodeIVF(f *testing.F) {
	body := EncodeIVFBody([]float32{1, 2}, []IVFAssignment{{"a", 0, 1}})
	_, h := SplitIVFBody(body, 64)
	h.Dim, h.NList, h.NProbe = 2, 1, 1
	f.Add(h.Encode(), body)
	f.Add([]byte{1}, []byte{})
	f.Fuzz(func(t *testing.T, hb, body []byte) {
		h, err := DecodeIVFHeader(hb)
		if err != nil {
			return
		}
		// Make the checksum agree, to reach the body decoder.
		_, sums := SplitIVFBody(body, 1<<20)
		h.BodyLen, h.BodyCRC = sums.BodyLen, sums.BodyCRC
		cents, es, err := DecodeIVFBody(&h, body)
		if err != nil {
			return
		}
		as := make([]IVFAssignment, len(es))
		for i, e := range es {
			as[i] = IVFAssignment{ID: string(e.ID), List: e.List, CRC: e.CRC}
		}
		again := EncodeIVFBody(cents, as)
		_, sums = SplitIVFBody(again, 1<<20)
		h.BodyLen, h.BodyCRC = sums.BodyLen, sums.BodyCRC
		cents2, es2, err := DecodeIVFBody(&h, again)
		if err != nil || len(cents2) != len(cents) || len(es2) != len(es) {
			t.Fatalf("re-encoded body: %v, %d centroids, %d entries", err, len(cents2), len(es2))
		}
		for i := range cents {
			if math.Float32bits(cents[i]) != math.Float32bits(cents2[i]) {
				t.Fatalf("centroid %d changed", i)
			}
		}
		for i := range es {
			if !bytes.Equal(es[i].ID, es2[i].ID) || es[i].List != es2[i].List || es[i].CRC != es2[i].CRC {
				t.Fatalf("entry %d changed", i)
			}
		}
	})
}
