package ivf

import "context"

// Gate admits one block of work of a parallel loop: it returns when the
// block may run, and the caller calls release once the block is done. It
// fails only with ctx's error. A caller that shares the CPU among tenants
// (vectordb's scheduler) passes one to the parallel loops of this package
// (TrainConfig.Gate, AssignBatch); a nil Gate runs every block at once.
type Gate func(ctx context.Context) (release func(), err error)

// Admit waits until g admits a block; a nil Gate admits it at once.
func (g Gate) Admit(ctx context.Context) (release func(), err error) {
	if g == nil {
		return nop, nil
	}
	return g(ctx)
}

func nop() {}
