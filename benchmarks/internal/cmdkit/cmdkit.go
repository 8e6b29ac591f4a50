// Package cmdkit holds what the benchmark commands share: a database
// directory from a flag or a temporary one, fatal error checks, random
// vectors and heap profiles.
package cmdkit

import (
	"log"
	"math/rand/v2"
	"os"
	"runtime/pprof"
)

// Dir returns dir, or when it is empty a new temporary directory named
// after pattern; cleanup removes the temporary one (and nothing else).
func Dir(dir, pattern string) (string, func()) {
	if dir != "" {
		return dir, func() {}
	}
	d, err := os.MkdirTemp("", pattern)
	Check(err)
	return d, func() { os.RemoveAll(d) }
}

// Check exits with err's message if err is not nil.
func Check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// RandVec returns dim values uniform in [-1, 1).
func RandVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

// WriteHeapProfile writes a heap profile to path, if path is not empty.
func WriteHeapProfile(path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	Check(err)
	Check(pprof.WriteHeapProfile(f))
	Check(f.Close())
}
