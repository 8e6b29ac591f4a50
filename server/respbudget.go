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

// Memory held by requests in flight, bounded across requests by two
// server-wide budgets: one for responses (Config.MaxResponseBytes), one
// for request bodies (Config.MaxRequestBytes).
//
// Responses. A query, fetch, fetch by metadata or list holds its result
// in memory while it writes its response: at dimension 20,000 a topK 1000
// query with values holds 80 MB of float32s, and 1,000 records of 40 KB
// of metadata made of tiny keys hold 340 MB once decoded. Each reserves an
// upper bound of its result's size computed from the request alone,
// before the database materializes the result; once the result is known
// it keeps only what the result takes, and it gives that back record by
// record as the response streams out (each record's values are dropped
// once written). A request that cannot get its reservation waits, at most
// Config.ResponseWait and never past its own context, then gets 429 with
// Retry-After.
//
// Sizes are counted as the decoded Go values hold them in memory (see
// recordSize): the id's bytes, 4 bytes per dense value, the sparse
// vector's slices, and metadata's map, keys, boxed values, string headers
// and bytes, each rounded up as the allocator rounds it; plus
// recordOverhead for the structures around the record. Metadata takes
// from its JSON size (tens of kilobytes of text) to about 12 times it
// (thousands of tiny keys): the bound counts maxDecodedMetadata for each
// record that may come back with metadata.
//
// That bound, topK times maxDecodedMetadata, exceeds the whole budget for
// a topK 1000 query with metadata (530 MB), which on an ordinary namespace
// takes a megabyte. So a request reserves its whole bound only up to
// half the budget (or what its ids and values alone take, if more: those
// are known from the request, and a request whose ids and values alone may
// take more than the whole budget gets 400 at once). A request whose
// bound is larger is under-reserved: it must also hold the single
// overdraft slot while the database materializes its result, so that at
// most one request at a time holds more than it reserved; once its result
// is known it tops its reservation up to what the result takes (waiting
// as above, then 429), or gets 400 if that is more than the whole budget,
// and frees the slot. The memory the results of all requests hold is
// thus at most the budget plus what one under-reserved result takes
// beyond its reservation: at most 1000 × maxDecodedMetadata (plus values)
// less half the budget, in the worst case the wire limits allow
// (BenchmarkConcurrentMetadataQueries measures the case).
//
// Request bodies: see bodyUpfrontFactor.

// Defaults of the Config fields for request and response memory.
const (
	// 256 MiB holds the largest response the wire limits allow without
	// metadata (topK 1000 with values at dimension 20,000 on a dotproduct
	// index: 99 MB) with room to spare, or about three topK-1000 queries
	// with values at that dimension at once, and hundreds of ordinary ones;
	// it is a quarter of the database's memory budget on a 4 GiB machine.
	defaultMaxResponseBytes = 256 << 20
	// 256 MiB holds twelve 2 MB upserts at once (their upfront shares),
	// more than a 2-core server decodes at once, and thousands of ordinary
	// requests.
	defaultMaxRequestBytes = 256 << 20
	// Long enough for a large response ahead to finish writing on a fast
	// network, short enough that a client is not left hanging.
	defaultResponseWait = 2 * time.Second
)

const (
	// recordOverhead is what one record of a result takes besides its id,
	// values and metadata: the Match or Record (64 and 56 bytes), its
	// entry in a fetch's map[string]Record (a 72-byte slot, in tables at
	// most 7/8 and at least 7/16 full: up to 165 bytes), the copies the
	// handler makes of the key and record to sort them.
	recordOverhead = 256
	// maxDecodedMetadata is the most one record's metadata (at most
	// vectordb.MaxMetadataBytes of JSON) takes once decoded, as
	// metadataBytes counts it. The worst shape is thousands of tiny keys
	// each holding a small list or number: a map entry of up to 85 bytes
	// (32-byte slots in 1024-slot tables at least 7/16 full, rounded up to
	// whole pages) and a boxed value for 6 to 9 bytes of JSON. Measured
	// with runtime.ReadMemStats around storage.DecodeMetadata (Go 1.26):
	// 3,847 keys each holding [""] take 12.0 times their 40,950 bytes of
	// JSON (metadataBytes counts 12.5); 5,290 keys holding 0, 8.3 (10.1);
	// 4,232 holding "x", 9.9 (11.3); a list of 13,600 empty strings, 5.4
	// (5.4); four 10 KB strings, 1.0 (1.1); {"genre":"drama","year":2020},
	// 12.4 times its 29 bytes (358 bytes: a map's first group); see
	// TestMetadataBytesMeasured. 13 times 40,960 bytes covers them all.
	maxDecodedMetadata = 13 * vectordb.MaxMetadataBytes
	// maxSparseBytes is the most a record's sparse values take: the
	// SparseValues and its two slices.
	maxSparseBytes = 48 + 2*4*vectordb.MaxSparseValues
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

// tryAcquire takes n bytes if they are free now and nobody waits before
// it (unless n is small), and reports whether it did.
func (s *byteSemaphore) tryAcquire(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used+n <= s.size && (len(s.queue) == 0 || n <= s.small) {
		s.used += n
		return true
	}
	return false
}

// inUse returns the bytes reserved and the number of waiters.
func (s *byteSemaphore) inUse() (int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, len(s.queue)
}

// reservation is the part of a budget one request holds. Its methods do
// nothing on a nil reservation or without a budget.
type reservation struct {
	sem *byteSemaphore
	n   int64
	// overdraft, if not nil, is the overdraft slot the request holds
	// while it may hold more than n.
	overdraft *byteSemaphore
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

// release gives back all the request holds, and the overdraft slot.
func (r *reservation) release() {
	if r == nil {
		return
	}
	r.shrink(0)
	r.leaveOverdraft()
}

func (r *reservation) leaveOverdraft() {
	if r != nil && r.overdraft != nil {
		r.overdraft.release(1)
		r.overdraft = nil
	}
}

// busy answers a request that waited for its share of sem in vain: 429,
// or the request's own context's error if it is done.
func busy(w http.ResponseWriter, r *http.Request, err error) error {
	if err := r.Context().Err(); err != nil {
		return err // the client is gone or out of time
	}
	w.Header().Set("Retry-After", "1")
	return err
}

// reserve takes the response budget for a request whose result takes at
// most bound bytes, of which at most sure in ids and values (the rest is
// metadata), waiting at most Config.ResponseWait; see the comment at the
// top of this file. what describes the request, for the error answering
// one whose ids and values may take more than the whole budget.
func (h *Handler) reserve(w http.ResponseWriter, r *http.Request, sure, bound int64, what func() string) (*reservation, error) {
	s := h.responses
	if s == nil || bound <= 0 {
		return &reservation{}, nil
	}
	if sure > s.size {
		return nil, badRequest("%s may need %s of memory for its response, more than this server's budget of %s for responses in flight",
			what(), sizeString(sure), sizeString(s.size))
	}
	n := min(bound, max(sure, s.size/2))
	ctx, cancel := context.WithTimeout(r.Context(), h.responseWait)
	defer cancel()
	rsv := &reservation{sem: s}
	if n < bound { // under-reserved: one at a time
		if err := h.overdraft.acquire(ctx, 1); err != nil {
			return nil, busy(w, r, respBusy)
		}
		rsv.overdraft = h.overdraft
	}
	if err := s.acquire(ctx, n); err != nil {
		rsv.leaveOverdraft()
		return nil, busy(w, r, respBusy)
	}
	rsv.n = n
	return rsv, nil
}

// settle makes rsv, once the result is known, exactly what the result
// takes (size bytes): it gives back the rest, or tops the reservation up,
// waiting at most Config.ResponseWait, then frees the overdraft slot.
// Topping up fails with 400 if size is more than the whole budget, with
// 429 if it does not come in time; either way rsv is then released.
func (h *Handler) settle(w http.ResponseWriter, r *http.Request, rsv *reservation, size int64, what func() string) error {
	defer rsv.leaveOverdraft()
	if rsv.sem == nil || size <= rsv.n {
		rsv.shrink(size)
		return nil
	}
	if size > rsv.sem.size {
		rsv.release()
		return badRequest("the result of %s takes %s of memory, more than this server's budget of %s for responses in flight; ask for fewer records",
			what(), sizeString(size), sizeString(rsv.sem.size))
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.responseWait)
	defer cancel()
	if err := rsv.sem.acquire(ctx, size-rsv.n); err != nil {
		rsv.release()
		return busy(w, r, respBusy)
	}
	rsv.n = size
	return nil
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
// exist on dotproduct indexes only), metadata when included. sure is that
// without the metadata.
func recordBound(c *call, idBytes int, values, metadata bool) (sure, all int64) {
	sure = recordOverhead + heapBytes(idBytes)
	if values {
		sure += heapBytes(4 * c.ix.Dimension())
		if c.ix.Metric() == vectordb.DotProduct {
			sure += maxSparseBytes
		}
	}
	if metadata {
		return sure, sure + maxDecodedMetadata
	}
	return sure, sure
}

// recordSize is what one record of a result takes in memory.
func recordSize(id string, values []float32, sp *vectordb.SparseValues, md vectordb.Metadata) int64 {
	n := recordOverhead + heapBytes(len(id)) + heapBytes(4*len(values)) + metadataBytes(md)
	if sp != nil {
		n += 48 + heapBytes(4*len(sp.Indices)) + heapBytes(4*len(sp.Values))
	}
	return n
}

// metadataBytes estimates, from above, what metadata decoded by the
// database (storage.DecodeMetadata: a map made for its number of keys,
// each key and string its own allocation, numbers boxed, lists as
// []string) takes in memory. TestMetadataBytesMeasured holds it to
// at most 40% above what runtime.ReadMemStats measures.
func metadataBytes(md vectordb.Metadata) int64 {
	if md == nil {
		return 0
	}
	n := mapBytes(len(md), 32) // a slot: a string and an interface
	for k, v := range md {
		n += heapBytes(len(k))
		switch v := v.(type) {
		case string:
			if v != "" { // an empty one is not boxed
				n += 16 + heapBytes(len(v))
			}
		case bool: // not boxed
		case []string:
			n += 24 + heapBytes(16*len(v))
			for _, e := range v {
				n += heapBytes(len(e))
			}
		default: // a float64, boxed
			n += 8
		}
	}
	return n
}

// heapBytes is what the Go allocator takes for an object of n bytes:
// small pointer-free objects are packed in 16-byte blocks (the tiny
// allocator, which aligns each to its size), others rounded up to their size class (in steps of 16 up to
// 256 bytes, by at most an eighth beyond) up to 32 KiB, and to whole 8 KiB
// pages past that.
func heapBytes(n int) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 8: // or less, packed with others: but a key of 3 bytes and a float64 take a block
		return 8
	case n <= 256:
		return int64((n + 15) &^ 15)
	case n <= 32<<10:
		return int64((n + n/8 + 15) &^ 15)
	}
	return int64((n + 8191) &^ 8191)
}

// mapBytes is what a map of n entries with slots of slot bytes takes
// when made for n entries, as Go (1.24 and later) lays it out: a 48-byte
// header and, for up to 8 entries, one group of 8 slots and their control
// word; past that, a directory of tables of at most 1024 slots, sized for
// n at 7/8 full and rounded up to powers of two.
func mapBytes(n, slot int) int64 {
	const header, table = 48, 32
	group := 8 + 8*slot
	if n <= 8 {
		return header + heapBytes(group)
	}
	target := n * 8 / 7
	tables := 1
	for tables*1024 < target {
		tables *= 2
	}
	slots := 8
	for slots < target/tables {
		slots *= 2
	}
	return header + heapBytes(8*tables) + int64(tables)*(table+heapBytes(slots/8*group))
}

// Request bodies. A body is read whole, checked (jsoncheck) and decoded
// before its handler runs, and its decoded form lives through the database
// call, which builds more from it (a normalized copy of metadata, a
// compiled filter): a 4 MB body of tiny keys decodes to a hundred
// megabytes. Each body holds a share of Config.MaxRequestBytes, a budget
// of its own (a query holds its body's share while it reserves its
// response's: with one budget for both, requests holding bodies could
// wait on each other):
//
//   - before reading, bodyUpfront of its declared length (the route's
//     limit if none is declared): what reading it and decoding an ordinary
//     body of that length take;
//   - once it is read, and before anything is decoded, what this body
//     takes: its bytes and its decoded form, bounded from its tokens
//     (bodyShape.decodedBytes). The share shrinks to that, or grows for a
//     body whose shape decodes to more than bodyUpfront allowed for (many
//     tiny objects or keys, or very short numbers); a body that would take
//     more than the whole budget gets 413. A request that must grow its
//     share waits for it while it holds the upfront share: if that is
//     more than a 64th of the budget (a body of more than about 400 KB),
//     only one may at a time (it holds the body overdraft slot), the
//     others get 429 at once.
//
// Waiting is at most Config.ResponseWait, then 429 with Retry-After. The
// share is given back when the handler returns, or, for queries and
// fetches by metadata, once the database call has returned. A route whose
// valid bodies hold a bounded number of JSON values (a query: a vector, a
// sparse vector, a filter) refuses a body of more values from its tokens,
// before anything is decoded.

// bodyUpfrontFactor is how many times its bytes an ordinary body takes
// read and decoded, as decodedBytes counts it: for a body made mostly of
// numbers (an upsert's values), its bytes twice and bodyNumberBytes for
// each number, 7.8 times for numbers of 10 bytes (0.12345679, as Go
// prints a float32), 5.4 for numbers of 18 (as JavaScript prints a
// float32 widened to a float64), plus 1.4 KB for each record (an object,
// its members, its id, its array): 8.5 times for an upsert of 1,000
// records in 2 MB, 9.5 for records of 64 numbers of 10 bytes. A body of
// shorter numbers or smaller records, or of many small objects or keys,
// grows its share once read. The factor bounds the buffer too, which
// grows as data arrive, by doubling, to the declared length.
const bodyUpfrontFactor = 10

// bodyUpfront is what a body of n bytes holds before it is read.
func bodyUpfront(n int64) int64 { return bodyBaseBytes + bodyUpfrontFactor*n }

// What one JSON token of a body takes decoded, at most, with what the
// database call builds from it, besides the bytes of strings and numbers
// (counted once more: decoded strings copy them). Decoding grows slices
// by a quarter at a time, so that while one grows the old and the new
// array are both live, and maps by doubling. TestBodyBytesMeasured holds
// these to what a request's heap peaks at.
const (
	// What any request takes besides: its contexts, the response writer's
	// buffers, the decoder's state, the database call's fixed costs.
	bodyBaseBytes = 64 << 10
	// An object member: a map entry (tables at least 7/16 full, 1024-slot
	// ones rounded up to whole pages: up to 85 bytes), its key's string,
	// the check's record of the key (jsoncheck keeps a map of the keys of
	// objects of more than 16), the entry of the database's normalized
	// copy of metadata, and its encoding.
	bodyKeyBytes = 224
	// An object: a record (64 bytes) in a growing slice, or a map's header
	// boxed in a growing []any.
	bodyObjectBytes = 256
	// An object with members, besides: a map's first group of 8 slots
	// (288 bytes), and the database's copy.
	bodyFilledBytes = 512
	// An array: its slice header, boxed in a growing []any.
	bodyArrayBytes = 96
	// A string: its header, boxed in a growing []any, and in the []string
	// the database makes of a list.
	bodyStringBytes = 96
	// A number: a float32 in a growing []float32, or a float64 boxed in a
	// growing []any, or a json.Number in a filter.
	bodyNumberBytes = 64
	// true, false or null: in a growing []any.
	bodyLiteralBytes = 48
)

// bodyShape counts the tokens of a JSON text.
type bodyShape struct {
	values   int // as jsoncheck.Limits.MaxValues counts them, for a well-formed text
	objects  int // of which filled have members
	filled   int
	arrays   int
	keys     int
	strings  int // keys included
	numbers  int
	literals int
	bytes    int // of strings and numbers
}

// scanShape counts body's tokens, in one pass allocating nothing. It does
// not check the text (jsoncheck does): on one that is not well formed the
// counts are those of its tokens up to the first error at least.
func scanShape(body []byte) bodyShape {
	var s bodyShape
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '"':
			j := i + 1
			for j < len(body) && body[j] != '"' {
				if body[j] == '\\' {
					j++
				}
				j++
			}
			s.strings++
			s.bytes += j - i - 1
			i = j
		case c == '{':
			s.objects++
			j := i + 1
			for j < len(body) && (body[j] == ' ' || body[j] == '\t' || body[j] == '\n' || body[j] == '\r') {
				j++
			}
			if j < len(body) && body[j] != '}' {
				s.filled++
			}
		case c == '[':
			s.arrays++
		case c == ':':
			s.keys++
		case c == '-' || c >= '0' && c <= '9', c >= 'a' && c <= 'z':
			j := i + 1
			for j < len(body) && (body[j] == '.' || body[j] == '+' || body[j] == '-' ||
				body[j] >= '0' && body[j] <= '9' || body[j] >= 'a' && body[j] <= 'z' || body[j] >= 'A' && body[j] <= 'Z') {
				j++
			}
			if c >= 'a' && c <= 'z' {
				s.literals++
			} else {
				s.numbers++
				s.bytes += j - i
			}
			i = j - 1
		}
	}
	s.values = s.objects + s.arrays + s.strings + s.numbers + s.literals - s.keys
	return s
}

// decodedBytes bounds what a body of n bytes of this shape takes while it
// is checked, decoded and used: its bytes, and its decoded form with what
// the database builds from it.
func (s bodyShape) decodedBytes(n int) int64 {
	return bodyBaseBytes + int64(n) + int64(s.bytes) + int64(s.keys)*bodyKeyBytes + int64(s.objects)*bodyObjectBytes +
		int64(s.filled)*bodyFilledBytes + int64(s.arrays)*bodyArrayBytes + int64(s.strings-s.keys)*bodyStringBytes +
		int64(s.numbers)*bodyNumberBytes + int64(s.literals)*bodyLiteralBytes
}

// bodyRule bounds one route's bodies: a valid one holds at most values
// JSON values (0: no bound but its size).
type bodyRule struct {
	values int
	valid  string // what a valid body holds, for the error
}

// bodyBusy answers a request whose body's share did not come in time.
var bodyBusy = errorf(http.StatusTooManyRequests, 8, "RESOURCE_EXHAUSTED",
	"the server's memory for request bodies is in use by others; retry later")

// bodyGuard is one request body's share of the request budget.
type bodyGuard struct {
	h    *Handler
	rule bodyRule
	rsv  reservation
}

// reserve makes the body's share n bytes: it shrinks it, or grows it,
// waiting at most Config.ResponseWait. The first share is at most the
// whole budget; a later one larger than the budget fails with 413. A
// request growing its share holds some already, and requests waiting
// while they hold shares could each wait for what the others hold: one
// that holds more than a 64th of the budget must take the body overdraft
// slot at once, or get 429, so that at most one of them waits at a time
// (the small ones could block each other only by the thousands).
func (g *bodyGuard) reserve(w http.ResponseWriter, r *http.Request, n int64) error {
	s := g.h.requests
	if s == nil {
		return nil
	}
	if g.rsv.sem == nil {
		g.rsv.sem = s
		n = min(n, s.size)
	}
	if n <= g.rsv.n {
		g.rsv.shrink(n)
		return nil
	}
	if n > s.size {
		g.rsv.release()
		return errorf(http.StatusRequestEntityTooLarge, 3, "INVALID_ARGUMENT",
			"the request body would take %s of memory decoded, more than this server's budget of %s for request bodies in flight",
			sizeString(n), sizeString(s.size))
	}
	if g.rsv.n > s.small {
		if !g.h.bodyOverdraft.tryAcquire(1) {
			g.rsv.release()
			return busy(w, r, bodyBusy)
		}
		defer g.h.bodyOverdraft.release(1)
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.h.responseWait)
	defer cancel()
	if err := s.acquire(ctx, n-g.rsv.n); err != nil {
		g.rsv.release()
		return busy(w, r, bodyBusy)
	}
	g.rsv.n = n
	return nil
}

// release gives the body's share back.
func (g *bodyGuard) release() {
	if g != nil {
		g.rsv.release()
	}
}
