// Package server serves a vectordb.DB over HTTP in Pinecone's REST
// protocol, so that Pinecone's clients can use it unchanged: the control
// plane (indexes) at the root, and each index's data plane under
// /ix/{index}, the host the control plane reports for it.
//
// The Handler is an http.Handler: mount it in a mux of your own, behind
// your own middleware, or run it with cmd/vectordb. Every request must
// carry an Api-Key header matching one of Config.Keys, unless no key is
// configured (open mode, for local use). A key may be scoped to one index
// and to a set of namespaces: it can then never read or write another
// (403). GET /metrics serves Prometheus metrics (requests, latencies and
// errors by route, per-namespace units, memory), to unscoped keys only;
// GET /health answers without a key.
//
// Request bodies are checked before they are decoded: invalid UTF-8, a
// lone UTF-16 surrogate escape, a key repeated in one object or nesting
// deeper than 40 levels is a 400 naming the place, never rewritten. Path
// values and query parameters must be valid UTF-8 as well, so a name
// means the same bytes on every route.
//
// Responses are bounded in memory across requests, beside the database's
// own MemoryBudget: a query, fetch, fetch by metadata or list first
// reserves, from Config.MaxResponseBytes, the most its result may take in
// memory (from its topK or ids or limit, the index's dimension, and
// whether values and metadata come back; at most half the budget, beyond
// which one request at a time materializes its result), keeps what the
// result takes once it is known, and gives that back as its response
// streams out. Request bodies are bounded too: each reserves, from
// Config.MaxRequestBytes, what it takes read and decoded (bounded from its
// declared length, then from its JSON tokens before it is decoded), and a
// body that cannot be valid for its route is refused from its tokens. A
// request that cannot get its reservation within Config.ResponseWait gets
// 429 with Retry-After; one that may need more than the whole budget gets
// 400 (a response) or 413 (a body).
//
// Beyond Pinecone's protocol, a namespace moves over HTTP while the
// server runs: GET /ix/{index}/namespaces/{ns}/export?format=F streams
// its export, and POST /ix/{index}/namespaces/{ns}/import?format=F
// creates it (with &replace=true, replaces it) from one, atomically. F is
// native (the default: vectordb's compressed, checksummed format), jsonl,
// jsonl.gz or jsonl.zst (JSON Lines with Pinecone's field names). An
// export that fails midway aborts its response with an
// http.ErrAbortHandler panic, which middleware must let through. Config
// bounds how many transfers run at once, overall and per tenant (a scoped
// key; one slot is always left to unscoped keys), and how slowly one may
// go: a client that stalls past TransferIdleTimeout, or that falls more
// than TransferRateWindow behind TransferMinRate bytes a second of waiting
// on it, is cut off (an import then changes nothing; an export aborts).
package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/jsoncheck"
)

// Key is an API key and what it may reach.
type Key struct {
	// Secret is the value of the Api-Key header.
	Secret string
	// Index, if set, is the only index the key reaches, through its data
	// plane and a describe of it; such a key cannot create, configure or
	// delete indexes. Empty: every index and the whole control plane.
	Index string
	// Namespaces, if set, are the only namespaces of Index the key reads
	// or writes; stats and namespace listings show only them. Requires
	// Index.
	Namespaces []string
}

// Config configures a Handler.
type Config struct {
	// Keys are the accepted API keys. None: every request is accepted.
	Keys []Key
	// BaseURL is the scheme and authority (and optional path) under which
	// clients reach this handler, used in each index's host, e.g.
	// "http://10.0.0.5:5080". Default: "http://" and the request's Host.
	BaseURL string
	// Logger receives one line per request. Default: slog.Default().
	Logger *slog.Logger
	// MaxResponseBytes bounds the memory that the results of queries,
	// fetches, fetches by metadata and lists hold at once, across all
	// requests, in bytes counted as the decoded Go values hold them (id,
	// 4 bytes per dense value, 8 per sparse one, metadata's map, keys,
	// boxed values and strings) plus a little per record. Each request
	// reserves the most its result may take before it runs (topK, ids or
	// limit times the largest record it may return, at the index's
	// dimension, with values and metadata as asked, metadata counted at
	// the most 40,960 bytes of it take decoded: 520 KiB), but at most
	// half the budget, or what its ids and values alone may take if that
	// is more; it keeps what the result takes once it is known, and gives
	// each record's share back once the record is written (a client that
	// stops reading keeps its share until the connection's write
	// deadline, http.Server.WriteTimeout). A request that may take more
	// than it reserved (topK over about 250 with metadata) also waits its
	// turn for the one overdraft slot while the database materializes its
	// result, then tops its reservation up to what the result takes. A
	// request that cannot get its share waits up to ResponseWait, then
	// gets 429 with Retry-After; one whose ids and values may take more
	// than MaxResponseBytes, or whose result takes more, gets 400.
	// Reservations are granted in arrival order, but one of at most a
	// 64th of the budget passes waiting ones when it fits. Default 256
	// MiB, which holds the largest response without metadata the wire
	// limits allow (topK 1000 with values at dimension 20,000: about 83
	// MB, 99 MB on a dotproduct index) or about three topK-1000 queries
	// with values at that dimension at once; negative: no bound.
	MaxResponseBytes int64
	// MaxRequestBytes bounds the memory that request bodies hold at once,
	// across all requests: each body's bytes and their decoded form, with
	// what the database builds from it during the call. Each request
	// reserves, before it reads its body, 10 times its declared length
	// (the route's limit, 2 or 4 MB, if it declares none), then, once it
	// has read it and before it decodes it, what this body takes decoded,
	// bounded from its JSON tokens (more than 10 times its length only
	// for bodies of short numbers, small records, or many tiny objects or
	// keys; such a body of more than about 400 KB gets 429 at once when
	// another such one waits for its share). It keeps its share until
	// the handler returns (queries and fetches by metadata: until the
	// database call returns). A request that cannot get its share waits up
	// to ResponseWait, then gets 429 with Retry-After; a body that would
	// take more than MaxRequestBytes decoded gets 413. A client that
	// declares a large body and sends it slowly keeps its share until the
	// connection's read deadline (http.Server.ReadTimeout). Default 256
	// MiB: twelve 2 MB upserts at once; negative: no bound.
	MaxRequestBytes int64
	// ResponseWait is the longest a request waits for its share of
	// MaxResponseBytes or MaxRequestBytes (never past its own context).
	// Default two seconds.
	ResponseWait time.Duration
	// MaxTransfers bounds the namespace exports and imports running at
	// once; more get 429. Scoped keys (Key.Index set) together get at
	// most MaxTransfers-1 of them: the last is kept for unscoped keys, so
	// 1 serves unscoped keys only. Default 4.
	MaxTransfers int
	// MaxTransfersPerTenant bounds the transfers each scoped key (a
	// tenant's) runs at once; more get 429. Unscoped keys have no such
	// bound. Default 1.
	MaxTransfersPerTenant int
	// TransferIdleTimeout is how long an export or import may wait on its
	// client (to read the next bytes, or to send them) before it is cut
	// off. Default one minute.
	TransferIdleTimeout time.Duration
	// TransferMinRate, in bytes a second, is the pace a transfer's client
	// must keep, on average, over the time spent waiting on it (in reads
	// of an import's body, writes of an export; not the server's own
	// work): a transfer starts with a credit of TransferMinRate ×
	// TransferRateWindow bytes, each second spent waiting on the client
	// costs TransferMinRate of it, each byte moved earns one back (up to
	// the starting credit), and a transfer whose credit runs out is cut
	// off, as a stalled one is. Default 1024; negative: no minimum.
	TransferMinRate int
	// TransferRateWindow is how far a transfer may fall behind
	// TransferMinRate, in time: its grace at the start, and the most
	// slack a burst earns. Default one minute.
	TransferRateWindow time.Duration
}

// Handler serves a database over HTTP. Create it with New.
type Handler struct {
	db             *vectordb.DB
	cfg            Config
	mux            *http.ServeMux
	log            *slog.Logger
	keys           []Key
	digests        [][sha256.Size]byte // of each key's secret, compared in constant time
	metrics        *metrics
	metricsHandler http.Handler
	responses      *byteSemaphore // of Config.MaxResponseBytes; nil: no bound (respbudget.go)
	overdraft      *byteSemaphore // of one slot: the request that may hold more than it reserved of responses
	requests       *byteSemaphore // of Config.MaxRequestBytes; nil: no bound
	bodyOverdraft  *byteSemaphore // of one slot: the request that waits to grow its share of requests
	responseWait   time.Duration

	transfers transfers // exports' and imports' limits and slots (transfer.go)
}

// Request body limits. An upsert's is Pinecone's (2 MB); the others are
// generous but bounded, so that no request makes the server read without
// end.
const (
	maxUpsertBody = 2 << 20
	maxOtherBody  = 4 << 20
)

// New returns a Handler serving db.
func New(db *vectordb.DB, cfg Config) (*Handler, error) {
	if db == nil {
		return nil, errors.New("server: no database")
	}
	seen := map[string]int{}
	for i, k := range cfg.Keys {
		switch j, dup := seen[k.Secret]; {
		case k.Secret == "":
			return nil, fmt.Errorf("server: Keys[%d].Secret is empty", i)
		case dup:
			return nil, fmt.Errorf("server: Keys[%d] has the secret of Keys[%d]", i, j)
		case len(k.Namespaces) > 0 && k.Index == "":
			return nil, fmt.Errorf("server: Keys[%d] lists namespaces but no index", i)
		}
		seen[k.Secret] = i
	}
	h := &Handler{db: db, cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger, keys: slices.Clone(cfg.Keys), metrics: newMetrics(db)}
	for _, k := range h.keys {
		h.digests = append(h.digests, sha256.Sum256([]byte(k.Secret)))
	}
	h.metricsHandler = newMetricsHandler(h.metrics)
	if h.log == nil {
		h.log = slog.Default()
	}
	switch {
	case cfg.MaxResponseBytes == 0:
		h.responses = newByteSemaphore(defaultMaxResponseBytes)
	case cfg.MaxResponseBytes > 0:
		h.responses = newByteSemaphore(cfg.MaxResponseBytes)
	}
	h.overdraft, h.bodyOverdraft = newByteSemaphore(1), newByteSemaphore(1)
	switch {
	case cfg.MaxRequestBytes == 0:
		h.requests = newByteSemaphore(defaultMaxRequestBytes)
	case cfg.MaxRequestBytes > 0:
		h.requests = newByteSemaphore(cfg.MaxRequestBytes)
	}
	h.responseWait = cfg.ResponseWait
	if h.responseWait <= 0 {
		h.responseWait = defaultResponseWait
	}
	h.transfers.init(cfg)
	h.metrics.watch(h)
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	h.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	h.mux.HandleFunc("GET /metrics", h.serveMetrics)
	// Anything else, in the shape of the plane it would belong to.
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		err := errorf(http.StatusNotFound, 5, "NOT_FOUND", "no route for %s %s", r.Method, r.URL.Path)
		if strings.HasPrefix(r.URL.Path, "/ix/") {
			writeDataError(w, err)
		} else {
			writeControlError(w, err)
		}
	})

	h.mux.HandleFunc("POST /indexes", h.control(h.createIndex))
	h.mux.HandleFunc("GET /indexes", h.control(h.listIndexes))
	h.mux.HandleFunc("GET /indexes/{index}", h.control(h.describeIndex))
	h.mux.HandleFunc("PATCH /indexes/{index}", h.control(h.configureIndex))
	h.mux.HandleFunc("DELETE /indexes/{index}", h.control(h.deleteIndex))

	h.mux.HandleFunc("POST /ix/{index}/vectors/upsert", h.data(maxUpsertBody, h.upsert))
	h.mux.HandleFunc("POST /ix/{index}/query", h.data(maxOtherBody, h.query))
	h.mux.HandleFunc("GET /ix/{index}/vectors/fetch", h.data(0, h.fetch))
	h.mux.HandleFunc("POST /ix/{index}/vectors/fetch_by_metadata", h.data(maxOtherBody, h.fetchByMetadata))
	h.mux.HandleFunc("POST /ix/{index}/vectors/update", h.data(maxOtherBody, h.update))
	h.mux.HandleFunc("POST /ix/{index}/vectors/delete", h.data(maxOtherBody, h.delete))
	h.mux.HandleFunc("GET /ix/{index}/vectors/list", h.data(0, h.list))
	h.mux.HandleFunc("POST /ix/{index}/describe_index_stats", h.data(maxOtherBody, h.describeStats))
	h.mux.HandleFunc("GET /ix/{index}/describe_index_stats", h.data(0, h.describeStats))
	h.mux.HandleFunc("GET /ix/{index}/namespaces", h.data(0, h.listNamespaces))
	h.mux.HandleFunc("POST /ix/{index}/namespaces", h.data(maxOtherBody, h.createNamespace))
	h.mux.HandleFunc("GET /ix/{index}/namespaces/{ns}", h.data(0, h.describeNamespace))
	h.mux.HandleFunc("DELETE /ix/{index}/namespaces/{ns}", h.data(0, h.deleteNamespace))
	// Not Pinecone's: see transfer.go.
	h.mux.HandleFunc("GET /ix/{index}/namespaces/{ns}/export", h.data(0, h.exportNamespace))
	h.mux.HandleFunc("POST /ix/{index}/namespaces/{ns}/import", h.data(0, h.importNamespace))
}

// ServeHTTP serves a request and logs it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		// Deferred, to count a response aborted midway (an export that
		// failed after its first byte panics with http.ErrAbortHandler).
		v := recover()
		if v != nil {
			rec.status = http.StatusInternalServerError // a cut response is a failed one
		}
		d := time.Since(start)
		h.metrics.observe(r.Pattern, rec.status, d) // the mux sets r.Pattern
		h.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", d.Round(time.Microsecond), "aborted", v != nil)
		if v != nil {
			panic(v)
		}
	}()
	h.mux.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer
// (exports and imports lift its deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// authenticate returns the key of the request, or nil and false. With no
// keys configured every request passes with an unscoped key.
func (h *Handler) authenticate(r *http.Request) (*Key, bool) {
	if len(h.keys) == 0 {
		return &Key{}, true
	}
	// Compare digests, all of the same length, with every key whatever
	// matched: the time taken tells neither which keys exist nor their
	// lengths.
	got := sha256.Sum256([]byte(r.Header.Get("Api-Key")))
	var found *Key
	for i := range h.digests {
		if subtle.ConstantTimeCompare(got[:], h.digests[i][:]) == 1 && found == nil {
			found = &h.keys[i]
		}
	}
	return found, found != nil
}

// reachesIndex reports whether k may use index name.
func (k *Key) reachesIndex(name string) bool { return k.Index == "" || k.Index == name }

// reachesNamespace reports whether k may use namespace ns (canonical).
func (k *Key) reachesNamespace(ns string) bool {
	return len(k.Namespaces) == 0 || slices.Contains(k.Namespaces, ns) ||
		(ns == vectordb.DefaultNamespace && slices.Contains(k.Namespaces, ""))
}

// apiError is an error with the HTTP status and codes to answer it with.
type apiError struct {
	status  int
	grpc    int    // the data plane's code (gRPC's numbering)
	control string // the control plane's code
	msg     string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status, grpc int, control, format string, args ...any) *apiError {
	return &apiError{status: status, grpc: grpc, control: control, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, 3, "INVALID_ARGUMENT", format, args...)
}

var errForbidden = errorf(http.StatusForbidden, 7, "FORBIDDEN", "this API key may not access this resource")

// classify maps an error of the library to the status and codes Pinecone
// uses. Every client mistake is a 4xx: the clients retry 5xx.
func classify(err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	var se *vectordb.StreamError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return errorf(http.StatusRequestEntityTooLarge, 3, "INVALID_ARGUMENT", "request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, vectordb.ErrDimensionMismatch):
		var de *vectordb.DimensionError
		if errors.As(err, &de) {
			return badRequest("Vector dimension %d does not match the dimension of the index %d", de.Got, de.Want)
		}
		return badRequest("%s", trim(err))
	case errors.Is(err, vectordb.ErrInvalidArgument):
		return badRequest("%s", trim(err))
	case errors.As(err, &se):
		// A bad uploaded stream is the client's; stored data that is
		// corrupt (ErrCorrupt without a *StreamError) is a 500.
		return badRequest("%s", trim(err))
	case errors.Is(err, vectordb.ErrIndexNotFound), errors.Is(err, vectordb.ErrNamespaceNotFound):
		return errorf(http.StatusNotFound, 5, "NOT_FOUND", "%s", trim(err))
	case errors.Is(err, vectordb.ErrIndexExists), errors.Is(err, vectordb.ErrNamespaceExists):
		return errorf(http.StatusConflict, 6, "ALREADY_EXISTS", "%s", trim(err))
	case errors.Is(err, vectordb.ErrDeletionProtected):
		return errorf(http.StatusForbidden, 9, "FORBIDDEN", "%s", trim(err))
	case errors.Is(err, vectordb.ErrQuotaExceeded):
		return errorf(http.StatusTooManyRequests, 8, "RESOURCE_EXHAUSTED", "%s", trim(err))
	case errors.Is(err, vectordb.ErrDiskFull):
		return errorf(http.StatusInsufficientStorage, 8, "RESOURCE_EXHAUSTED", "%s", trim(err))
	case errors.Is(err, vectordb.ErrClosed):
		return errorf(http.StatusServiceUnavailable, 14, "UNAVAILABLE", "%s", trim(err))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusGatewayTimeout, 4, "DEADLINE_EXCEEDED", "%s", err.Error())
	}
	return errorf(http.StatusInternalServerError, 13, "INTERNAL", "%s", trim(err))
}

// trim drops the library's "vectordb: " prefix from an error message.
func trim(err error) string { return strings.TrimPrefix(err.Error(), "vectordb: ") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeControlError answers in the control plane's shape:
// {"error": {"code": ..., "message": ...}, "status": ...}.
func writeControlError(w http.ResponseWriter, err error) {
	e := classify(err)
	writeJSON(w, e.status, map[string]any{"error": map[string]string{"code": e.control, "message": e.msg}, "status": e.status})
}

// writeDataError answers in the data plane's shape:
// {"code": 3, "message": ..., "details": []}.
func writeDataError(w http.ResponseWriter, err error) {
	e := classify(err)
	writeJSON(w, e.status, map[string]any{"code": e.grpc, "message": e.msg, "details": []any{}})
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "float32", "float64", "int", "int64", "uint32":
		return "number"
	case "bool":
		return "boolean"
	}
	return k
}

// decode reads a JSON body of at most limit bytes into v; an empty body
// leaves v as it is. The body must pass jsoncheck (valid UTF-8, no lone
// surrogate, no repeated key, at most maxBodyDepth deep) before anything
// is decoded; a body declared longer than limit is refused unread.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	return decodeBody(w, r, limit, nil, v)
}

// decodeBody is decode, holding g's share of the request budget (none if
// g is nil) for the body and its decoded form: g.reserve is called before
// reading with the most reading and decoding an ordinary body of the
// declared length (or limit, if none is declared) may take, then, once the
// body is read, with what this body and its decoded form take; a body of
// more values than g.rule allows is refused before anything is decoded.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, g *bodyGuard, v any) error {
	if r.ContentLength > limit { // refused unread
		return &http.MaxBytesError{Limit: limit}
	}
	expect := limit
	if r.ContentLength >= 0 {
		expect = r.ContentLength
	}
	if g != nil {
		if err := g.reserve(w, r, bodyUpfront(expect)); err != nil {
			return err
		}
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, limit), expect)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("reading the body: %v", err)
	}
	lim := jsoncheck.Limits{MaxDepth: maxBodyDepth}
	if g != nil {
		shape := scanShape(body)
		if g.rule.values > 0 && shape.values > g.rule.values {
			return badRequest("malformed JSON body: more than %d values; %s", g.rule.values, g.rule.valid)
		}
		if err := g.reserve(w, r, shape.decodedBytes(len(body))); err != nil {
			return err
		}
		lim.MaxValues = g.rule.values
	}
	if len(bytes.TrimSpace(body)) == 0 { // no body: the defaults
		return nil
	}
	// encoding/json would rewrite invalid UTF-8 and lone surrogates to
	// U+FFFD (merging distinct ids and namespaces) and let a repeated key
	// win silently: refuse both, and bound the nesting, before decoding.
	if err := jsoncheck.Check("body", body, lim); err != nil {
		return badRequest("malformed JSON body: %v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badRequest("malformed JSON body: field %q: %s is not a valid %s", te.Field, te.Value, jsonKind(te.Type.Kind().String()))
		}
		return badRequest("malformed JSON body: %v", err)
	}
	return nil
}

// readBody reads r to its end, allocating only for bytes received: the
// buffer starts at 64 KiB at most and doubles as data arrive, up to expect
// bytes (the declared length, if any) and one more to see the end.
func readBody(r io.Reader, expect int64) ([]byte, error) {
	buf := make([]byte, 0, min(expect+1, 64<<10))
	for {
		if len(buf) == cap(buf) {
			next := 2 * cap(buf)
			if want := expect + 1; int64(len(buf)) < want {
				next = int(min(int64(next), want))
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// maxBodyDepth bounds the nesting of a request body: room for a filter
// at vectordb.MaxFilterDepth inside it, so that the filter's own limit
// names the problem.
const maxBodyDepth = vectordb.MaxFilterDepth + 8

// checkURL applies the rule for names to the URL: path values and query
// parameters must be valid UTF-8 and well escaped, as in a JSON body, so
// that every route reads a name the same way (the library then applies
// its own rules, such as length and NUL bytes).
func checkURL(r *http.Request) error {
	for _, name := range []string{"index", "ns"} {
		if v := r.PathValue(name); !utf8.ValidString(v) {
			return badRequest("%s %s in the path is not valid UTF-8", pathField[name], clip(v))
		}
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest("malformed query string: %v", err)
	}
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return badRequest("query parameter %s is not valid UTF-8", clip(k))
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				if len(k) > 64 {
					k = k[:64] + "..."
				}
				return badRequest("query parameter %s: %s is not valid UTF-8", k, clip(v))
			}
		}
	}
	return nil
}

// clip quotes s for an error message, cut after 64 bytes.
func clip(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}

// pathField names a path value in errors.
var pathField = map[string]string{"index": "index name", "ns": "namespace"}
