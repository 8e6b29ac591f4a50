package transfer

import "sync/atomic"

// BatchWriter writes batches in a goroutine of its own, so that an import
// commits one batch while the caller reads and validates the next: the
// import's pace is then the slower of the two, not their sum. It holds one
// batch at a time; Send waits while the previous one is being written.
// After the first failure the writer drops what it is sent, and Failed
// tells the reader to stop.
type BatchWriter[B any] struct {
	pending chan B
	done    chan error // the first error, once pending is closed
	failed  atomic.Bool
}

// StartBatchWriter starts a writer that calls write on each batch sent,
// in order, until the first error.
func StartBatchWriter[B any](write func(B) error) *BatchWriter[B] {
	w := &BatchWriter[B]{pending: make(chan B), done: make(chan error, 1)}
	go func() {
		var err error
		for b := range w.pending {
			if err == nil {
				if err = write(b); err != nil {
					w.failed.Store(true)
				}
			}
		}
		w.done <- err
	}()
	return w
}

// Send queues b for writing.
func (w *BatchWriter[B]) Send(b B) { w.pending <- b }

// Failed reports whether a write has failed: the batches sent from then
// on are dropped, and Close returns the error.
func (w *BatchWriter[B]) Failed() bool { return w.failed.Load() }

// Close waits for the batches sent to be written, or dropped after a
// failure, and returns the first write's error. Nothing may be sent after
// it.
func (w *BatchWriter[B]) Close() error {
	close(w.pending)
	return <-w.done
}
