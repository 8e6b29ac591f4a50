package vectordb_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vectordb-go/vectordb"
)

// jsonlRecords is exportRecords with ids JSON can hold, some of them
// needing escapes, and floats at the edges of float32's range.
func jsonlRecords(r *rand.Rand, dim, n int) []vectordb.Record {
	recs := exportRecords(r, dim, n)
	for i := range recs {
		recs[i].ID = strings.ReplaceAll(recs[i].ID, "\xff", "\"\\\n\t<&>\u2028")
	}
	recs[0].Values[0] = math.SmallestNonzeroFloat32
	recs[0].Values[1] = 123456.79e10
	recs[0].Values[2] = -1.0 / 3
	return recs
}

func exportJSONL(t testing.TB, h *vectordb.Namespace) []byte {
	t.Helper()
	b, info := exportWith(t, h.ExportJSONL)
	if info.RawBytes != info.Bytes {
		t.Fatalf("ExportJSONL reported %+v: raw and written bytes differ", info)
	}
	return b
}

func TestJSONLRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 1))
	src := openMem(t)
	six := mustIndex(t, src, "src", 16, vectordb.DotProduct)
	h := six.Namespace("tenant")
	upsertRecords(t, h, jsonlRecords(r, 16, 300))
	want := fetchAll(t, h)
	lines := exportJSONL(t, h)

	// Pinecone's field names, one record per line, in id order.
	var ids []string
	for i, line := range bytes.Split(bytes.TrimSuffix(lines, []byte("\n")), []byte("\n")) {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(line, &fields); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		var id string
		if err := json.Unmarshal(fields["id"], &id); err != nil {
			t.Fatalf("line %d id: %v", i+1, err)
		}
		ids = append(ids, id)
		w := want[id]
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range fields {
				if !yield(k) {
					return
				}
			}
		})
		wantKeys := []string{"id", "values"}
		if w.Metadata != nil {
			wantKeys = append(wantKeys, "metadata")
		}
		if w.SparseValues != nil {
			wantKeys = append(wantKeys, "sparseValues")
		}
		slices.Sort(wantKeys)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("line %d has fields %v, want %v", i+1, keys, wantKeys)
		}
	}
	if len(ids) != 300 || !slices.IsSorted(ids) {
		t.Fatalf("%d lines, sorted %v", len(ids), slices.IsSorted(ids))
	}
	// Only what JSON requires is escaped (and U+2028, for JavaScript).
	if !bytes.Contains(lines, []byte(`\"\\\n\t<&>\u2028/id-0002"`)) {
		t.Fatalf("id escaped otherwise: %s", lines[:300])
	}

	dst := openDir(t, t.TempDir(), nil)
	defer dst.Close()
	ix := mustIndex(t, dst, "dst", 16, vectordb.DotProduct)
	info, err := ix.ImportNamespaceJSONL(ctx, "moved", bytes.NewReader(lines), nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.Records != 300 || info.RawBytes != int64(len(lines)) {
		t.Fatalf("import reported %+v for %d bytes", info, len(lines))
	}
	sameRecords(t, fetchAll(t, ix.Namespace("moved")), want)
	sd, _ := six.DescribeNamespace(ctx, "tenant")
	if d, err := ix.DescribeNamespace(ctx, "moved"); err != nil || d.RecordCount != 300 || d.Bytes != sd.Bytes {
		t.Fatalf("imported namespace: %+v, %v; source %+v", d, err, sd)
	}
	// Exporting the import gives the same lines: the floats survived.
	if again := exportJSONL(t, ix.Namespace("moved")); !bytes.Equal(again, lines) {
		t.Fatal("export of the imported namespace differs from the original export")
	}

	// Any order, a byte order mark, CRLF line ends, blank lines,
	// "sparse_values", and no newline at the end.
	rows := strings.Split(strings.TrimSuffix(string(lines), "\n"), "\n")
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	shuffled := "\uFEFF" + strings.Join(rows, "\r\n\n  \n")
	shuffled = strings.ReplaceAll(shuffled, `"sparseValues"`, `"sparse_values"`)
	if _, err := ix.ImportNamespaceJSONL(ctx, "shuffled", strings.NewReader(shuffled), nil); err != nil {
		t.Fatal(err)
	}
	sameRecords(t, fetchAll(t, ix.Namespace("shuffled")), want)

	// The options and the existence rule are ImportNamespace's.
	_, err = ix.ImportNamespaceJSONL(ctx, "moved", bytes.NewReader(lines), nil)
	wantErr(t, err, vectordb.ErrNamespaceExists)
	if _, err := ix.ImportNamespaceJSONL(ctx, "moved", strings.NewReader(rows[0]), &vectordb.ImportOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if d, _ := ix.DescribeNamespace(ctx, "moved"); d.RecordCount != 1 {
		t.Fatalf("replaced namespace holds %d records", d.RecordCount)
	}
	// A surrogate pair escape is one character.
	if _, err := ix.ImportNamespaceJSONL(ctx, "pair", strings.NewReader(`{"id":"\ud83d\ude00","values":`+string(fieldsOf(t, rows[0])["values"])+`}`), nil); err != nil {
		t.Fatal(err)
	}
	if res, err := ix.Namespace("pair").Fetch(ctx, []string{"\U0001F600"}); err != nil || len(res.Records) != 1 {
		t.Fatalf("surrogate pair id: %v, %v", res, err)
	}
	// Nothing at all is an empty namespace.
	if _, err := ix.ImportNamespaceJSONL(ctx, "empty", strings.NewReader("\n"), nil); err != nil {
		t.Fatal(err)
	}
	if d, err := ix.DescribeNamespace(ctx, "empty"); err != nil || d.RecordCount != 0 {
		t.Fatalf("%+v, %v", d, err)
	}
	waitDrops(t, dst)
	if err := dst.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func fieldsOf(t *testing.T, line string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExportJSONLRefusesNonUTF8ID(t *testing.T) {
	db := openMem(t)
	h := mustIndex(t, db, "ix", 2, vectordb.Cosine).Namespace("n")
	if _, err := h.Upsert(ctx, []vectordb.Record{{ID: "ok", Values: []float32{1, 2}}, {ID: "bad\xff", Values: []float32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err := h.ExportJSONL(ctx, &buf)
	wantErr(t, err, errors.ErrUnsupported)
	if !strings.Contains(err.Error(), `"bad\xff"`) {
		t.Fatalf("err = %v, want it to name the id", err)
	}
	_, err = mustIndex(t, db, "other", 2, vectordb.Cosine).Namespace("n").ExportJSONL(ctx, &buf)
	wantErr(t, err, vectordb.ErrNamespaceNotFound)
}

func TestImportJSONLRefusesBadLines(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 2, vectordb.Cosine)
	good := `{"id":"a","values":[1,2]}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintf(zw, "%s\n%s\n", good, strings.Replace(good, `"a"`, `"b"`, 1))
	zw.Close()
	badSum := []byte(gz.String())
	badSum[len(badSum)-6] ^= 1 // the CRC-32 in gzip's trailer
	var dupThenBad strings.Builder
	for i := range 60 {
		fmt.Fprintf(&dupThenBad, `{"id":"r%d","values":[1,2]}`+"\n", max(i-1, 0)) // line 2 repeats line 1
	}
	dupThenBad.WriteString("{oops\n")
	for _, c := range []struct {
		name   string
		input  string
		gzip   bool
		target error
		field  string
	}{
		{"not JSON", good + "\n" + `{"id":"b","values":[1,2]`, false, errStream, "line 2"},
		{"unknown field", `{"id":"a","vals":[1,2]}`, false, errStream, `line 1: json: unknown field "vals"`},
		{"wrong type", `{"id":"a","values":"1,2"}`, false, errStream, "line 1"},
		{"float32 overflow", `{"id":"a","values":[1,1e39]}`, false, errStream, "line 1"},
		{"trailing data", good + ` {"id":"b"}`, false, errStream, "line 1: data after the record"},
		{"not an object", `["a",[1,2]]`, false, errStream, "line 1"},
		{"both sparse spellings", `{"id":"a","values":[1,2],"sparseValues":{"indices":[1],"values":[1]},"sparse_values":{"indices":[1],"values":[1]}}`, false, errStream, "line 1"},
		{"sparse on cosine", `{"id":"a","values":[1,2],"sparseValues":{"indices":[1],"values":[1]}}`, false, vectordb.ErrInvalidArgument, "lines[1].sparseValues"},
		{"no id", `{"values":[1,2]}`, false, vectordb.ErrInvalidArgument, "lines[1].id"},
		{"dimension", good + "\n\n" + `{"id":"b","values":[1,2,3]}`, false, vectordb.ErrDimensionMismatch, "lines[3].values"},
		{"all zero under cosine", `{"id":"a","values":[0,0]}`, false, vectordb.ErrInvalidArgument, "lines[1].values"},
		{"nested metadata", `{"id":"a","values":[1,2],"metadata":{"o":{"p":1}}}`, false, vectordb.ErrInvalidArgument, "lines[1].metadata"},
		{"repeated id", good + "\n" + `{"id":"b","values":[1,2]}` + "\n" + good, false, vectordb.ErrInvalidArgument, "lines[3].id"},
		{"line too long", good + "\n" + strings.Repeat(" ", vectordb.MaxJSONLLine+1), false, errStream, "line 2: longer than"},
		{"truncated gzip", gz.String()[:gz.Len()-6], true, errStream, "line"},
		{"gzip checksum", string(badSum), true, errStream, "line"},
		{"not UTF-8", "{\"id\":\"a\xff\",\"values\":[1,2]}", false, errStream, "line 1: not valid UTF-8"},
		{"lone surrogate", good + "\n" + `{"id":"\ud800","values":[1,2]}`, false, errStream, "line 2: a \\u escape of half"},
		{"reversed surrogates", `{"id":"\udc00\ud800","values":[1,2]}`, false, errStream, "line 1"},
		{"null line", "null", false, errStream, "line 1: not a JSON object"},
		{"values null", `{"id":"a","values":null}`, false, vectordb.ErrDimensionMismatch, "lines[1].values"},
		{"repeat before a bad line", dupThenBad.String(), false, vectordb.ErrInvalidArgument, "lines[2].id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			refusedUnchanged(t, db, c.target, c.field, func() error {
				var r io.Reader = strings.NewReader(c.input)
				if c.gzip {
					zr, err := gzip.NewReader(r)
					if err != nil {
						t.Fatal(err)
					}
					r = zr
				}
				_, err := ix.ImportNamespaceJSONL(ctx, "n", r, nil)
				return err
			})
		})
	}
}

// TestImportJSONLRepeatAcrossBatches: a repeated id is found when the two
// records land in different transactions, too.
func TestImportJSONLRepeatAcrossBatches(t *testing.T) {
	o := testOptions()
	o.MemTableSize = 1 << 20
	db := openDir(t, t.TempDir(), o)
	defer db.Close()
	ix := mustIndex(t, db, "ix", 64, vectordb.Euclidean)
	r := rand.New(rand.NewPCG(12, 1))
	var sb strings.Builder
	const n = 5000
	for i := range n {
		rec := vectordb.Record{ID: fmt.Sprintf("r%05d", i), Values: randVec(r, 64)}
		if i == n-1 {
			rec.ID = "r00000"
		}
		b, err := json.Marshal(map[string]any{"id": rec.ID, "values": rec.Values})
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(append(b, '\n'))
	}
	var commits atomic.Int64
	vectordb.SetFaultHook(db, func(op string) error {
		if op == "commit" {
			commits.Add(1)
		}
		return nil
	})
	_, err := ix.ImportNamespaceJSONL(ctx, "n", strings.NewReader(sb.String()), nil)
	vectordb.SetFaultHook(db, nil)
	if commits.Load() < 4 { // the staging key, then batches
		t.Fatalf("the import committed %d transactions: the test needs the repeat in a later one", commits.Load())
	}
	wantErr(t, err, vectordb.ErrInvalidArgument)
	if !strings.Contains(err.Error(), fmt.Sprintf("lines[%d].id", n)) {
		t.Fatalf("err = %v, want it to name line %d", err, n)
	}
	if _, err := ix.DescribeNamespace(ctx, "n"); !errors.Is(err, vectordb.ErrNamespaceNotFound) {
		t.Fatalf("the failed import left a namespace: %v", err)
	}
	waitDrops(t, db)
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// FuzzImportJSONL: arbitrary lines never panic an import, and every
// refusal is typed.
func FuzzImportJSONL(f *testing.F) {
	fuzzImport(f, jsonlRecords(rand.New(rand.NewPCG(13, 1)), 4, 12), (*vectordb.Namespace).ExportJSONL, (*vectordb.Index).ImportNamespaceJSONL,
		[]byte(`{"id":"a","values":[1,2,3,4],"sparse_values":{"indices":[9],"values":[0.5]},"metadata":{"a":["x"]}}`))
}
