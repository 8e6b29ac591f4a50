package vectordb_test

import (
	"math/rand/v2"
	"testing"

	"github.com/vectordb-go/vectordb"
)

// FuzzOperations reads an operation sequence from the fuzzer's bytes
// (three per operation: kind, namespace, and a seed for the ids and tag),
// runs it on an in-memory database with the crash loop's namespaces, ids
// and operations, and compares every namespace with the crash loop's
// model after each operation, then runs Check.
func FuzzOperations(f *testing.F) {
	f.Add([]byte{0, 1, 7, 0, 2, 9, 1, 1, 3, 3, 1, 4, 6, 2, 0, 5, 1, 1})
	f.Add([]byte{0, 0, 1, 0, 0, 2, 4, 0, 1, 2, 0, 0, 7, 0, 0, 0, 4, 4, 6, 4, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 3*64 {
			prog = prog[:3*64]
		}
		db := openMemWith(t, func(o *vectordb.Options) {
			o.IVFMinRecords = 16
			o.MemoryBudget = 32 << 10
			o.ReadUnitsFlushInterval = 1 << 40
		})
		ix := mustIndex(t, db, loopIndexName, loopDim, vectordb.Euclidean)
		model := newLoopModel()
		for k := 0; 3*k+2 < len(prog); k++ {
			op := fuzzOp(k, prog[3*k:3*k+3])
			if err := op.run(ix); err != nil {
				t.Fatalf("op %d (%+v): %v", k, op, err)
			}
			model.apply(op)
			d, err := model.diff(ix)
			if err != nil {
				t.Fatal(err)
			}
			if d != "" {
				t.Fatalf("after op %d (%+v): %s", k, op, d)
			}
		}
		if err := db.Check(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// fuzzOp decodes operation k from three bytes.
func fuzzOp(k int, b []byte) loopOp {
	r := rand.New(rand.NewPCG(uint64(b[2]), uint64(k)))
	op := loopOp{k: k, kind: loopOpKind(int(b[0]) % (int(opQuery) + 1)), ns: int(b[1]) % len(loopNames), tag: []string{"red", "blue"}[b[2]&1]}
	switch op.kind {
	case opUpsert:
		op.ids = r.Perm(loopIDsPerNS)[:1+r.IntN(loopMaxRecords)]
	case opUpdate:
		op.ids = []int{r.IntN(loopIDsPerNS)}
	case opDelete:
		op.ids = r.Perm(loopIDsPerNS)[:1+r.IntN(8)]
	}
	return op
}
