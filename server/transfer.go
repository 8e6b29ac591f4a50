package server

import (
	"net/http"
	"strconv"
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

// contentTypes of the export formats.
var contentTypes = map[string]string{
	"native":    "application/octet-stream",
	"jsonl":     "application/x-ndjson",
	"jsonl.gz":  "application/gzip",
	"jsonl.zst": "application/zstd",
}

// exportNamespace streams the namespace's export. Errors found before
// the first byte (an unknown namespace, an id JSON cannot hold at the
// start) get an error answer; one found later aborts the response, so the
// client sees a cut transfer, never a complete-looking one.
func (h *Handler) exportNamespace(w http.ResponseWriter, r *http.Request, c *call) error {
	ns, err := c.namespace(r.PathValue("ns"))
	if err != nil {
		return err
	}
	ff, err := format.Parse(r.URL.Query().Get("format"))
	if err != nil {
		return badRequest("%v", err)
	}
	// The transfer lasts as long as the client reads: no write deadline.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	lw := &lazyWriter{w: w, contentType: contentTypes[ff.String()]}
	zw, err := ff.NewWriter(lw)
	if err != nil {
		return err
	}
	if ff.JSONL {
		_, err = ns.ExportJSONL(r.Context(), zw)
	} else {
		_, err = ns.Export(r.Context(), zw)
	}
	if err == nil {
		// Only now: closing a compressor after a failure would end the
		// cut lines with a valid trailer.
		err = zw.Close()
	}
	switch {
	case err == nil:
		return nil
	case !lw.started:
		return err
	}
	h.log.Warn("export aborted", "path", r.URL.Path, "error", err)
	panic(http.ErrAbortHandler)
}

// lazyWriter answers 200 with its content type at the first write.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", l.contentType)
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(p)
}

// importNamespace creates (with replace=true, or replaces) the namespace
// from the request body, atomically, and answers its record count.
func (h *Handler) importNamespace(w http.ResponseWriter, r *http.Request, c *call) error {
	ns, err := c.namespace(r.PathValue("ns"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ff, err := format.Parse(q.Get("format"))
	if err != nil {
		return badRequest("%v", err)
	}
	var opts vectordb.ImportOptions
	if s := q.Get("replace"); s != "" {
		if opts.Replace, err = strconv.ParseBool(s); err != nil {
			return badRequest("replace %q is not true or false", s)
		}
	}
	// The transfer lasts as long as the client sends: no read deadline.
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	body, err := ff.NewReader(r.Body)
	if err != nil {
		return badRequest("body is not %s: %v", ff, err)
	}
	defer body.Close()
	var info vectordb.ExportInfo
	if ff.JSONL {
		info, err = c.ix.ImportNamespaceJSONL(r.Context(), ns.Name(), body, &opts)
	} else {
		info, err = c.ix.ImportNamespace(r.Context(), ns.Name(), body, &opts)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"namespace": ns.Name(), "recordCount": info.Records})
	return nil
}
