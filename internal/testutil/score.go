package testutil

import (
	"math"
	"sort"
)

// The metrics' names, as vectordb.Metric spells them (testutil does not
// import vectordb: pass string(metric)).
const (
	Cosine     = "cosine"
	Euclidean  = "euclidean"
	DotProduct = "dotproduct"
)

// Score is the exact score of v for the query q under metric, in
// float64, as Pinecone defines it: cosine similarity, dot product, or
// squared euclidean distance (lower is nearer). q and v have the same
// length.
func Score(metric string, q, v []float32) float64 {
	var dot, qq, vv, l2 float64
	for i := range q {
		x, y := float64(q[i]), float64(v[i])
		dot += x * y
		qq += x * x
		vv += y * y
		l2 += (x - y) * (x - y)
	}
	switch metric {
	case Cosine:
		return dot / (math.Sqrt(qq) * math.Sqrt(vv))
	case Euclidean:
		return l2
	}
	return dot
}

// SparseDot is the dot product, in float64, of two sparse vectors given
// as sorted, duplicate-free indices and their values: what the sparse
// part adds to a dotproduct score.
func SparseDot(qi []uint32, qv []float32, vi []uint32, vv []float32) float64 {
	var d float64
	for i, j := 0, 0; i < len(qi) && j < len(vi); {
		switch {
		case qi[i] < vi[j]:
			i++
		case qi[i] > vi[j]:
			j++
		default:
			d += float64(qv[i]) * float64(vv[j])
			i++
			j++
		}
	}
	return d
}

// Ascending reports whether lower scores are nearer under metric.
func Ascending(metric string) bool { return metric == Euclidean }

// Scored is one candidate's exact score.
type Scored struct {
	ID    string
	Score float64
}

// Rank orders scored best first under metric (ties by ascending id,
// the store's own deterministic order) and returns it.
func Rank(metric string, scored []Scored) []Scored {
	asc := Ascending(metric)
	sort.Slice(scored, func(i, j int) bool {
		if scored[i].Score != scored[j].Score {
			if asc {
				return scored[i].Score < scored[j].Score
			}
			return scored[i].Score > scored[j].Score
		}
		return scored[i].ID < scored[j].ID
	})
	return scored
}

// BruteForce ranks every vector of vecs (by id) for the query q under
// metric: the exact answer an approximate index is checked against.
func BruteForce(metric string, q []float32, vecs map[string][]float32) []Scored {
	out := make([]Scored, 0, len(vecs))
	for id, v := range vecs {
		out = append(out, Scored{id, Score(metric, q, v)})
	}
	return Rank(metric, out)
}
