package vectordb

import "math"

// Metric is an index's similarity measure. It is fixed when the index is
// created.
type Metric string

const (
	// Cosine scores by cosine similarity, dot(q,v) / (|q| |v|), in [-1, 1];
	// higher is more similar. The default.
	Cosine Metric = "cosine"
	// Euclidean scores by the squared Euclidean distance |q-v|^2; lower is
	// more similar. It is squared, not rooted, as in Pinecone.
	Euclidean Metric = "euclidean"
	// DotProduct scores by the raw dot product; higher is more similar. It
	// is the only metric that takes sparse values, whose dot product adds
	// to the dense one (hybrid search).
	DotProduct Metric = "dotproduct"
)

func (m Metric) valid() bool {
	return m == Cosine || m == Euclidean || m == DotProduct
}

// ascending reports whether lower scores rank first.
func (m Metric) ascending() bool { return m == Euclidean }

// cosineScore is Pinecone's float32 formula. dot and the squared norms are
// float32 sums; the roots are taken separately, as the formula writes them.
func cosineScore(dot, qNormSq, vNorm float32) float32 {
	return dot / (sqrt32(qNormSq) * vNorm)
}

// sqrt32 is the correctly rounded float32 square root (the float64 root of
// a float32, rounded once, is exact).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
