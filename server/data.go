package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/jsoncheck"
)

// The data plane of one index, under /ix/{index}. Fields are camelCase,
// and snake_case is accepted too; namespace responses are snake_case, as
// Pinecone's.

// data wraps a data-plane handler: authentication, the index, the
// body limit (0: no body read).
func (h *Handler) data(limit int64, fn func(w http.ResponseWriter, r *http.Request, c *call) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, ok := h.authenticate(r)
		if !ok {
			writeDataError(w, errorf(http.StatusUnauthorized, 16, "UNAUTHENTICATED", "invalid or missing Api-Key"))
			return
		}
		if err := checkURL(r); err != nil {
			writeDataError(w, err)
			return
		}
		name := r.PathValue("index")
		if !k.reachesIndex(name) {
			writeDataError(w, errForbidden)
			return
		}
		ix, err := h.db.Index(name)
		if err != nil {
			writeDataError(w, err)
			return
		}
		c := &call{w: w, r: r, key: k, ix: ix, limit: limit, h: h}
		defer func() { c.body.release() }()
		if err := fn(w, r, c); err != nil {
			writeDataError(w, err)
		}
	}
}

// call is one data-plane request.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	key   *Key
	ix    *vectordb.Index
	limit int64
	h     *Handler
	body  *bodyGuard // the body's share of the request budget, once decode ran
}

// decode decodes the body into v under rule, holding its share of the
// request budget until the handler returns or releases it (releaseBody).
func (c *call) decode(v any, rule bodyRule) error {
	c.body = &bodyGuard{h: c.h, rule: rule}
	return decodeBody(c.w, c.r, c.limit, c.body, v)
}

// releaseBody gives the body's share back, once the decoded request is no
// longer needed.
func (c *call) releaseBody() { c.body.release() }

// Wire limits, Pinecone's, whatever the database's own options allow:
// records per upsert, ids per fetch or delete, and topK or page size when
// values or metadata come back (they bound the response's size).
const (
	maxWireRecords  = 1000
	maxTopK         = 10000
	maxTopKIncludes = 1000
)

// The most JSON values a valid body of each route holds, as jsoncheck
// counts them (every object, array, string, number, true, false and
// null; keys do not count), so that one that cannot be valid is refused
// before it is decoded; with room for both spellings of each field and
// for fields the server ignores.
const (
	bodyFields        = 64                                   // the top-level object's scalar members, and room
	maxVectorValues   = 1 + vectordb.MaxDimension            // the array and its values
	maxSparseValues   = 2 * (3 + 2*vectordb.MaxSparseValues) // two spellings of an object of two arrays
	maxMetadataValues = 1 + vectordb.MaxMetadataBytes/3      // each value past the object's takes 3 bytes of JSON at least ("", in a list)
)

var (
	upsertBody = bodyRule{} // bounded by its size only
	queryBody  = bodyRule{bodyFields + maxVectorValues + maxSparseValues + vectordb.MaxFilterNodes,
		fmt.Sprintf("a valid query has no vector of more than %d values, no sparse vector of more than %d entries and no filter of more than %d values",
			vectordb.MaxDimension, vectordb.MaxSparseValues, vectordb.MaxFilterNodes)}
	updateBody = bodyRule{bodyFields + maxVectorValues + maxSparseValues + 2*maxMetadataValues + vectordb.MaxFilterNodes,
		fmt.Sprintf("a valid update has no values of more than %d, no sparse values of more than %d entries, no setMetadata of more than %d bytes and no filter of more than %d values",
			vectordb.MaxDimension, vectordb.MaxSparseValues, vectordb.MaxMetadataBytes, vectordb.MaxFilterNodes)}
	deleteBody = bodyRule{bodyFields + 1 + maxWireRecords + vectordb.MaxFilterNodes,
		fmt.Sprintf("a valid delete has no more than %d ids and no filter of more than %d values", maxWireRecords, vectordb.MaxFilterNodes)}
	filterBody = bodyRule{bodyFields + vectordb.MaxFilterNodes,
		fmt.Sprintf("a valid body of this route has no filter of more than %d values", vectordb.MaxFilterNodes)}
	namespaceBody = bodyRule{} // small: bounded by its size only
)

// namespace returns the handle of namespace name, if the key reaches it.
// "", "__default__" and an absent field all name the default namespace.
// An invalid name keeps its bytes in the handle (Index.Namespace), so the
// library refuses it (400) wherever it is passed on.
func (c *call) namespace(name string) (*vectordb.Namespace, error) {
	ns := c.ix.Namespace(name)
	if !c.key.reachesNamespace(ns.Name()) {
		return nil, errForbidden
	}
	return ns, nil
}

// checkCount refuses a list of more than maxWireRecords items.
func checkCount(field string, n int) error {
	if n > maxWireRecords {
		return badRequest("%s: %d items, more than the limit of %d per request", field, n, maxWireRecords)
	}
	return nil
}

// sparse is a sparse vector on the wire.
type sparse struct {
	Indices []uint32  `json:"indices"`
	Values  []float32 `json:"values"`
}

func (s *sparse) lib() *vectordb.SparseValues {
	if s == nil {
		return nil
	}
	return &vectordb.SparseValues{Indices: s.Indices, Values: s.Values}
}

func wireSparse(s *vectordb.SparseValues) *sparse {
	if s == nil {
		return nil
	}
	return &sparse{Indices: s.Indices, Values: s.Values}
}

// either returns a unless it is nil, then b: a field given in camelCase
// or snake_case.
func either[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// vector is a record on the wire.
type vector struct {
	ID                string            `json:"id"`
	Values            []float32         `json:"values"`
	SparseValues      *sparse           `json:"sparseValues,omitempty"`
	SparseValuesSnake *sparse           `json:"sparse_values,omitempty"`
	Metadata          vectordb.Metadata `json:"metadata,omitempty"`
}

func (h *Handler) upsert(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		Vectors   []vector `json:"vectors"`
		Namespace string   `json:"namespace"`
	}
	if err := c.decode(&req, upsertBody); err != nil {
		return err
	}
	ns, err := c.namespace(req.Namespace)
	if err != nil {
		return err
	}
	if err := checkCount("vectors", len(req.Vectors)); err != nil {
		return err
	}
	recs := make([]vectordb.Record, len(req.Vectors))
	for i, v := range req.Vectors {
		recs[i] = vectordb.Record{ID: v.ID, Values: v.Values, SparseValues: either(v.SparseValues, v.SparseValuesSnake).lib(), Metadata: v.Metadata}
	}
	res, err := ns.Upsert(r.Context(), recs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"upsertedCount": res.UpsertedCount})
	return nil
}

// filterOf decodes a filter given as JSON; null or absent is none. It
// checks the filter's size (vectordb.MaxFilterDepth and MaxFilterNodes)
// on its bytes, before decoding, and leaves the rest of the validation to
// the library call that takes it, which compiles it once.
func filterOf(raw json.RawMessage) (vectordb.Filter, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	f, err := jsoncheck.DecodeObject("filter", raw, jsoncheck.Limits{MaxDepth: vectordb.MaxFilterDepth, MaxValues: vectordb.MaxFilterNodes})
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return f, nil
}

func (h *Handler) query(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		Namespace            string          `json:"namespace"`
		TopK                 *int            `json:"topK"`
		TopKSnake            *int            `json:"top_k"`
		Vector               []float32       `json:"vector"`
		SparseVector         *sparse         `json:"sparseVector"`
		SparseVectorSnake    *sparse         `json:"sparse_vector"`
		ID                   string          `json:"id"`
		Filter               json.RawMessage `json:"filter"`
		IncludeValues        *bool           `json:"includeValues"`
		IncludeValuesSnake   *bool           `json:"include_values"`
		IncludeMetadata      *bool           `json:"includeMetadata"`
		IncludeMetadataSnake *bool           `json:"include_metadata"`
	}
	if err := c.decode(&req, queryBody); err != nil {
		return err
	}
	ns, err := c.namespace(req.Namespace)
	if err != nil {
		return err
	}
	f, err := filterOf(req.Filter)
	if err != nil {
		return err
	}
	q := vectordb.QueryRequest{Vector: req.Vector, ID: req.ID, SparseVector: either(req.SparseVector, req.SparseVectorSnake).lib(), Filter: f}
	if p := either(req.TopK, req.TopKSnake); p != nil {
		q.TopK = *p
	}
	if p := either(req.IncludeValues, req.IncludeValuesSnake); p != nil {
		q.IncludeValues = *p
	}
	if p := either(req.IncludeMetadata, req.IncludeMetadataSnake); p != nil {
		q.IncludeMetadata = *p
	}
	if (q.IncludeValues || q.IncludeMetadata) && q.TopK > maxTopKIncludes && q.TopK <= maxTopK {
		return badRequest("topK: %d; at most %d when values or metadata are included", q.TopK, maxTopKIncludes)
	}
	// Reserve the most the matches may take (a topK out of range reserves
	// nothing: the database refuses it), keep what they take.
	n := 0
	if q.TopK >= 1 && q.TopK <= maxTopK {
		n = q.TopK
	}
	sure, all := recordBound(c, vectordb.MaxIDBytes, q.IncludeValues, q.IncludeMetadata)
	topK, values, metadata := q.TopK, q.IncludeValues, q.IncludeMetadata // not q: its vector and filter may go after the call
	what := func() string {
		s := fmt.Sprintf("topK %d", topK)
		switch {
		case values && metadata:
			s += " with includeValues and includeMetadata"
		case values:
			s += " with includeValues"
		case metadata:
			s += " with includeMetadata"
		}
		return fmt.Sprintf("%s at dimension %d", s, c.ix.Dimension())
	}
	rsv, err := h.reserve(w, r, int64(n)*sure, int64(n)*all, what)
	if err != nil {
		return err
	}
	defer rsv.release()
	res, err := ns.Query(r.Context(), q)
	c.releaseBody()
	if err != nil {
		return err
	}
	var size int64
	for _, m := range res.Matches {
		size += recordSize(m.ID, m.Values, m.SparseValues, m.Metadata)
	}
	if err := h.settle(w, r, rsv, size, what); err != nil {
		return err
	}
	writeMatches(w, &res, ns.Name(), rsv)
	return nil
}

func (h *Handler) fetch(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	ns, err := c.namespace(q.Get("namespace"))
	if err != nil {
		return err
	}
	if err := checkCount("ids", len(q["ids"])); err != nil {
		return err
	}
	var sure, bound int64
	for _, id := range q["ids"] {
		s, b := recordBound(c, min(len(id), vectordb.MaxIDBytes), true, true)
		sure, bound = sure+s, bound+b
	}
	what := func() string {
		return fmt.Sprintf("a fetch of %d ids at dimension %d", len(q["ids"]), c.ix.Dimension())
	}
	rsv, err := h.reserve(w, r, sure, bound, what)
	if err != nil {
		return err
	}
	defer rsv.release()
	res, err := ns.Fetch(r.Context(), q["ids"])
	if err != nil {
		return err
	}
	keys, recs := make([]string, 0, len(res.Records)), make([]vectordb.Record, 0, len(res.Records))
	var size int64
	for id, rec := range res.Records {
		keys, recs = append(keys, id), append(recs, rec)
		size += recordSize(rec.ID, rec.Values, rec.SparseValues, rec.Metadata)
	}
	res.Records = nil
	if err := h.settle(w, r, rsv, size, what); err != nil {
		return err
	}
	writeRecords(w, keys, recs, ns.Name(), "", res.Usage.ReadUnits, rsv)
	return nil
}

func (h *Handler) fetchByMetadata(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		Namespace            string          `json:"namespace"`
		Filter               json.RawMessage `json:"filter"`
		Limit                int             `json:"limit"`
		PaginationToken      string          `json:"paginationToken"`
		PaginationTokenSnake string          `json:"pagination_token"`
	}
	if err := c.decode(&req, filterBody); err != nil {
		return err
	}
	ns, err := c.namespace(req.Namespace)
	if err != nil {
		return err
	}
	f, err := filterOf(req.Filter)
	if err != nil {
		return err
	}
	token := req.PaginationToken
	if token == "" {
		token = req.PaginationTokenSnake
	}
	if req.Limit > maxTopKIncludes {
		return badRequest("limit: %d; at most %d", req.Limit, maxTopKIncludes)
	}
	n := max(req.Limit, 0) // negative: the database refuses it
	if req.Limit == 0 {
		n = vectordb.DefaultListLimit
	}
	sure, all := recordBound(c, vectordb.MaxIDBytes, true, true)
	what := func() string { return fmt.Sprintf("limit %d at dimension %d", n, c.ix.Dimension()) }
	rsv, err := h.reserve(w, r, int64(n)*sure, int64(n)*all, what)
	if err != nil {
		return err
	}
	defer rsv.release()
	res, err := ns.FetchByMetadata(r.Context(), vectordb.FetchByMetadataRequest{Filter: f, Limit: req.Limit, PaginationToken: token})
	c.releaseBody()
	if err != nil {
		return err
	}
	keys := make([]string, len(res.Records))
	var size int64
	for i, rec := range res.Records {
		keys[i] = rec.ID
		size += recordSize(rec.ID, rec.Values, rec.SparseValues, rec.Metadata)
	}
	if err := h.settle(w, r, rsv, size, what); err != nil {
		return err
	}
	writeRecords(w, keys, res.Records, ns.Name(), res.NextToken, res.Usage.ReadUnits, rsv)
	return nil
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		Namespace         string            `json:"namespace"`
		ID                string            `json:"id"`
		Values            []float32         `json:"values"`
		SparseValues      *sparse           `json:"sparseValues"`
		SparseValuesSnake *sparse           `json:"sparse_values"`
		SetMetadata       vectordb.Metadata `json:"setMetadata"`
		SetMetadataSnake  vectordb.Metadata `json:"set_metadata"`
		Filter            json.RawMessage   `json:"filter"`
		DryRun            *bool             `json:"dryRun"`
		DryRunSnake       *bool             `json:"dry_run"`
	}
	if err := c.decode(&req, updateBody); err != nil {
		return err
	}
	ns, err := c.namespace(req.Namespace)
	if err != nil {
		return err
	}
	f, err := filterOf(req.Filter)
	if err != nil {
		return err
	}
	u := vectordb.UpdateRequest{ID: req.ID, Values: req.Values, SparseValues: either(req.SparseValues, req.SparseValuesSnake).lib(),
		SetMetadata: req.SetMetadata, Filter: f}
	if u.SetMetadata == nil {
		u.SetMetadata = req.SetMetadataSnake
	}
	if p := either(req.DryRun, req.DryRunSnake); p != nil {
		u.DryRun = *p
	}
	res, err := ns.Update(r.Context(), u)
	if err != nil {
		return err
	}
	if f != nil {
		writeJSON(w, http.StatusOK, map[string]int{"matchedRecords": res.MatchedRecords})
	} else {
		writeJSON(w, http.StatusOK, struct{}{})
	}
	return nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		Namespace      string          `json:"namespace"`
		IDs            []string        `json:"ids"`
		DeleteAll      *bool           `json:"deleteAll"`
		DeleteAllSnake *bool           `json:"delete_all"`
		Filter         json.RawMessage `json:"filter"`
	}
	if err := c.decode(&req, deleteBody); err != nil {
		return err
	}
	ns, err := c.namespace(req.Namespace)
	if err != nil {
		return err
	}
	f, err := filterOf(req.Filter)
	if err != nil {
		return err
	}
	if err := checkCount("ids", len(req.IDs)); err != nil {
		return err
	}
	all := either(req.DeleteAll, req.DeleteAllSnake)
	set := 0
	for _, b := range []bool{len(req.IDs) > 0, all != nil && *all, f != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		return badRequest("exactly one of ids, deleteAll and filter is required")
	}
	switch {
	case len(req.IDs) > 0:
		_, err = ns.Delete(r.Context(), req.IDs)
	case f != nil:
		_, err = ns.DeleteByFilter(r.Context(), f)
	default:
		_, err = ns.DeleteAll(r.Context())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	ns, err := c.namespace(q.Get("namespace"))
	if err != nil {
		return err
	}
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		return err
	}
	n := limit
	switch {
	case limit == 0:
		n = vectordb.DefaultListLimit
	case limit < 0 || limit > vectordb.MaxListLimit: // the database refuses it
		n = 0
	}
	bound := int64(n) * (recordOverhead + heapBytes(vectordb.MaxIDBytes))
	rsv, err := h.reserve(w, r, bound, bound, func() string { return fmt.Sprintf("limit %d", n) })
	if err != nil {
		return err
	}
	defer rsv.release()
	res, err := ns.List(r.Context(), vectordb.ListRequest{Prefix: q.Get("prefix"), Limit: limit, PaginationToken: q.Get("paginationToken")})
	if err != nil {
		return err
	}
	var size int64
	for _, id := range res.IDs {
		size += recordOverhead + heapBytes(len(id))
	}
	rsv.shrink(size)
	writeIDs(w, res.IDs, ns.Name(), res.NextToken, res.Usage.ReadUnits)
	return nil
}

// intParam parses an optional integer query parameter.
func intParam(s, field string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("%s must be an integer, not %q", field, s)
	}
	return n, nil
}

func (h *Handler) describeStats(w http.ResponseWriter, r *http.Request, c *call) error {
	if r.Method == http.MethodPost {
		var req struct {
			Filter json.RawMessage `json:"filter"`
		}
		if err := c.decode(&req, filterBody); err != nil {
			return err
		}
		if f, err := filterOf(req.Filter); err != nil {
			return err
		} else if f != nil {
			return badRequest("describe_index_stats does not take a filter on serverless indexes")
		}
	}
	st, err := c.ix.DescribeStats(r.Context())
	if err != nil {
		return err
	}
	type nsStats struct {
		VectorCount int64 `json:"vectorCount"`
	}
	namespaces := map[string]nsStats{}
	var total int64
	for name, s := range st.Namespaces {
		if c.key.reachesNamespace(name) {
			namespaces[name] = nsStats{VectorCount: s.RecordCount}
			total += s.RecordCount
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"namespaces": namespaces, "dimension": st.Dimension, "indexFullness": 0,
		"totalVectorCount": total, "metric": st.Metric, "vectorType": "dense"})
	return nil
}

// namespaceModel is a namespace as Pinecone describes it.
type namespaceModel struct {
	Name        string `json:"name"`
	RecordCount string `json:"record_count"` // a decimal string, as Pinecone's
}

func nsModel(d vectordb.NamespaceDescription) namespaceModel {
	return namespaceModel{Name: d.Name, RecordCount: strconv.FormatInt(d.RecordCount, 10)}
}

func (h *Handler) listNamespaces(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		return err
	}
	out := []namespaceModel{}
	if len(c.key.Namespaces) > 0 {
		// A scoped key sees its own namespaces only.
		for _, name := range c.key.Namespaces {
			if d, err := c.ix.DescribeNamespace(r.Context(), name); err == nil {
				out = append(out, nsModel(d))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"namespaces": out, "total_count": len(out)})
		return nil
	}
	page, err := c.ix.ListNamespaces(r.Context(), vectordb.ListNamespacesRequest{Prefix: q.Get("prefix"), Limit: limit, PaginationToken: q.Get("paginationToken")})
	if err != nil {
		return err
	}
	for _, d := range page.Namespaces {
		out = append(out, nsModel(d))
	}
	res := map[string]any{"namespaces": out, "total_count": page.TotalCount}
	if page.NextToken != "" {
		res["pagination"] = map[string]string{"next": page.NextToken}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (h *Handler) createNamespace(w http.ResponseWriter, r *http.Request, c *call) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := c.decode(&req, namespaceBody); err != nil {
		return err
	}
	ns, err := c.namespace(req.Name)
	if err != nil {
		return err
	}
	d, err := c.ix.CreateNamespace(r.Context(), ns.Name())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, nsModel(d))
	return nil
}

func (h *Handler) describeNamespace(w http.ResponseWriter, r *http.Request, c *call) error {
	ns, err := c.namespace(r.PathValue("ns"))
	if err != nil {
		return err
	}
	d, err := c.ix.DescribeNamespace(r.Context(), ns.Name())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nsModel(d))
	return nil
}

func (h *Handler) deleteNamespace(w http.ResponseWriter, r *http.Request, c *call) error {
	ns, err := c.namespace(r.PathValue("ns"))
	if err != nil {
		return err
	}
	if err := c.ix.DeleteNamespace(r.Context(), ns.Name()); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, struct{}{})
	return nil
}
