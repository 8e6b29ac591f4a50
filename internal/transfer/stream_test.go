package transfer

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb/internal/stream"
)

// writeExport writes records of dimension 2 with the given ids, and a
// header announcing records of them.
func writeExport(t *testing.T, records int64, ids ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	s := NewStreamSink(&buf)
	hdr := &Header{Format: 1, Vectordb: "test", CreatedAt: time.Unix(1, 0).UTC(), Index: "ix", Dimension: 2, Metric: "cosine", Namespace: "n", Records: records}
	if err := s.Begin(hdr); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		v := view(t, []float32{float32(i), 1}, nil, nil)
		if err := s.Add([]byte(id), &v, nil); err != nil {
			t.Fatal(err)
		}
	}
	tot, err := s.End()
	if err != nil {
		t.Fatal(err)
	}
	if tot.Records != int64(len(ids)) || tot.Bytes != int64(buf.Len()) || (tot.RawBytes <= 0) != (len(ids) == 0) {
		t.Fatalf("totals %+v for %d records in %d bytes", tot, len(ids), buf.Len())
	}
	return buf.Bytes()
}

func TestStreamRoundTrip(t *testing.T) {
	b := writeExport(t, 3, "a", "b", "c")
	src, hdr, err := OpenExport(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want := Header{Format: 1, Vectordb: "test", CreatedAt: time.Unix(1, 0).UTC(), Index: "ix", Dimension: 2, Metric: "cosine", Namespace: "n", Records: 3}
	if !reflect.DeepEqual(*hdr, want) {
		t.Fatalf("header %+v, want %+v", *hdr, want)
	}
	if !src.Sorted() || src.Field(7) != "export.records[7]." {
		t.Fatal("a stream source is sorted and names records[N]")
	}
	for i, id := range []string{"a", "b", "c"} {
		rec, pos, err := src.Next()
		if err != nil || pos != i || rec.ID != id || !reflect.DeepEqual(rec.Values, []float32{float32(i), 1}) {
			t.Fatalf("record %d: %+v at %d, %v", i, rec, pos, err)
		}
	}
	if _, _, err := src.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v", err)
	}
	tot, err := src.End()
	if err != nil || tot.Records != 3 {
		t.Fatalf("End: %+v, %v", tot, err)
	}
}

// TestHeaderJSON pins the header's field names.
func TestHeaderJSON(t *testing.T) {
	b := writeExport(t, 0)
	_, raw, err := stream.NewReader(bytes.NewReader(b), stream.KindNamespace)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"format":1,"vectordb":"test","createdAt":"1970-01-01T00:00:01Z","index":"ix","dimension":2,"metric":"cosine","namespace":"n","records":0}`
	if string(raw) != want {
		t.Fatalf("header %s, want %s", raw, want)
	}
}

func TestStreamSourceRefuses(t *testing.T) {
	read := func(b []byte) error {
		src, _, err := OpenExport(bytes.NewReader(b))
		if err != nil {
			return err
		}
		defer src.Close()
		for {
			if _, _, err := src.Next(); err == io.EOF {
				_, err = src.End()
				return err
			} else if err != nil {
				return err
			}
		}
	}
	var se *StreamError
	err := read(writeExport(t, 2, "b", "a"))
	if !errors.As(err, &se) || se.Block != 1 || se.Item != 1 || !strings.Contains(se.Reason, "does not follow") {
		t.Fatalf("ids out of order: %v (%+v)", err, se)
	}
	err = read(writeExport(t, 2, "a", "a"))
	if !errors.As(err, &se) || se.Item != 1 {
		t.Fatalf("repeated id: %v", err)
	}
	err = read(writeExport(t, 3, "a"))
	if !errors.As(err, &se) || se.Block != -1 || !strings.Contains(se.Reason, "announces 3 records") {
		t.Fatalf("count differs: %v", err)
	}
	b := writeExport(t, 1, "a")
	err = read(b[:len(b)-4])
	if !errors.As(err, &se) {
		t.Fatalf("truncated: %v", err)
	}
	_, _, err = OpenExport(strings.NewReader("not a stream at all"))
	if !errors.As(err, &se) || se.Block != -1 || se.Item != -1 {
		t.Fatalf("not a stream: %v", err)
	}
	var bk bytes.Buffer
	w, _ := stream.NewWriter(&bk, stream.KindNamespace, []byte("{oops"))
	w.Close()
	_, _, err = OpenExport(&bk)
	if !errors.As(err, &se) || se.Block != 0 || !strings.HasPrefix(se.Reason, "header: ") {
		t.Fatalf("bad header: %v", err)
	}
}
