//go:build !linux

package memory

// PhysicalMemory returns 0 (unknown) outside Linux: vectordb's default
// memory budget then falls back to a fixed size.
func PhysicalMemory() int64 { return 0 }
