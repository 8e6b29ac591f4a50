package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// ivfGens returns the generation the IVF header of (1, 2) names, and the
// generations of its parts.
func ivfGens(t *testing.T, s *Store) (header uint64, parts []uint64) {
	t.Helper()
	err := s.View(func(tx *Txn) error {
		h, _, err := ReadIVFHeader(tx, 1, 2)
		header = h.Gen
		if err != nil {
			return err
		}
		return tx.Iterate(IterOptions{Prefix: IVFPartsPrefix(1, 2), KeysOnly: true}, func(k, _ []byte) (bool, error) {
			g, err := IVFPartGen(k)
			if !slices.Contains(parts, g) {
				parts = append(parts, g)
			}
			return true, err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return header, parts
}

// TestWriteReadIVF: each WriteIVF stores a new generation and leaves only
// its parts; ReadIVF reads back what was written, a missing part is
// corrupt, and a write refused midway leaves the stored index as it was.
func TestWriteReadIVF(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	update := func(fn func(*Txn) error) error { return s.Update(ctx, fn) }
	if err := s.View(func(tx *Txn) error {
		st, err := ReadIVF(tx, 1, 2)
		if st != nil || err != nil {
			t.Errorf("no IVF stored: ReadIVF gives %v, %v", st, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	cents := make([]float32, 3*2)
	var as []IVFAssignment
	for i := range 40000 { // a body of several parts: the test store's transactions are small
		as = append(as, IVFAssignment{ID: fmt.Sprintf("r%06d", i), List: uint32(i % 3), CRC: uint32(i)})
	}
	h := IVFHeader{Metric: 1, Dim: 2, NList: 3, TrainedRecords: 7, NProbe: 2, Recall: 0.97}
	var gens []uint64
	for range 2 {
		stored, err := s.WriteIVF(ctx, 1, 2, h, EncodeIVFBody(cents, as), update)
		if !stored || err != nil {
			t.Fatalf("WriteIVF: %v, %v", stored, err)
		}
		header, parts := ivfGens(t, s)
		if len(parts) != 1 || parts[0] != header {
			t.Fatalf("header names generation %d, parts of %v", header, parts)
		}
		gens = append(gens, header)
	}
	if gens[1] <= gens[0] {
		t.Fatalf("generations %v do not increase", gens)
	}
	var hdr IVFHeader
	err := s.View(func(tx *Txn) error {
		st, err := ReadIVF(tx, 1, 2)
		if err != nil {
			return err
		}
		hdr = st.Header
		if st.Header.Parts < 2 || st.Header.Recall != h.Recall || len(st.Centroids) != len(cents) || len(st.Assignments) != len(as) {
			t.Errorf("read back header %+v, %d centroids, %d assignments", st.Header, len(st.Centroids), len(st.Assignments))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A write refused after its first part leaves the stored index
	// whole, and its return says the header was not stored.
	refuse := errors.New("refused")
	writes := 0
	stored, err := s.WriteIVF(ctx, 1, 2, h, EncodeIVFBody(cents, as), func(fn func(*Txn) error) error {
		if writes++; writes > 1 {
			return refuse
		}
		return update(fn)
	})
	if stored || err != refuse {
		t.Fatalf("refused write: %v, %v", stored, err)
	}
	if header, _ := ivfGens(t, s); header != gens[1] {
		t.Fatalf("refused write moved the header to generation %d", header)
	}
	if err := s.View(func(tx *Txn) error { _, err := ReadIVF(tx, 1, 2); return err }); err != nil {
		t.Fatalf("after a refused write: %v", err)
	}

	// A missing part is corrupt.
	if err := update(func(tx *Txn) error { return tx.Delete(IVFPartKey(1, 2, hdr.Gen, 1)) }); err != nil {
		t.Fatal(err)
	}
	if err := s.View(func(tx *Txn) error { _, err := ReadIVF(tx, 1, 2); return err }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("missing part: %v", err)
	}
}
