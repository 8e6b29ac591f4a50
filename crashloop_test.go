package vectordb_test

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vectordb-go/vectordb"
)

// The crash loop. The test binary re-executes itself as a child that
// drives a seeded workload through the public API across several
// namespaces with awkward names and ids (upserts of 1 to 40 records,
// updates by id and by filter, deletes by id and by filter, DeleteAll,
// DeleteNamespace, queries), printing "begin k" before operation k and
// "ack k" after it returns. The parent kills it with SIGKILL at a random
// moment (during start-up, mid-workload, right as a namespace drop
// begins), reopens the directory and compares every namespace with a
// model rebuilt from the acknowledged operations: each acknowledged
// operation applied, the one in flight applied whole or not at all,
// nothing deleted come back, nothing in the wrong namespace, and queries
// answering from exactly the live records. Cycles alternate the
// durability modes and a tiny memtable (many flushes), with IVF builds
// and evictions on.

var crashCycles = flag.Int("crash.cycles", 0, "crash-loop cycles (default 25, 8 with -short); 500 for the long run")

const (
	loopDirEnv     = "VECTORDB_LOOP_DIR"
	loopSeedEnv    = "VECTORDB_LOOP_SEED"
	loopStartEnv   = "VECTORDB_LOOP_START"
	loopModeEnv    = "VECTORDB_LOOP_MODE"
	loopDim        = 4
	loopIDsPerNS   = 40
	loopIndexName  = "loop"
	loopMaxRecords = 40
)

// loopNames are the namespaces: the default one, and names that differ
// only in bytes a careless key codec would mangle.
var loopNames = []string{"", "a", "a\xff", "ä/../b", "a b"}

// loopID is the i-th id of the pool every namespace draws from.
func loopID(i int) string {
	switch i % 5 {
	case 0:
		return "x" + strconv.Itoa(i)
	case 1:
		return "x\xff" + strconv.Itoa(i)
	case 2:
		return "é/" + strconv.Itoa(i)
	case 3:
		return strings.Repeat("L", 500) + strconv.Itoa(i)
	}
	return "a b " + strconv.Itoa(i)
}

type loopOpKind int

const (
	opUpsert loopOpKind = iota
	opUpdate
	opUpdateFilter
	opDelete
	opDeleteFilter
	opDeleteAll
	opDropNamespace
	opQuery
	opImport // export namespace ns, import it over the next one
)

// loopOp is operation k of a seeded workload; it depends only on the
// seed and k, so that parent and child generate the same one.
type loopOp struct {
	k    int
	kind loopOpKind
	ns   int
	ids  []int
	tag  string
}

func genLoopOp(seed uint64, k int) loopOp {
	r := rand.New(rand.NewPCG(seed, uint64(k)))
	op := loopOp{k: k, ns: r.IntN(len(loopNames)), tag: []string{"red", "blue"}[r.IntN(2)]}
	switch p := r.IntN(100); {
	case p < 45:
		op.kind = opUpsert
		n := []int{1, 1, 10, loopMaxRecords}[r.IntN(4)]
		op.ids = r.Perm(loopIDsPerNS)[:n]
	case p < 55:
		op.kind, op.ids = opUpdate, []int{r.IntN(loopIDsPerNS)}
	case p < 60:
		op.kind = opUpdateFilter
	case p < 72:
		op.kind = opDelete
		op.ids = r.Perm(loopIDsPerNS)[:1+r.IntN(8)]
	case p < 76:
		op.kind = opDeleteFilter
	case p < 79:
		op.kind = opDeleteAll
	case p < 83:
		op.kind = opDropNamespace
	case p < 88:
		op.kind = opImport
	default:
		op.kind = opQuery
	}
	return op
}

// loopValues are the values op k writes to id i: distinct per write, so a
// stale or misplaced record never passes for the right one.
func loopValues(k, i int) []float32 {
	return []float32{float32(k), float32(i), float32(k%7) + 0.5, 1}
}

// run applies op through the API.
func (op loopOp) run(ix *vectordb.Index) error {
	h := ix.Namespace(loopNames[op.ns])
	var err error
	switch op.kind {
	case opUpsert:
		recs := make([]vectordb.Record, len(op.ids))
		for j, i := range op.ids {
			recs[j] = vectordb.Record{ID: loopID(i), Values: loopValues(op.k, i), Metadata: vectordb.Metadata{"tag": op.tag, "k": float64(op.k)}}
		}
		_, err = h.Upsert(ctx, recs)
	case opUpdate:
		i := op.ids[0]
		_, err = h.Update(ctx, vectordb.UpdateRequest{ID: loopID(i), Values: loopValues(op.k, i), SetMetadata: vectordb.Metadata{"u": float64(op.k)}})
	case opUpdateFilter:
		_, err = h.Update(ctx, vectordb.UpdateRequest{Filter: vectordb.Filter{"tag": op.tag}, SetMetadata: vectordb.Metadata{"f": float64(op.k)}})
	case opDelete:
		ids := make([]string, len(op.ids))
		for j, i := range op.ids {
			ids[j] = loopID(i)
		}
		_, err = h.Delete(ctx, ids)
	case opDeleteFilter:
		_, err = h.DeleteByFilter(ctx, vectordb.Filter{"tag": op.tag})
	case opDeleteAll:
		_, err = h.DeleteAll(ctx)
	case opDropNamespace:
		err = ix.DeleteNamespace(ctx, loopNames[op.ns])
		if errors.Is(err, vectordb.ErrNamespaceNotFound) {
			err = nil
		}
	case opQuery:
		_, err = h.Query(ctx, vectordb.QueryRequest{Vector: loopValues(op.k, 0), TopK: 5, Filter: vectordb.Filter{"tag": op.tag}})
	case opImport:
		// An empty or missing source changes nothing (the model cannot
		// tell the two apart).
		var buf bytes.Buffer
		info, xerr := h.Export(ctx, &buf)
		switch {
		case errors.Is(xerr, vectordb.ErrNamespaceNotFound):
		case xerr != nil:
			err = xerr
		case info.Records > 0:
			_, err = ix.ImportNamespace(ctx, loopNames[(op.ns+1)%len(loopNames)], &buf, &vectordb.ImportOptions{Replace: true})
		}
	}
	return err
}

// loopRecord is a record in the model.
type loopRecord struct {
	values []float32
	md     map[string]any
}

// loopModel is every namespace's records.
type loopModel []map[string]loopRecord

func newLoopModel() loopModel {
	m := make(loopModel, len(loopNames))
	for i := range m {
		m[i] = map[string]loopRecord{}
	}
	return m
}

func (m loopModel) clone() loopModel {
	c := make(loopModel, len(m))
	for i, ns := range m {
		c[i] = make(map[string]loopRecord, len(ns))
		for id, r := range ns {
			c[i][id] = loopRecord{values: r.values, md: maps.Clone(r.md)}
		}
	}
	return c
}

func (m loopModel) apply(op loopOp) {
	ns := m[op.ns]
	switch op.kind {
	case opUpsert:
		for _, i := range op.ids {
			ns[loopID(i)] = loopRecord{values: loopValues(op.k, i), md: map[string]any{"tag": op.tag, "k": float64(op.k)}}
		}
	case opUpdate:
		i := op.ids[0]
		if r, ok := ns[loopID(i)]; ok {
			r.values = loopValues(op.k, i)
			r.md["u"] = float64(op.k)
			ns[loopID(i)] = r
		}
	case opUpdateFilter:
		for _, r := range ns {
			if r.md["tag"] == op.tag {
				r.md["f"] = float64(op.k)
			}
		}
	case opDelete:
		for _, i := range op.ids {
			delete(ns, loopID(i))
		}
	case opDeleteFilter:
		for id, r := range ns {
			if r.md["tag"] == op.tag {
				delete(ns, id)
			}
		}
	case opDeleteAll, opDropNamespace:
		clear(ns)
	case opImport:
		if len(ns) > 0 {
			dst := make(map[string]loopRecord, len(ns))
			for id, r := range ns {
				dst[id] = loopRecord{values: r.values, md: maps.Clone(r.md)}
			}
			m[(op.ns+1)%len(m)] = dst
		}
	}
}

// diff describes how the database differs from m, or returns "".
func (m loopModel) diff(ix *vectordb.Index) (string, error) {
	for n, want := range m {
		h := ix.Namespace(loopNames[n])
		var ids []string
		for id, err := range h.IDs(ctx, "") {
			if err != nil {
				return "", err
			}
			ids = append(ids, id)
		}
		if got, exp := len(ids), len(want); got != exp {
			return fmt.Sprintf("namespace %q: %d records, want %d", loopNames[n], got, exp), nil
		}
		if len(ids) == 0 {
			continue
		}
		res, err := h.Fetch(ctx, ids)
		if err != nil {
			return "", err
		}
		for _, id := range ids {
			w, ok := want[id]
			g := res.Records[id]
			switch {
			case !ok:
				return fmt.Sprintf("namespace %q: unexpected record %q", loopNames[n], id), nil
			case !slices.Equal(g.Values, w.values):
				return fmt.Sprintf("namespace %q record %q: values %v, want %v", loopNames[n], id, g.Values, w.values), nil
			case !maps.Equal(map[string]any(g.Metadata), w.md):
				return fmt.Sprintf("namespace %q record %q: metadata %v, want %v", loopNames[n], id, g.Metadata, w.md), nil
			}
		}
		// Queries answer from exactly the live records, best first.
		q, err := h.Query(ctx, vectordb.QueryRequest{Vector: []float32{1, 2, 3, 4}, TopK: loopIDsPerNS + 1, Exact: true})
		if err != nil {
			return "", err
		}
		got := make([]string, len(q.Matches))
		for i, mt := range q.Matches {
			got[i] = mt.ID
			if i > 0 && mt.Score < q.Matches[i-1].Score {
				return fmt.Sprintf("namespace %q: matches out of order", loopNames[n]), nil
			}
		}
		slices.Sort(got)
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			return fmt.Sprintf("namespace %q: query matched %d records, want the %d live ones", loopNames[n], len(got), len(ids)), nil
		}
	}
	return "", nil
}

// loopOptions are the child's and the checker's options for mode: the
// durability mode and memtable size of the cycle.
func loopOptions(mode string) *vectordb.Options {
	o := testOptions()
	o.IVFMinRecords = 16         // builds and stored indexes in play
	o.MemoryBudget = 64 << 10    // evictions in play
	o.ReclaimMinBytes = 16 << 10 // large drops go through DropPrefix
	switch mode {
	case "sync":
		o.Durability = vectordb.DurabilitySync
	case "process":
		o.Durability = vectordb.DurabilityProcess
	case "tiny":
		o.Durability = vectordb.DurabilitySync
		o.MemTableSize = 1 << 20
	}
	return o
}

// TestCrashLoopChild is the child's body; it does nothing unless run by
// TestCrashLoop.
func TestCrashLoopChild(t *testing.T) {
	dir := os.Getenv(loopDirEnv)
	if dir == "" {
		t.Skip("run by TestCrashLoop")
	}
	seed, _ := strconv.ParseUint(os.Getenv(loopSeedEnv), 10, 64)
	start, _ := strconv.Atoi(os.Getenv(loopStartEnv))
	out := bufio.NewWriter(os.Stdout)
	fail := func(err error) {
		fmt.Fprintln(out, "error", err)
		out.Flush()
		os.Exit(1)
	}
	db, err := vectordb.Open(dir, loopOptions(os.Getenv(loopModeEnv)))
	if err != nil {
		fail(err)
	}
	ix, err := db.Index(loopIndexName)
	if errors.Is(err, vectordb.ErrIndexNotFound) {
		ix, err = db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: loopIndexName, Dimension: loopDim, Metric: vectordb.Euclidean})
	}
	if err != nil {
		fail(err)
	}
	fmt.Fprintln(out, "ready")
	out.Flush()
	for k := start; ; k++ {
		op := genLoopOp(seed, k)
		fmt.Fprintln(out, "begin", k)
		out.Flush()
		if err := op.run(ix); err != nil {
			fail(fmt.Errorf("op %d: %w", k, err))
		}
		fmt.Fprintln(out, "ack", k)
		out.Flush()
	}
}

func TestCrashLoop(t *testing.T) {
	cycles := *crashCycles
	if cycles == 0 {
		cycles = 25
		if testing.Short() {
			cycles = 8
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(loopSeedEnv); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set %s to reproduce)", seed, loopSeedEnv)
	r := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	model := newLoopModel()
	next, acked, drops := 0, 0, 0
	modes := []string{"sync", "process", "tiny"}
	for c := range cycles {
		mode := modes[c%len(modes)]
		cmd, lines := startChild(t, "TestCrashLoopChild", loopDirEnv+"="+dir, loopSeedEnv+"="+strconv.FormatUint(seed, 10),
			loopStartEnv+"="+strconv.Itoa(next), loopModeEnv+"="+mode)
		// Kill at a random moment: a fifth of the cycles during start-up,
		// some as a namespace drop begins, the rest after a random time.
		deadline := time.Now().Add(time.Duration(r.IntN(250)) * time.Millisecond)
		duringStartup := r.IntN(5) == 0
		if duringStartup {
			time.AfterFunc(time.Duration(r.IntN(30))*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		}
		killOnDrop := r.IntN(3) == 0
		last, begun := next-1, next-1
		killed := false
		kill := func() {
			if !killed {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			switch {
			case len(f) == 2 && f[0] == "ack":
				last, _ = strconv.Atoi(f[1])
			case len(f) == 2 && f[0] == "begin":
				begun, _ = strconv.Atoi(f[1])
				if killOnDrop && genLoopOp(seed, begun).kind == opDropNamespace {
					kill()
				}
			case len(f) > 0 && f[0] == "error":
				t.Fatalf("cycle %d (%s): child: %s", c, mode, lines.Text())
			}
			if time.Now().After(deadline) {
				kill()
			}
		}
		kill()
		cmd.Wait()

		// Acknowledged operations are in the model; the one in flight,
		// if any, must be all or nothing.
		for k := next; k <= last; k++ {
			op := genLoopOp(seed, k)
			model.apply(op)
			if op.kind == opDropNamespace {
				drops++
			}
		}
		acked += last - next + 1
		next = last + 1
		db := openDir(t, dir, loopOptions(mode))
		ix, err := db.Index(loopIndexName)
		if errors.Is(err, vectordb.ErrIndexNotFound) && next == 0 {
			db.Close()
			continue // killed before the index existed
		}
		if err != nil {
			t.Fatal(err)
		}
		d, err := model.diff(ix)
		if err != nil {
			t.Fatal(err)
		}
		if d != "" && begun == last+1 {
			with := model.clone()
			with.apply(genLoopOp(seed, begun))
			if d2, err := with.diff(ix); err != nil {
				t.Fatal(err)
			} else if d2 == "" {
				model, d = with, ""
				next++ // the operation in flight landed whole
			}
		}
		if d != "" {
			t.Fatalf("cycle %d (%s), seed %d, after op %d (op %d in flight): %s", c, mode, seed, last, begun, d)
		}
		if err := db.Check(ctx); err != nil {
			t.Fatalf("cycle %d (%s), seed %d: %v", c, mode, seed, err)
		}
		db.Close()
	}
	// The janitor finishes every interrupted drop.
	db := openDir(t, dir, loopOptions("sync"))
	defer db.Close()
	waitDrops(t, db)
	t.Logf("%d cycles: %d acknowledged operations checked (%d namespace drops), 0 lost", cycles, acked, drops)
}
