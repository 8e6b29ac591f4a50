package stream

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// write makes a stream of items with the given header.
func write(t testing.TB, kind byte, header []byte, items [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, kind, header)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := w.Append(func(b []byte) []byte { return append(b, it...) }); err != nil {
			t.Fatal(err)
		}
	}
	tot, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if tot.Bytes != int64(buf.Len()) || tot.Items != int64(len(items)) {
		t.Fatalf("totals %+v for %d bytes, %d items", tot, buf.Len(), len(items))
	}
	return buf.Bytes()
}

// readAll reads a whole stream.
func readAll(b []byte, kind byte) (header []byte, items [][]byte, err error) {
	r, header, err := NewReader(bytes.NewReader(b), kind)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for {
		it, err := r.Next()
		if err == io.EOF {
			return header, items, nil
		}
		if err != nil {
			return header, items, err
		}
		items = append(items, bytes.Clone(it))
	}
}

func randItems(r *rand.Rand, n, maxSize int) [][]byte {
	items := make([][]byte, n)
	for i := range items {
		items[i] = make([]byte, r.IntN(maxSize+1))
		for j := range items[i] {
			items[i][j] = byte(r.IntN(16)) // compressible, a little
		}
	}
	return items
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ n, size int }{{0, 0}, {1, 0}, {3, 10}, {1000, 3000}, {5, 3 << 20}} {
		items := randItems(r, c.n, c.size)
		b := write(t, KindNamespace, []byte(`{"h":1}`), items)
		h, got, err := readAll(b, KindNamespace)
		if err != nil {
			t.Fatalf("%d items of up to %d bytes: %v", c.n, c.size, err)
		}
		if string(h) != `{"h":1}` || len(got) != len(items) {
			t.Fatalf("header %q, %d items; want %d", h, len(got), len(items))
		}
		for i := range items {
			if !bytes.Equal(got[i], items[i]) {
				t.Fatalf("item %d differs", i)
			}
		}
	}
}

func TestItemTooLarge(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, KindBackup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(func(b []byte) []byte { return append(b, make([]byte, MaxBlock)...) }); err == nil {
		t.Fatal("an item of MaxBlock bytes was accepted")
	}
	// The writer is still usable, and the stream still valid.
	if err := w.Append(func(b []byte) []byte { return append(b, 'x') }); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, items, err := readAll(buf.Bytes(), KindBackup); err != nil || len(items) != 1 {
		t.Fatalf("%d items, %v", len(items), err)
	}
}

// TestLargeItemAfterOthers: an item near the limit after a nearly full
// block starts a block of its own rather than overflowing one.
func TestLargeItemAfterOthers(t *testing.T) {
	items := [][]byte{make([]byte, blockTarget-100), make([]byte, MaxBlock-32), {1}}
	_, got, err := readAll(write(t, KindBackup, nil, items), KindBackup)
	if err != nil || len(got) != 3 || len(got[1]) != MaxBlock-32 {
		t.Fatalf("%d items, %v", len(got), err)
	}
}

func TestWrongKindAndVersion(t *testing.T) {
	b := write(t, KindBackup, nil, [][]byte{[]byte("a")})
	if _, _, err := readAll(b, KindNamespace); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("backup read as export: %v", err)
	}
	v := bytes.Clone(b)
	v[len(magic)+1] = Version + 1
	if _, _, err := readAll(v, KindBackup); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("newer version: %v", err)
	}
	if _, _, err := readAll([]byte("not a stream at all"), KindBackup); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbage: %v", err)
	}
}

// TestTruncated cuts a stream at every length: each must fail, never
// passing as complete.
func TestTruncated(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := write(t, KindNamespace, []byte("header"), randItems(r, 40, 200))
	for n := range len(b) {
		if _, _, err := readAll(b[:n], KindNamespace); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d of %d: %v", n, len(b), err)
		}
	}
	// Appended bytes are detected too.
	if _, _, err := readAll(append(bytes.Clone(b), 0), KindNamespace); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
}

// TestBlocksTampered writes streams block by block, each block correctly
// checksummed on its own: a lost block (a gap in the sequence) or end
// counts that disagree with the blocks are detected.
func TestBlocksTampered(t *testing.T) {
	stream := func(skip int, end [3]byte) []byte {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, KindBackup, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range [][]byte{{1, 'a'}, {1, 'b'}, {1, 'c'}} {
			if i == skip {
				w.seq++ // as if the block had been cut out
				continue
			}
			w.writeBlock(typeData, p)
		}
		w.writeBlock(typeEnd, end[:])
		if err := w.enc.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if _, items, err := readAll(stream(-1, [3]byte{3, 3, 3}), KindBackup); err != nil || len(items) != 3 {
		t.Fatalf("well-formed: %d items, %v", len(items), err)
	}
	for name, b := range map[string][]byte{
		"block lost":     stream(1, [3]byte{2, 2, 2}),
		"blocks counted": stream(-1, [3]byte{4, 3, 3}),
		"items counted":  stream(-1, [3]byte{3, 2, 3}),
		"bytes counted":  stream(-1, [3]byte{3, 3, 9}),
	} {
		if _, _, err := readAll(b, KindBackup); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestFlippedBytes flips each byte of a small stream in turn: the reader
// must fail or, where zstd absorbs the change (it cannot here: every
// payload byte is under a CRC), return exactly the original.
func TestFlippedBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	items := randItems(r, 20, 100)
	b := write(t, KindNamespace, []byte("hdr"), items)
	for i := range b {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			c := bytes.Clone(b)
			c[i] ^= mask
			h, got, err := readAll(c, KindNamespace)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("flip %#x at %d: untyped error %v", mask, i, err)
				}
				continue
			}
			if string(h) != "hdr" || len(got) != len(items) {
				t.Fatalf("flip %#x at %d passed with different content", mask, i)
			}
			for j := range got {
				if !bytes.Equal(got[j], items[j]) {
					t.Fatalf("flip %#x at %d passed with item %d changed", mask, i, j)
				}
			}
		}
	}
}

// FuzzReader: arbitrary bytes never panic, and reading stays within the
// block limit.
func FuzzReader(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	f.Add(write(f, KindNamespace, []byte("h"), randItems(r, 10, 50)))
	f.Add(write(f, KindNamespace, nil, nil))
	f.Add([]byte(magic + "N\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, items, err := readAll(b, KindNamespace)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("untyped error %v", err)
		}
		for _, it := range items {
			if len(it) > MaxBlock {
				t.Fatalf("item of %d bytes", len(it))
			}
		}
	})
}
