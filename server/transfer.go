package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/format"
)

// A namespace's export and import over HTTP, which Pinecone's protocol
// does not have: they let a service that runs the server hand a tenant
// its data, or move a tenant, without stopping the server (the vectordb
// command's export and import need the directory to themselves).
//
//	GET  /ix/{index}/namespaces/{ns}/export?format=F
//	POST /ix/{index}/namespaces/{ns}/import?format=F&replace=true
//
// F is native (the default: vectordb's compressed, checksummed format),
// jsonl, jsonl.gz or jsonl.zst. A scoped key reaches only its namespaces,
// as on every route.
//
// Slots. At most Config.MaxTransfers run at once. A tenant is a scoped
// key (one with Key.Index set: it is handed out, and cannot be the
// operator's): it runs at most Config.MaxTransfersPerTenant at once, and
// all scoped keys together at most MaxTransfers-1, so that one slot is
// always left to unscoped keys (the operator's export or import of any
// namespace) however many tenants transfer, and no key alone fills the
// server. An unscoped key counts only against MaxTransfers. A transfer
// past a limit gets 429, Retry-After and a message naming the limit; the
// slots are counted under a mutex, so there is no spurious 429.
//
// Pace. A transfer may take as long as it needs, but may neither stall
// nor trickle. Each write of an export and each read of an import's body
// gets Config.TransferIdleTimeout. And the client must keep to
// Config.TransferMinRate bytes a second of the time spent waiting on it,
// on average, falling no more than Config.TransferRateWindow behind: a
// transfer starts with a credit of TransferMinRate × TransferRateWindow
// bytes (its grace), each second spent waiting on the client costs
// TransferMinRate of it, each byte moved earns one back, up to the
// starting credit (so a burst never buys a long trickle after it), and a
// transfer whose credit runs out is cut off. Only the time spent in a
// read from or a write to the client counts, so the server's own pauses
// (storage reads, an import's commits) never count against it. A rule,
// not a deadline: a big namespace over a slow link may take hours, while a
// client that holds its slot with a blank line now and then is cut off
// after about one window (an export also holds a storage snapshot, which
// delays reclaiming dropped data, for as long as it runs). A cut import
// changes nothing (it is atomic) and answers 408 if the client still
// listens; a cut export aborts its response. Middleware around the
// Handler must unwrap its ResponseWriter (http.ResponseController) for
// these deadlines to reach the connection.

// Defaults of the Config fields for transfers. One transfer per tenant:
// a transfer is a bulk stream that gains little from a second one beside
// it (a tenant moves its namespaces in turn), and with the default four
// slots three tenants transfer at once while the fourth is kept for
// unscoped keys. 1 KiB a second over a minute: far below any real link
// (a client that produces records slowly should upsert them), far above
// a blank line every few seconds.
const (
	defaultMaxTransfers          = 4
	defaultMaxTransfersPerTenant = 1
	defaultTransferIdleTimeout   = time.Minute
	defaultTransferMinRate       = 1 << 10 // bytes a second
	defaultTransferRateWindow    = time.Minute
)

// contentTypes of the export formats.
var contentTypes = map[string]string{
	"native":    "application/octet-stream",
	"jsonl":     "application/x-ndjson",
	"jsonl.gz":  "application/gzip",
	"jsonl.zst": "application/zstd",
}

var errTooManyTransfers = errorf(http.StatusTooManyRequests, 8, "RESOURCE_EXHAUSTED", "too many exports and imports running; retry later")

// transfers holds the limits of transfers and the slots taken.
type transfers struct {
	max, perTenant int
	idle, window   time.Duration
	minRate        int // bytes a second; 0: none

	mu      sync.Mutex
	running int          // transfers running
	tenants int          // those of scoped keys
	byKey   map[*Key]int // those of each scoped key, which has an entry only while it runs one
}

// init sets the limits from cfg, with the defaults.
func (t *transfers) init(cfg Config) {
	t.max, t.perTenant, t.idle = cfg.MaxTransfers, cfg.MaxTransfersPerTenant, cfg.TransferIdleTimeout
	t.minRate, t.window = cfg.TransferMinRate, cfg.TransferRateWindow
	if t.max <= 0 {
		t.max = defaultMaxTransfers
	}
	if t.perTenant <= 0 {
		t.perTenant = defaultMaxTransfersPerTenant
	}
	if t.idle <= 0 {
		t.idle = defaultTransferIdleTimeout
	}
	switch {
	case t.minRate == 0:
		t.minRate = defaultTransferMinRate
	case t.minRate < 0:
		t.minRate = 0
	}
	if t.window <= 0 {
		t.window = defaultTransferRateWindow
	}
	t.byKey = map[*Key]int{}
}

// take takes a slot for a transfer by key k, or fails with a 429 naming
// the limit hit; release gives the slot back (once, however often it is
// called).
func (t *transfers) take(k *Key) (release func(), err error) {
	tenant := k.Index != ""
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case tenant && t.byKey[k] >= t.perTenant:
		return nil, errorf(http.StatusTooManyRequests, 8, "RESOURCE_EXHAUSTED",
			"per-key limit: this API key already runs %d export(s) or import(s), as many as one key may at once; retry when one ends", t.byKey[k])
	case tenant && t.tenants >= t.max-1:
		return nil, errorf(http.StatusTooManyRequests, 8, "RESOURCE_EXHAUSTED",
			"tenants' limit: scoped keys already run as many exports and imports as they may share (of the server's %d, one is kept for unscoped keys); retry later", t.max)
	case t.running >= t.max:
		return nil, errTooManyTransfers
	}
	t.running++
	if tenant {
		t.tenants++
		t.byKey[k]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.running--
			if tenant {
				t.tenants--
				if t.byKey[k]--; t.byKey[k] == 0 {
					delete(t.byKey, k)
				}
			}
		})
	}, nil
}

// transfer takes a transfer slot for the request's key, or fails with
// 429 and Retry-After.
func (h *Handler) transfer(w http.ResponseWriter, k *Key) (release func(), err error) {
	release, err = h.transfers.take(k)
	if err != nil {
		w.Header().Set("Retry-After", "1")
	}
	return release, err
}

// pace holds one transfer to the idle timeout and the minimum rate: each
// call to the client (a read of the body, a write of the response) gets a
// deadline from begin and reports to end. The rate is a leaky bucket of
// credit, in bytes: full (rate × window) at the start, spent at rate
// bytes a second while a call waits on the client, earned back by each
// byte moved, never above full; the transfer is cut off when it runs
// out. Only the time spent in calls counts, so the rate is the
// client's, not the server's; and a burst earns at most a window's
// slack, never the right to trickle for long after.
type pace struct {
	idle   time.Duration
	window time.Duration
	rate   float64 // bytes a second; 0: no minimum rate
	full   float64 // rate × window

	mu     sync.Mutex
	credit float64
	slow   bool // cut off by the minimum rate
}

func (t *transfers) pace() *pace {
	p := &pace{idle: t.idle, window: t.window, rate: float64(t.minRate)}
	p.full = p.rate * t.window.Seconds()
	p.credit = p.full
	return p
}

// begin returns the deadline of a call starting at now: the idle timeout,
// or sooner the moment the credit would run out. It fails if the
// transfer fell below the minimum rate.
func (p *pace) begin(now time.Time) (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slow {
		return time.Time{}, p.errSlow()
	}
	d := p.idle
	if p.rate > 0 {
		// A millisecond more, so that a call cut by this deadline has
		// spent the credit whatever the rounding.
		d = min(d, time.Duration(p.credit/p.rate*float64(time.Second))+time.Millisecond)
	}
	return now.Add(d), nil
}

// end counts a call begun at start that moved n bytes and returned err,
// and returns err, or the minimum rate's error if the call ran the credit
// out (its deadline fired, or, where deadlines are not supported, it
// returned too late). The end of the input is never too late.
func (p *pace) end(start time.Time, n int, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate == 0 || err == io.EOF {
		return err
	}
	p.credit = min(p.full, p.credit-p.rate*time.Since(start).Seconds()+float64(n))
	if p.credit <= 0 {
		p.slow = true
	}
	if p.slow {
		return p.errSlow()
	}
	return err
}

// cut reports whether the minimum rate cut the transfer off.
func (p *pace) cut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.slow
}

func (p *pace) errSlow() *apiError {
	return errorf(http.StatusRequestTimeout, 4, "DEADLINE_EXCEEDED",
		"transfer too slow: the client fell more than %v behind the minimum rate of %.0f bytes a second; cut off", p.window, p.rate)
}

// transferFormat reads the format parameter.
func transferFormat(r *http.Request) (format.Format, error) {
	ff, err := format.Parse(r.URL.Query().Get("format"))
	if err != nil {
		return ff, badRequest("%v", err)
	}
	return ff, nil
}

// exportNamespace streams the namespace's export. An error found before
// the first byte (an unknown namespace, an id JSON cannot hold at the
// start) gets an error answer; one found later aborts the response, so the
// client sees a cut transfer, never a complete-looking one. Middleware
// around the Handler must let the http.ErrAbortHandler panic through.
func (h *Handler) exportNamespace(w http.ResponseWriter, r *http.Request, c *call) error {
	if r.Method == http.MethodHead {
		w.Header().Set("Allow", "GET")
		return errorf(http.StatusMethodNotAllowed, 12, "METHOD_NOT_ALLOWED", "HEAD of an export: GET it")
	}
	ns, err := c.namespace(r.PathValue("ns"))
	if err != nil {
		return err
	}
	ff, err := transferFormat(r)
	if err != nil {
		return err
	}
	if ff.JSONL && ff.Compression == "" && !r.ProtoAtLeast(1, 1) {
		// Over HTTP/1.0 a response ends with its connection, so a cut
		// export would look whole, and nothing in plain lines shows it.
		return badRequest("format=jsonl needs HTTP/1.1 or later; use jsonl.gz or jsonl.zst, whose cuts show")
	}
	release, err := h.transfer(w, c.key)
	if err != nil {
		return err
	}
	defer release()
	lw := &lazyWriter{w: w, rc: http.NewResponseController(w), pace: h.transfers.pace(), contentType: contentTypes[ff.String()]}
	zw, err := ff.NewWriter(lw)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			// Failed, or panicked: close the compressor, whose goroutines
			// may still be writing, with its output discarded. A trailer
			// would make the cut look whole, and nothing may reach the
			// connection once the handler is gone.
			lw.discard.Store(true)
			zw.Close()
		}
	}()
	if ff.JSONL {
		_, err = ns.ExportJSONL(r.Context(), zw)
	} else {
		_, err = ns.Export(r.Context(), zw)
	}
	if err == nil {
		err = zw.Close()
		if err == nil && !lw.started.Load() {
			lw.start() // an empty namespace as plain JSON Lines: no bytes
		}
	}
	switch {
	case err == nil:
		done = true
		// Bound the flush that follows the handler.
		_ = lw.rc.SetWriteDeadline(time.Now().Add(lw.pace.idle))
		return nil
	case !lw.started.Load():
		if errors.Is(err, errors.ErrUnsupported) {
			return badRequest("%s; format=native holds any record", trim(err))
		}
		return err
	}
	h.log.Warn("export aborted", "path", r.URL.Path, "error", err)
	panic(http.ErrAbortHandler)
}

// lazyWriter answers 200 with its content type at the first write, and
// gives each write its own deadline (its pace's), cleared after it: over
// HTTP/2 a deadline fires even while no write waits, which would cut an
// export whose records are slow to read from storage.
type lazyWriter struct {
	w           http.ResponseWriter
	rc          *http.ResponseController
	pace        *pace
	contentType string
	started     atomic.Bool
	discard     atomic.Bool
}

func (l *lazyWriter) start() {
	l.started.Store(true)
	l.w.Header().Set("Content-Type", l.contentType)
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if l.discard.Load() {
		return len(p), nil
	}
	if !l.started.Load() {
		l.start()
	}
	start := time.Now()
	deadline, err := l.pace.begin(start)
	if err != nil {
		return 0, err
	}
	// Not supported: the server's own deadline stands, and the pace still
	// cuts the transfer off at its next write.
	_ = l.rc.SetWriteDeadline(deadline)
	n, err := l.w.Write(p)
	_ = l.rc.SetWriteDeadline(time.Time{})
	return n, l.pace.end(start, n, err)
}

// rollingReader gives each read of the body its own deadline (its
// pace's), cleared after it (see lazyWriter).
type rollingReader struct {
	r    io.Reader
	rc   *http.ResponseController
	pace *pace
}

func (rr *rollingReader) Read(p []byte) (int, error) {
	start := time.Now()
	deadline, err := rr.pace.begin(start)
	if err != nil {
		return 0, err
	}
	_ = rr.rc.SetReadDeadline(deadline)
	n, err := rr.r.Read(p)
	_ = rr.rc.SetReadDeadline(time.Time{})
	return n, rr.pace.end(start, n, err)
}

// importNamespace creates (or, with replace=true, replaces) the namespace
// from the request body, atomically, and answers its record count.
func (h *Handler) importNamespace(w http.ResponseWriter, r *http.Request, c *call) error {
	ns, err := c.namespace(r.PathValue("ns"))
	if err != nil {
		return err
	}
	ff, err := transferFormat(r)
	if err != nil {
		return err
	}
	// Ids travel in JSON on every other route: an id JSON cannot carry
	// would come back rewritten, looking like another.
	opts := vectordb.ImportOptions{UTF8IDs: true}
	if s := r.URL.Query().Get("replace"); s != "" {
		if opts.Replace, err = strconv.ParseBool(s); err != nil {
			return badRequest("replace %q is not true or false", s)
		}
	}
	release, err := h.transfer(w, c.key)
	if err != nil {
		return err
	}
	defer release()
	rc := http.NewResponseController(w)
	// The answer comes when the import is done, however long that takes;
	// the body's reads keep their own rolling deadline.
	_ = rc.SetWriteDeadline(time.Time{})
	pace := h.transfers.pace()
	body := bufio.NewReader(&rollingReader{r: r.Body, rc: rc, pace: pace})
	if _, err := body.Peek(1); err == io.EOF && opts.Replace {
		// Plain JSON Lines of nothing would be an empty namespace, but an
		// empty body is far more often a failed export piped in.
		return badRequest("empty body: replacing the namespace with nothing is refused; delete it, or send an export")
	}
	zr, err := ff.NewReader(body)
	if err != nil {
		if pace.cut() {
			return errCutImport(pace)
		}
		return badRequest("body is not %s: %v", ff, err)
	}
	defer zr.Close()
	var info vectordb.ImportResult
	if ff.JSONL {
		var src io.Reader = zr
		if opts.Replace {
			src = &notBlank{r: zr}
		}
		info, err = c.ix.ImportNamespaceJSONL(r.Context(), ns.Name(), src, &opts)
	} else {
		info, err = c.ix.ImportNamespace(r.Context(), ns.Name(), zr, &opts)
	}
	if err != nil {
		if pace.cut() {
			return errCutImport(pace)
		}
		if errors.Is(err, errBlankBody) {
			return badRequest("blank body: replacing the namespace with nothing is refused; delete it, or send an export")
		}
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return badRequest("the client went away mid-import; nothing was imported")
		}
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"namespace": ns.Name(), "recordCount": info.Records})
	return nil
}

// errCutImport is the answer to an import the minimum rate cut off.
func errCutImport(p *pace) error {
	e := p.errSlow()
	e.msg += "; nothing was imported"
	return e
}

// errBlankBody is notBlank's: JSON Lines of nothing but white space.
var errBlankBody = errors.New("server: blank JSON Lines body")

// notBlank passes a JSON Lines body through, and fails at its end if it
// held nothing but white space: with replace=true such a body would empty
// the namespace, and it is far more often a failed export piped in (the
// same rule as for an empty body).
type notBlank struct {
	r        io.Reader
	nonSpace bool
}

func (b *notBlank) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	for _, c := range p[:n] {
		if !b.nonSpace && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			b.nonSpace = true
			break
		}
	}
	if err == io.EOF && !b.nonSpace {
		return n, errBlankBody
	}
	return n, err
}
