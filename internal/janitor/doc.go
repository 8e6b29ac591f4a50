// Package janitor owns the background removal of dropped data and the
// storage engine's periodic value-log collection.
//
// Dropping data. vectordb's DeleteNamespace, DeleteAll and DeleteIndex
// remove the catalog entries and write a pending-drop record (Put) in one
// transaction, so the data is unreachable at once and its removal survives
// a crash. The janitor goroutine (Run) then removes each dropped prefix,
// checks with a scan that nothing is left, and only then deletes the
// pending-drop record. Open wakes it, so an interrupted drop resumes.
//
// A prefix of Config.ReclaimMinBytes or more goes with Badger's
// DropPrefix, which drops whole tables and so gives the disk space back at
// once. It makes every storage read and write of the database wait while
// it runs (writers retry: see storage.Store.Update), and waits itself for
// the transactions begun before it (a snapshot that saw the namespace live
// keeps its keys). Smaller prefixes, whose space matters less, are deleted
// with tombstones in bounded transactions that interleave with other
// tenants' writes; their space comes back as compactions pass (at the
// bottom level only with a later DropPrefix: Badger #2329).
//
// An import writes its records under a fresh namespace id marked by a
// staging key, which the importer turns into a pending drop if it fails;
// DropStaged does the same at Open for the imports a crash interrupted.
//
// The package works on storage's drop records, staging keys and prefixes
// only: it must
// not know the catalog (indexes, namespaces) nor touch in-memory state;
// the caller makes a drop's data unreachable before Put.
package janitor
