package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/vectordb-go/vectordb"
)

// Response memory, bounded across requests (Config.MaxResponseBytes).
//
// A query, fetch, fetch by metadata or list holds its result in memory
// while it writes its response: at dimension 20,000 a topK 1000 query with
// values holds 80 MB of float32s. Each reserves, from one server-wide
// budget, an upper bound of its result's size computed from the request
// alone, before the database materializes the result; once the result is
// known it keeps only what the result takes, and it gives that back record
// by record as the response streams out (each record's values are dropped
// once written). A request that cannot get its bound waits, at most
// Config.ResponseWait and never past its own context, then gets 429 with
// Retry-After; one whose bound exceeds the whole budget gets 400 at once.
//
// Sizes are counted as the database counts a record's size: its id, 4
// bytes per dense value, 8 per sparse entry and its metadata's JSON size,
// plus recordOverhead for the structures around it. The bound takes the
// largest id (vectordb.MaxIDBytes), the index's dimension, the largest
// sparse vector (dotproduct indexes) and the largest metadata
// (vectordb.MaxMetadataBytes) for each record the request may return.
// Decoded metadata takes a few times its JSON size in memory, so responses
// heavy in metadata hold somewhat more than they count; values, which
// make the large responses, are counted as they are held.

// Defaults of the Config fields for response memory.
const (
	// 256 MiB holds the largest response the wire limits allow (topK 1000
	// with values and metadata at dimension 20,000 on a dotproduct index:
	// a bound of 138 MB) with room to spare, or about three topK-1000
	// queries with values at that dimension at once, and hundreds of
	// ordinary ones; it is a quarter of the database's memory budget on a
	// 4 GiB machine.
	defaultMaxResponseBytes = 256 << 20
	// Long enough for a large response ahead to finish writing on a fast
	// network, short enough that a client is not left hanging.
	defaultResponseWait = 2 * time.Second
)

const (
	// recordOverhead is what one record of a result takes besides its id,
	// values and metadata: the Match or Record, its map entry in a fetch,
	// slice headers.
	recordOverhead = 128
	// maxSparseBytes is the most a record's sparse values take.
	maxSparseBytes = 8 * vectordb.MaxSparseValues
)

// respBusy answers a request whose reservation did not come in time.
var respBusy = errorf(http.StatusTooManyRequests, 8, "RESOURCE_EXHAUSTED",
	"the server's memory for responses is in use by others; retry later")

// byteSemaphore is a weighted semaphore counting bytes. Reservations are
// granted in arrival order, so a large one is not starved by a stream of
// small ones; but one of at most small bytes passes waiting ones when it
// fits in what is free, so that ordinary requests do not queue behind a
// large one.
type byteSemaphore struct {
	size  int64
	small int64

	mu    sync.Mutex
	used  int64
	queue []*semWaiter // in arrival order
}

type semWaiter struct {
	n     int64
	ready chan struct{} // closed when granted
}

func newByteSemaphore(size int64) *byteSemaphore {
	return &byteSemaphore{size: size, small: size / 64}
}

// acquire takes n bytes (at most the size), waiting until they are free
// or ctx is done. It returns ctx's error if it gave up.
func (s *byteSemaphore) acquire(ctx context.Context, n int64) error {
	if n > s.size {
		return fmt.Errorf("server: reservation of %d bytes, larger than the budget of %d", n, s.size)
	}
	s.mu.Lock()
	if s.used+n <= s.size && (len(s.queue) == 0 || n <= s.small) {
		s.used += n
		s.mu.Unlock()
		return nil
	}
	w := &semWaiter{n: n, ready: make(chan struct{})}
	s.queue = append(s.queue, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: keep it
		return nil
	default:
	}
	if i := slices.Index(s.queue, w); i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
	}
	s.grantLocked() // w may have held up those behind it
	return ctx.Err()
}

// release gives back n bytes.
func (s *byteSemaphore) release(n int64) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used -= n
	if s.used < 0 {
		panic("server: response budget released more than was reserved")
	}
	s.grantLocked()
}

// grantLocked grants the waiters that fit, in order; past the first that
// does not, only small ones.
func (s *byteSemaphore) grantLocked() {
	blocked := false
	kept := s.queue[:0]
	for _, w := range s.queue {
		if (!blocked || w.n <= s.small) && s.used+w.n <= s.size {
			s.used += w.n
			close(w.ready)
			continue
		}
		blocked = true
		kept = append(kept, w)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
}

// inUse returns the bytes reserved and the number of waiters.
func (s *byteSemaphore) inUse() (int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, len(s.queue)
}

// reservation is the part of the budget one request holds. Its methods do
// nothing on a nil reservation or without a budget.
type reservation struct {
	sem *byteSemaphore
	n   int64
}

// shrink gives back what the request holds beyond to bytes.
func (r *reservation) shrink(to int64) {
	if r == nil || r.sem == nil || to >= r.n {
		return
	}
	to = max(to, 0)
	r.sem.release(r.n - to)
	r.n = to
}

// giveBack gives back n bytes of what the request holds.
func (r *reservation) giveBack(n int64) {
	if r != nil {
		r.shrink(r.n - n)
	}
}

// release gives back all the request holds.
func (r *reservation) release() { r.shrink(0) }

// reserve takes n bytes of the response budget for the request, waiting
// at most Config.ResponseWait. what describes the request, for the error
// answering one larger than the whole budget.
func (h *Handler) reserve(w http.ResponseWriter, r *http.Request, n int64, what func() string) (*reservation, error) {
	s := h.responses
	if s == nil || n <= 0 {
		return &reservation{}, nil
	}
	if n > s.size {
		return nil, badRequest("%s may need %s of memory for its response, more than this server's budget of %s for responses in flight",
			what(), sizeString(n), sizeString(s.size))
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.responseWait)
	defer cancel()
	if err := s.acquire(ctx, n); err != nil {
		if err := r.Context().Err(); err != nil {
			return nil, err // the client is gone or out of time
		}
		w.Header().Set("Retry-After", "1")
		return nil, respBusy
	}
	return &reservation{sem: s, n: n}, nil
}

// sizeString writes a byte count for people: "256 MiB" or "8.2 MiB".
func sizeString(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// recordBound is the most one record of a response may take, given a
// bound on its id: values and sparse values when included (sparse ones
// exist on dotproduct indexes only), metadata when included.
func recordBound(c *call, idBytes int, values, metadata bool) int64 {
	n := int64(recordOverhead + idBytes)
	if values {
		n += 4 * int64(c.ix.Dimension())
		if c.ix.Metric() == vectordb.DotProduct {
			n += maxSparseBytes
		}
	}
	if metadata {
		n += vectordb.MaxMetadataBytes
	}
	return n
}

// recordSize is what one record of a result takes, in recordBound's
// terms.
func recordSize(id string, values []float32, sp *vectordb.SparseValues, md vectordb.Metadata) int64 {
	n := int64(recordOverhead+len(id)) + 4*int64(len(values)) + metadataSize(md)
	if sp != nil {
		n += 4*int64(len(sp.Indices)) + 4*int64(len(sp.Values))
	}
	return n
}

// metadataSize estimates metadata's JSON size, from above but never more
// than the database allows.
func metadataSize(md vectordb.Metadata) int64 {
	if len(md) == 0 {
		return 0
	}
	n := 2
	for k, v := range md {
		n += len(k) + 4 // quotes, colon, comma
		switch v := v.(type) {
		case string:
			n += len(v) + 2
		case []string:
			n += 2
			for _, e := range v {
				n += len(e) + 3
			}
		default: // a number or a boolean
			n += 24
		}
	}
	return int64(min(n, vectordb.MaxMetadataBytes))
}
