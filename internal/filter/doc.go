// Package filter compiles metadata filters (Pinecone's JSON object form,
// as map[string]any values) into trees of Nodes, and evaluates a Node
// against one record's metadata (Match, the reference evaluator).
//
// It owns the filter language: which operators exist, which operands
// they take, how values compare, and the limits on a filter's size
// (MaxDepth, MaxNodes, MaxValues), which Compile enforces before it
// builds anything proportional to the filter. Errors are *Error values
// naming the place in the filter ("filter.$and[1].year"), rendered only
// when there is an error.
//
// It must not touch storage, segments or indexes, nor know the public
// Filter and Metadata types: callers convert at the boundary (see
// ObjectFunc) and turn *Error into their own error type. A metadata
// index evaluates the exported Node fields itself and must agree with
// Match.
package filter
