package vectordb

// This file exports, for the external test package vectordb_test only,
// the few internals its tests observe. It is the usual export_test.go of
// Go packages; that name is taken here by the tests of Export.

// PendingDrops reports how many drops db's janitor has yet to complete.
func PendingDrops(db *DB) (int, error) { return db.pendingDrops() }
