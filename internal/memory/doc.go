// Package memory owns the memory budget's arithmetic and the hot set: the
// members held in memory, their accounted bytes and their last use, and
// least-recently-used eviction once the accounted total passes the budget.
//
// The budget. The storage engine's expected share is set aside from the
// configured budget (StorageReserve); members are accounted against the
// rest, the hot budget (HotBudget). When the total passes it, the least
// recently used members are evicted until it is back under EvictTarget of
// the budget, so that eviction runs in batches rather than at every load.
// The member being loaded or written is never the one evicted for it: a
// member larger than the budget is still served, and evicted once another
// needs the room.
//
// The package knows nothing of what a member is (vectordb's namespaces and
// their segments): the caller measures bytes, and evicting is a callback
// that may decline. It must not take the caller's locks itself or touch
// storage; it also reads the machine's RAM (PhysicalMemory) for the
// default budget.
package memory
