package transfer

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"a<b&c>":        `"a<b&c>"`,
		`q"b\`:          `"q\"b\\"`,
		"n\nr\rt\t":     `"n\nr\rt\t"`,
		"\x00\x1f":      `"\u0000\u001f"`,
		"é\u2028\u2029": `"é\u2028\u2029"`,
	} {
		if got := string(appendJSONString(nil, []byte(in))); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

func TestJSONLSinkLines(t *testing.T) {
	var buf bytes.Buffer
	s := NewJSONLSink(&buf)
	if err := s.Begin(nil); err != nil {
		t.Fatal(err)
	}
	v := view(t, []float32{0.1, -2}, []uint32{3, 7}, []float32{0.5, 1e-7})
	if err := s.Add([]byte("a"), &v, []byte(`{"genre":"drama"}`)); err != nil {
		t.Fatal(err)
	}
	plain := view(t, []float32{1, 0}, nil, nil)
	if err := s.Add([]byte("b"), &plain, nil); err != nil {
		t.Fatal(err)
	}
	tot, err := s.End()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"a","values":[0.1,-2],"sparseValues":{"indices":[3,7],"values":[0.5,1e-07]},"metadata":{"genre":"drama"}}` + "\n" +
		`{"id":"b","values":[1,0]}` + "\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if tot.Records != 2 || tot.RawBytes != int64(len(want)) || tot.Bytes != tot.RawBytes {
		t.Fatalf("totals %+v", tot)
	}
	if err := s.Add([]byte{0xff}, &plain, nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("an id that is not UTF-8: %v", err)
	}
}

// readAll reads every record of a JSON Lines source.
func readAll(t *testing.T, r io.Reader) ([]Record, []int, error) {
	t.Helper()
	src := NewJSONLSource(r)
	defer src.Close()
	var recs []Record
	var pos []int
	for {
		rec, p, err := src.Next()
		if err == io.EOF {
			return recs, pos, nil
		}
		if err != nil {
			return recs, pos, err
		}
		recs, pos = append(recs, rec), append(pos, p)
	}
}

func TestJSONLSourceLines(t *testing.T) {
	in := "\uFEFF{\"id\":\"a\",\"values\":[1, 2 ]}\n\n  \n" +
		`{"ID":"b","values":[3,4],"sparse_values":{"indices":[1],"values":[0.5]},"metadata":{"k":1}}` + "\n" +
		`{"id":"c","values":[5,6],"sparseValues":{}}`
	recs, pos, err := readAll(t, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{ID: "a", Values: []float32{1, 2}},
		{ID: "b", Values: []float32{3, 4}, Sparse: &Sparse{Indices: []uint32{1}, Values: []float32{0.5}}, Metadata: map[string]any{"k": 1.0}},
		{ID: "c", Values: []float32{5, 6}, Sparse: &Sparse{}},
	}
	if !reflect.DeepEqual(recs, want) || !reflect.DeepEqual(pos, []int{1, 4, 5}) {
		t.Fatalf("got %+v at %v", recs, pos)
	}
	src := NewJSONLSource(strings.NewReader(in))
	for {
		if _, _, err := src.Next(); err != nil {
			break
		}
	}
	tot, _ := src.End()
	if tot.Records != 3 || tot.RawBytes != int64(len(in)) || src.Sorted() || src.Field(4) != "lines[4]." {
		t.Fatalf("totals %+v", tot)
	}
}

func TestJSONLSourceRefuses(t *testing.T) {
	for name, line := range map[string]string{
		"not an object":    `[1]`,
		"unknown field":    `{"id":"a","values":[1],"x":1}`,
		"wrong type":       `{"id":1,"values":[1]}`,
		"trailing data":    `{"id":"a","values":[1]} {}`,
		"float32 range":    `{"id":"a","values":[1e39]}`,
		"not numbers":      `{"id":"a","values":["1"]}`,
		"not UTF-8":        "{\"id\":\"\xff\",\"values\":[1]}",
		"lone surrogate":   `{"id":"\ud800","values":[1]}`,
		"both spellings":   `{"id":"a","values":[1],"sparseValues":{},"sparse_values":{}}`,
		"nested garbage":   `{"id":"a","values":[1,]}`,
		"half an object":   `{"id":"a"`,
		"a bare null":      `null`,
		"values an object": `{"id":"a","values":{}}`,
	} {
		_, _, err := readAll(t, strings.NewReader(`{"id":"ok","values":[1]}`+"\n"+line+"\n"))
		var se *StreamError
		if !errors.As(err, &se) || se.Line != 2 || se.Block != -1 || se.Item != -1 {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, _, err := readAll(t, strings.NewReader(strings.Repeat(" ", MaxLine+1)))
	var se *StreamError
	if !errors.As(err, &se) || se.Line != 1 || !strings.Contains(se.Reason, "longer than") {
		t.Errorf("a long line: %v", err)
	}
	cause := errors.New("checksum mismatch")
	_, _, err = readAll(t, io.MultiReader(strings.NewReader(`{"id":"a","values":[1]}`+"\n{"), iotest.ErrReader(cause)))
	if !errors.As(err, &se) || se.Line != 2 || !errors.Is(err, cause) {
		t.Errorf("a reader's error: %v", err)
	}
}

func TestLoneSurrogate(t *testing.T) {
	for in, want := range map[string]bool{
		`"\ud83d\ude00"`: false,
		`"\ud83d"`:       true,
		`"\ude00"`:       true,
		`"\ud83d\u0041"`: true,
		`"\\ud83d"`:      false, // an escaped backslash, then text
		`"\n\u0041"`:     false,
		`"\uDBFF\uDFFF"`: false,
	} {
		if got := loneSurrogate([]byte(in)); got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}

func TestJSONFloats(t *testing.T) {
	for in, want := range map[string][]float32{
		`[]`:                  nil, // (*f)[:0] of a nil f
		` [ 1 , -2.5e1 ,3 ] `: {1, -25, 3},
		`[1e-50]`:             {0},
		`null`:                nil,
	} {
		var f jsonFloats
		if err := f.UnmarshalJSON([]byte(in)); err != nil || !reflect.DeepEqual([]float32(f), want) {
			t.Errorf("%s: %v, %v", in, f, err)
		}
	}
	for _, in := range []string{`{}`, `[true]`, `["1"]`, `[1e39]`, `[,1]`} {
		var f jsonFloats
		if err := f.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("%s decoded as %v", in, f)
		}
	}
}
