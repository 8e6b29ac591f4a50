// Package sched is vectordb's fair scheduler: it shares the DB's slots
// (Options.Concurrency) among namespaces so that no tenant's load delays
// another's calls for long.
//
// It owns the slot accounting, the per-namespace queues, the round-robin
// dispatch among namespaces, the share of slots kept for background work
// (IVF builds), the lending of idle slots (Scheduler.TryExtra), and the
// per-call Ticket through which a call's inner code yields its slot or
// borrows more.
//
// At most slots slots are held at once across the DB, at most
// perNamespace by one namespace. A call that finds no slot for it queues
// behind its namespace, and each freed slot goes to the next namespace in
// a round robin of those waiting, so a namespace with many callers gets
// the same turns as one with a single caller. With the default limits one
// namespace can never take the last slot, so a quiet tenant's query starts
// at once however busy another is.
//
// Work that may use more cores borrows slots, beyond its namespace's
// limit, only while they are free and nobody waits (TryExtra), and hands
// them back as soon as someone does (Contended): the limit reserves room
// for other tenants without idling the CPU when there are none. Long
// operations yield between steps (Yield), and IVF builds run their
// workers at background priority (Gate): they get a slot when no
// operation waits for one, and one in bgShare while operations queue.
//
// The package must not touch namespaces, segments, storage or anything
// else of the DB: it knows a namespace only by its Key, and it never holds
// a lock of the caller's. Contexts carry deadlines and cancellation only;
// a call's Ticket is passed explicitly.
//
// Deadlock rule, the caller's to keep: nothing waits for a slot while
// holding a namespace lock (a write lock, a segment's mutex), since an
// admitted call may be waiting for that lock. Hence writes yield before
// they take their locks, and build workers pass the gate before they take
// a segment's read lock.
package sched
