// Package ivf is an inverted-file (IVF) index over float32 vectors: a
// coarse quantizer of nlist centroids, trained by k-means, splits the
// vectors into nlist lists; a query ranks the centroids and scans only the
// vectors of the nprobe best lists.
//
// Vocabulary:
//   - Quantizer: the trained centroids; Assign maps a vector to its list,
//     Probe orders the lists for a query.
//   - Train: k-means (greedy k-means++ seeding on a subsample, Lloyd iterations
//     pruned with Hamerly's bounds, empty clusters split) over a sample.
//   - Lists: the inverted lists, each holding copies of its vectors
//     contiguously, in a fixed row stride, with the caller's slot number of
//     each, so that a probe is one streaming batch-kernel scan per list.
//     Removed entries are marked and skipped, and a list compacts itself
//     when half of it is dead.
//
// Metrics: L2 trains and probes by Euclidean distance; Cosine trains
// spherical k-means (unit vectors and centroids) and probes by the dot
// product with each centroid; Dot (maximum inner product) trains Euclidean
// k-means on the raw vectors and probes by the inner product with each
// centroid.
//
// The package does no locking: the caller serializes writers with
// readers. Distances use the simd kernels; the centroid arithmetic uses
// gonum's BLAS.
//
// It must not know segments, namespaces or storage: the segment keeps
// the lists in step with its rows and persists them (internal/segment).
package ivf
