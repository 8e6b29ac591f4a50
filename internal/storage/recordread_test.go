package storage

import (
	"context"
	"reflect"
	"testing"
)

// TestReadRecord: the readers return what was stored, headers without
// decoding the values, and report a missing record as not found.
func TestReadRecord(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	md := map[string]any{"k": "v", "n": 2.0}
	mdb, err := AppendMetadata(nil, md, 17)
	if err != nil {
		t.Fatal(err)
	}
	vr := VectorRecord{Values: []float32{1, 2, 3}, SparseIndices: []uint32{4, 9}, SparseValues: []float32{.5, .25}}
	err = s.Update(ctx, func(tx *Txn) error {
		if err := tx.Set(VectorKey(1, 2, "a"), AppendVector(nil, &vr)); err != nil {
			return err
		}
		if err := tx.Set(MetadataKey(1, 2, "a"), mdb); err != nil {
			return err
		}
		return tx.Set(VectorKey(1, 2, "b"), AppendVector(nil, &VectorRecord{Values: []float32{0, 0, 1}}))
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Txn) error {
		if h, ok, err := ReadRecordHeader(tx, 1, 2, "a"); err != nil || !ok || h != (RecordHeader{Dim: 3, NNZ: 2, HasMetadata: true, MetadataJSONSize: 17}) {
			t.Errorf("header of a: %+v %v %v", h, ok, err)
		}
		if h, ok, err := ReadRecordHeader(tx, 1, 2, "b"); err != nil || !ok || h != (RecordHeader{Dim: 3}) {
			t.Errorf("header of b: %+v %v %v", h, ok, err)
		}
		want := StoredRecord{Values: vr.Values, SparseIndices: vr.SparseIndices, SparseValues: vr.SparseValues, Metadata: md}
		if r, ok, err := ReadRecord(tx, 1, 2, "a", true); err != nil || !ok || !reflect.DeepEqual(r, want) {
			t.Errorf("a: %+v %v %v", r, ok, err)
		}
		if r, ok, err := ReadRecord(tx, 1, 2, "a", false); err != nil || !ok || !reflect.DeepEqual(r, StoredRecord{Metadata: md}) {
			t.Errorf("a without values: %+v %v %v", r, ok, err)
		}
		if r, ok, err := ReadRecord(tx, 1, 2, "b", true); err != nil || !ok || r.Metadata != nil || r.SparseIndices != nil {
			t.Errorf("b: %+v %v %v", r, ok, err)
		}
		if got, size, err := ReadMetadata(tx, 1, 2, "a"); err != nil || size != 17 || !reflect.DeepEqual(got, md) {
			t.Errorf("metadata of a: %v %d %v", got, size, err)
		}
		for _, id := range []string{"c", ""} {
			if _, ok, err := ReadRecordHeader(tx, 1, 2, id); err != nil || ok {
				t.Errorf("header of missing %q: %v %v", id, ok, err)
			}
			if _, ok, err := ReadRecord(tx, 1, 3, id, true); err != nil || ok {
				t.Errorf("missing %q: %v %v", id, ok, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
