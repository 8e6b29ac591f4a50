package record

import "math"

// Limits on records. They are the vectordb package's public limits of the
// same names, from Pinecone's.
const (
	MaxIDBytes            = 512   // bytes in a record id
	MaxNamespaceNameBytes = 512   // bytes in a namespace name
	MaxSparseValues       = 2048  // non-zero entries in a sparse vector
	MaxMetadataBytes      = 40960 // metadata bytes, serialized as JSON
	minMagnitude          = 1e-8  // a vector needs one component at least this large
)

// maxSquaredNorm bounds a vector's squared norm (dense, and sparse apart)
// so that every score stays finite in float32: a dot product is at most
// |q||v| and a squared distance at most 2(|q|^2+|v|^2), both then within
// MaxFloat32, and a hybrid score, the sum of two dot products, too.
const maxSquaredNorm = math.MaxFloat32 / 4

// Size is a record's size as usage units and quotas count it: id,
// metadata as JSON, four bytes per dense value and eight per sparse entry.
func Size(id string, metaJSON int, dim int, nnz int) uint64 {
	return uint64(len(id) + metaJSON + 4*dim + 8*nnz)
}
