package vectordb

import "github.com/vectordb-go/vectordb/internal/ivf"

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

// ivfMetric is the IVF metric that serves m.
func ivfMetric(m Metric) ivf.Metric {
	switch m {
	case Cosine:
		return ivf.Cosine
	case DotProduct:
		return ivf.Dot
	}
	return ivf.L2
}
