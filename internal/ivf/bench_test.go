package ivf

import (
	"context"
	"flag"
	"math"
	"testing"
)

var (
	benchN   = flag.Int("train-n", 100_000, "points for BenchmarkTrain")
	benchDim = flag.Int("train-dim", 128, "dimension for BenchmarkTrain")
)

// BenchmarkTrain trains 4*sqrt(n) centroids on 64 points per centroid.
func BenchmarkTrain(b *testing.B) {
	n, dim := *benchN, *benchDim
	nlist := int(4 * math.Sqrt(float64(n)))
	x := blobs(1, min(n, 64*nlist), dim, nlist)
	for b.Loop() {
		buf := append([]float32(nil), x...)
		if _, err := Train(context.Background(), L2, dim, buf, TrainConfig{NList: nlist, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
