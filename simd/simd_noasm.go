//go:build !amd64 || purego || noasm

package simd

// shortLen: with only the reference, there is no call overhead to avoid.
const shortLen = 0

func available() []*kernels { return nil }
