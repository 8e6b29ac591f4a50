package vectordb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vectordb-go/vectordb/internal/storage"
)

// snapshot captures everything a call could change: every stored key and
// value (read-unit counters excepted: they are flushed asynchronously) and
// the in-memory catalog with its counters.
func snapshot(t *testing.T, db *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.store.View(func(txn *storage.Txn) error {
		return txn.Iterate(storage.IterOptions{}, func(k, v []byte) (bool, error) {
			// Read units count reads; the namespace id lease is bookkeeping
			// that a failed import may advance (ids are never reused).
			if !strings.HasPrefix(string(k), string(storage.AllReadUnitsPrefix())) && !isNamespaceSeqKey(k) {
				out[fmt.Sprintf("key %x", k)] = fmt.Sprintf("%x", v)
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range db.indexList() {
		db.mu.Lock()
		d := ix.describeLocked()
		db.mu.Unlock()
		out["index "+ix.name] = fmt.Sprintf("%+v", d)
		ix.namespaces.Range(func(k, v any) bool {
			ns := v.(*namespaceState)
			d := ns.describe()
			d.ReadUnits = 0
			out[fmt.Sprintf("ns %s/%q", ix.name, k)] = fmt.Sprintf("%d %+v", ns.id, d)
			if seg := ns.seg.Load(); seg != nil {
				seg.RLock()
				out[fmt.Sprintf("seg %s/%q", ix.name, k)] = seg.FingerprintLocked()
				seg.RUnlock()
			}
			return true
		})
	}
	return out
}

func isNamespaceSeqKey(k []byte) bool {
	return len(k) == 6 && bytes.Equal(k, storage.NamespaceSeqKey(binary.BigEndian.Uint32(k[2:])))
}

type badCase struct {
	name   string
	call   func(dense, hyb *Index) error
	target error  // the sentinel the error must match
	field  string // a substring of the field the typed error names
}

func badInputCases(db *DB) []badCase {
	ns := func(ix *Index) *Namespace { return ix.Namespace("t1") }
	upsert := func(recs ...Record) func(dense, hyb *Index) error {
		return func(dense, _ *Index) error { _, err := ns(dense).Upsert(ctx, recs); return err }
	}
	upsertHyb := func(recs ...Record) func(dense, hyb *Index) error {
		return func(_, hyb *Index) error { _, err := ns(hyb).Upsert(ctx, recs); return err }
	}
	query := func(req QueryRequest) func(dense, hyb *Index) error {
		return func(dense, _ *Index) error { _, err := ns(dense).Query(ctx, req); return err }
	}
	queryHyb := func(req QueryRequest) func(dense, hyb *Index) error {
		return func(_, hyb *Index) error { _, err := ns(hyb).Query(ctx, req); return err }
	}
	update := func(req UpdateRequest) func(dense, hyb *Index) error {
		return func(dense, _ *Index) error { _, err := ns(dense).Update(ctx, req); return err }
	}
	create := func(spec CreateIndexRequest) func(dense, hyb *Index) error {
		return func(*Index, *Index) error { _, err := db.CreateIndex(ctx, spec); return err }
	}
	good := func(id string) Record { return Record{ID: id, Values: []float32{1, 2, 3, 4}} }
	v4 := []float32{1, 2, 3, 4}
	sp := func(idx []uint32, val []float32) *SparseValues { return &SparseValues{Indices: idx, Values: val} }
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	manyTags := map[string]string{}
	for i := range 21 {
		manyTags[fmt.Sprintf("k%d", i)] = "v"
	}
	tooMany := make([]Record, defaultMaxBatchRecords+1)
	for i := range tooMany {
		tooMany[i] = good(fmt.Sprint(i))
	}
	manyIDs := make([]string, defaultMaxBatchRecords+1)
	for i := range manyIDs {
		manyIDs[i] = fmt.Sprint(i)
	}
	bigSparse := sp(make([]uint32, MaxSparseValues+1), make([]float32, MaxSparseValues+1))
	for i := range bigSparse.Indices {
		bigSparse.Indices[i] = uint32(i)
	}
	long := strings.Repeat("m", MaxMetadataBytes)

	return []badCase{
		// Index specs and configuration.
		{"index name empty", create(CreateIndexRequest{Name: "", Dimension: 4}), ErrInvalidArgument, "name"},
		{"index name upper case", create(CreateIndexRequest{Name: "Docs", Dimension: 4}), ErrInvalidArgument, "name"},
		{"index name underscore", create(CreateIndexRequest{Name: "a_b", Dimension: 4}), ErrInvalidArgument, "name"},
		{"index name leading dash", create(CreateIndexRequest{Name: "-a", Dimension: 4}), ErrInvalidArgument, "name"},
		{"index name trailing dash", create(CreateIndexRequest{Name: "a-", Dimension: 4}), ErrInvalidArgument, "name"},
		{"index name invalid UTF-8", create(CreateIndexRequest{Name: "a\xff", Dimension: 4}), ErrInvalidArgument, "name"},
		{"index name too long", create(CreateIndexRequest{Name: strings.Repeat("a", 46), Dimension: 4}), ErrInvalidArgument, "name"},
		{"dimension zero", create(CreateIndexRequest{Name: "x", Dimension: 0}), ErrInvalidArgument, "dimension"},
		{"dimension negative", create(CreateIndexRequest{Name: "x", Dimension: -3}), ErrInvalidArgument, "dimension"},
		{"dimension too large", create(CreateIndexRequest{Name: "x", Dimension: MaxDimension + 1}), ErrInvalidArgument, "dimension"},
		{"unknown metric", create(CreateIndexRequest{Name: "x", Dimension: 4, Metric: "manhattan"}), ErrInvalidArgument, "metric"},
		{"tag key invalid", create(CreateIndexRequest{Name: "x", Dimension: 4, Tags: map[string]string{"a b": "v"}}), ErrInvalidArgument, "tags"},
		{"tag value too long", create(CreateIndexRequest{Name: "x", Dimension: 4, Tags: map[string]string{"k": strings.Repeat("v", 121)}}), ErrInvalidArgument, "tags"},
		{"tag value control char", create(CreateIndexRequest{Name: "x", Dimension: 4, Tags: map[string]string{"k": "a\nb"}}), ErrInvalidArgument, "tags"},
		{"too many tags", create(CreateIndexRequest{Name: "x", Dimension: 4, Tags: manyTags}), ErrInvalidArgument, "tags"},
		{"index exists", create(CreateIndexRequest{Name: "dense", Dimension: 4}), ErrIndexExists, ""},
		{"configure bad tag", func(*Index, *Index) error {
			_, err := db.ConfigureIndex(ctx, "dense", ConfigureIndexRequest{Tags: map[string]string{"": "v"}})
			return err
		}, ErrInvalidArgument, "tags"},
		{"delete protected index", func(*Index, *Index) error { return db.DeleteIndex(ctx, "hyb") }, ErrDeletionProtected, ""},
		{"delete missing index", func(*Index, *Index) error { return db.DeleteIndex(ctx, "nope") }, ErrIndexNotFound, ""},

		// Namespace names.
		{"namespace name too long", func(dense, _ *Index) error {
			_, err := dense.Namespace(strings.Repeat("n", 513)).Upsert(ctx, []Record{good("a")})
			return err
		}, ErrInvalidArgument, "namespace"},
		{"namespace name NUL", func(dense, _ *Index) error {
			_, err := dense.Namespace("a\x00b").Upsert(ctx, []Record{good("a")})
			return err
		}, ErrInvalidArgument, "namespace"},
		{"create namespace NUL", func(dense, _ *Index) error { _, err := dense.CreateNamespace(ctx, "\x00"); return err }, ErrInvalidArgument, "namespace"},
		{"create existing namespace", func(dense, _ *Index) error { _, err := dense.CreateNamespace(ctx, "t1"); return err }, ErrNamespaceExists, ""},
		{"delete missing namespace", func(dense, _ *Index) error { return dense.DeleteNamespace(ctx, "nope") }, ErrNamespaceNotFound, ""},
		{"describe missing namespace", func(dense, _ *Index) error { _, err := dense.DescribeNamespace(ctx, "nope"); return err }, ErrNamespaceNotFound, ""},

		// Records.
		{"no records", upsert(), ErrInvalidArgument, "records"},
		{"dimension short", upsert(good("a"), Record{ID: "b", Values: []float32{1, 2, 3}}), ErrDimensionMismatch, "records[1].values"},
		{"dimension long", upsert(Record{ID: "b", Values: []float32{1, 2, 3, 4, 5}}), ErrDimensionMismatch, "records[0].values"},
		{"no values", upsert(Record{ID: "b"}), ErrDimensionMismatch, "records[0].values"},
		{"NaN", upsert(good("a"), Record{ID: "b", Values: []float32{1, nan, 3, 4}}), ErrInvalidArgument, "records[1].values[1]"},
		{"+Inf", upsert(Record{ID: "b", Values: []float32{1, 2, 3, inf}}), ErrInvalidArgument, "records[0].values[3]"},
		{"-Inf", upsert(Record{ID: "b", Values: []float32{-inf, 2, 3, 4}}), ErrInvalidArgument, "records[0].values[0]"},
		{"all zero", upsert(Record{ID: "b", Values: []float32{0, 0, 0, 0}}), ErrInvalidArgument, "records[0].values"},
		{"all tiny", upsert(Record{ID: "b", Values: []float32{1e-9, -1e-9, 0, 5e-9}}), ErrInvalidArgument, "records[0].values"},
		{"empty values", upsert(Record{ID: "b", Values: []float32{}}), ErrDimensionMismatch, "records[0].values"},
		{"squares overflow", upsert(Record{ID: "b", Values: []float32{1e30, 1e30, 1e30, 1e30}}), ErrInvalidArgument, "records[0].values"},
		{"norm just too large", upsert(Record{ID: "b", Values: []float32{1e19, 0, 0, 0}}), ErrInvalidArgument, "records[0].values"},
		{"sparse squares overflow", upsertHyb(Record{ID: "a", Values: v4, SparseValues: sp([]uint32{1, 2}, []float32{1e30, 1e30})}), ErrInvalidArgument, "records[0].sparseValues.values"},
		{"empty id", upsert(good("a"), good("")), ErrInvalidArgument, "records[1].id"},
		{"id too long", upsert(good(strings.Repeat("i", 513))), ErrInvalidArgument, "records[0].id"},
		{"id with NUL", upsert(good("a\x00")), ErrInvalidArgument, "records[0].id"},
		{"duplicate ids", upsert(good("a"), good("b"), good("a")), ErrInvalidArgument, "records[2].id"},
		{"too many records", upsert(tooMany...), ErrBatchTooLarge, "records"},
		{"sparse on cosine", upsert(Record{ID: "a", Values: v4, SparseValues: sp([]uint32{1}, []float32{1})}), ErrInvalidArgument, "records[0].sparseValues"},
		{"sparse unequal lengths", upsertHyb(Record{ID: "a", Values: v4, SparseValues: sp([]uint32{1, 2}, []float32{1})}), ErrInvalidArgument, "records[0].sparseValues"},
		{"sparse duplicate index", upsertHyb(Record{ID: "a", Values: v4, SparseValues: sp([]uint32{5, 1, 5}, []float32{1, 2, 3})}), ErrInvalidArgument, "records[0].sparseValues.indices"},
		{"sparse NaN", upsertHyb(Record{ID: "a", Values: v4, SparseValues: sp([]uint32{1}, []float32{nan})}), ErrInvalidArgument, "records[0].sparseValues.values[0]"},
		{"sparse too many", upsertHyb(Record{ID: "a", Values: v4, SparseValues: bigSparse}), ErrInvalidArgument, "records[0].sparseValues"},
		{"metadata nested", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"x": map[string]any{"y": 1}}}), ErrInvalidArgument, `records[0].metadata["x"]`},
		{"metadata null", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"x": nil}}), ErrInvalidArgument, `records[0].metadata["x"]`},
		{"metadata list of numbers", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"x": []int{1}}}), ErrInvalidArgument, `records[0].metadata["x"]`},
		{"metadata mixed list", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"x": []any{"a", 1}}}), ErrInvalidArgument, `records[0].metadata["x"][1]`},
		{"metadata $ key", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"$x": 1}}), ErrInvalidArgument, "records[0].metadata"},
		{"metadata empty key", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"": 1}}), ErrInvalidArgument, "records[0].metadata"},
		{"metadata bad UTF-8", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"x": "\xff"}}), ErrInvalidArgument, `records[0].metadata["x"]`},
		{"metadata NaN", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"x": math.NaN()}}), ErrInvalidArgument, `records[0].metadata["x"]`},
		{"metadata struct", upsert(Record{ID: "a", Values: v4, Metadata: Metadata{"x": struct{}{}}}), ErrInvalidArgument, `records[0].metadata["x"]`},
		{"metadata too big", upsert(good("a"), Record{ID: "b", Values: v4, Metadata: Metadata{"x": long}}), ErrInvalidArgument, "records[1].metadata"},

		// Update.
		{"update bad id", update(UpdateRequest{ID: "", Values: v4}), ErrInvalidArgument, "id"},
		{"update nothing", update(UpdateRequest{ID: "a"}), ErrInvalidArgument, "update"},
		{"update empty setMetadata", update(UpdateRequest{ID: "a", SetMetadata: Metadata{}}), ErrInvalidArgument, "setMetadata"},
		{"update unknown id empty setMetadata", update(UpdateRequest{ID: "zz", SetMetadata: Metadata{}}), ErrInvalidArgument, "setMetadata"},
		{"update wrong dimension", update(UpdateRequest{ID: "a", Values: []float32{1}}), ErrDimensionMismatch, "values"},
		{"update NaN", update(UpdateRequest{ID: "a", Values: []float32{nan, 1, 1, 1}}), ErrInvalidArgument, "values[0]"},
		{"update sparse on cosine", update(UpdateRequest{ID: "a", SparseValues: sp([]uint32{1}, []float32{1})}), ErrInvalidArgument, "sparseValues"},
		{"update bad metadata", update(UpdateRequest{ID: "a", SetMetadata: Metadata{"x": []float64{1}}}), ErrInvalidArgument, `setMetadata["x"]`},

		// Fetch and delete.
		{"fetch no ids", func(dense, _ *Index) error { _, err := ns(dense).Fetch(ctx, nil); return err }, ErrInvalidArgument, "ids"},
		{"fetch bad id", func(dense, _ *Index) error { _, err := ns(dense).Fetch(ctx, []string{"a", ""}); return err }, ErrInvalidArgument, "ids[1]"},
		{"fetch too many", func(dense, _ *Index) error { _, err := ns(dense).Fetch(ctx, manyIDs); return err }, ErrBatchTooLarge, "ids"},
		{"delete no ids", func(dense, _ *Index) error { _, err := ns(dense).Delete(ctx, []string{}); return err }, ErrInvalidArgument, "ids"},
		{"delete bad id", func(dense, _ *Index) error { _, err := ns(dense).Delete(ctx, []string{"a", "b\x00"}); return err }, ErrInvalidArgument, "ids[1]"},
		{"delete too many", func(dense, _ *Index) error { _, err := ns(dense).Delete(ctx, manyIDs); return err }, ErrBatchTooLarge, "ids"},

		// Query.
		{"topK zero", query(QueryRequest{Vector: v4, TopK: 0}), ErrInvalidArgument, "topK"},
		{"topK negative", query(QueryRequest{Vector: v4, TopK: -1}), ErrInvalidArgument, "topK"},
		{"topK too large", query(QueryRequest{Vector: v4, TopK: MaxTopK + 1}), ErrInvalidArgument, "topK"},
		{"topK MaxInt", query(QueryRequest{Vector: v4, TopK: math.MaxInt}), ErrInvalidArgument, "topK"},
		{"query squares overflow", query(QueryRequest{Vector: []float32{-1e30, 1e30, 1, 1}, TopK: 1}), ErrInvalidArgument, "vector"},
		{"update squares overflow", update(UpdateRequest{ID: "a", Values: []float32{1e30, 1e30, 1e30, 1e30}}), ErrInvalidArgument, "values"},
		{"vector and id", query(QueryRequest{Vector: v4, ID: "a", TopK: 1}), ErrInvalidArgument, "vector"},
		{"neither vector nor id", query(QueryRequest{TopK: 1}), ErrInvalidArgument, "vector"},
		{"query wrong dimension", query(QueryRequest{Vector: []float32{1, 2}, TopK: 1}), ErrDimensionMismatch, "vector"},
		{"query NaN", query(QueryRequest{Vector: []float32{1, 2, nan, 4}, TopK: 1}), ErrInvalidArgument, "vector[2]"},
		{"query zero vector", query(QueryRequest{Vector: []float32{0, 0, 0, 0}, TopK: 1}), ErrInvalidArgument, "vector"},
		{"query bad id", query(QueryRequest{ID: "a\x00", TopK: 1}), ErrInvalidArgument, "id"},
		{"query sparse on cosine", query(QueryRequest{Vector: v4, SparseVector: sp([]uint32{1}, []float32{1}), TopK: 1}), ErrInvalidArgument, "sparseVector"},
		{"query bad sparse", queryHyb(QueryRequest{Vector: v4, SparseVector: sp([]uint32{1, 1}, []float32{1, 1}), TopK: 1}), ErrInvalidArgument, "sparseVector"},

		// Filters.
		{"query bad filter", query(QueryRequest{Vector: v4, TopK: 1, Filter: Filter{"k": Filter{"$gt": "x"}}}), ErrInvalidArgument, "filter.k"},
		{"query filter operator at top", query(QueryRequest{Vector: v4, TopK: 1, Filter: Filter{"$in": []string{"v"}}}), ErrInvalidArgument, "filter.$in"},
		{"update id and filter", update(UpdateRequest{ID: "a", Filter: Filter{"k": "v"}, SetMetadata: Metadata{"x": 1}}), ErrInvalidArgument, "id"},
		{"update values by filter", update(UpdateRequest{Filter: Filter{"k": "v"}, Values: v4}), ErrInvalidArgument, "filter"},
		{"update by filter no metadata", update(UpdateRequest{Filter: Filter{"k": "v"}}), ErrInvalidArgument, "setMetadata"},
		{"update by filter empty setMetadata", update(UpdateRequest{Filter: Filter{"k": "v"}, SetMetadata: Metadata{}}), ErrInvalidArgument, "setMetadata"},
		{"update dry run without filter", update(UpdateRequest{ID: "a", DryRun: true}), ErrInvalidArgument, "dryRun"},
		{"update empty filter", update(UpdateRequest{Filter: Filter{}, SetMetadata: Metadata{"x": 1}}), ErrInvalidArgument, "filter"},
		{"update bad filter", update(UpdateRequest{Filter: Filter{"k": nil}, SetMetadata: Metadata{"x": 1}}), ErrInvalidArgument, "filter.k"},
		{"update by filter bad metadata", update(UpdateRequest{Filter: Filter{"k": "v"}, SetMetadata: Metadata{"$x": 1}}), ErrInvalidArgument, "setMetadata"},
		{"delete by nil filter", func(dense, _ *Index) error { _, err := ns(dense).DeleteByFilter(ctx, nil); return err }, ErrInvalidArgument, "filter"},
		{"delete by bad filter", func(dense, _ *Index) error {
			_, err := ns(dense).DeleteByFilter(ctx, Filter{"$or": []Filter{}})
			return err
		}, ErrInvalidArgument, "filter.$or"},
		{"fetch by metadata no filter", func(dense, _ *Index) error {
			_, err := ns(dense).FetchByMetadata(ctx, FetchByMetadataRequest{})
			return err
		}, ErrInvalidArgument, "filter"},
		{"fetch by metadata bad limit", func(dense, _ *Index) error {
			_, err := ns(dense).FetchByMetadata(ctx, FetchByMetadataRequest{Filter: Filter{"k": "v"}, Limit: -2})
			return err
		}, ErrInvalidArgument, "limit"},

		// Listing.
		{"list negative limit", func(dense, _ *Index) error { _, err := ns(dense).List(ctx, ListRequest{Limit: -1}); return err }, ErrInvalidArgument, "limit"},
		{"list limit too large", func(dense, _ *Index) error {
			_, err := ns(dense).List(ctx, ListRequest{Limit: MaxListLimit + 1})
			return err
		}, ErrInvalidArgument, "limit"},
		{"list garbage token", func(dense, _ *Index) error {
			_, err := ns(dense).List(ctx, ListRequest{PaginationToken: "!!"})
			return err
		}, ErrInvalidArgument, "paginationToken"},
		{"list namespace token", func(dense, _ *Index) error {
			_, err := ns(dense).List(ctx, ListRequest{PaginationToken: encodeToken(tokenNamespaces, "t1")})
			return err
		}, ErrInvalidArgument, "paginationToken"},
		{"list namespaces bad limit", func(dense, _ *Index) error {
			_, err := dense.ListNamespaces(ctx, ListNamespacesRequest{Limit: -5})
			return err
		}, ErrInvalidArgument, "limit"},
		{"list namespaces id token", func(dense, _ *Index) error {
			_, err := dense.ListNamespaces(ctx, ListNamespacesRequest{PaginationToken: encodeToken(tokenIDs, "a")})
			return err
		}, ErrInvalidArgument, "paginationToken"},

		// A context already cancelled: every call refuses, writing nothing.
		{"cancelled upsert", func(dense, _ *Index) error {
			_, err := ns(dense).Upsert(cancelled, []Record{good("new")})
			return err
		}, context.Canceled, ""},
		{"cancelled upsert to a new namespace", func(dense, _ *Index) error {
			_, err := dense.Namespace("brand-new").Upsert(cancelled, []Record{good("new")})
			return err
		}, context.Canceled, ""},
		{"cancelled update", func(dense, _ *Index) error {
			_, err := ns(dense).Update(cancelled, UpdateRequest{ID: "a", Values: []float32{4, 4, 4, 4}})
			return err
		}, context.Canceled, ""},
		{"cancelled update by filter", func(dense, _ *Index) error {
			_, err := ns(dense).Update(cancelled, UpdateRequest{Filter: Filter{"k": "v"}, SetMetadata: Metadata{"x": 1}})
			return err
		}, context.Canceled, ""},
		{"cancelled delete", func(dense, _ *Index) error { _, err := ns(dense).Delete(cancelled, []string{"a"}); return err }, context.Canceled, ""},
		{"cancelled delete by filter", func(dense, _ *Index) error {
			_, err := ns(dense).DeleteByFilter(cancelled, Filter{"k": "v"})
			return err
		}, context.Canceled, ""},
		{"cancelled delete all", func(dense, _ *Index) error { _, err := ns(dense).DeleteAll(cancelled); return err }, context.Canceled, ""},
		{"cancelled delete namespace", func(dense, _ *Index) error { return dense.DeleteNamespace(cancelled, "t1") }, context.Canceled, ""},
		{"cancelled create namespace", func(dense, _ *Index) error {
			_, err := dense.CreateNamespace(cancelled, "made")
			return err
		}, context.Canceled, ""},
		{"cancelled create index", func(*Index, *Index) error {
			_, err := db.CreateIndex(cancelled, CreateIndexRequest{Name: "made", Dimension: 4})
			return err
		}, context.Canceled, ""},
		{"cancelled delete index", func(*Index, *Index) error { return db.DeleteIndex(cancelled, "dense") }, context.Canceled, ""},
		{"cancelled query", func(dense, _ *Index) error {
			_, err := ns(dense).Query(cancelled, QueryRequest{Vector: v4, TopK: 1})
			return err
		}, context.Canceled, ""},
		{"cancelled fetch", func(dense, _ *Index) error { _, err := ns(dense).Fetch(cancelled, []string{"a"}); return err }, context.Canceled, ""},
	}
}

// cancelled is a context that is already done.
var cancelled = func() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}()

// TestBadInputChangesNothing runs every bad input against a populated
// database, checks the typed error and the field it names, and checks
// that no stored byte and no counter changed.
func TestBadInputChangesNothing(t *testing.T) {
	db := openMem(t)
	dense := mustIndex(t, db, "dense", 4, Cosine)
	hyb, err := db.CreateIndex(ctx, CreateIndexRequest{Name: "hyb", Dimension: 4, Metric: DotProduct, DeletionProtection: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range []*Index{dense, hyb} {
		for _, n := range []string{"t1", "t2"} {
			_, err := ix.Namespace(n).Upsert(ctx, []Record{
				{ID: "a", Values: []float32{1, 2, 3, 4}, Metadata: Metadata{"k": "v"}},
				{ID: "b", Values: []float32{4, 3, 2, 1}},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// Make one namespace hot and indexed so its segment is compared too.
	if _, err := dense.Namespace("t1").Query(ctx, QueryRequest{ID: "a", TopK: 1, Filter: Filter{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range badInputCases(db) {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, db)
			err := c.call(dense, hyb)
			if !errors.Is(err, c.target) {
				t.Fatalf("err = %v, want %v", err, c.target)
			}
			if c.field != "" {
				var (
					ae *ArgumentError
					de *DimensionError
					be *BatchTooLargeError
				)
				var field string
				switch {
				case errors.As(err, &ae):
					field = ae.Field
				case errors.As(err, &de):
					field = de.Field
				case errors.As(err, &be):
					field = be.Field
				default:
					t.Fatalf("err %v (%T) is not a typed argument error", err, err)
				}
				if !strings.Contains(field, c.field) {
					t.Fatalf("error names field %q, want %q (%v)", field, c.field, err)
				}
				if !strings.Contains(err.Error(), field) {
					t.Fatalf("message %q does not name the field", err)
				}
			}
			if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
				for k, v := range after {
					if before[k] != v {
						t.Errorf("changed: %s\n  before %s\n  after  %s", k, before[k], v)
					}
				}
				for k := range before {
					if _, ok := after[k]; !ok {
						t.Errorf("removed: %s", k)
					}
				}
				t.FailNow()
			}
		})
	}
}

// TestBatchTooLargeForOneTransaction checks the byte cap of one atomic
// Upsert, with the record-count cap raised out of the way.
func TestBatchTooLargeForOneTransaction(t *testing.T) {
	db := openMemWith(t, func(o *Options) {
		o.MaxBatchRecords = 100000
		o.MemTableSize = 4 << 20 // a 629 KB transaction cap
	})
	ns := mustIndex(t, db, "i", 768, Cosine).Namespace("t")
	recs := make([]Record, 300) // 300 * ~3 KB: over the cap
	for i := range recs {
		recs[i] = Record{ID: fmt.Sprint(i), Values: fill(768, 1)}
	}
	before := snapshot(t, db)
	_, err := ns.Upsert(ctx, recs)
	var be *BatchTooLargeError
	if !errors.As(err, &be) || be.Bytes == 0 || be.MaxBytes != db.store.MaxTxnBytes() || !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("err = %v, want a byte-size BatchTooLargeError", err)
	}
	if after := snapshot(t, db); !reflect.DeepEqual(before, after) {
		t.Fatal("refused batch changed the database")
	}
	// The largest batch that fits is accepted whole.
	if _, err := ns.Upsert(ctx, recs[:150]); err != nil {
		t.Fatalf("150 records: %v", err)
	}
}

// TestDefaultBatchFits1000x768 checks the documented atomic batch: 1000
// records of dimension 768 in one Upsert at the default memtable size.
func TestDefaultBatchFits1000x768(t *testing.T) {
	db, err := Open("", &Options{InMemory: true, Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ns := mustIndex(t, db, "i", 768, Cosine).Namespace("t")
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = Record{ID: fmt.Sprintf("doc-%06d", i), Values: fill(768, 1), Metadata: Metadata{"title": strings.Repeat("t", 200)}}
	}
	if _, err := ns.Upsert(ctx, recs); err != nil {
		t.Fatal(err)
	}
}

// TestDeleteTooLargeForOneTransaction checks Delete's byte cap with a
// small memtable, where MaxBatchRecords ids with metadata do not fit.
func TestDeleteTooLargeForOneTransaction(t *testing.T) {
	db := openMemWith(t, func(o *Options) {
		o.MemTableSize = 1 << 20
	})
	ns := mustIndex(t, db, "ix", 4, Cosine).Namespace("t")
	var ids []string
	for c := range 10 {
		var recs []Record
		for i := range 100 {
			id := fmt.Sprintf("record-%d-%d-%s", c, i, strings.Repeat("x", 40))
			ids = append(ids, id)
			recs = append(recs, Record{ID: id, Values: []float32{1, 2, 3, 4}, Metadata: Metadata{"k": "v"}})
		}
		if _, err := ns.Upsert(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, db)
	_, err := ns.Delete(ctx, ids)
	var be *BatchTooLargeError
	if !errors.As(err, &be) || be.Field != "ids" || be.Records != 1000 || (be.Bytes == 0 && be.MaxRecords == 0) {
		t.Fatalf("err = %v, want a BatchTooLargeError on ids", err)
	}
	if !reflect.DeepEqual(before, snapshot(t, db)) {
		t.Fatal("refused delete changed the database")
	}
	if _, err := ns.Delete(ctx, ids[:500]); err != nil {
		t.Fatalf("500 ids: %v", err)
	}
}
