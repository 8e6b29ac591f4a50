//go:build !linux

package vectordb

// physicalMemory returns 0 (unknown) outside Linux: the default memory
// budget is then defaultMemoryBudgetFallback.
func physicalMemory() int64 { return 0 }
