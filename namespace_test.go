package vectordb

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

func TestUpsertFetchRoundTrip(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 3, DotProduct)
	ns := ix.Namespace("t")
	vals := []float32{1, 2, 3}
	in := []Record{
		{ID: "a", Values: vals, SparseValues: &SparseValues{Indices: []uint32{9, 2}, Values: []float32{0.9, 0.2}},
			Metadata: Metadata{"genre": "drama", "year": 2020, "score": float32(0.5), "tags": []any{"x", "y"}, "ok": true, "n": json.Number("7")}},
		{ID: "b", Values: []float32{0, 0, 1}},
	}
	res, err := ns.Upsert(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.UpsertedCount != 2 {
		t.Fatalf("UpsertedCount = %d", res.UpsertedCount)
	}
	vals[0] = 99 // the caller may reuse its slices
	got, err := ns.Fetch(ctx, []string{"a", "b", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Record{
		"a": {ID: "a", Values: []float32{1, 2, 3}, SparseValues: &SparseValues{Indices: []uint32{2, 9}, Values: []float32{0.2, 0.9}},
			Metadata: Metadata{"genre": "drama", "year": 2020.0, "score": 0.5, "tags": []string{"x", "y"}, "ok": true, "n": 7.0}},
		"b": {ID: "b", Values: []float32{0, 0, 1}},
	}
	if !reflect.DeepEqual(got.Records, want) {
		t.Fatalf("fetch = %#v\nwant %#v", got.Records, want)
	}
	if got.Namespace != "t" || got.Usage.ReadUnits != 1 {
		t.Fatalf("fetch namespace %q usage %+v", got.Namespace, got.Usage)
	}
	// Returned records are copies.
	got.Records["a"].Values[0] = -1
	got.Records["a"].Metadata["genre"] = "comedy"
	again, _ := ns.Fetch(ctx, []string{"a"})
	if again.Records["a"].Values[0] != 1 || again.Records["a"].Metadata["genre"] != "drama" {
		t.Fatal("mutating a fetched record changed the store")
	}
}

func TestUpsertReplacesWholeRecord(t *testing.T) {
	db := openMem(t)
	ns := mustIndex(t, db, "i", 2, Cosine).Namespace("t")
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}, Metadata: Metadata{"x": 1, "y": 2}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{0, 1}, Metadata: Metadata{"z": "3"}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := ns.Fetch(ctx, []string{"a"})
	if r := got.Records["a"]; !reflect.DeepEqual(r.Metadata, Metadata{"z": "3"}) || r.Values[1] != 1 {
		t.Fatalf("after overwrite = %+v", r)
	}
	// Overwriting without metadata removes it.
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = ns.Fetch(ctx, []string{"a"})
	if got.Records["a"].Metadata != nil {
		t.Fatalf("metadata survived an overwrite without metadata: %v", got.Records["a"].Metadata)
	}
	d, _ := ns.index.DescribeNamespace(ctx, "t")
	if d.RecordCount != 1 {
		t.Fatalf("record count after overwrites = %d", d.RecordCount)
	}
}

// TestUpdateEmptySetMetadata: an update whose only field is an empty
// SetMetadata (or an empty SparseValues on an index without sparse
// values) sets nothing, and is refused like one with no field at all,
// naming the field and costing nothing; by filter too. Values with an
// empty SetMetadata update the values and leave the metadata alone.
func TestUpdateEmptySetMetadata(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Cosine)
	ns := ix.Namespace("t")
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}, Metadata: Metadata{"k": "v"}}}); err != nil {
		t.Fatal(err)
	}
	d0, err := ix.DescribeNamespace(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req   UpdateRequest
		field string
	}{
		{UpdateRequest{ID: "a", SetMetadata: Metadata{}}, "setMetadata"},
		{UpdateRequest{ID: "missing", SetMetadata: Metadata{}}, "setMetadata"},
		{UpdateRequest{Filter: Filter{"k": "v"}, SetMetadata: Metadata{}}, "setMetadata"},
		// Clearing the sparse values of a cosine index: nothing to do.
		{UpdateRequest{ID: "a", SparseValues: &SparseValues{}}, "sparseValues"},
		{UpdateRequest{ID: "a", SparseValues: &SparseValues{}, SetMetadata: Metadata{}}, "sparseValues"},
	} {
		req := c.req
		res, err := ns.Update(ctx, req)
		var ae *ArgumentError
		if !errors.As(err, &ae) || ae.Field != c.field || !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("%+v: err = %v, want an *ArgumentError on %s", req, err, c.field)
		}
		if res != (UpdateResult{}) {
			t.Fatalf("%+v: a refused update reported %+v", req, res)
		}
	}
	if d, _ := ix.DescribeNamespace(ctx, "t"); d.WriteUnits != d0.WriteUnits || d.Bytes != d0.Bytes {
		t.Fatalf("refused updates changed the namespace: %+v, before %+v", d, d0)
	}
	// A dry run needs no metadata, empty or not.
	if res, err := ns.Update(ctx, UpdateRequest{Filter: Filter{"k": "v"}, SetMetadata: Metadata{}, DryRun: true}); err != nil || res.MatchedRecords != 1 {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if res, err := ns.Update(ctx, UpdateRequest{ID: "a", Values: []float32{0, 1}, SetMetadata: Metadata{}}); err != nil || res.MatchedRecords != 1 {
		t.Fatalf("values with an empty setMetadata: %+v, %v", res, err)
	}
	got, _ := ns.Fetch(ctx, []string{"a"})
	if r := got.Records["a"]; !reflect.DeepEqual(r.Values, []float32{0, 1}) || !reflect.DeepEqual(r.Metadata, Metadata{"k": "v"}) {
		t.Fatalf("after updating values with an empty setMetadata: %+v", r)
	}
}

func TestUpdate(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, DotProduct)
	ns := ix.Namespace("t")
	// Updating in a namespace that does not exist changes nothing.
	res, err := ns.Update(ctx, UpdateRequest{ID: "a", Values: []float32{1, 1}})
	if err != nil || res.MatchedRecords != 0 || res.Usage.WriteUnits != 5 {
		t.Fatalf("update in missing namespace = %+v %v", res, err)
	}
	if _, err := ix.DescribeNamespace(ctx, "t"); err == nil {
		t.Fatal("Update created the namespace")
	}
	if _, err := ns.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}, Metadata: Metadata{"x": "1", "keep": true},
		SparseValues: &SparseValues{Indices: []uint32{1}, Values: []float32{1}}}}); err != nil {
		t.Fatal(err)
	}
	// Query once so the namespace is hot and write-through is exercised.
	if _, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1}, TopK: 1}); err != nil {
		t.Fatal(err)
	}
	res, err = ns.Update(ctx, UpdateRequest{ID: "a", SetMetadata: Metadata{"x": "2", "new": 3}})
	if err != nil || res.MatchedRecords != 1 {
		t.Fatalf("update = %+v %v", res, err)
	}
	got, _ := ns.Fetch(ctx, []string{"a"})
	r := got.Records["a"]
	if !reflect.DeepEqual(r.Metadata, Metadata{"x": "2", "keep": true, "new": 3.0}) {
		t.Fatalf("merged metadata = %v", r.Metadata)
	}
	if !reflect.DeepEqual(r.Values, []float32{1, 0}) || !reflect.DeepEqual(r.SparseValues, &SparseValues{Indices: []uint32{1}, Values: []float32{1}}) {
		t.Fatalf("metadata-only update changed values: %+v", r)
	}
	if _, err := ns.Update(ctx, UpdateRequest{ID: "a", Values: []float32{0, 2}, SparseValues: &SparseValues{Indices: []uint32{5}, Values: []float32{3}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = ns.Fetch(ctx, []string{"a"})
	r = got.Records["a"]
	if !reflect.DeepEqual(r.Values, []float32{0, 2}) || !reflect.DeepEqual(r.SparseValues, &SparseValues{Indices: []uint32{5}, Values: []float32{3}}) || r.Metadata["keep"] != true {
		t.Fatalf("after values update = %+v", r)
	}
	q, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1}, SparseVector: &SparseValues{Indices: []uint32{5}, Values: []float32{1}}, TopK: 1})
	if err != nil || len(q.Matches) != 1 || q.Matches[0].Score != 5 {
		t.Fatalf("hot segment not updated: %+v %v", q.Matches, err)
	}
	// An unknown id is not an error.
	res, err = ns.Update(ctx, UpdateRequest{ID: "zz", SetMetadata: Metadata{"x": "1"}})
	if err != nil || res.MatchedRecords != 0 {
		t.Fatalf("update of unknown id = %+v %v", res, err)
	}
	// Merged metadata past the limit is refused and changes nothing.
	big := strings.Repeat("x", MaxMetadataBytes/2)
	if _, err := ns.Update(ctx, UpdateRequest{ID: "a", SetMetadata: Metadata{"b1": big}}); err != nil {
		t.Fatal(err)
	}
	_, err = ns.Update(ctx, UpdateRequest{ID: "a", SetMetadata: Metadata{"b2": big}})
	wantErr(t, err, ErrInvalidArgument)
	got, _ = ns.Fetch(ctx, []string{"a"})
	if _, ok := got.Records["a"].Metadata["b2"]; ok {
		t.Fatal("refused update was applied")
	}
}

func TestDeleteAndCounts(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Euclidean)
	ns := ix.Namespace("t")
	res, err := ns.Delete(ctx, []string{"a"})
	if err != nil || res.DeletedCount != 0 {
		t.Fatalf("delete in missing namespace = %+v %v", res, err)
	}
	var recs []Record
	for i := range 10 {
		recs = append(recs, Record{ID: strconv.Itoa(i), Values: []float32{float32(i), 1}, Metadata: Metadata{"i": i}})
	}
	if _, err := ns.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	res, err = ns.Delete(ctx, []string{"1", "2", "2", "nope"})
	if err != nil || res.DeletedCount != 2 {
		t.Fatalf("delete = %+v %v", res, err)
	}
	d, _ := ix.DescribeNamespace(ctx, "t")
	if d.RecordCount != 8 {
		t.Fatalf("record count = %d, want 8", d.RecordCount)
	}
	f, _ := ns.Fetch(ctx, []string{"1", "2", "3"})
	if len(f.Records) != 1 {
		t.Fatalf("fetch after delete = %v", f.Records)
	}
	// Metadata keys go with their records.
	if n := countKeys(t, db, storage.MetadataPrefix(ix.ix.id, ix.ix.lookup("t").id)); n != 8 {
		t.Fatalf("%d metadata keys left, want 8", n)
	}
}

func countKeys(t *testing.T, db *DB, prefix []byte) int {
	t.Helper()
	n := 0
	err := db.store.View(func(t *storage.Txn) error {
		return t.Iterate(storage.IterOptions{Prefix: prefix, KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeleteAllKeepsNamespace(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "i", 2, Cosine)
	ns, other := ix.Namespace("t"), ix.Namespace("u")
	for _, h := range []*Namespace{ns, other} {
		if _, err := h.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}, {ID: "b", Values: []float32{0, 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1}, TopK: 5}); err != nil {
		t.Fatal(err)
	}
	oldID := ix.ix.lookup("t").id
	before, _ := ix.DescribeNamespace(ctx, "t")
	res, err := ns.DeleteAll(ctx)
	if err != nil || res.DeletedCount != 2 || res.Usage.WriteUnits != 5 {
		t.Fatalf("DeleteAll = %+v %v", res, err)
	}
	d, err := ix.DescribeNamespace(ctx, "t")
	if err != nil || d.RecordCount != 0 || !d.Hot {
		t.Fatalf("after DeleteAll = %+v %v", d, err)
	}
	if d.WriteUnits != before.WriteUnits+5 || d.ReadUnits != before.ReadUnits || !d.CreatedAt.Equal(before.CreatedAt) {
		t.Fatalf("usage not carried over: before %+v after %+v", before, d)
	}
	q, _ := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1}, TopK: 5})
	if len(q.Matches) != 0 {
		t.Fatalf("query after DeleteAll = %+v", q.Matches)
	}
	if _, err := ns.Upsert(ctx, []Record{{ID: "c", Values: []float32{1, 1}}}); err != nil {
		t.Fatal(err)
	}
	waitDrops(t, db)
	if empty, _ := db.store.PrefixEmpty(storage.NamespaceDataPrefix(ix.ix.id, oldID)); !empty {
		t.Fatal("old generation's data not removed")
	}
	db.Close()
	db = openDir(t, dir, nil)
	defer db.Close()
	ix, _ = db.Index("i")
	f, _ := ix.Namespace("t").Fetch(ctx, []string{"a", "b", "c"})
	if len(f.Records) != 1 || f.Records["c"].ID != "c" {
		t.Fatalf("after reopen = %v", f.Records)
	}
	d2, _ := ix.DescribeNamespace(ctx, "t")
	if d2.WriteUnits != d.WriteUnits+5 {
		t.Fatalf("write units after reopen = %d, want %d", d2.WriteUnits, d.WriteUnits+5)
	}
	if o, _ := ix.DescribeNamespace(ctx, "u"); o.RecordCount != 2 {
		t.Fatalf("other namespace touched: %+v", o)
	}
}

func TestDeleteNamespace(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Cosine)
	wantErr(t, ix.DeleteNamespace(ctx, "t"), ErrNamespaceNotFound)
	for _, name := range []string{"t", "t2", "u"} {
		if _, err := ix.Namespace(name).Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ix.Namespace("t").Query(ctx, QueryRequest{ID: "a", TopK: 1}); err != nil {
		t.Fatal(err)
	}
	id := ix.ix.lookup("t").id
	if err := ix.DeleteNamespace(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	_, err := ix.DescribeNamespace(ctx, "t")
	wantErr(t, err, ErrNamespaceNotFound)
	wantErr(t, ix.DeleteNamespace(ctx, "t"), ErrNamespaceNotFound)
	st, _ := ix.DescribeStats(ctx)
	if _, ok := st.Namespaces["t"]; ok || st.TotalRecordCount != 2 {
		t.Fatalf("stats after delete = %+v", st)
	}
	q, err := ix.Namespace("t").Query(ctx, QueryRequest{Vector: []float32{1, 0}, TopK: 3})
	if err != nil || len(q.Matches) != 0 {
		t.Fatalf("deleted namespace still answers: %+v %v", q, err)
	}
	// A namespace re-created under the same name starts empty, with a new id.
	if _, err := ix.Namespace("t").Upsert(ctx, []Record{{ID: "b", Values: []float32{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	if ix.ix.lookup("t").id == id {
		t.Fatal("namespace id reused")
	}
	f, _ := ix.Namespace("t").Fetch(ctx, []string{"a", "b"})
	if len(f.Records) != 1 {
		t.Fatalf("re-created namespace sees old data: %v", f.Records)
	}
	waitDrops(t, db)
	if empty, _ := db.store.PrefixEmpty(storage.NamespaceDataPrefix(ix.ix.id, id)); !empty {
		t.Fatal("deleted namespace's data not removed")
	}
	for _, name := range []string{"t2", "u"} {
		if f, _ := ix.Namespace(name).Fetch(ctx, []string{"a"}); len(f.Records) != 1 {
			t.Fatalf("namespace %s lost data when t was deleted", name)
		}
	}
}

func TestDefaultNamespaceSpellings(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Cosine)
	if _, err := ix.Namespace("").Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	f, err := ix.Namespace(DefaultNamespace).Fetch(ctx, []string{"a"})
	if err != nil || len(f.Records) != 1 || f.Namespace != DefaultNamespace {
		t.Fatalf("fetch via __default__ = %+v %v", f, err)
	}
	if ix.Namespace("").Name() != DefaultNamespace {
		t.Fatal(`Namespace("").Name() is not canonical`)
	}
	if d, err := ix.DescribeNamespace(ctx, ""); err != nil || d.Name != DefaultNamespace || d.RecordCount != 1 {
		t.Fatalf("describe default = %+v %v", d, err)
	}
	if err := ix.DeleteNamespace(ctx, DefaultNamespace); err != nil {
		t.Fatal(err)
	}
	if f, _ := ix.Namespace("").Fetch(ctx, []string{"a"}); len(f.Records) != 0 {
		t.Fatal("default namespace not deleted under its other spelling")
	}
}

func TestList(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Cosine)
	ns := ix.Namespace("t")
	ids := []string{"a", "a\x01", "a\xff", "ab", "abc", "b", "doc#1", "doc#10", "doc#2", "\x01", "\xff\xfe", strings.Repeat("z", MaxIDBytes)}
	var recs []Record
	for _, id := range ids {
		recs = append(recs, Record{ID: id, Values: []float32{1, 1}})
	}
	if _, err := ns.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// Another namespace with overlapping ids must not show up.
	if _, err := ix.Namespace("t2").Upsert(ctx, []Record{{ID: "a0", Values: []float32{1, 1}}}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	var got []string
	opts := ListRequest{Limit: 5}
	pages := 0
	for {
		res, err := ns.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if res.Usage.ReadUnits != 1 || res.Namespace != "t" {
			t.Fatalf("list usage %+v namespace %q", res.Usage, res.Namespace)
		}
		got = append(got, res.IDs...)
		if res.NextToken == "" {
			break
		}
		opts.PaginationToken = res.NextToken
	}
	if !reflect.DeepEqual(got, ids) || pages != 3 {
		t.Fatalf("paged list = %q in %d pages, want %q", got, pages, ids)
	}
	res, err := ns.List(ctx, ListRequest{Prefix: "doc#"})
	if err != nil || !reflect.DeepEqual(res.IDs, []string{"doc#1", "doc#10", "doc#2"}) || res.NextToken != "" {
		t.Fatalf("prefix list = %q %q %v", res.IDs, res.NextToken, err)
	}
	var it []string
	for id, err := range ns.IDs(ctx, "a") {
		if err != nil {
			t.Fatal(err)
		}
		it = append(it, id)
	}
	if !reflect.DeepEqual(it, []string{"a", "a\x01", "ab", "abc", "a\xff"}) {
		t.Fatalf("IDs(a) = %q", it)
	}
	if res, _ := ix.Namespace("missing").List(ctx, ListRequest{}); len(res.IDs) != 0 {
		t.Fatalf("missing namespace lists %q", res.IDs)
	}
}

func TestListNamespaces(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Cosine)
	names := []string{"tenant-1", "tenant-10", "tenant-2", "other", "\xff", "tenant\x01"}
	for _, n := range names {
		if _, err := ix.Namespace(n).Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 0}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ix.CreateNamespace(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	_, err := ix.CreateNamespace(ctx, "tenant-1")
	wantErr(t, err, ErrNamespaceExists)
	page, err := ix.ListNamespaces(ctx, ListNamespacesRequest{Prefix: "tenant", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 4 || len(page.Namespaces) != 2 || page.Namespaces[0].Name != "tenant\x01" || page.Namespaces[1].Name != "tenant-1" || page.NextToken == "" {
		t.Fatalf("page 1 = %+v", page)
	}
	page, err = ix.ListNamespaces(ctx, ListNamespacesRequest{Prefix: "tenant", Limit: 2, PaginationToken: page.NextToken})
	if err != nil || len(page.Namespaces) != 2 || page.Namespaces[0].Name != "tenant-10" || page.Namespaces[1].Name != "tenant-2" || page.NextToken != "" {
		t.Fatalf("page 2 = %+v %v", page, err)
	}
	var all []string
	for d, err := range ix.Namespaces(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, d.Name)
	}
	want := append(slices.Clone(names), "empty")
	slices.Sort(want)
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("Namespaces = %q, want %q", all, want)
	}
	d, _ := ix.DescribeNamespace(ctx, "empty")
	if d.RecordCount != 0 || d.Hot {
		t.Fatalf("empty namespace = %+v", d)
	}
}

func TestUsageUnits(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "i", 250, Cosine) // 1000 bytes of values per record
	ns := ix.Namespace("t")
	var recs []Record
	for i := range 20 {
		recs = append(recs, Record{ID: strconv.Itoa(100 + i), Values: fill(250, 1)}) // 3-byte ids: 1003 bytes each
	}
	res, err := ns.Upsert(ctx, recs)
	if err != nil || res.Usage.WriteUnits != 21 { // 20060 bytes
		t.Fatalf("upsert usage = %+v %v, want 21 WU", res.Usage, err)
	}
	// An overwrite also counts the old record.
	res, _ = ns.Upsert(ctx, recs[:10])
	if res.Usage.WriteUnits != 21 {
		t.Fatalf("overwrite usage = %+v, want 21 WU", res.Usage)
	}
	small, _ := ns.Upsert(ctx, recs[:1])
	if small.Usage.WriteUnits != 5 {
		t.Fatalf("small upsert = %+v, want the minimum 5", small.Usage)
	}
	f, _ := ns.Fetch(ctx, []string{"100", "101", "102", "103", "104", "105", "106", "107", "108", "109", "110", "x"})
	if f.Usage.ReadUnits != 2 {
		t.Fatalf("fetch of 11 records = %+v, want 2 RU", f.Usage)
	}
	q, _ := ns.Query(ctx, QueryRequest{Vector: fill(250, 1), TopK: 3})
	if q.Usage.ReadUnits != 1 {
		t.Fatalf("query = %+v, want 1 RU", q.Usage)
	}
	l, _ := ns.List(ctx, ListRequest{})
	del, _ := ns.Delete(ctx, []string{"100", "101", "102", "103", "104", "105"})
	if del.Usage.WriteUnits != 7 { // 6018 bytes
		t.Fatalf("delete = %+v, want 7 WU", del.Usage)
	}
	d, _ := ix.DescribeNamespace(ctx, "t")
	wantWU := int64(res.Usage.WriteUnits + 21 + small.Usage.WriteUnits + del.Usage.WriteUnits)
	wantRU := int64(f.Usage.ReadUnits + q.Usage.ReadUnits + l.Usage.ReadUnits)
	if d.WriteUnits != wantWU || d.ReadUnits != wantRU || d.Bytes != 14*1003 {
		t.Fatalf("cumulative = %+v, want %d WU %d RU %d bytes", d, wantWU, wantRU, 14*1003)
	}
	db.Close()
	db = openDir(t, dir, nil)
	defer db.Close()
	ix, _ = db.Index("i")
	d2, _ := ix.DescribeNamespace(ctx, "t")
	if d2.WriteUnits != wantWU || d2.ReadUnits != wantRU || d2.Bytes != d.Bytes || d2.RecordCount != 14 {
		t.Fatalf("after reopen = %+v, want %+v", d2, d)
	}
}

func TestQueryReadUnitsScaleWithSize(t *testing.T) {
	for _, c := range []struct {
		bytes uint64
		want  int
	}{{0, 1}, {1, 1}, {1e9, 1}, {1e9 + 1, 2}, {25e8, 3}} {
		if got := usage.QueryReadUnits(c.bytes); got != c.want {
			t.Errorf("usage.QueryReadUnits(%d) = %d, want %d", c.bytes, got, c.want)
		}
	}
}

// TestTenantIsolation writes the same ids into namespaces whose names are
// prefixes of each other or hold odd bytes, and checks that every
// operation on one leaves the others exactly as they were.
func TestTenantIsolation(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "i", 2, Euclidean)
	names := []string{"a", "ab", "a\x01b", "a/b", "\xff", "ä", DefaultNamespace}
	ids := []string{"x", "x\x01", "xy", "\xff"}
	for i, n := range names {
		var recs []Record
		for _, id := range ids {
			recs = append(recs, Record{ID: id, Values: []float32{float32(i), 1}, Metadata: Metadata{"ns": strconv.Quote(n)}})
		}
		if _, err := ix.Namespace(n).Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ix.Namespace("a").Delete(ctx, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Namespace("ab").DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ix.DeleteNamespace(ctx, "a\x01b"); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Namespace("a/b").Update(ctx, UpdateRequest{ID: "xy", SetMetadata: Metadata{"touched": true}}); err != nil {
		t.Fatal(err)
	}
	waitDrops(t, db)
	for i, n := range names {
		h := ix.Namespace(n)
		f, err := h.Fetch(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		want := len(ids)
		switch n {
		case "a":
			want--
		case "ab", "a\x01b":
			want = 0
		}
		if len(f.Records) != want {
			t.Fatalf("namespace %q has %d records, want %d", n, len(f.Records), want)
		}
		for id, r := range f.Records {
			if r.Metadata["ns"] != strconv.Quote(n) || r.Values[0] != float32(i) {
				t.Fatalf("namespace %q record %q belongs to another tenant: %+v", n, id, r)
			}
			if _, ok := r.Metadata["touched"]; ok != (n == "a/b" && id == "xy") {
				t.Fatalf("namespace %q record %q: update leaked", n, id)
			}
		}
		q, _ := h.Query(ctx, QueryRequest{Vector: []float32{float32(i), 1}, TopK: 10})
		if len(q.Matches) != want {
			t.Fatalf("namespace %q query returned %d matches, want %d", n, len(q.Matches), want)
		}
		for _, m := range q.Matches {
			if m.Score != 0 {
				t.Fatalf("namespace %q query found another tenant's vector: %+v", n, m)
			}
		}
	}
}

// TestDeleteAllKeepsFlushedReadUnits interleaves the read-unit flusher's
// commit with DeleteAll: the units it persisted must carry over.
func TestDeleteAllKeepsFlushedReadUnits(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	h := mustIndex(t, db, "ix", 4, Cosine)
	tenant := h.Namespace("t")
	if _, err := tenant.Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 2, 3, 4}}}); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, err := tenant.Fetch(ctx, []string{"a"}); err != nil {
			t.Fatal(err)
		}
	}
	old := h.ix.lookup("t")
	ru := old.usage.Reads()
	// The flusher's transaction commits ...
	err := db.store.Update(ctx, func(tx *storage.Txn) error {
		if live, err := checkLive(tx, old); err != nil || !live {
			t.Fatalf("live %v %v", live, err)
		}
		return tx.Set(storage.ReadUnitsKey(old.ix.id, old.id), storage.EncodeUint64(ru))
	})
	if err != nil {
		t.Fatal(err)
	}
	// ... DeleteAll runs before the flusher records what it wrote ...
	if _, err := tenant.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	old.usage.MarkFlushed(ru) // ... which it then does.
	d, _ := h.DescribeNamespace(ctx, "t")
	db.Close()
	db = openDir(t, dir, nil)
	defer db.Close()
	h, _ = db.Index("ix")
	if d2, _ := h.DescribeNamespace(ctx, "t"); d2.ReadUnits != d.ReadUnits || d.ReadUnits != int64(ru) {
		t.Fatalf("read units: %d before reopen, %d after, want %d", d.ReadUnits, d2.ReadUnits, ru)
	}
}

// TestReadUnitsOfManyNamespacesPersist has more namespaces with unflushed
// read units than one storage transaction holds.
func TestReadUnitsOfManyNamespacesPersist(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 2000 namespaces")
	}
	dir := t.TempDir()
	o := testOptions()
	o.MemTableSize = 1 << 20 // a 1638-entry transaction cap
	db := openDir(t, dir, o)
	h := mustIndex(t, db, "ix", 4, Cosine)
	const n = 2000
	for i := range n {
		name := strconv.Itoa(i)
		if _, err := h.CreateNamespace(ctx, name); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Namespace(name).List(ctx, ListRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db = openDir(t, dir, o)
	defer db.Close()
	h, _ = db.Index("ix")
	for _, name := range []string{"0", "999", "1999"} {
		if d, _ := h.DescribeNamespace(ctx, name); d.ReadUnits != 1 {
			t.Fatalf("namespace %s: %d read units after reopen, want 1", name, d.ReadUnits)
		}
	}
}

// TestInvalidHandleNameFailsOnward: an invalid handle's Name is the name
// as given, so passing it on fails instead of naming the default
// namespace.
func TestInvalidHandleNameFailsOnward(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "ix", 2, Cosine)
	if _, err := ix.Namespace("").Upsert(ctx, []Record{{ID: "a", Values: []float32{1, 2}}}); err != nil {
		t.Fatal(err)
	}
	h := ix.Namespace("x\x00")
	if h.Name() != "x\x00" {
		t.Fatalf("Name() = %q", h.Name())
	}
	wantErr(t, ix.DeleteNamespace(ctx, h.Name()), ErrInvalidArgument)
	_, err := ix.DescribeNamespace(ctx, h.Name())
	wantErr(t, err, ErrInvalidArgument)
	if d, err := ix.DescribeNamespace(ctx, ""); err != nil || d.RecordCount != 1 {
		t.Fatalf("the default namespace: %+v, %v", d, err)
	}
}
