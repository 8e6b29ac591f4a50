package vectordb

// Usage is what one call cost in Pinecone's serverless units, the numbers a
// SaaS bills its tenants on. Read units: a query costs 1 per GB (10^9
// bytes) of namespace size, at least 1; a fetch 1 per 10 records returned,
// at least 1; a list 1. Write units: an upsert, update or delete costs 1 per
// KB (1000 bytes) written, where the size of a record is its id, metadata as
// JSON and values (4 bytes per dense value, 8 per sparse entry), and an
// overwrite or update also counts the old record; at least 5 per call.
// DeleteAll and DeleteNamespace cost 5.
type Usage struct {
	ReadUnits  int
	WriteUnits int
}
