// Package simd holds vectordb's float32 distance kernels: dot product,
// squared Euclidean distance and squared norm of one pair of vectors, and
// batch forms that score one query against many rows of a row-major
// matrix. It imports nothing of vectordb's.
//
// Each kernel has a pure-Go reference (generic.go), always compiled, and on
// amd64 hand-written assembly for AVX-512 (with masked tails) and AVX2+FMA
// (simd_amd64.s). The best implementation the CPU supports is chosen once,
// at init, from golang.org/x/sys/cpu; the build tags purego or noasm force
// the reference. Before an assembly implementation is used, a self-test at
// init checks it against the reference, so a kernel that misbehaves on some
// CPU is never trusted. Implementations lists what this CPU can run.
//
// The AVX-512 kernels are the AVX2 ones widened to 16 lanes with opmask
// tails, using AVX512F instructions only. The machine they were written on
// (AMD Zen 3) has no AVX-512, so they have been checked by the assembler
// and by review but not executed there; the tests run them on any machine
// that has AVX-512, and the init self-test guards them everywhere else.
//
// The exported functions validate lengths and panic on a mismatch: that is
// a programming error, like an index out of range. Inputs are never
// written. NaN and infinities are the caller's business: the kernels do not
// crash on them, and what they return is then unspecified.
package simd
