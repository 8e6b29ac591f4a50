package datagen

import (
	"math"
	"slices"
	"testing"
)

func TestDeterministicAndTruth(t *testing.T) {
	const n, dim, nq = 2000, 16, 20
	a, b := make([]float32, n*dim), make([]float32, n*dim)
	New(Config{Dim: dim, Seed: 3}, n).Fill(a, 1)
	New(Config{Dim: dim, Seed: 3}, n).Fill(b, 1)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different data")
	}
	q := make([]float32, nq*dim)
	New(Config{Dim: dim, Seed: 3}, n).Fill(q, 2)
	for _, m := range []Metric{Euclidean, Cosine, DotProduct} {
		truth := GroundTruth(a, q, dim, 5, m)
		for i, row := range truth {
			// Brute force: no point outside the row beats its last one.
			score := func(j int32) float64 {
				var dot, qq, pp, l2 float64
				for d := range dim {
					x, y := float64(q[i*dim+d]), float64(a[int(j)*dim+d])
					dot, qq, pp, l2 = dot+x*y, qq+x*x, pp+y*y, l2+(x-y)*(x-y)
				}
				switch m {
				case Euclidean:
					return -l2
				case Cosine:
					return dot / (math.Sqrt(qq) * math.Sqrt(pp))
				}
				return dot
			}
			last := score(row[len(row)-1])
			for j := range int32(n) {
				if !slices.Contains(row, j) && score(j) > last+1e-4 {
					t.Fatalf("metric %d query %d: point %d (%v) beats the truth's last (%v)", m, i, j, score(j), last)
				}
			}
		}
	}
}
