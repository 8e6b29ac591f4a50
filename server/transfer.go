package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
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
// as on every route. At most Config.MaxTransfers run at once (429 past
// that). A transfer may take as long as it needs, but not stall: each
// write of an export and each read of an import's body gets
// Config.TransferIdleTimeout, so a client that stops reading or sending is
// cut off (an export holds a storage snapshot, which delays reclaiming
// dropped data, for as long as it runs). Middleware around the Handler
// must unwrap its ResponseWriter (http.ResponseController) for these
// deadlines to reach the connection.

// Defaults of the Config fields for transfers.
const (
	defaultMaxTransfers        = 4
	defaultTransferIdleTimeout = time.Minute
)

// contentTypes of the export formats.
var contentTypes = map[string]string{
	"native":    "application/octet-stream",
	"jsonl":     "application/x-ndjson",
	"jsonl.gz":  "application/gzip",
	"jsonl.zst": "application/zstd",
}

var errTooManyTransfers = errorf(http.StatusTooManyRequests, 8, "RESOURCE_EXHAUSTED", "too many exports and imports running; retry later")

// transfer takes a transfer slot, or fails with 429; release returns it.
func (h *Handler) transfer(w http.ResponseWriter) (release func(), err error) {
	if h.transfers.Add(1) > int64(h.maxTransfers) { // a racing request may see a spurious 429
		h.transfers.Add(-1)
		w.Header().Set("Retry-After", "1")
		return nil, errTooManyTransfers
	}
	return func() { h.transfers.Add(-1) }, nil
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
	release, err := h.transfer(w)
	if err != nil {
		return err
	}
	defer release()
	lw := &lazyWriter{w: w, rc: http.NewResponseController(w), idle: h.transferIdle, contentType: contentTypes[ff.String()]}
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
		_ = lw.rc.SetWriteDeadline(time.Now().Add(lw.idle))
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
// gives each write its own deadline, cleared after it: over HTTP/2 a
// deadline fires even while no write waits, which would cut an export
// whose records are slow to read from storage.
type lazyWriter struct {
	w           http.ResponseWriter
	rc          *http.ResponseController
	idle        time.Duration
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
	_ = l.rc.SetWriteDeadline(time.Now().Add(l.idle)) // not supported: the server's own deadline stands
	n, err := l.w.Write(p)
	_ = l.rc.SetWriteDeadline(time.Time{})
	return n, err
}

// rollingReader gives each read of the body its own deadline, cleared
// after it (see lazyWriter).
type rollingReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (rr *rollingReader) Read(p []byte) (int, error) {
	_ = rr.rc.SetReadDeadline(time.Now().Add(rr.idle))
	n, err := rr.r.Read(p)
	_ = rr.rc.SetReadDeadline(time.Time{})
	return n, err
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
	var opts vectordb.ImportOptions
	if s := r.URL.Query().Get("replace"); s != "" {
		if opts.Replace, err = strconv.ParseBool(s); err != nil {
			return badRequest("replace %q is not true or false", s)
		}
	}
	release, err := h.transfer(w)
	if err != nil {
		return err
	}
	defer release()
	rc := http.NewResponseController(w)
	// The answer comes when the import is done, however long that takes;
	// the body's reads keep their own rolling deadline.
	_ = rc.SetWriteDeadline(time.Time{})
	body := bufio.NewReader(&rollingReader{r: r.Body, rc: rc, idle: h.transferIdle})
	if _, err := body.Peek(1); err == io.EOF && opts.Replace {
		// Plain JSON Lines of nothing would be an empty namespace, but an
		// empty body is far more often a failed export piped in.
		return badRequest("empty body: replacing the namespace with nothing is refused; delete it, or send an export")
	}
	zr, err := ff.NewReader(body)
	if err != nil {
		return badRequest("body is not %s: %v", ff, err)
	}
	defer zr.Close()
	var info vectordb.ExportInfo
	if ff.JSONL {
		info, err = c.ix.ImportNamespaceJSONL(r.Context(), ns.Name(), zr, &opts)
	} else {
		info, err = c.ix.ImportNamespace(r.Context(), ns.Name(), zr, &opts)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			return badRequest("the client went away mid-import; nothing was imported")
		}
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"namespace": ns.Name(), "recordCount": info.Records})
	return nil
}
