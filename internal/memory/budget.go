package memory

// EvictTarget is the share of the hot budget that eviction frees memory
// down to.
const EvictTarget = 0.9

// MaxBuilderReserve caps the table-builder share of StorageReserve.
const MaxBuilderReserve = 192 << 20

// StorageReserve is the memory the storage engine holds under a steady
// write load, given its number of memtables and their size: its
// memtables, plus the buffers of its flushes and compactions (pooled table
// builders that grow with the tables they write), with the Go collector's
// slack around them: eight memtables' worth, at most MaxBuilderReserve.
// Fitted to cmd/soak runs (benchmarks/README.md): with hot segments under
// their budget, the rest of the process peaked at about 100 MiB with 8 MiB
// memtables, 230 MiB with 16 MiB and 320 MiB with 64 MiB. It is an
// estimate, not a cap: the storage engine does not let those buffers be
// bounded.
func StorageReserve(numMemtables int, memTableSize int64) int64 {
	return int64(numMemtables)*memTableSize + min(8*memTableSize, MaxBuilderReserve)
}

// HotBudget is the share of budget for hot members: the budget less
// reserve, but never under a quarter of the budget; 0 (none) if budget is
// not positive.
func HotBudget(budget, reserve int64) int64 {
	if budget <= 0 {
		return 0
	}
	return max(budget-reserve, budget/4)
}
