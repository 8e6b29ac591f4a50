package format

import (
	"bytes"
	"io"
	"testing"
)

func TestFromFileName(t *testing.T) {
	for name, want := range map[string]Format{
		"t.vdbx":          {},
		"t.gz":            {},
		"t.jsonl":         {JSONL: true},
		"T.JSONL.GZ":      {JSONL: true, Compression: "gzip"},
		"dir/t.jsonl.zst": {JSONL: true, Compression: "zstd"},
		"t.ndjson":        {JSONL: true},
		"t.jsonl.bak":     {},
	} {
		if got := FromFileName(name); got != want {
			t.Errorf("FromFileName(%q) = %+v, want %+v", name, got, want)
		}
	}
}

func TestParseAndRoundTrip(t *testing.T) {
	for _, name := range []string{"native", "jsonl", "jsonl.gz", "jsonl.zst"} {
		f, err := Parse(name)
		if err != nil || f.String() != name {
			t.Fatalf("Parse(%q) = %v, %v", name, f, err)
		}
		var buf bytes.Buffer
		w, err := f.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "hello\n")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if f.Compression != "" && bytes.Equal(buf.Bytes(), []byte("hello\n")) {
			t.Fatalf("%s: not compressed", name)
		}
		r, err := f.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != "hello\n" {
			t.Fatalf("%s: read back %q, %v", name, got, err)
		}
	}
	if f, err := Parse(""); err != nil || f != (Format{}) {
		t.Fatalf(`Parse("") = %v, %v`, f, err)
	}
	if _, err := Parse("csv"); err == nil {
		t.Fatal(`Parse("csv") succeeded`)
	}
}
