// Command gendata writes a synthetic ANN data set in the TEXMEX formats:
// PREFIX_base.fvecs, PREFIX_query.fvecs and PREFIX_groundtruth.ivecs
// (each query's exact top 100 base indexes under -metric, best first).
// The data come from benchmarks/datagen: uneven, overlapping,
// anisotropic clusters with a decaying variance spectrum, deterministic
// by -seed.
//
//	go run ./benchmarks/cmd/gendata -n 1000000 -nq 1000 -dim 128 -metric euclidean -out /tmp/gen1m
package main

import (
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/vectordb-go/vectordb/benchmarks/datagen"
	"github.com/vectordb-go/vectordb/benchmarks/texmex"
)

func main() {
	n := flag.Int("n", 100_000, "base vectors")
	nq := flag.Int("nq", 1000, "query vectors")
	dim := flag.Int("dim", 128, "dimension")
	metric := flag.String("metric", "euclidean", "euclidean, cosine (unit vectors) or dotproduct: the ground truth's metric")
	seed := flag.Uint64("seed", 1, "random seed")
	k := flag.Int("k", 100, "neighbours per query in the ground truth")
	out := flag.String("out", "", "output path prefix (required)")
	overlap := flag.Float64("overlap", 0, "within-cluster over between-centre spread (0: datagen's default); higher is harder")
	decay := flag.Float64("decay", 0, "variance spectrum decay exponent (0: datagen's default)")
	clusters := flag.Int("clusters", 0, "clusters (0: datagen's default for -n)")
	flag.Parse()
	if *out == "" || *n < 1 || *nq < 1 || *dim < 1 || *k < 1 {
		flag.Usage()
		log.Fatal("gendata: -out is required, and -n, -nq, -dim and -k must be positive")
	}
	m, ok := map[string]datagen.Metric{"euclidean": datagen.Euclidean, "cosine": datagen.Cosine, "dotproduct": datagen.DotProduct}[*metric]
	if !ok {
		log.Fatalf("gendata: unknown metric %q", *metric)
	}
	start := time.Now()
	g := datagen.New(datagen.Config{Dim: *dim, Seed: *seed, Normalize: m == datagen.Cosine, Overlap: *overlap, Decay: *decay, Clusters: *clusters}, *n)
	base, queries := make([]float32, *n**dim), make([]float32, *nq**dim)
	g.Fill(base, *seed)
	g.Fill(queries, *seed+1<<32)
	truth := datagen.GroundTruth(base, queries, *dim, min(*k, *n), m)
	for _, f := range []struct {
		path  string
		write func(string) error
	}{
		{*out + "_base.fvecs", func(p string) error { return texmex.WriteFvecs(p, base, *dim) }},
		{*out + "_query.fvecs", func(p string) error { return texmex.WriteFvecs(p, queries, *dim) }},
		{*out + "_groundtruth.ivecs", func(p string) error { return texmex.WriteIvecs(p, truth) }},
	} {
		if err := f.write(f.path); err != nil {
			log.Fatal(err)
		}
		fmt.Println("wrote", f.path)
	}
	fmt.Printf("generated %d x %d base, %d queries, top-%d %s ground truth in %v\n", *n, *dim, *nq, *k, *metric, time.Since(start).Round(time.Millisecond))
}
