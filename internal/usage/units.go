package usage

// The unit arithmetic of vectordb.Usage, which documents it: Pinecone's
// serverless read and write units.
const (
	// MinWriteUnits is the least a write costs, and what DeleteAll and
	// DeleteNamespace cost.
	MinWriteUnits = 5
	bytesPerWU    = 1000
	bytesPerRU    = 1_000_000_000
	recordsPerRU  = 10
)

// WriteUnits converts the bytes one request writes to write units.
func WriteUnits(bytes uint64) int {
	return max(MinWriteUnits, Kilobytes(bytes))
}

// Kilobytes is bytes in KB, rounded up: the write units of bytes before
// the minimum, for a request charged in several transactions.
func Kilobytes(bytes uint64) int {
	return int((bytes + bytesPerWU - 1) / bytesPerWU)
}

// QueryReadUnits is the cost of a query on a namespace of the given size.
// Pinecone's minimum is 0.25 units, reported as an integer, so small
// namespaces cost 1.
func QueryReadUnits(namespaceBytes uint64) int {
	return max(1, int((namespaceBytes+bytesPerRU-1)/bytesPerRU))
}

// FetchReadUnits is the cost of a fetch that returned n records.
func FetchReadUnits(n int) int {
	return max(1, (n+recordsPerRU-1)/recordsPerRU)
}
