package memory

import "testing"

// TestBudgetArithmetic: the storage reserve is the memtables plus eight
// memtables' worth capped at MaxBuilderReserve, and the hot budget the rest
// of the budget, never under a quarter of it.
func TestBudgetArithmetic(t *testing.T) {
	for _, c := range []struct {
		memtables          int
		memtable, budget   int64
		wantReserve, wantH int64
	}{
		{3, 16 << 20, 256 << 20, 11 * 16 << 20, 256<<20 - 11*16<<20},
		{3, 32 << 20, 1 << 30, 3*32<<20 + MaxBuilderReserve, 1<<30 - 3*32<<20 - MaxBuilderReserve},
		{3, 16 << 20, 64 << 10, 11 * 16 << 20, 16 << 10}, // under the reserve: a quarter
		{3, 16 << 20, 0, 11 * 16 << 20, 0},
		{3, 16 << 20, -1, 11 * 16 << 20, 0},
	} {
		r := StorageReserve(c.memtables, c.memtable)
		if h := HotBudget(c.budget, r); r != c.wantReserve || h != c.wantH {
			t.Errorf("%d x %d, budget %d: reserve %d, hot %d; want %d, %d", c.memtables, c.memtable, c.budget, r, h, c.wantReserve, c.wantH)
		}
	}
}
