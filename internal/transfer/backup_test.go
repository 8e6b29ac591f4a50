package transfer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// keys returns every key and value of st.
func keys(t *testing.T, st *storage.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := st.View(func(tx *storage.Txn) error {
		return tx.Iterate(storage.IterOptions{}, func(k, v []byte) (bool, error) {
			out[string(k)] = string(v)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBackupRestorePairs(t *testing.T) {
	st := openStore(t)
	putRecords(t, st, 4, 2, 4)
	ixRec := storage.IndexRecord{ID: 1, Dimension: 2, Metric: "cosine"}
	nsRec := storage.NamespaceRecord{ID: 2}
	err := st.Update(ctx, func(tx *storage.Txn) error {
		for k, v := range map[string][]byte{
			string(storage.IndexKey("ix")):       ixRec.Encode(),
			string(storage.NamespaceKey(1, "n")): nsRec.Encode(),
			string(storage.StagingKey(1, 3)):     nil,
			string(storage.VectorKey(1, 3, "s")): []byte("staged"),
			string(storage.VectorKey(1, 4, "d")): []byte("dropped"),
		} {
			if err := tx.Set([]byte(k), v); err != nil {
				return err
			}
		}
		drop := storage.DropRecord{Prefixes: [][]byte{storage.NamespaceDataPrefix(1, 4)}}
		return tx.Set(storage.DropKey(9), drop.Encode())
	})
	if err != nil {
		t.Fatal(err)
	}
	want := keys(t, st)
	for k := range want {
		for _, p := range [][]byte{storage.DropPrefix(), storage.StagingPrefix(), storage.NamespaceDataPrefix(1, 3), storage.NamespaceDataPrefix(1, 4)} {
			if bytes.HasPrefix([]byte(k), p) {
				delete(want, k)
			}
		}
	}

	var buf bytes.Buffer
	tx := st.Snapshot()
	hdr, tot, err := Backup(ctx, tx, &buf)
	tx.Discard()
	if err != nil {
		t.Fatal(err)
	}
	if tot.Records != int64(len(want)) || tot.Bytes != int64(buf.Len()) {
		t.Fatalf("totals %+v for %d keys", tot, len(want))
	}
	if !reflect.DeepEqual(hdr.Indexes, []IndexInfo{{Name: "ix", Dimension: 2, Metric: "cosine", Namespaces: 1}}) || hdr.StorageFormat != storage.FormatVersion {
		t.Fatalf("header %+v", hdr)
	}

	sr, got, err := OpenBackup(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	if !got.CreatedAt.Equal(hdr.CreatedAt) || !reflect.DeepEqual(got.Indexes, hdr.Indexes) {
		t.Fatalf("read header %+v, wrote %+v", got, hdr)
	}
	dst := openStore(t)
	if err := RestorePairs(ctx, dst, sr); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys(t, dst), want) {
		t.Fatalf("restored %d keys, want %d", len(keys(t, dst)), len(want))
	}

	// A backup given as an export, and the reverse.
	var se *StreamError
	if _, _, err := OpenExport(bytes.NewReader(buf.Bytes())); !errors.As(err, &se) {
		t.Fatalf("a backup opened as an export: %v", err)
	}
	if _, _, err := OpenBackup(bytes.NewReader(writeExport(t, 0))); !errors.As(err, &se) {
		t.Fatalf("an export opened as a backup: %v", err)
	}
}

func TestMoveInto(t *testing.T) {
	root := t.TempDir()
	tmp, dir := filepath.Join(root, "tmp"), filepath.Join(root, "dir")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil { // empty: replaced
		t.Fatal(err)
	}
	if err := MoveInto(tmp, dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "x" {
		t.Fatalf("moved: %q, %v", b, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("tmp remains: %v", err)
	}
}
