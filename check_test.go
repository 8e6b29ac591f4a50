package vectordb

import (
	"errors"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// TestCheckFindsDamage damages a healthy database in one way at a time,
// behind the API's back, and expects Check to name the damage.
func TestCheckFindsDamage(t *testing.T) {
	vec := storage.AppendVector(nil, &storage.VectorRecord{Values: []float32{1, 2, 3, 4}})
	cases := []struct {
		name, want string
		damage     func(t *testing.T, db *DB, ns *namespaceState)
	}{
		{"healthy", "", func(*testing.T, *DB, *namespaceState) {}},
		{"orphan data", "belongs to no namespace", func(t *testing.T, db *DB, ns *namespaceState) {
			set(t, db, storage.VectorKey(ns.ix.id, ns.id+100, "x"), vec)
		}},
		{"record the counters miss", "stored records|stored record \"sneaked-in\" is not in the hot segment", func(t *testing.T, db *DB, ns *namespaceState) {
			set(t, db, storage.VectorKey(ns.ix.id, ns.id, "sneaked-in"), vec)
		}},
		{"metadata without record", "metadata without a record", func(t *testing.T, db *DB, ns *namespaceState) {
			md, err := storage.AppendMetadata(nil, map[string]any{"k": "v"}, 9)
			if err != nil {
				t.Fatal(err)
			}
			set(t, db, storage.MetadataKey(ns.ix.id, ns.id, "ghost"), md)
		}},
		{"hot segment drifted", "differ from the stored", func(t *testing.T, db *DB, ns *namespaceState) {
			seg := ns.seg.Load()
			seg.Lock()
			slot, _ := seg.SlotLocked("b")
			seg.RowLocked(slot)[0] += 1
			seg.Unlock()
		}},
		{"hot segment lost a record", "not in the hot segment", func(t *testing.T, db *DB, ns *namespaceState) {
			seg := ns.seg.Load()
			seg.Lock()
			seg.DeleteLocked("a")
			seg.Unlock()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openDir(t, t.TempDir(), nil)
			defer db.Close()
			ix := mustIndex(t, db, "ix", 4, Euclidean)
			h := ix.Namespace("t")
			if _, err := h.Upsert(ctx, []Record{
				{ID: "a", Values: []float32{1, 2, 3, 4}, Metadata: Metadata{"k": "v"}},
				{ID: "b", Values: []float32{4, 3, 2, 1}},
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Query(ctx, QueryRequest{Vector: []float32{1, 2, 3, 4}, TopK: 1}); err != nil {
				t.Fatal(err) // now hot
			}
			c.damage(t, db, ix.ix.lookup("t"))
			err := db.Check(ctx)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("healthy database: %v", err)
			case c.want != "" && (!errors.Is(err, ErrCorrupt) || !containsAny(err.Error(), strings.Split(c.want, "|"))):
				t.Fatalf("Check = %v, want ErrCorrupt mentioning %q", err, c.want)
			}
		})
	}
}

func set(t *testing.T, db *DB, k, v []byte) {
	t.Helper()
	if err := db.store.Update(ctx, func(tx *storage.Txn) error { return tx.Set(k, v) }); err != nil {
		t.Fatal(err)
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
