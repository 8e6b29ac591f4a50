package storage

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestKeyLayoutGolden pins the on-disk key layout: changing it is a format
// change and must bump FormatVersion.
func TestKeyLayoutGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		key  []byte
		hex  string
	}{
		{"format", FormatKey(), "0166"},
		{"index seq", IndexSeqKey(), "0169"},
		{"namespace seq", NamespaceSeqKey(7), "016e00000007"},
		{"index", IndexKey("docs"), "02646f6373"},
		{"namespace", NamespaceKey(1, "t1"), "03000000017431"},
		{"stats", StatsKey(1, 2), "040000000100000002"},
		{"read units", ReadUnitsKey(1, 2), "050000000100000002"},
		{"drop", DropKey(3), "060000000000000003"},
		{"index data", IndexDataPrefix(1), "1000000001"},
		{"namespace data", NamespaceDataPrefix(1, 2), "100000000100000002"},
		{"vector", VectorKey(1, 2, "a"), "10000000010000000276" + "61"},
		{"metadata", MetadataKey(1, 2, "a"), "1000000001000000026d" + "61"},
	} {
		if got := hex.EncodeToString(c.key); got != c.hex {
			t.Errorf("%s key = %s, want %s", c.name, got, c.hex)
		}
	}
}

// TestNamespacePrefixesDisjoint checks the isolation property the layout
// exists for: no namespace's data prefix is a prefix of another's, and no
// record key of one namespace falls under another's prefix, whatever the
// ids.
func TestNamespacePrefixesDisjoint(t *testing.T) {
	ids := []uint32{0, 1, 2, 255, 256, 1 << 24, 0xffffffff}
	for _, ix1 := range ids {
		for _, ns1 := range ids {
			p1 := NamespaceDataPrefix(ix1, ns1)
			for _, ix2 := range ids {
				for _, ns2 := range ids {
					if ix1 == ix2 && ns1 == ns2 {
						continue
					}
					k := VectorKey(ix2, ns2, "\x00\xff")
					if bytes.HasPrefix(k, p1) {
						t.Fatalf("key of (%d,%d) under prefix of (%d,%d)", ix2, ns2, ix1, ns1)
					}
				}
			}
		}
	}
}

func TestKeyParsers(t *testing.T) {
	ix, name, err := NamespaceFromKey(NamespaceKey(9, "a\x00b"))
	if err != nil || ix != 9 || name != "a\x00b" {
		t.Fatalf("NamespaceFromKey = %d %q %v", ix, name, err)
	}
	if n, err := IndexNameFromKey(IndexKey("x-1")); err != nil || n != "x-1" {
		t.Fatalf("IndexNameFromKey = %q %v", n, err)
	}
	a, b, err := IDPairFromKey(StatsKey(4, 5))
	if err != nil || a != 4 || b != 5 {
		t.Fatalf("IDPairFromKey = %d %d %v", a, b, err)
	}
	if id, err := DropIDFromKey(DropKey(1 << 40)); err != nil || id != 1<<40 {
		t.Fatalf("DropIDFromKey = %d %v", id, err)
	}
	for _, k := range []string{"v", "metadata"} {
		key := VectorKey(1, 2, "rec")
		if k == "metadata" {
			key = MetadataKey(1, 2, "rec")
		}
		if id, err := RecordIDFromKey(key); err != nil || string(id) != "rec" {
			t.Fatalf("RecordIDFromKey(%s) = %q %v", k, id, err)
		}
	}
	for _, bad := range [][]byte{nil, {tagData}, StatsKey(1, 2), NamespaceDataPrefix(1, 2)} {
		if _, err := RecordIDFromKey(bad); err != ErrBadKey {
			t.Errorf("RecordIDFromKey(%x) err = %v, want ErrBadKey", bad, err)
		}
	}
	if _, _, err := NamespaceFromKey([]byte{tagNamespace, 0}); err != ErrBadKey {
		t.Errorf("short namespace key: err = %v", err)
	}
	if _, _, err := IDPairFromKey(DropKey(1)); err != ErrBadKey {
		t.Errorf("IDPairFromKey(drop key): err = %v", err)
	}
}

// FuzzKeys: keys round-trip through their parsers, a namespace's keys
// never fall under another namespace's prefix whatever the id's bytes,
// and the parsers never panic on arbitrary bytes.
func FuzzKeys(f *testing.F) {
	f.Add(uint32(1), uint32(2), "doc-1", []byte{0x10, 0, 0, 0, 1})
	f.Add(uint32(0xffffffff), uint32(0), "\x00\xff/..", []byte{})
	f.Fuzz(func(t *testing.T, ix, ns uint32, id string, raw []byte) {
		for _, k := range [][]byte{VectorKey(ix, ns, id), MetadataKey(ix, ns, id)} {
			if !bytes.HasPrefix(k, NamespaceDataPrefix(ix, ns)) || !bytes.HasPrefix(k, IndexDataPrefix(ix)) {
				t.Fatalf("key %x outside its namespace's prefix", k)
			}
			if bytes.HasPrefix(k, NamespaceDataPrefix(ix, ns+1)) || bytes.HasPrefix(k, NamespaceDataPrefix(ix+1, ns)) {
				t.Fatalf("key %x under another namespace's prefix", k)
			}
			if id != "" {
				got, err := RecordIDFromKey(k)
				if err != nil || string(got) != id {
					t.Fatalf("RecordIDFromKey(%x) = %q, %v; want %q", k, got, err, id)
				}
			}
			gix, gns, err := DataIDPairFromKey(k)
			if err != nil || gix != ix || gns != ns {
				t.Fatalf("DataIDPairFromKey(%x) = %d, %d, %v", k, gix, gns, err)
			}
		}
		gix, name, err := NamespaceFromKey(NamespaceKey(ix, id))
		if err != nil || gix != ix || name != id {
			t.Fatalf("NamespaceFromKey round trip: %d %q %v", gix, name, err)
		}
		gix, gns, err := IDPairFromKey(StatsKey(ix, ns))
		if err != nil || gix != ix || gns != ns {
			t.Fatalf("IDPairFromKey round trip: %d %d %v", gix, gns, err)
		}
		// Arbitrary bytes: errors, never panics.
		RecordIDFromKey(raw)
		DataIDPairFromKey(raw)
		NamespaceFromKey(raw)
		IDPairFromKey(raw)
		DropIDFromKey(raw)
		IndexNameFromKey(raw)
	})
}
