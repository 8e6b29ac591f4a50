package transfer

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	v := view(t, []float32{1, -2.5, 3}, []uint32{4, 9}, []float32{0.5, 0.25})
	item := AppendRecord([]byte("prefix"), []byte("id-1"), &v, []byte(`{"genre":"drama","n":2}`))
	if !bytes.HasPrefix(item, []byte("prefix")) {
		t.Fatal("AppendRecord overwrote its destination")
	}
	got, err := DecodeRecord(item[len("prefix"):], 3)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{ID: "id-1", Values: []float32{1, -2.5, 3}, Sparse: &Sparse{Indices: []uint32{4, 9}, Values: []float32{0.5, 0.25}},
		Metadata: map[string]any{"genre": "drama", "n": 2.0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}

	plain := view(t, []float32{1}, nil, nil)
	got, err = DecodeRecord(AppendRecord(nil, []byte("a"), &plain, nil), 1)
	if err != nil || got.Sparse != nil || got.Metadata != nil {
		t.Fatalf("a record without sparse values or metadata: %+v, %v", got, err)
	}
}

// TestRecordBytes pins the export form of a record: streams written
// before must read back identically.
func TestRecordBytes(t *testing.T) {
	v := view(t, []float32{1}, []uint32{2}, []float32{-1})
	got := AppendRecord(nil, []byte("a"), &v, []byte(`{}`))
	want := []byte{
		1, 'a', // id
		0x00, 0x00, 0x80, 0x3f, // 1.0
		1, 2, 0, 0, 0, 0x00, 0x00, 0x80, 0xbf, // nnz, index 2, -1.0
		2, '{', '}', // metadata
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

func TestDecodeRecordRefuses(t *testing.T) {
	v := view(t, []float32{1, 2}, []uint32{1}, []float32{3})
	good := AppendRecord(nil, []byte("ab"), &v, []byte(`{"k":"v"}`))
	for i := range len(good) {
		_, err := DecodeRecord(good[:i], 2)
		var se *StreamError
		if !errors.As(err, &se) || se.Block != -1 || se.Item != -1 {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
	plain := view(t, []float32{1, 2}, nil, nil)
	for _, md := range []string{`{"`, `null`, `[1]`} {
		if _, err := DecodeRecord(AppendRecord(nil, []byte("a"), &plain, []byte(md)), 2); err == nil {
			t.Errorf("metadata %s decoded", md)
		}
	}
	if _, err := DecodeRecord(append(bytes.Clone(good), 0), 2); err == nil {
		t.Error("a record with a trailing byte decoded")
	}
}
