//go:build race

package server

// The race detector turns off the allocator's packing of small objects:
// tests that measure allocation sizes skip.
func init() { raceEnabled = true }
