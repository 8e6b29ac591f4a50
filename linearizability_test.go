package vectordb_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vectordb-go/vectordb"
)

// Linearizability of single-record operations. Every (namespace, id) is a
// register: Upsert writes a value, Delete writes "absent", Fetch reads.
// Concurrent workers record each call's invocation and response on one
// global clock; each register's history must then have a linearization:
// an order of its operations that respects real time (an operation that
// returned before another was invoked comes first) in which every fetch
// reads the last value written. Linearizability is local, so checking
// each register alone checks the whole history of these operations.

var linOps = flag.Int("lin.ops", 500, "operations per worker in TestLinearizableRecords")

// regOp is one completed operation on a register.
type regOp struct {
	call, ret int64 // ticks of the global clock
	kind      byte  // 'w' write, 'd' delete, 'r' read
	val       int   // written or read value; absent for a delete or a miss
}

// absent is the value of a register that holds no record.
const absent = -1

// linearizable reports whether ops, the history of one register that
// starts absent, has a linearization. It is the Wing-Gong search with
// Lowe's memoization: extend a linearized prefix by any operation invoked
// before every pending one has returned, backtracking on a read that
// disagrees, and never revisit a (set of linearized operations, value)
// pair.
func linearizable(ops []regOp) bool {
	ops = slices.Clone(ops)
	slices.SortFunc(ops, func(a, b regOp) int { return int(a.call - b.call) })
	done := make([]byte, (len(ops)+7)/8)
	seen := map[string]bool{}
	var search func(n, state int) bool
	search = func(n, state int) bool {
		if n == len(ops) {
			return true
		}
		key := fmt.Sprint(string(done), state)
		if seen[key] {
			return false
		}
		first := int64(1<<63 - 1) // the earliest response among pending operations
		for i := range ops {
			if done[i/8]&(1<<(i%8)) == 0 {
				first = min(first, ops[i].ret)
			}
		}
		for i := 0; i < len(ops) && ops[i].call < first; i++ {
			if done[i/8]&(1<<(i%8)) != 0 {
				continue
			}
			next := state
			switch ops[i].kind {
			case 'w':
				next = ops[i].val
			case 'd':
				next = absent
			case 'r':
				if ops[i].val != state {
					continue
				}
			}
			done[i/8] |= 1 << (i % 8)
			if search(n+1, next) {
				return true
			}
			done[i/8] &^= 1 << (i % 8)
		}
		seen[key] = true
		return false
	}
	return search(0, absent)
}

// TestLinearizableChecker: the checker accepts what it must and refuses a
// stale read, a read of a value never written and a read from the future.
func TestLinearizableChecker(t *testing.T) {
	w := func(call, ret int64, v int) regOp { return regOp{call, ret, 'w', v} }
	d := func(call, ret int64) regOp { return regOp{call, ret, 'd', absent} }
	r := func(call, ret int64, v int) regOp { return regOp{call, ret, 'r', v} }
	for _, c := range []struct {
		name string
		ops  []regOp
		want bool
	}{
		{"sequential", []regOp{w(1, 2, 1), r(3, 4, 1), d(5, 6), r(7, 8, absent)}, true},
		{"read concurrent with a write sees the old value", []regOp{w(1, 2, 1), w(3, 6, 2), r(4, 5, 1)}, true},
		{"or the new one", []regOp{w(1, 2, 1), w(3, 6, 2), r(4, 5, 2)}, true},
		{"reads that overlap may disagree in order", []regOp{w(1, 10, 1), r(2, 4, 1), r(3, 5, absent)}, true},
		{"stale read", []regOp{w(1, 2, 1), w(3, 4, 2), r(5, 6, 1)}, false},
		{"deleted record read back", []regOp{w(1, 2, 1), d(3, 4), r(5, 6, 1)}, false},
		{"value never written", []regOp{w(1, 2, 1), r(3, 4, 7)}, false},
		{"read from the future", []regOp{r(1, 2, 1), w(3, 4, 1)}, false},
		{"new then old, in real-time order", []regOp{w(1, 10, 2), r(2, 3, 2), r(4, 5, absent)}, false},
	} {
		if got := linearizable(c.ops); got != c.want {
			t.Errorf("%s: linearizable = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLinearizableRecords runs workers that upsert, delete and fetch a
// few ids in two namespaces at once, with queries that load the
// namespaces and a tiny memory budget that keeps evicting them, then
// checks every record's history.
func TestLinearizableRecords(t *testing.T) {
	for _, disk := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "disk"}[disk], func(t *testing.T) {
			set := func(o *vectordb.Options) { o.MemoryBudget = 2 << 10 } // about one namespace hot at a time
			var db *vectordb.DB
			if disk {
				o := testOptions()
				set(o)
				db = openDir(t, t.TempDir(), o)
				defer db.Close()
			} else {
				db = openMemWith(t, set)
			}
			ix := mustIndex(t, db, "lin", 4, vectordb.Euclidean)
			checkLinearizable(t, ix, 4, *linOps)
			if st, err := db.Stats(ctx); err != nil || st.Evictions == 0 {
				t.Errorf("no namespace was evicted (%+v, %v): the reloads went untested", st, err)
			}
		})
	}
}

func checkLinearizable(t *testing.T, ix *vectordb.Index, workers, opsPerWorker int) {
	type reg struct{ ns, id string }
	names, ids := []string{"a", "b"}, []string{"x", "y", "z"}
	var (
		clock   atomic.Int64
		nextVal atomic.Int64
		mu      sync.Mutex
		hist    = map[reg][]regOp{}
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range opsPerWorker {
				k := reg{names[r.IntN(len(names))], ids[r.IntN(len(ids))]}
				h := ix.Namespace(k.ns)
				op := regOp{val: absent}
				var err error
				switch p := r.IntN(10); {
				case p < 4:
					op.kind, op.val = 'w', int(nextVal.Add(1))
					op.call = clock.Add(1)
					_, err = h.Upsert(ctx, []vectordb.Record{{ID: k.id, Values: []float32{float32(op.val), 1, 2, 3}}})
				case p < 5:
					op.kind = 'd'
					op.call = clock.Add(1)
					_, err = h.Delete(ctx, []string{k.id})
				case p < 6:
					// A query loads the namespace (fetches do not), and
					// the budget evicts another: fetches and writes meet
					// namespaces going hot and cold.
					_, err = h.Query(ctx, vectordb.QueryRequest{Vector: []float32{1, 1, 1, 1}, TopK: 3})
					if err != nil {
						t.Errorf("query: %v", err)
					}
					continue
				default:
					op.kind = 'r'
					op.call = clock.Add(1)
					var res vectordb.FetchResult
					res, err = h.Fetch(ctx, []string{k.id})
					if rec, ok := res.Records[k.id]; ok {
						op.val = int(rec.Values[0])
					}
				}
				op.ret = clock.Add(1)
				if err != nil {
					t.Errorf("%c on %v: %v", op.kind, k, err)
					return
				}
				mu.Lock()
				hist[k] = append(hist[k], op)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	overlapping := 0
	for k, ops := range hist {
		if !linearizable(ops) {
			t.Errorf("the history of %q in namespace %q has no linearization:\n%v", k.id, k.ns, ops)
		}
		for i := range ops {
			for j := range ops {
				if i != j && ops[i].call < ops[j].call && ops[j].call < ops[i].ret {
					overlapping++
				}
			}
		}
	}
	// Without overlapping operations the check would be a sequential one.
	if overlapping < workers*opsPerWorker/40 {
		t.Errorf("only %d overlapping pairs: the workers barely ran concurrently", overlapping)
	}
	n := 0
	for _, ops := range hist {
		n += len(ops)
	}
	t.Logf("%d operations on %d records, %d overlapping pairs", n, len(hist), overlapping)
}
