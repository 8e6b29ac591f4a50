package segment

import (
	"fmt"
	"slices"

	"github.com/vectordb-go/vectordb/internal/ivf"
)

// IVFConsistentLocked reports whether the segment's IVF, if any, holds
// exactly the live rows, each once, in the list the index says, with the
// row's current values.
// REQUIRES: mu held.
func (s *Segment) IVFConsistentLocked() error {
	st := s.ivf
	if st == nil {
		return nil
	}
	if st.Lists.Len() != s.live {
		return fmt.Errorf("IVF holds %d rows, segment %d", st.Lists.Len(), s.live)
	}
	for j := range st.Lists.Quantizer().NList() {
		vecs, slots := st.Lists.List(j)
		for pos, slot := range slots {
			if slot == ivf.DeadSlot {
				continue
			}
			if int(slot) >= s.n || s.isDeletedLocked(slot) {
				return fmt.Errorf("list %d holds deleted slot %d", j, slot)
			}
			if st.Lists.ListOf(slot) != j {
				return fmt.Errorf("slot %d: ListOf %d, found in %d", slot, st.Lists.ListOf(slot), j)
			}
			row := vecs[pos*st.Lists.Stride() : pos*st.Lists.Stride()+s.dim]
			if !slices.Equal(row, s.RowLocked(slot)[:s.dim]) {
				return fmt.Errorf("slot %d (%q): list row differs from the segment's", slot, s.ids[slot])
			}
		}
	}
	return nil
}
