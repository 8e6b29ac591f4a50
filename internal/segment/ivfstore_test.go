package segment

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vectordb-go/vectordb/internal/ivf"
	"github.com/vectordb-go/vectordb/internal/storage"
)

// ivfRows returns n random rows of dimension dim, their ids in id order.
func ivfRows(n, dim int, seed uint64) ([]string, [][]float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	ids := make([]string, n)
	rows := make([][]float32, n)
	for i := range n {
		ids[i] = fmt.Sprintf("r%05d", i)
		rows[i] = make([]float32, dim)
		for d := range rows[i] {
			rows[i][d] = float32(rng.NormFloat64())
		}
	}
	return ids, rows
}

// ivfSegment returns a segment holding rows under ids, put in order.
func ivfSegment(dim int, ids []string, rows [][]float32) *Segment {
	s := New(dim, ivf.L2, len(ids))
	s.Lock()
	defer s.Unlock()
	for i, id := range ids {
		s.PutLocked(id, rows[i], Sparse{}, nil, nil, -1)
	}
	return s
}

// decodeStored turns what EncodeIVF returns into what storage.ReadIVF
// would read back.
func decodeStored(t *testing.T, h storage.IVFHeader, body []byte) *storage.StoredIVF {
	t.Helper()
	_, split := storage.SplitIVFBody(body, len(body)+1)
	h.Parts, h.BodyLen, h.BodyCRC = split.Parts, split.BodyLen, split.BodyCRC
	cents, es, err := storage.DecodeIVFBody(&h, body)
	if err != nil {
		t.Fatal(err)
	}
	return &storage.StoredIVF{Header: h, Centroids: cents, Assignments: es}
}

// TestIVFEncodeLoad: a built IVF, encoded and loaded into a segment with
// the same records, keeps every unchanged record's list; changed and new
// records are assigned again, and the loaded IVF is consistent.
func TestIVFEncodeLoad(t *testing.T) {
	const n, dim = 3000, 8
	ids, rows := ivfRows(n, dim, 1)
	s := ivfSegment(dim, ids, rows)
	st, err := s.BuildIVF(ctx, nil, BuildConfig{Seed: 7, TargetRecall: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	h, body, ok := s.EncodeIVF(st)
	if !ok {
		t.Fatal("EncodeIVF: the segment's own IVF reported superseded")
	}
	if int(h.NList) != st.NList || int(h.NProbe) != st.NProbe || int(h.TrainedRecords) != n || h.Dim != dim {
		t.Fatalf("header %+v for IVF %+v", h, st)
	}
	stored := decodeStored(t, h, body)

	// Change 10 records and add 5: 15 reassignments.
	ids2, rows2 := ivfRows(n+5, dim, 1)
	for i := 0; i < 100; i += 10 {
		rows2[i][0] += 100
	}
	s2 := ivfSegment(dim, ids2, rows2)
	s2.Lock()
	reassigned, err := s2.LoadIVFLocked(stored)
	if err != nil {
		t.Fatal(err)
	}
	if reassigned != 15 {
		t.Errorf("reassigned %d records, want 15", reassigned)
	}
	if err := s2.CheckLocked(n + 5); err != nil {
		t.Fatal(err)
	}
	got := s2.IVFLocked()
	if got.NList != st.NList || got.NProbe != st.NProbe || got.Recall != st.Recall || !got.BuiltAt.Equal(st.BuiltAt) {
		t.Errorf("loaded IVF %+v, built %+v", got, st)
	}
	for i := range n {
		if i < 100 && i%10 == 0 {
			continue
		}
		if a, b := got.Lists.ListOf(uint32(i)), st.Lists.ListOf(uint32(i)); a != b {
			t.Fatalf("record %s: list %d after the load, %d when built", ids[i], a, b)
		}
	}
	s2.Unlock()

	// A newer IVF supersedes st: nothing to encode.
	if _, err := s.BuildIVF(ctx, nil, BuildConfig{Seed: 8, TargetRecall: 0.9}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.EncodeIVF(st); ok {
		t.Error("EncodeIVF encoded a superseded IVF")
	}
}

// TestIVFLoadMismatch: a stored IVF of another dimension or metric is
// refused, and the segment keeps no IVF.
func TestIVFLoadMismatch(t *testing.T) {
	const n, dim = 500, 4
	ids, rows := ivfRows(n, dim, 2)
	s := ivfSegment(dim, ids, rows)
	st, err := s.BuildIVF(ctx, nil, BuildConfig{Seed: 1, TargetRecall: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	h, body, _ := s.EncodeIVF(st)
	for _, damage := range []func(h *storage.IVFHeader){
		func(h *storage.IVFHeader) { h.Dim++ },
		func(h *storage.IVFHeader) { h.Metric = uint8(ivf.Cosine) },
	} {
		stored := decodeStored(t, h, body)
		damage(&stored.Header)
		fresh := ivfSegment(dim, ids, rows)
		fresh.Lock()
		if _, err := fresh.LoadIVFLocked(stored); err == nil {
			t.Errorf("header %+v loaded", stored.Header)
		}
		if fresh.IVFLocked() != nil {
			t.Error("a refused IVF was put in service")
		}
		fresh.Unlock()
	}
}

// TestIVFBuildStops: BuildIVF on an empty segment gives ErrEmpty, and a
// Check error ends a build with it, leaving the segment ready for the
// next build.
func TestIVFBuildStops(t *testing.T) {
	if _, err := New(4, ivf.L2, 0).BuildIVF(ctx, nil, BuildConfig{}); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty segment: %v", err)
	}
	ids, rows := ivfRows(500, 4, 3)
	s := ivfSegment(4, ids, rows)
	stop := errors.New("stop")
	if _, err := s.BuildIVF(ctx, nil, BuildConfig{TargetRecall: 0.9, Check: func() error { return stop }}); err != stop {
		t.Fatalf("stopped build: %v", err)
	}
	s.RLock()
	if s.IVFLocked() != nil {
		t.Error("a stopped build put its IVF in service")
	}
	s.RUnlock()
	if _, err := s.BuildIVF(ctx, nil, BuildConfig{TargetRecall: 0.9}); err != nil {
		t.Fatalf("build after a stopped one: %v", err)
	}
}

// TestHeaderIVF: a stored header describes the IVF it was encoded from.
func TestHeaderIVF(t *testing.T) {
	ids, rows := ivfRows(400, 4, 4)
	s := ivfSegment(4, ids, rows)
	st, err := s.BuildIVF(ctx, nil, BuildConfig{TargetRecall: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := s.EncodeIVF(st)
	d := HeaderIVF(&h)
	if d.NList != st.NList || d.NProbe != st.NProbe || d.Recall != st.Recall || d.Trained != st.Trained ||
		d.Imbalance != st.Imbalance || !d.BuiltAt.Equal(st.BuiltAt) || d.BuildTime != st.BuildTime || d.Lists != nil {
		t.Errorf("HeaderIVF %+v, built %+v", d, st)
	}
}
