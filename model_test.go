package vectordb

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vectordb-go/vectordb/internal/filter"
	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/segment"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// The model-based test: random operation sequences across several
// namespaces with adversarial names and ids, with close and reopen,
// checked after every step against a plain in-memory model. Exact query
// results are checked against the model's brute force. On failure the
// seed is printed; rerun with -model.seed to reproduce.

var (
	modelSeed  = flag.Uint64("model.seed", 0, "seed of the model-based test (0: derived from the time)")
	modelSteps = flag.Int("model.steps", 0, "steps per model-based run (0: the default, fewer with -short)")
)

type modelRecord struct {
	values []float32
	sparse segment.Sparse
	md     Metadata
}

// modelNS is the model of one namespace.
type modelNS struct {
	recs map[string]modelRecord
	wu   int64
	ru   int64
}

type modelHarness struct {
	t       *testing.T
	r       *rand.Rand
	seed    uint64
	dir     string // "" for in-memory
	db      *DB
	ix      *Index
	metric  Metric
	dim     int
	step    int
	op      string
	ns      map[string]*modelNS // by canonical name
	ivfSeen int                 // full-check visits to namespaces with an IVF index
}

// Names and ids chosen to collide: prefixes of each other, both spellings
// of the default namespace, odd bytes.
var (
	modelNames = []string{"", DefaultNamespace, "a", "ab", "a\x01b", "\xff\xfe", "tenant/1", "é"}
	modelIDs   = []string{"a", "ab", "abc", "b", "\x01", "\xff", "a\xff", "id/1", "ID", "a b", "é", "x", "y", "z", strings.Repeat("L", MaxIDBytes)}
)

func TestModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	for _, disk := range []bool{false, true} {
		for mi, metric := range []Metric{Cosine, Euclidean, DotProduct} {
			name := fmt.Sprintf("memory/%s", metric)
			steps := 20000
			if disk {
				name = fmt.Sprintf("disk/%s", metric)
				steps = 5000
			}
			if testing.Short() {
				steps /= 5
			}
			if *modelSteps > 0 {
				steps = *modelSteps
			}
			t.Run(name, func(t *testing.T) {
				s := seed + uint64(mi)
				if disk {
					s += 100
				}
				h := &modelHarness{t: t, r: rand.New(rand.NewPCG(s, 7)), seed: s, metric: metric, dim: 5, ns: map[string]*modelNS{}}
				if disk {
					h.dir = t.TempDir()
				}
				h.open()
				defer func() { h.db.Close() }()
				var err error
				if h.ix, err = h.db.CreateIndex(ctx, CreateIndexRequest{Name: "model", Dimension: h.dim, Metric: metric}); err != nil {
					t.Fatal(err)
				}
				h.run(steps)
			})
		}
	}
}

func (h *modelHarness) open() {
	o := testOptions()
	o.InMemory = h.dir == ""
	o.MemTableSize = 2 << 20 // small: many flushes and compactions
	o.IVFMinRecords = 4      // tiny: IVF builds, inserts, deletes and rebuilds all the time
	o.MemoryBudget = 5 << 10 // about two namespaces: evictions and reloads all the time
	db, err := Open(h.dir, o)
	if err != nil {
		h.fatalf("open: %v", err)
	}
	h.db = db
}

func (h *modelHarness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("seed %d (-model.seed=%d), step %d (%s): %s", h.seed, h.seed, h.step, h.op, fmt.Sprintf(format, args...))
}

func (h *modelHarness) check(err error) {
	h.t.Helper()
	if err != nil {
		h.fatalf("unexpected error: %v", err)
	}
}

func (h *modelHarness) run(steps int) {
	type op struct {
		name   string
		weight int
		fn     func()
	}
	ops := []op{
		{"upsert", 30, h.upsert},
		{"bad upsert", 3, h.badUpsert},
		{"query", 20, h.query},
		{"fetch", 10, h.fetch},
		{"update", 10, h.update},
		{"delete", 8, h.delete},
		{"list", 5, h.list},
		{"describe", 5, h.describe},
		{"deleteAll", 2, h.deleteAll},
		{"deleteNamespace", 2, h.deleteNamespace},
		{"createNamespace", 2, h.createNamespace},
		{"updateByFilter", 3, h.updateByFilter},
		{"deleteByFilter", 1, h.deleteByFilter},
		{"fetchByMetadata", 3, h.fetchByMetadata},
		{"buildIVF", 2, h.buildIVF},
		{"exportImport", 2, h.exportImport},
	}
	if h.dir != "" {
		ops = append(ops, op{"reopen", 1, h.reopen}, op{"backupRestore", 1, h.backupRestore})
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	for h.step = 0; h.step < steps; h.step++ {
		w := h.r.IntN(total)
		for _, o := range ops {
			if w < o.weight {
				h.op = o.name
				o.fn()
				break
			}
			w -= o.weight
		}
		if h.step%200 == 199 {
			h.op = "full check"
			h.fullCheck()
		}
	}
	h.op = "final reopen"
	if h.dir != "" {
		h.reopen()
	}
	h.fullCheck()
	if h.ivfSeen == 0 && steps >= 1000 {
		h.fatalf("no full check met a namespace with an IVF index: the IVF paths went untested")
	}
	if st, _ := h.db.Stats(ctx); st.Evictions == 0 && steps >= 1000 && h.dir == "" {
		h.fatalf("no namespace was evicted: the memory budget went untested")
	}
}

func (h *modelHarness) pickName() string { return modelNames[h.r.IntN(len(modelNames))] }
func (h *modelHarness) pickID() string   { return modelIDs[h.r.IntN(len(modelIDs))] }

func (h *modelHarness) vector() []float32 {
	v := randVec(h.r, h.dim)
	if h.r.IntN(10) == 0 {
		for i := range v { // coarse values make exact ties likely
			v[i] = float32(h.r.IntN(3) - 1)
		}
		v[0] = 1
	}
	return v
}

func (h *modelHarness) sparse() *SparseValues {
	if h.metric != DotProduct || h.r.IntN(3) == 0 {
		return nil
	}
	n := h.r.IntN(4)
	sv := &SparseValues{}
	for _, i := range h.r.Perm(12)[:n] {
		sv.Indices = append(sv.Indices, uint32(i))
		sv.Values = append(sv.Values, h.r.Float32())
	}
	return sv
}

func sortedSparse(sv *SparseValues) segment.Sparse {
	s, err := normalizeSparse("", sv, DotProduct)
	if err != nil {
		panic(err)
	}
	return s
}

// metadata returns random metadata and its stored form.
func (h *modelHarness) metadata() (Metadata, Metadata) {
	if h.r.IntN(3) == 0 {
		return nil, nil
	}
	in, stored := Metadata{}, Metadata{}
	if h.r.IntN(2) == 0 {
		g := []string{"drama", "comedy", "<&>"}[h.r.IntN(3)]
		in["genre"], stored["genre"] = g, g
	}
	if h.r.IntN(2) == 0 {
		y := 1990 + h.r.IntN(40)
		in["year"], stored["year"] = y, float64(y)
	}
	if h.r.IntN(3) == 0 {
		in["tags"], stored["tags"] = []any{"a", "b"}, []string{"a", "b"}
	}
	if h.r.IntN(3) == 0 {
		in["flag"], stored["flag"] = true, true
	}
	if len(stored) == 0 {
		return Metadata{}, nil // empty metadata is stored as none
	}
	return in, stored
}

func (h *modelHarness) nsModel(name string) *modelNS {
	c, _ := canonicalNamespace(name)
	return h.ns[c]
}

func (h *modelHarness) upsert() {
	name := h.pickName()
	n := 1 + h.r.IntN(8)
	var recs []Record
	stored := map[string]modelRecord{}
	for _, i := range h.r.Perm(len(modelIDs))[:n] {
		id := modelIDs[i]
		md, smd := h.metadata()
		sv := h.sparse()
		r := Record{ID: id, Values: h.vector(), Metadata: md, SparseValues: sv}
		recs = append(recs, r)
		stored[id] = modelRecord{values: slices.Clone(r.Values), sparse: sortedSparse(sv), md: smd}
	}
	res, err := h.ix.Namespace(name).Upsert(ctx, recs)
	h.check(err)
	if res.UpsertedCount != n {
		h.fatalf("UpsertedCount %d, want %d", res.UpsertedCount, n)
	}
	m := h.nsModel(name)
	if m == nil {
		c, _ := canonicalNamespace(name)
		m = &modelNS{recs: map[string]modelRecord{}}
		h.ns[c] = m
	}
	maps.Copy(m.recs, stored)
	m.wu += int64(res.Usage.WriteUnits)
}

// badUpsert sends a batch with one invalid record: nothing may change.
func (h *modelHarness) badUpsert() {
	name := h.pickName()
	recs := []Record{{ID: fmt.Sprintf("fresh-%d", h.step), Values: h.vector()}, {ID: h.pickID(), Values: h.vector()}}
	switch h.r.IntN(3) {
	case 0:
		recs[1].Values = recs[1].Values[:h.dim-1]
	case 1:
		recs[1].Values[2] = float32(math.NaN())
	case 2:
		recs[1].ID = recs[0].ID
	}
	_, err := h.ix.Namespace(name).Upsert(ctx, recs)
	if !errors.Is(err, ErrInvalidArgument) {
		h.fatalf("bad batch: err = %v", err)
	}
	f, err := h.ix.Namespace(name).Fetch(ctx, []string{recs[0].ID})
	h.check(err)
	if len(f.Records) != 0 {
		h.fatalf("a refused batch stored %q", recs[0].ID)
	}
	if m := h.nsModel(name); m != nil {
		m.ru += int64(f.Usage.ReadUnits)
	}
}

func (h *modelHarness) update() {
	name, id := h.pickName(), h.pickID()
	req := UpdateRequest{ID: id}
	var smd Metadata
	switch h.r.IntN(4) {
	case 0:
		req.Values = h.vector()
	case 1:
		req.SetMetadata, smd = h.metadata()
		if len(req.SetMetadata) == 0 { // sets nothing: refused (badinput_test.go)
			req.SetMetadata, smd = Metadata{"genre": "x"}, Metadata{"genre": "x"}
		}
	case 2:
		if h.metric == DotProduct {
			req.SparseValues = &SparseValues{Indices: []uint32{3}, Values: []float32{0.5}}
		} else {
			req.Values = h.vector()
		}
	case 3:
		req.Values = h.vector()
		req.SetMetadata, smd = Metadata{"flag": false}, Metadata{"flag": false}
	}
	res, err := h.ix.Namespace(name).Update(ctx, req)
	h.check(err)
	m := h.nsModel(name)
	want := 0
	if m != nil {
		m.wu += int64(res.Usage.WriteUnits)
		if r, ok := m.recs[id]; ok {
			want = 1
			if req.Values != nil {
				r.values = slices.Clone(req.Values)
			}
			if req.SparseValues != nil {
				r.sparse = sortedSparse(req.SparseValues)
			}
			if smd != nil {
				r.md = record.MergeMetadata(r.md, smd)
			}
			m.recs[id] = r
		}
	}
	if res.MatchedRecords != want {
		h.fatalf("update %q: matched %d, want %d", id, res.MatchedRecords, want)
	}
}

func (h *modelHarness) delete() {
	name := h.pickName()
	ids := []string{h.pickID(), h.pickID(), h.pickID()}
	res, err := h.ix.Namespace(name).Delete(ctx, ids)
	h.check(err)
	want := 0
	if m := h.nsModel(name); m != nil {
		m.wu += int64(res.Usage.WriteUnits)
		for _, id := range ids {
			if _, ok := m.recs[id]; ok {
				want++
				delete(m.recs, id)
			}
		}
	}
	if res.DeletedCount != want {
		h.fatalf("delete %q: deleted %d, want %d", ids, res.DeletedCount, want)
	}
}

func (h *modelHarness) deleteAll() {
	name := h.pickName()
	res, err := h.ix.Namespace(name).DeleteAll(ctx)
	h.check(err)
	want := 0
	if m := h.nsModel(name); m != nil {
		want = len(m.recs)
		m.recs = map[string]modelRecord{}
		m.wu += usage.MinWriteUnits
	}
	if res.DeletedCount != want {
		h.fatalf("deleteAll: %d, want %d", res.DeletedCount, want)
	}
}

func (h *modelHarness) deleteNamespace() {
	name := h.pickName()
	err := h.ix.DeleteNamespace(ctx, name)
	c, _ := canonicalNamespace(name)
	if h.ns[c] == nil {
		if !errors.Is(err, ErrNamespaceNotFound) {
			h.fatalf("deleting missing namespace %q: err = %v", name, err)
		}
		return
	}
	h.check(err)
	delete(h.ns, c)
}

func (h *modelHarness) createNamespace() {
	name := h.pickName()
	d, err := h.ix.CreateNamespace(ctx, name)
	c, _ := canonicalNamespace(name)
	if h.ns[c] != nil {
		if !errors.Is(err, ErrNamespaceExists) {
			h.fatalf("creating existing namespace %q: err = %v", name, err)
		}
		return
	}
	h.check(err)
	if d.Name != c || d.RecordCount != 0 {
		h.fatalf("created = %+v", d)
	}
	h.ns[c] = &modelNS{recs: map[string]modelRecord{}}
}

func (h *modelHarness) reopen() {
	h.check(h.db.Close())
	h.open()
	ix, err := h.db.Index("model")
	h.check(err)
	h.ix = ix
}

// exportImport exports one namespace and imports it under another name,
// replacing it or not, in Export's format or as JSON Lines.
func (h *modelHarness) exportImport() {
	from, to := h.pickName(), h.pickName()
	jsonl := h.r.IntN(2) == 0
	export, imp := h.ix.Namespace(from).Export, h.ix.ImportNamespace
	if jsonl {
		export, imp = h.ix.Namespace(from).ExportJSONL, h.ix.ImportNamespaceJSONL
	}
	var buf bytes.Buffer
	info, err := export(ctx, &buf)
	src := h.nsModel(from)
	if src == nil {
		if !errors.Is(err, ErrNamespaceNotFound) {
			h.fatalf("exporting missing namespace %q: err = %v", from, err)
		}
		return
	}
	if jsonl && slices.ContainsFunc(slices.Collect(maps.Keys(src.recs)), func(id string) bool { return !utf8.ValidString(id) }) {
		if !errors.Is(err, errors.ErrUnsupported) {
			h.fatalf("JSON Lines export of an id that is not UTF-8: err = %v", err)
		}
		return
	}
	h.check(err)
	if info.Records != int64(len(src.recs)) {
		h.fatalf("exported %d records, model %d", info.Records, len(src.recs))
	}
	replace := h.r.IntN(2) == 0
	_, err = imp(ctx, to, &buf, &ImportOptions{Replace: replace})
	dst := h.nsModel(to)
	if dst != nil && !replace {
		if !errors.Is(err, ErrNamespaceExists) {
			h.fatalf("importing over %q: err = %v", to, err)
		}
		return
	}
	h.check(err)
	var size uint64
	for id, r := range src.recs {
		size += record.Size(id, record.MetadataJSONSize(r.md), h.dim, len(r.sparse.Idx))
	}
	next := &modelNS{recs: maps.Clone(src.recs), wu: int64(usage.WriteUnits(size))}
	if dst != nil {
		next.wu += dst.wu
		next.ru = dst.ru
	}
	c, _ := canonicalNamespace(to)
	h.ns[c] = next
}

// backupRestore backs the database up, restores the backup into a new
// directory and carries on there.
func (h *modelHarness) backupRestore() {
	var buf bytes.Buffer
	_, err := h.db.Backup(ctx, &buf)
	h.check(err)
	h.check(h.db.Close())
	h.dir = filepath.Join(h.t.TempDir(), "restored")
	_, err = Restore(ctx, h.dir, &buf)
	h.check(err)
	h.open()
	ix, err := h.db.Index("model")
	h.check(err)
	h.ix = ix
}

func (h *modelHarness) fetch() {
	name := h.pickName()
	ids := []string{h.pickID(), h.pickID(), h.pickID(), h.pickID()}
	h.fetchAndCompare(name, ids)
}

func (h *modelHarness) fetchAndCompare(name string, ids []string) {
	res, err := h.ix.Namespace(name).Fetch(ctx, ids)
	h.check(err)
	m := h.nsModel(name)
	want := map[string]Record{}
	if m != nil {
		m.ru += int64(res.Usage.ReadUnits)
		for _, id := range ids {
			if r, ok := m.recs[id]; ok {
				want[id] = Record{ID: id, Values: r.values, SparseValues: publicSparse(r.sparse), Metadata: r.md}
			}
		}
	}
	if !reflect.DeepEqual(res.Records, want) {
		h.fatalf("fetch %q from %q:\n got %v\nwant %v", ids, name, res.Records, want)
	}
}

func (h *modelHarness) list() {
	name := h.pickName()
	prefix := []string{"", "a", "\xff", "id"}[h.r.IntN(4)]
	limit := 1 + h.r.IntN(4)
	var got []string
	opts := ListRequest{Prefix: prefix, Limit: limit}
	m := h.nsModel(name)
	for {
		res, err := h.ix.Namespace(name).List(ctx, opts)
		h.check(err)
		if m != nil {
			m.ru += int64(res.Usage.ReadUnits)
		}
		got = append(got, res.IDs...)
		if res.NextToken == "" {
			break
		}
		opts.PaginationToken = res.NextToken
	}
	var want []string
	if m != nil {
		for id := range m.recs {
			if strings.HasPrefix(id, prefix) {
				want = append(want, id)
			}
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		h.fatalf("list %q prefix %q: got %q, want %q", name, prefix, got, want)
	}
}

// modelScore is the float64 reference score of a record.
func (h *modelHarness) modelScore(q []float32, qs segment.Sparse, r modelRecord) float64 {
	return refScore(h.metric, q, r.values, qs, r.sparse)
}

func (h *modelHarness) query() {
	name := h.pickName()
	m := h.nsModel(name)
	req := QueryRequest{TopK: 1 + h.r.IntN(10), IncludeValues: h.r.IntN(2) == 0, IncludeMetadata: h.r.IntN(2) == 0}
	// The model is exact: force the exact scan, or an IVF search that
	// probes every list, which must give the same result.
	if h.r.IntN(2) == 0 {
		req.Exact = true
	} else {
		req.NProbe = 1 << 20
	}
	var q []float32
	if h.r.IntN(4) == 0 {
		req.ID = h.pickID()
		if m != nil {
			if r, ok := m.recs[req.ID]; ok {
				q = r.values
			}
		}
	} else {
		req.Vector = h.vector()
		q = req.Vector
	}
	var qs segment.Sparse
	if sv := h.sparse(); sv != nil {
		req.SparseVector = sv
		qs = sortedSparse(sv)
	}
	fn := h.maybeFilter(&req.Filter)
	res, err := h.ix.Namespace(name).Query(ctx, req)
	h.check(err)
	if c, _ := canonicalNamespace(name); res.Namespace != c {
		h.fatalf("query echoes namespace %q, want %q", res.Namespace, c)
	}
	if m == nil || q == nil {
		if len(res.Matches) != 0 {
			h.fatalf("query on missing namespace or id returned %v", res.Matches)
		}
		if m != nil {
			m.ru += int64(res.Usage.ReadUnits)
		}
		return
	}
	m.ru += int64(res.Usage.ReadUnits)
	candidates := map[string]modelRecord{}
	for id, r := range m.recs {
		if fn == nil || fn.Match(r.md) {
			candidates[id] = r
		}
	}
	if want := min(req.TopK, len(candidates)); len(res.Matches) != want {
		h.fatalf("query (filter %v) returned %d matches, want %d", fn, len(res.Matches), want)
	}
	tol := func(x float64) float64 { return 1e-5 * math.Max(1, math.Abs(x)) }
	better := func(a, b float64) bool { // a ranks strictly before b beyond tolerance
		if h.metric.ascending() {
			return a < b-tol(b)
		}
		return a > b+tol(b)
	}
	returned := map[string]bool{}
	worst := 0.0
	for i, mt := range res.Matches {
		r, ok := candidates[mt.ID]
		if !ok || returned[mt.ID] {
			h.fatalf("match %q is not in the namespace, fails the filter, or is repeated", mt.ID)
		}
		returned[mt.ID] = true
		want := h.modelScore(q, qs, r)
		if math.Abs(float64(mt.Score)-want) > tol(want) {
			h.fatalf("match %q score %v, model %v", mt.ID, mt.Score, want)
		}
		if i > 0 && better(float64(mt.Score), float64(res.Matches[i-1].Score)) {
			h.fatalf("matches out of order at %d", i)
		}
		worst = want
		if req.IncludeValues != (mt.Values != nil) || (mt.Values != nil && !slices.Equal(mt.Values, r.values)) {
			h.fatalf("match %q values %v, want %v (included: %v)", mt.ID, mt.Values, r.values, req.IncludeValues)
		}
		if req.IncludeValues && !reflect.DeepEqual(mt.SparseValues, publicSparse(r.sparse)) {
			h.fatalf("match %q sparse %v, want %v", mt.ID, mt.SparseValues, publicSparse(r.sparse))
		}
		wantMD := r.md
		if !req.IncludeMetadata {
			wantMD = nil
		}
		if !reflect.DeepEqual(mt.Metadata, wantMD) {
			h.fatalf("match %q metadata %v, want %v", mt.ID, mt.Metadata, wantMD)
		}
	}
	// No record left out may rank strictly better than the worst returned.
	for id, r := range candidates {
		if !returned[id] && better(h.modelScore(q, qs, r), worst) {
			h.fatalf("record %q (score %v) missing from the top %d (worst %v)", id, h.modelScore(q, qs, r), req.TopK, worst)
		}
	}
}

func (h *modelHarness) describe() {
	st, err := h.ix.DescribeStats(ctx)
	h.check(err)
	want := IndexStats{Dimension: h.dim, Metric: h.metric, Namespaces: map[string]NamespaceStats{}}
	for c, m := range h.ns {
		want.Namespaces[c] = NamespaceStats{RecordCount: int64(len(m.recs))}
		want.TotalRecordCount += int64(len(m.recs))
	}
	if !reflect.DeepEqual(st, want) {
		h.fatalf("stats = %+v, want %+v", st, want)
	}
	name := h.pickName()
	d, err := h.ix.DescribeNamespace(ctx, name)
	m := h.nsModel(name)
	if m == nil {
		if !errors.Is(err, ErrNamespaceNotFound) {
			h.fatalf("describe missing %q: err = %v", name, err)
		}
		return
	}
	h.check(err)
	h.compareDescription(d, m)
}

func (h *modelHarness) compareDescription(d NamespaceDescription, m *modelNS) {
	var bytes int64
	for id, r := range m.recs {
		n := record.MetadataJSONSize(r.md)
		bytes += int64(record.Size(id, n, h.dim, len(r.sparse.Idx)))
	}
	if d.RecordCount != int64(len(m.recs)) || d.Bytes != bytes || d.WriteUnits != m.wu || d.ReadUnits != m.ru {
		h.fatalf("namespace %q = %d records %d bytes %d WU %d RU, model %d %d %d %d",
			d.Name, d.RecordCount, d.Bytes, d.WriteUnits, d.ReadUnits, len(m.recs), bytes, m.wu, m.ru)
	}
}

// fullCheck compares every namespace, record and counter with the model.
func (h *modelHarness) fullCheck() {
	var names []string
	for d, err := range h.ix.Namespaces(ctx, "") {
		h.check(err)
		names = append(names, d.Name)
		m := h.ns[d.Name]
		if m == nil {
			h.fatalf("namespace %q exists but not in the model", d.Name)
		}
		h.compareDescription(d, m)
	}
	want := slices.Sorted(maps.Keys(h.ns))
	if !slices.Equal(names, want) {
		h.fatalf("namespaces %q, model %q", names, want)
	}
	for _, c := range want {
		m := h.ns[c]
		ids := slices.Sorted(maps.Keys(m.recs))
		var got []string
		for id, err := range h.ix.Namespace(c).IDs(ctx, "") {
			h.check(err)
			got = append(got, id)
		}
		m.ru++ // one List page
		if !slices.Equal(got, ids) {
			h.fatalf("ids of %q = %q, model %q", c, got, ids)
		}
		if len(ids) > 0 {
			h.fetchAndCompare(c, ids)
		}
		if ns := h.ix.ix.lookup(c); ns != nil {
			if seg := ns.seg.Load(); seg != nil {
				seg.RLock()
				err := seg.IVFConsistentLocked()
				if seg.IVFLocked() != nil {
					h.ivfSeen++
				}
				seg.RUnlock()
				if err != nil {
					h.fatalf("namespace %q: %v", c, err)
				}
			}
		}
	}
	// The database's own consistency check: counters, orphans, hot
	// segments against storage, checksums.
	if err := h.db.Check(ctx); err != nil {
		h.fatalf("Check: %v", err)
	}
}

// buildIVF builds a namespace's IVF index on demand.
func (h *modelHarness) buildIVF() {
	name := h.pickName()
	m := h.nsModel(name)
	d, err := h.ix.Namespace(name).BuildIVF(ctx)
	switch {
	case m == nil:
		if !errors.Is(err, ErrNamespaceNotFound) {
			h.fatalf("BuildIVF of a missing namespace: %v", err)
		}
	case len(m.recs) == 0:
		if !errors.Is(err, ErrEmptyNamespace) {
			h.fatalf("BuildIVF of an empty namespace: %+v, %v; want ErrEmptyNamespace", d, err)
		}
	default:
		h.check(err)
		if d.TrainedRecords != int64(len(m.recs)) || d.NProbe < 1 || d.NProbe > d.Lists {
			h.fatalf("BuildIVF of %d records: %+v", len(m.recs), d)
		}
	}
}

// filter draws a valid filter over the model's metadata fields.
func (h *modelHarness) filter() Filter {
	r := h.r
	if r.IntN(5) == 0 {
		a, b := h.filter(), h.filter()
		switch r.IntN(3) {
		case 0:
			return Filter{"$and": []Filter{a, b}}
		case 1:
			return Filter{"$or": []Filter{a, b}}
		}
		return Filter{"$not": a}
	}
	switch r.IntN(7) {
	case 0:
		return Filter{"genre": []string{"drama", "comedy", "<&>", "x"}[r.IntN(4)]}
	case 1:
		return Filter{"genre": Filter{"$ne": "drama"}}
	case 2:
		return Filter{"year": Filter{"$gte": 1990 + r.IntN(40)}}
	case 3:
		return Filter{"year": Filter{"$lt": 1990 + r.IntN(40), "$gt": 1990 + r.IntN(20)}}
	case 4:
		return Filter{"tags": Filter{"$in": []string{"a", "z"}}}
	case 5:
		return Filter{"flag": Filter{"$exists": r.IntN(2) == 0}}
	}
	return Filter{"year": Filter{"$nin": []int{1990 + r.IntN(40), 2000}}}
}

// maybeFilter sets *f to a random filter one time in three and returns it
// compiled, or nil.
func (h *modelHarness) maybeFilter(f *Filter) *filter.Node {
	if h.r.IntN(3) != 0 {
		return nil
	}
	*f = h.filter()
	fn, err := compileFilter(*f)
	if err != nil {
		h.fatalf("generated filter %v invalid: %v", *f, err)
	}
	return fn
}

func (h *modelHarness) mustCompile(f Filter) *filter.Node {
	fn, err := compileFilter(f)
	if err != nil {
		h.fatalf("generated filter %v invalid: %v", f, err)
	}
	return fn
}

func (h *modelHarness) updateByFilter() {
	name := h.pickName()
	f := h.filter()
	fn := h.mustCompile(f)
	set, stored := Metadata{"genre": "updated", "flag": true}, Metadata{"genre": "updated", "flag": true}
	dry := h.r.IntN(4) == 0
	res, err := h.ix.Namespace(name).Update(ctx, UpdateRequest{Filter: f, SetMetadata: set, DryRun: dry})
	h.check(err)
	m := h.nsModel(name)
	want := 0
	if m != nil {
		for id, r := range m.recs {
			if fn.Match(r.md) {
				want++
				if !dry {
					r.md = record.MergeMetadata(r.md, stored)
					m.recs[id] = r
				}
			}
		}
		m.wu += int64(res.Usage.WriteUnits)
		m.ru += int64(res.Usage.ReadUnits)
	}
	if res.MatchedRecords != want {
		h.fatalf("update by filter %s: matched %d, want %d", fn, res.MatchedRecords, want)
	}
}

func (h *modelHarness) deleteByFilter() {
	name := h.pickName()
	f := h.filter()
	fn := h.mustCompile(f)
	res, err := h.ix.Namespace(name).DeleteByFilter(ctx, f)
	h.check(err)
	want := 0
	if m := h.nsModel(name); m != nil {
		for id, r := range m.recs {
			if fn.Match(r.md) {
				want++
				delete(m.recs, id)
			}
		}
		m.wu += int64(res.Usage.WriteUnits)
	}
	if res.DeletedCount != want {
		h.fatalf("delete by filter %s: deleted %d, want %d", fn, res.DeletedCount, want)
	}
}

func (h *modelHarness) fetchByMetadata() {
	name := h.pickName()
	f := h.filter()
	fn := h.mustCompile(f)
	req := FetchByMetadataRequest{Filter: f, Limit: 1 + h.r.IntN(5)}
	m := h.nsModel(name)
	var got []Record
	for {
		res, err := h.ix.Namespace(name).FetchByMetadata(ctx, req)
		h.check(err)
		if m != nil {
			m.ru += int64(res.Usage.ReadUnits)
		}
		got = append(got, res.Records...)
		if res.NextToken == "" {
			break
		}
		req.PaginationToken = res.NextToken
	}
	var want []Record
	if m != nil {
		for _, id := range slices.Sorted(maps.Keys(m.recs)) {
			if r := m.recs[id]; fn.Match(r.md) {
				want = append(want, Record{ID: id, Values: r.values, SparseValues: publicSparse(r.sparse), Metadata: r.md})
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		h.fatalf("fetch by metadata %s from %q:\n got %v\nwant %v", fn, name, got, want)
	}
}
