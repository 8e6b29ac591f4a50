package transfer

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// putRecords writes records "r0".. of dimension dim under namespace
// (1, 2), every other one with metadata, and counters saying count.
func putRecords(t *testing.T, st *storage.Store, n, dim int, count uint64) {
	t.Helper()
	err := st.Update(ctx, func(tx *storage.Txn) error {
		for i := range n {
			id := string(rune('a' + i))
			v := storage.AppendVector(nil, &storage.VectorRecord{Values: make([]float32, dim)})
			if err := tx.Set(storage.VectorKey(1, 2, id), v); err != nil {
				return err
			}
			if i%2 == 0 {
				md, err := storage.AppendMetadata(nil, map[string]any{"i": float64(i)}, 7)
				if err != nil {
					return err
				}
				if err := tx.Set(storage.MetadataKey(1, 2, id), md); err != nil {
					return err
				}
			}
		}
		stats := storage.Stats{Records: count}
		return tx.Set(storage.StatsKey(1, 2), stats.Encode())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func exportStore(st *storage.Store, dim int) ([]byte, Totals, error) {
	var buf bytes.Buffer
	t := st.Snapshot()
	defer t.Discard()
	tot, err := Export(ctx, t, &Namespace{IndexID: 1, NamespaceID: 2, Index: "ix", Dimension: dim, Metric: "cosine", Name: "n"}, NewStreamSink(&buf))
	return buf.Bytes(), tot, err
}

func TestExportSnapshot(t *testing.T) {
	st := openStore(t)
	putRecords(t, st, 5, 3, 5)
	b, tot, err := exportStore(st, 3)
	if err != nil || tot.Records != 5 {
		t.Fatalf("%+v, %v", tot, err)
	}
	src, hdr, err := OpenExport(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if hdr.Records != 5 || hdr.Index != "ix" || hdr.Namespace != "n" || hdr.Dimension != 3 || hdr.Metric != "cosine" || hdr.Format != 1 {
		t.Fatalf("header %+v", hdr)
	}
	for i := 0; ; i++ {
		rec, _, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.ID != string(rune('a'+i)) || len(rec.Values) != 3 || (rec.Metadata != nil) != (i%2 == 0) {
			t.Fatalf("record %d: %+v", i, rec)
		}
		if i%2 == 0 && rec.Metadata["i"] != float64(i) {
			t.Fatalf("record %d: metadata %v", i, rec.Metadata)
		}
	}
}

func TestExportSnapshotRefusesBadData(t *testing.T) {
	st := openStore(t)
	putRecords(t, st, 3, 2, 4)
	var de *DataError
	if _, _, err := exportStore(st, 2); !errors.As(err, &de) || de.Reason != `namespace "n" holds 3 records, its counter says 4` {
		t.Fatalf("counter differs: %v", err)
	}
	st = openStore(t)
	putRecords(t, st, 3, 2, 3)
	if _, _, err := exportStore(st, 4); !errors.As(err, &de) || de.Reason != `record "a" has dimension 2 in an index of dimension 4` {
		t.Fatalf("dimension differs: %v", err)
	}
}
