package segment

import (
	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/storage"
)

// AppendLocked adds a record decoded from storage. Unlike PutLocked it
// decodes straight into the arena row, with no intermediate copy.
// REQUIRES: mu held for writing, or the segment not yet shared.
func (s *Segment) AppendLocked(id string, v *storage.VectorView) {
	slot := s.newSlotLocked(id)
	row := s.RowLocked(slot)
	v.DenseInto(row[:s.dim])
	s.norms[slot] = norm(row[:s.dim])
	if s.metric == ivf.Dot {
		s.sparse[slot].Idx, s.sparse[slot].Val = v.Sparse()
	}
}
