package ivf

import "context"

// Gate admits one block of work of a parallel loop: it returns when the
// block may run, and the caller calls release once the block is done. It
// fails only with ctx's error. A caller that shares the CPU among tenants
// (vectordb's scheduler) passes one with WithGate; without one, every
// block runs at once.
type Gate func(ctx context.Context) (release func(), err error)

type gateKey struct{}

// WithGate returns a context whose parallel loops in this package (Train,
// AssignBatch) pass each block of work through g.
func WithGate(ctx context.Context, g Gate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// GateOf returns ctx's Gate, or one that admits everything.
func GateOf(ctx context.Context) Gate {
	if g, ok := ctx.Value(gateKey{}).(Gate); ok && g != nil {
		return g
	}
	return open
}

func open(context.Context) (func(), error) { return nop, nil }

func nop() {}
