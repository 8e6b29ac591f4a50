package transfer

import (
	"errors"
	"slices"
	"testing"
)

// TestBatchWriter: batches are written in order; after a failure the
// rest are dropped, Failed says so, and Close returns the error.
func TestBatchWriter(t *testing.T) {
	var got []int
	w := StartBatchWriter(func(b int) error { got = append(got, b); return nil })
	for i := range 5 {
		w.Send(i)
	}
	if err := w.Close(); err != nil || !slices.Equal(got, []int{0, 1, 2, 3, 4}) || w.Failed() {
		t.Fatalf("wrote %v, %v", got, err)
	}

	boom := errors.New("boom")
	got = nil
	w = StartBatchWriter(func(b int) error {
		got = append(got, b)
		if b == 1 {
			return boom
		}
		return nil
	})
	w.Send(0)
	w.Send(1)
	w.Send(2) // taken once 1 is written: the failure is recorded by then
	if !w.Failed() {
		t.Error("Failed is false after a failed write")
	}
	w.Send(3)
	if err := w.Close(); err != boom || !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("wrote %v, %v; want [0 1], boom", got, err)
	}
}
