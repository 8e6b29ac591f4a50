package vectordb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// filterFixture writes n records whose metadata has a low-cardinality
// field (kind), a unique number (n) and tags, and returns the handle.
func filterFixture(t *testing.T, db *DB, n int) *Namespace {
	t.Helper()
	ix, err := db.Index("f")
	if err != nil {
		ix = mustIndex(t, db, "f", 4, Cosine)
	}
	ns := ix.Namespace("t")
	for b := 0; b < n; b += 500 {
		var recs []Record
		for i := b; i < min(b+500, n); i++ {
			recs = append(recs, Record{
				ID:       fmt.Sprintf("r%05d", i),
				Values:   []float32{1, float32(i%7) + 1, 0, 1},
				Metadata: Metadata{"kind": []string{"a", "b", "c", "d"}[i%4], "n": i, "tags": []string{fmt.Sprint("t", i%3)}},
			})
		}
		if _, err := ns.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

func TestUpdateByFilter(t *testing.T) {
	for _, hot := range []bool{false, true} {
		t.Run(fmt.Sprintf("hot=%v", hot), func(t *testing.T) {
			db := openMem(t)
			ns := filterFixture(t, db, 100)
			if hot {
				if _, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1, 1, 1}, TopK: 1}); err != nil {
					t.Fatal(err)
				}
			}
			dry, err := ns.Update(ctx, UpdateRequest{Filter: Filter{"kind": "a"}, DryRun: true})
			if err != nil || dry.MatchedRecords != 25 || dry.Usage.WriteUnits != 0 || dry.Usage.ReadUnits != 3 {
				t.Fatalf("dry run = %+v %v", dry, err)
			}
			before, _ := ns.index.DescribeNamespace(ctx, "t")
			res, err := ns.Update(ctx, UpdateRequest{Filter: Filter{"kind": "a", "n": Filter{"$lt": 50}}, SetMetadata: Metadata{"kind": "z", "extra": true}})
			if err != nil || res.MatchedRecords != 13 {
				t.Fatalf("update = %+v %v", res, err)
			}
			after, _ := ns.index.DescribeNamespace(ctx, "t")
			if after.WriteUnits != before.WriteUnits+int64(res.Usage.WriteUnits) || after.Bytes <= before.Bytes {
				t.Fatalf("usage: before %+v after %+v result %+v", before, after, res.Usage)
			}
			f, _ := ns.Fetch(ctx, []string{"r00000", "r00004", "r00052", "r00001"})
			if md := f.Records["r00000"].Metadata; md["kind"] != "z" || md["extra"] != true || md["n"] != 0.0 {
				t.Fatalf("updated record = %v", md)
			}
			if md := f.Records["r00052"].Metadata; md["kind"] != "a" || md["extra"] != nil {
				t.Fatalf("record outside the filter changed: %v", md)
			}
			if md := f.Records["r00001"].Metadata; md["kind"] != "b" {
				t.Fatalf("record outside the filter changed: %v", md)
			}
			// The index follows: filtered queries see the new values.
			q, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1, 1, 1}, TopK: 100, Filter: Filter{"kind": "z"}})
			if err != nil || len(q.Matches) != 13 {
				t.Fatalf("query kind=z: %d matches, %v", len(q.Matches), err)
			}
			q, _ = ns.Query(ctx, QueryRequest{Vector: []float32{1, 1, 1, 1}, TopK: 100, Filter: Filter{"kind": "a"}})
			if len(q.Matches) != 12 {
				t.Fatalf("query kind=a: %d matches, want 12", len(q.Matches))
			}
			// Nothing matching still costs the minimum and is no error.
			res, err = ns.Update(ctx, UpdateRequest{Filter: Filter{"kind": "nope"}, SetMetadata: Metadata{"x": 1}})
			if err != nil || res.MatchedRecords != 0 || res.Usage.WriteUnits != 5 {
				t.Fatalf("update matching nothing = %+v %v", res, err)
			}
		})
	}
}

func TestUpdateByFilterRefusals(t *testing.T) {
	db := openMemWith(t, func(o *Options) {
		o.MaxUpdateByFilter = 10
	})
	ns := filterFixture(t, db, 100)
	if _, err := ns.Query(ctx, QueryRequest{ID: "r00000", TopK: 1, Filter: Filter{"kind": "a"}}); err != nil { // load and index it: the snapshot then covers the index too
		t.Fatal(err)
	}
	before := snapshot(t, db)
	_, err := ns.Update(ctx, UpdateRequest{Filter: Filter{"kind": "a"}, SetMetadata: Metadata{"x": 1}})
	var be *BatchTooLargeError
	if !errors.As(err, &be) || be.Field != "filter" || be.Records != 25 || be.MaxRecords != 10 {
		t.Fatalf("over the limit: %v", err)
	}
	// A merged record over the metadata limit refuses the whole update.
	big := fmt.Sprintf("%040960d", 0)[:MaxMetadataBytes-40]
	_, err = ns.Update(ctx, UpdateRequest{Filter: Filter{"n": Filter{"$lt": 5}}, SetMetadata: Metadata{"big": big}})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("oversized merge: %v", err)
	}
	if !reflect.DeepEqual(before, snapshot(t, db)) {
		t.Fatal("a refused update by filter changed the database")
	}
}

// TestFilteredWritesInChunks uses a tiny memtable so that updates and
// deletes by filter span many transactions.
func TestFilteredWritesInChunks(t *testing.T) {
	db := openMemWith(t, func(o *Options) {
		o.MemTableSize = 1 << 20
		o.MaxBatchRecords = 500
	})
	ns := filterFixture(t, db, 3000)
	res, err := ns.Update(ctx, UpdateRequest{Filter: Filter{"kind": Filter{"$in": []string{"a", "b", "c"}}}, SetMetadata: Metadata{"pad": fmt.Sprintf("%0400d", 1)}})
	if err != nil || res.MatchedRecords != 2250 {
		t.Fatalf("update = %+v %v", res, err)
	}
	d, _ := ns.Update(ctx, UpdateRequest{Filter: Filter{"pad": Filter{"$exists": true}}, DryRun: true})
	if d.MatchedRecords != 2250 {
		t.Fatalf("%d records padded, want 2250", d.MatchedRecords)
	}
	del, err := ns.DeleteByFilter(ctx, Filter{"kind": Filter{"$ne": "d"}})
	if err != nil || del.DeletedCount != 2250 {
		t.Fatalf("delete = %+v %v", del, err)
	}
	desc, _ := ns.index.DescribeNamespace(ctx, "t")
	if desc.RecordCount != 750 {
		t.Fatalf("%d records left, want 750", desc.RecordCount)
	}
	if n := countKeys(t, db, storageMetadataPrefix(ns)); n != 750 {
		t.Fatalf("%d metadata keys left, want 750", n)
	}
}

func TestDeleteByFilter(t *testing.T) {
	db := openMem(t)
	ns := filterFixture(t, db, 100)
	_, err := ns.DeleteByFilter(ctx, nil)
	wantErr(t, err, ErrInvalidArgument)
	_, err = ns.DeleteByFilter(ctx, Filter{})
	wantErr(t, err, ErrInvalidArgument)
	res, err := ns.DeleteByFilter(ctx, Filter{"$or": []Filter{{"kind": "a"}, {"tags": "t0"}}})
	if err != nil || res.DeletedCount != 50 { // 25 kind=a, 34 t0, 9 both
		t.Fatalf("delete = %+v %v", res, err)
	}
	l, _ := ns.List(ctx, ListRequest{Limit: 1000})
	if len(l.IDs) != 50 {
		t.Fatalf("%d left", len(l.IDs))
	}
	f, _ := ns.Fetch(ctx, l.IDs)
	for id, r := range f.Records {
		if r.Metadata["kind"] == "a" || r.Metadata["tags"].([]string)[0] == "t0" {
			t.Fatalf("%s should be gone: %v", id, r.Metadata)
		}
	}
	res, err = ns.index.Namespace("missing").DeleteByFilter(ctx, Filter{"kind": "a"})
	if err != nil || res.DeletedCount != 0 {
		t.Fatalf("missing namespace = %+v %v", res, err)
	}
}

func TestFetchByMetadata(t *testing.T) {
	db := openMem(t)
	ns := filterFixture(t, db, 100)
	var got []string
	req := FetchByMetadataRequest{Filter: Filter{"kind": Filter{"$in": []string{"b", "c"}}}, Limit: 7}
	pages := 0
	for {
		res, err := ns.FetchByMetadata(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range res.Records {
			if k := r.Metadata["kind"]; (k != "b" && k != "c") || len(r.Values) != 4 {
				t.Fatalf("record %s does not match: %+v", r.ID, r)
			}
			got = append(got, r.ID)
		}
		if res.Usage.ReadUnits != usage.FetchReadUnits(len(res.Records)) || res.Namespace != "t" {
			t.Fatalf("page usage %+v namespace %q", res.Usage, res.Namespace)
		}
		if res.NextToken == "" {
			break
		}
		req.PaginationToken = res.NextToken
	}
	if len(got) != 50 || !slices.IsSorted(got) || pages != 8 {
		t.Fatalf("%d records in %d pages, sorted %v", len(got), pages, slices.IsSorted(got))
	}
	if res, err := ns.index.Namespace("missing").FetchByMetadata(ctx, FetchByMetadataRequest{Filter: Filter{"a": 1}}); err != nil || len(res.Records) != 0 {
		t.Fatalf("missing namespace = %+v %v", res, err)
	}
	for _, bad := range []FetchByMetadataRequest{
		{},
		{Filter: Filter{"a": 1}, Limit: -1},
		{Filter: Filter{"a": 1}, Limit: MaxListLimit + 1},
		{Filter: Filter{"a": 1}, PaginationToken: encodeToken(tokenIDs, "x")},
		{Filter: Filter{"a": Filter{"$gt": "x"}}},
	} {
		if _, err := ns.FetchByMetadata(ctx, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: err = %v", bad, err)
		}
	}
}

func storageMetadataPrefix(h *Namespace) []byte {
	n := h.ix().lookup(h.name)
	return storage.MetadataPrefix(n.ix.id, n.id)
}

// countingCtx reports cancellation after a number of Err calls: a caller
// giving up at an arbitrary point of a long operation.
type countingCtx struct {
	context.Context
	left atomic.Int64
}

func (c *countingCtx) Err() error {
	if c.left.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestFilteredWriteCancelledIsAllOrNothing cancels an update by filter
// that spans many transactions at every point: it either changes nothing
// or runs to its end.
func TestFilteredWriteCancelledIsAllOrNothing(t *testing.T) {
	db := openMemWith(t, func(o *Options) {
		o.MemTableSize = 1 << 20
	})
	ns := filterFixture(t, db, 3000)
	pad := fmt.Sprintf("%0300d", 7)
	for k := range int64(12) {
		c := &countingCtx{Context: ctx}
		c.left.Store(k)
		res, err := ns.Update(c, UpdateRequest{Filter: Filter{"kind": Filter{"$ne": "zz"}}, SetMetadata: Metadata{"pad": pad + fmt.Sprint(k)}})
		d, _ := ns.Update(ctx, UpdateRequest{Filter: Filter{"pad": pad + fmt.Sprint(k)}, DryRun: true})
		switch {
		case err != nil && d.MatchedRecords != 0:
			t.Fatalf("cancelled after %d checks: error %v but %d records updated", k, err, d.MatchedRecords)
		case err == nil && (res.MatchedRecords != 3000 || d.MatchedRecords != 3000):
			t.Fatalf("after %d checks: %d matched, %d updated", k, res.MatchedRecords, d.MatchedRecords)
		}
	}
}

// TestFilteredWriteUnitsPerRequest: a delete by filter spanning many
// transactions pays the minimum once, and the counter grows by what the
// call reports.
func TestFilteredWriteUnitsPerRequest(t *testing.T) {
	db := openMemWith(t, func(o *Options) {
		o.MemTableSize = 1 << 20
	})
	ns := mustIndex(t, db, "w", 1, Euclidean).Namespace("t")
	for b := 0; b < 4000; b += 500 {
		var recs []Record
		for i := b; i < b+500; i++ {
			recs = append(recs, Record{ID: fmt.Sprintf("%04d", i), Values: []float32{1}})
		}
		if _, err := ns.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := ns.index.DescribeNamespace(ctx, "t")
	res, err := ns.DeleteByFilter(ctx, Filter{"k": Filter{"$exists": false}})
	if err != nil || res.DeletedCount != 4000 {
		t.Fatalf("delete = %+v %v", res, err)
	}
	// 4000 records of 4-byte ids and 4 bytes of values: 32000 bytes, 32 units.
	after, _ := ns.index.DescribeNamespace(ctx, "t")
	if res.Usage.WriteUnits != 32 || after.WriteUnits-before.WriteUnits != 32 {
		t.Fatalf("reported %d units, counter grew by %d, want 32", res.Usage.WriteUnits, after.WriteUnits-before.WriteUnits)
	}
}

func TestUpdateByFilterDryRunAndEmptySet(t *testing.T) {
	db := openMemWith(t, func(o *Options) {
		o.MaxUpdateByFilter = 10
	})
	ns := filterFixture(t, db, 100)
	res, err := ns.Update(ctx, UpdateRequest{Filter: Filter{"kind": "a"}, DryRun: true})
	if err != nil || res.MatchedRecords != 25 {
		t.Fatalf("dry run above the limit = %+v %v", res, err)
	}
	_, err = ns.Update(ctx, UpdateRequest{Filter: Filter{"kind": "a"}, SetMetadata: Metadata{}})
	wantErr(t, err, ErrInvalidArgument)
}

// TestNumericColumnsStayClean: updating one key leaves the other fields'
// numeric columns clean, and deletes beyond the merge threshold merge.
func TestNumericColumnsStayClean(t *testing.T) {
	db := openMem(t)
	ns := filterFixture(t, db, 3000)
	if _, err := ns.Update(ctx, UpdateRequest{Filter: Filter{"kind": "a"}, SetMetadata: Metadata{"kind": "e"}}); err != nil {
		t.Fatal(err)
	}
	seg := ns.ix().lookup("t").seg.Load()
	seg.RLock()
	stale, _ := seg.NumStaleLocked("n")
	seg.RUnlock()
	if s := stale; s != 0 {
		t.Fatalf("updating kind left %d stale entries in n", s)
	}
	if _, err := ns.DeleteByFilter(ctx, Filter{"n": Filter{"$lt": 1500}}); err != nil {
		t.Fatal(err)
	}
	seg.RLock()
	stale, mergeAt := seg.NumStaleLocked("n")
	seg.RUnlock()
	if s := stale; s > mergeAt {
		t.Fatalf("%d stale entries after deleting half: no merge", s)
	}
	q, err := ns.Query(ctx, QueryRequest{Vector: []float32{1, 1, 1, 1}, TopK: 3000, Filter: Filter{"n": Filter{"$gte": 1000}}})
	if err != nil || len(q.Matches) != 1500 {
		t.Fatalf("range after deletes: %d matches, %v", len(q.Matches), err)
	}
}

// TestIndexBuildRacingDeleteIndex: a filtered operation resolves a cold
// namespace, its index is deleted and the janitor runs, then the index
// build goes on: it must see an empty namespace.
func TestIndexBuildRacingDeleteIndex(t *testing.T) {
	db := openMem(t)
	ns := filterFixture(t, db, 200)
	n := ns.ix().lookup("t")
	if _, err := n.hot(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteIndex(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	waitDrops(t, db)
	seg, err := n.hotIndexed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !seg.Indexed() || seg.LiveLocked() != 0 {
		t.Fatalf("build on a dropped namespace: indexed %v, %d live", seg.Indexed(), seg.LiveLocked())
	}
}
