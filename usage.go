package vectordb

// Usage is what one call cost in Pinecone's serverless units, the numbers a
// SaaS bills its tenants on. Read units: a query costs 1 per GB (10^9
// bytes) of namespace size, at least 1; a fetch 1 per 10 records returned,
// at least 1; a list 1. Write units: an upsert, update or delete costs 1 per
// KB (1000 bytes) written, where the size of a record is its id, metadata as
// JSON and values (4 bytes per dense value, 8 per sparse entry), and an
// overwrite or update also counts the old record; at least 5 per call.
// DeleteAll and DeleteNamespace cost 5.
type Usage struct {
	ReadUnits  int
	WriteUnits int
}

const (
	minWriteUnits = 5
	bytesPerWU    = 1000
	bytesPerRU    = 1_000_000_000
	recordsPerRU  = 10
)

// writeUnits converts the bytes one request writes to write units.
func writeUnits(bytes uint64) int {
	return max(minWriteUnits, kilobytes(bytes))
}

// kilobytes is bytes in KB, rounded up.
func kilobytes(bytes uint64) int {
	return int((bytes + bytesPerWU - 1) / bytesPerWU)
}

// queryReadUnits is the cost of a query on a namespace of the given size.
// Pinecone's minimum is 0.25 units, reported as an integer, so small
// namespaces cost 1.
func queryReadUnits(namespaceBytes uint64) int {
	return max(1, int((namespaceBytes+bytesPerRU-1)/bytesPerRU))
}

// fetchReadUnits is the cost of a fetch that returned n records.
func fetchReadUnits(n int) int {
	return max(1, (n+recordsPerRU-1)/recordsPerRU)
}
