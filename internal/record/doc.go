// Package record owns what makes a record valid and its canonical form:
// the rules for ids and namespace names, dense and sparse values and
// metadata values, the stored form of metadata (every number a float64,
// every list a []string), the metadata's JSON size that limits, quotas
// and usage count, a record's accounted size, and a record prepared for a
// write.
//
// It works on plain values (strings, slices, map[string]any); the
// vectordb package converts its public Record, SparseValues and Metadata
// types at the boundary. The limits it enforces are the public ones
// (vectordb.MaxIDBytes and the rest); a root test holds the two sets of
// constants equal.
//
// Errors are *Error (an invalid argument), *DimensionError (dense values
// of the wrong length) and *CountError (too many ids), each naming the
// field relative to what was validated; the caller prefixes the path and
// turns them into its own error types, so every message is rendered
// there.
//
// Prepare validates a whole record and encodes its values with
// internal/storage's codec, ready for a write; the package must not touch
// transactions, namespaces or segments, which the write path owns.
package record
