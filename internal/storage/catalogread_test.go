package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// TestReadCatalog: what ReadCatalog decodes is what was stored, the
// entries of an index that is gone are skipped, and a missing or damaged
// entry is a *CorruptError naming it.
func TestReadCatalog(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	ir := IndexRecord{ID: 3, Dimension: 4, Metric: "cosine", Tags: map[string]string{"a": "b"}, CreatedAt: 7}
	nr := NamespaceRecord{ID: 5, CreatedAt: 9, MaxRecords: 10}
	st := Stats{Records: 2, Bytes: 100, WriteUnits: 6}
	put := func(kv ...[]byte) {
		t.Helper()
		err := s.Update(ctx, func(tx *Txn) error {
			for i := 0; i < len(kv); i += 2 {
				if err := tx.Set(kv[i], kv[i+1]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	read := func(check func(string, *IndexRecord) error) (cat *Catalog, err error) {
		t.Helper()
		if check == nil {
			check = func(string, *IndexRecord) error { return nil }
		}
		verr := s.View(func(tx *Txn) error {
			cat, err = ReadCatalog(tx, check)
			return nil
		})
		if verr != nil {
			t.Fatal(verr)
		}
		return cat, err
	}
	corrupt := func(want string) {
		t.Helper()
		var ce *CorruptError
		if _, err := read(nil); !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.What != want {
			t.Fatalf("got %v, want a *CorruptError %q", err, want)
		}
	}

	corrupt("index sequence missing")
	put(IndexSeqKey(), []byte{1})
	corrupt("index sequence: storage: corrupt value: uint32 value")
	put(IndexSeqKey(), EncodeUint32(4), IndexKey("ix"), ir.Encode())
	corrupt(`namespace sequence of index "ix" missing`)
	put(NamespaceSeqKey(3), EncodeUint32(64),
		NamespaceKey(3, "t"), nr.Encode(), StatsKey(3, 5), st.Encode(), ReadUnitsKey(3, 5), EncodeUint64(8),
		// A dropped index's namespace and counters.
		NamespaceKey(2, "old"), nr.Encode(), StatsKey(2, 5), []byte{9})
	cat, err := read(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Catalog{NextIndexID: 4, Indexes: []*CatalogIndex{{
		Name: "ix", Record: ir, NextNamespaceID: 64,
		Namespaces: []*CatalogNamespace{{Name: "t", Record: nr, Stats: st, ReadUnits: 8}},
	}}}
	if !reflect.DeepEqual(cat, want) {
		t.Fatalf("catalog %+v, want %+v", cat, want)
	}
	refused := errors.New("refused")
	if _, err := read(func(name string, r *IndexRecord) error {
		if name != "ix" || r.Dimension != 4 {
			t.Errorf("check(%q, %+v)", name, r)
		}
		return refused
	}); err != refused {
		t.Fatalf("check's error: got %v", err)
	}
	put(ReadUnitsKey(3, 5), []byte{1})
	corrupt(`read units of namespace "t": storage: corrupt value: uint64 value`)
	put(StatsKey(3, 5), []byte{0})
	corrupt(`stats of namespace "t": storage: corrupt value: stats version`)
	put(NamespaceKey(3, "t"), []byte{0})
	corrupt(`namespace "t": storage: corrupt value: namespace record version`)
	put(IndexKey("ix"), []byte{0})
	corrupt(`index "ix": storage: corrupt value: index record version`)
}

// TestNamespaceLive: a namespace is live while both catalog entries name
// its generation.
func TestNamespaceLive(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	live := func(ixName string, ix uint32, name string, ns uint32) bool {
		t.Helper()
		var ok bool
		err := s.View(func(tx *Txn) (err error) {
			ok, err = NamespaceLive(tx, ixName, ix, name, ns)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	ir := IndexRecord{ID: 1, Dimension: 2, Metric: "cosine"}
	nr := NamespaceRecord{ID: 7}
	err := s.Update(ctx, func(tx *Txn) error {
		if err := tx.Set(IndexKey("ix"), ir.Encode()); err != nil {
			return err
		}
		return tx.Set(NamespaceKey(1, "t"), nr.Encode())
	})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !live("ix", 1, "t", 7):
		t.Fatal("the live namespace reads as dropped")
	case live("ix", 1, "t", 6):
		t.Fatal("an old generation reads as live")
	case live("ix", 2, "t", 7):
		t.Fatal("a namespace of a re-created index reads as live")
	case live("ix", 1, "u", 7), live("iy", 1, "t", 7):
		t.Fatal("a missing entry reads as live")
	}
}

// TestInitFormat: an empty store is initialised, once; another version,
// keys without a version and an undecodable version are refused.
func TestInitFormat(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	for range 2 {
		if err := s.InitFormat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if cat, err := func() (cat *Catalog, err error) {
		err = s.View(func(tx *Txn) (err error) {
			cat, err = ReadCatalog(tx, func(string, *IndexRecord) error { return nil })
			return err
		})
		return cat, err
	}(); err != nil || cat.NextIndexID != 1 || len(cat.Indexes) != 0 {
		t.Fatalf("initialised catalog %+v, %v", cat, err)
	}
	set := func(s *Store, k, v []byte) {
		t.Helper()
		if err := s.Update(ctx, func(tx *Txn) error { return tx.Set(k, v) }); err != nil {
			t.Fatal(err)
		}
	}
	set(s, FormatKey(), EncodeUint32(FormatVersion+1))
	var fe *FormatError
	if err := s.InitFormat(ctx); !errors.As(err, &fe) || fe.Missing || fe.Version != FormatVersion+1 {
		t.Fatalf("another version: %v", err)
	}
	set(s, FormatKey(), []byte{1})
	var ce *CorruptError
	if err := s.InitFormat(ctx); !errors.As(err, &ce) || ce.What != "format version: storage: corrupt value: uint32 value" {
		t.Fatalf("undecodable version: %v", err)
	}
	other := openTest(t, t.TempDir())
	set(other, []byte("foreign"), []byte("x"))
	if err := other.InitFormat(ctx); !errors.As(err, &fe) || !fe.Missing {
		t.Fatalf("keys without a version: %v", err)
	}
}
