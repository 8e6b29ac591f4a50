package ivf

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vectordb-go/vectordb/simd"
)

// blobs returns n points of dimension dim around c random centers.
func blobs(seed uint64, n, dim, c int) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	centers := make([]float32, c*dim)
	for i := range centers {
		centers[i] = float32(r.NormFloat64()) * 4
	}
	x := make([]float32, n*dim)
	for i := range n {
		k := r.IntN(c)
		for d := range dim {
			x[i*dim+d] = centers[k*dim+d] + float32(r.NormFloat64())
		}
	}
	return x
}

func nearestBrute(q *Quantizer, x []float32) int {
	best, bd := 0, float32(math.Inf(1))
	for j := range q.nlist {
		var d float32
		if q.metric == Cosine {
			d = -simd.Dot(x, q.centroid(j))
		} else {
			d = simd.L2Squared(x, q.centroid(j))
		}
		if d < bd {
			best, bd = j, d
		}
	}
	return best
}

// inertia is the mean squared distance of the points to their centroid.
func inertia(q *Quantizer, x []float32) float64 {
	var s Scratch
	var sum float64
	n := len(x) / q.dim
	for i := range n {
		p := x[i*q.dim : (i+1)*q.dim]
		sum += float64(simd.L2Squared(p, q.centroid(q.Assign(p, &s))))
	}
	return sum / float64(n)
}

func TestTrainFindsBlobs(t *testing.T) {
	const n, dim, c = 4000, 16, 20
	x := blobs(7, n, dim, c)
	q, err := Train(context.Background(), L2, dim, slices.Clone(x), TrainConfig{NList: c, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Points are unit-variance Gaussians around their centers: the optimum
	// inertia is about dim; k-means may merge a pair of small blobs, but a
	// bad clustering merges many and costs far more.
	if got := inertia(q, x); got > 1.5*dim {
		t.Errorf("inertia %.2f, want about %d", got, dim)
	}
	// Random centroids (a sample of points) as the baseline.
	base, _ := NewQuantizer(L2, dim, slices.Clone(x[:c*dim]))
	if a, b := inertia(q, x), inertia(base, x); a >= b {
		t.Errorf("trained inertia %.2f not below untrained %.2f", a, b)
	}
}

func TestAssignIsNearest(t *testing.T) {
	const n, dim = 500, 37
	for _, m := range []Metric{L2, Cosine, Dot} {
		x := blobs(3, n, dim, 10)
		q, err := Train(context.Background(), m, dim, slices.Clone(x), TrainConfig{NList: 23, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		if q.NList() != 23 {
			t.Fatalf("%v: nlist %d", m, q.NList())
		}
		if m == Cosine {
			for j := range q.nlist {
				if nv := simd.SquaredNorm(q.centroid(j)); math.Abs(float64(nv)-1) > 1e-4 {
					t.Fatalf("cosine centroid %d has |c|^2 %v", j, nv)
				}
			}
		}
		var s Scratch
		out := make([]int32, n)
		if err := q.AssignBatch(context.Background(), nil, x, dim, n, out); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			p := x[i*dim : (i+1)*dim]
			got, want := q.Assign(p, &s), nearestBrute(q, p)
			if got != want {
				// Allow a float tie.
				a, b := simd.L2Squared(p, q.centroid(got)), simd.L2Squared(p, q.centroid(want))
				if m != Cosine && math.Abs(float64(a-b)) > 1e-3*float64(b) {
					t.Fatalf("%v: point %d assigned %d, nearest %d", m, i, got, want)
				}
			}
			if int(out[i]) != got {
				t.Fatalf("%v: AssignBatch %d, Assign %d", m, out[i], got)
			}
		}
	}
}

func TestTrainSmallAndDegenerate(t *testing.T) {
	ctx := context.Background()
	// Fewer points than centroids: nlist is capped.
	q, err := Train(ctx, L2, 4, []float32{1, 0, 0, 0, 0, 1, 0, 0}, TrainConfig{NList: 10})
	if err != nil || q.NList() != 2 {
		t.Fatalf("nlist %v, err %v", q, err)
	}
	// All points equal: empty clusters cannot split, training still ends.
	same := make([]float32, 100*8)
	for i := range same {
		same[i] = 1
	}
	if _, err := Train(ctx, L2, 8, same, TrainConfig{NList: 5}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		dim    int
		sample []float32
		cfg    TrainConfig
	}{
		{0, []float32{1}, TrainConfig{NList: 1}},
		{3, []float32{1, 2}, TrainConfig{NList: 1}},
		{2, []float32{1, 2}, TrainConfig{}},
	} {
		if _, err := Train(ctx, L2, bad.dim, bad.sample, bad.cfg); err == nil {
			t.Errorf("Train(dim %d, %d floats, %+v) succeeded", bad.dim, len(bad.sample), bad.cfg)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Train(cancelled, L2, 16, blobs(1, 1000, 16, 4), TrainConfig{NList: 8}); err == nil {
		t.Error("Train with a cancelled context succeeded")
	}
}

func TestOrderTake(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{1, 2, 17, 100, 1000} {
		var o Order
		o.reset(n)
		for j := range o.key {
			o.key[j] = float32(r.IntN(50)) // many ties
		}
		want := slices.Clone(o.idx)
		slices.SortFunc(want, func(a, b int32) int {
			return cmp.Or(cmp.Compare(o.key[a], o.key[b]), cmp.Compare(a, b))
		})
		got := []int32{}
		for _, step := range []int{1, 3, n / 2, n + 5} {
			got = o.Take(step)
			if !slices.Equal(got, want[:len(got)]) {
				t.Fatalf("n=%d Take(%d) = %v, want %v", n, step, got, want[:len(got)])
			}
		}
		if len(got) != n {
			t.Fatalf("n=%d: Take returned %d lists", n, len(got))
		}
	}
}

func TestListsAddRemoveRenumber(t *testing.T) {
	const dim, stride, nlist = 5, 8, 4
	q, _ := NewQuantizer(L2, dim, make([]float32, nlist*dim))
	l := NewLists(q, stride)
	model := map[uint32]int{} // slot -> list
	vec := func(slot uint32) []float32 {
		v := make([]float32, dim)
		for d := range v {
			v[d] = float32(slot) + float32(d)/10
		}
		return v
	}
	r := rand.New(rand.NewPCG(9, 9))
	check := func() {
		t.Helper()
		if l.Len() != len(model) {
			t.Fatalf("Len %d, model %d", l.Len(), len(model))
		}
		seen := 0
		for j := range nlist {
			vecs, slots := l.List(j)
			live := 0
			for pos, s := range slots {
				if s == DeadSlot {
					continue
				}
				live++
				seen++
				if model[s] != j || l.ListOf(s) != j {
					t.Fatalf("slot %d in list %d, model %d, ListOf %d", s, j, model[s], l.ListOf(s))
				}
				row := vecs[pos*stride : (pos+1)*stride]
				if !slices.Equal(row[:dim], vec(s)) || slices.ContainsFunc(row[dim:], func(f float32) bool { return f != 0 }) {
					t.Fatalf("slot %d row %v", s, row)
				}
			}
			if live != l.ListLen(j) {
				t.Fatalf("list %d: %d live, ListLen %d", j, live, l.ListLen(j))
			}
		}
		if seen != len(model) {
			t.Fatalf("%d entries, model %d", seen, len(model))
		}
	}
	for range 5000 {
		slot := uint32(r.IntN(300))
		if r.IntN(3) == 0 {
			_, had := model[slot]
			if l.Remove(slot) != had {
				t.Fatalf("Remove(%d) disagrees with the model", slot)
			}
			delete(model, slot)
		} else {
			j := r.IntN(nlist)
			l.Add(slot, vec(slot), j)
			model[slot] = j
		}
	}
	check()
	// Renumber: reverse the slot order, as a compaction would permute.
	l.Renumber(func(s uint32) uint32 { return 1000 - s })
	renum := map[uint32]int{}
	for s, j := range model {
		renum[1000-s] = j
	}
	for j := range nlist {
		_, slots := l.List(j)
		for _, s := range slots {
			if s != DeadSlot && renum[s] != j {
				t.Fatalf("after Renumber slot %d in list %d", s, j)
			}
		}
	}
	if l.Imbalance() < 1 {
		t.Errorf("imbalance %v below 1", l.Imbalance())
	}
}
