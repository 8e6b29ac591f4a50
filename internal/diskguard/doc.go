// Package diskguard refuses writes that add data while the file system
// holding the database is nearly full. The storage engine does not survive
// a full disk gracefully (a failed memtable flush or compaction leaves it
// unable to write), so a Guard refuses growing writes while less than its
// margin is free; the caller lets deletes and drops pass, since they are
// how space comes back.
//
// The package owns the free-space probe (FreeBytes) and how stale its
// reading may be. It must not know which operations grow the database nor
// define user-facing errors: the caller says how many bytes a write adds
// and passes the sentinel that refusals wrap.
package diskguard
