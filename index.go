package vectordb

import (
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/usage"
)

// Index is a handle to an index: a set of namespaces sharing a dimension
// and metric. It is safe for concurrent use by multiple goroutines. See
// DB.Index for how it stays bound to one index.
type Index struct {
	db *DB
	ix *indexState
}

// Name returns the index name.
func (h *Index) Name() string { return h.ix.name }

// Dimension returns the dimension of the index's vectors.
func (h *Index) Dimension() int { return h.ix.dim }

// Metric returns the index's metric.
func (h *Index) Metric() Metric { return h.ix.metric }

// begin admits a call on the index; on success the caller must call
// db.leave.
func (h *Index) begin(ctx context.Context) error {
	if err := h.db.enter(); err != nil {
		return err
	}
	if err := h.check(ctx); err != nil {
		h.db.leave()
		return err
	}
	return nil
}

// beginNamed validates and canonicalizes a namespace name, then admits the
// call like begin.
func (h *Index) beginNamed(ctx context.Context, name string) (string, error) {
	canon, err := canonicalNamespace(name)
	if err != nil {
		return "", err
	}
	return canon, h.begin(ctx)
}

func (h *Index) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if h.ix.dropped.Load() {
		return fmt.Errorf("%w: %q", ErrIndexNotFound, h.ix.name)
	}
	return nil
}

// Namespace returns a handle to the namespace called name; "" and
// "__default__" both name the default namespace. It does no I/O, and the
// namespace need not exist: the first Upsert creates it. An invalid name
// (longer than MaxNamespaceNameBytes, or holding a NUL byte) makes every
// call on the handle return an *ArgumentError; Name then returns it as
// given, so that passing it on to an Index method fails the same way
// rather than naming the default namespace.
func (h *Index) Namespace(name string) *Namespace {
	canon, err := canonicalNamespace(name)
	if err != nil {
		canon = name
	}
	return &Namespace{index: h, name: canon, nameErr: err}
}

// NamespaceDescription describes a namespace.
type NamespaceDescription struct {
	Name        string    // canonical: the default namespace is DefaultNamespace
	RecordCount int64     // live records
	Bytes       int64     // accounted size (ids, metadata as JSON, values): the base of query read units
	ReadUnits   int64     // cumulative read units since creation
	WriteUnits  int64     // cumulative write units since creation
	CreatedAt   time.Time // creation time; DeleteAll keeps it
	Hot         bool      // whether its vectors are loaded in memory
	MemoryBytes int64     // approximate memory held by its hot segment: vectors, IVF lists, metadata index
	// IVF describes its IVF index, nil if it has none (yet); for a cold
	// namespace, the stored one.
	IVF *IVFDescription
	// Quota is the namespace's own quota (zero fields: the default,
	// Options.NamespaceQuota).
	Quota Quota
}

func (ns *namespaceState) describe() NamespaceDescription {
	d := NamespaceDescription{
		Name:        ns.name,
		RecordCount: ns.records.Load(),
		Bytes:       int64(ns.bytes.Load()),
		ReadUnits:   int64(ns.usage.Reads()),
		WriteUnits:  int64(ns.usage.Writes()),
		CreatedAt:   ns.createdAt,
	}
	if q := ns.quota.Load(); q != nil {
		d.Quota = *q
	}
	if seg := ns.seg.Load(); seg != nil {
		d.Hot = true
		d.MemoryBytes = seg.AccountedBytes()
		seg.RLock()
		if st := seg.IVFLocked(); st != nil {
			d.IVF = describeIVF(st)
		}
		seg.RUnlock()
	} else {
		d.IVF = ns.storedIVF()
	}
	return d
}

// CreateNamespace creates an empty namespace. It returns
// ErrNamespaceExists if it exists already. Creating one explicitly is
// optional: the first Upsert into a namespace creates it.
func (h *Index) CreateNamespace(ctx context.Context, name string) (NamespaceDescription, error) {
	canon, err := h.beginNamed(ctx, name)
	if err != nil {
		return NamespaceDescription{}, err
	}
	defer h.db.leave()
	if err := h.db.disk.Admit(catalogEntryBytes); err != nil {
		return NamespaceDescription{}, err
	}
	ix := h.ix
	ix.gate.RLock()
	defer ix.gate.RUnlock()
	if err := h.check(ctx); err != nil {
		return NamespaceDescription{}, err
	}
	unlock := ix.lockName(canon)
	defer unlock()
	if ix.lookup(canon) != nil {
		return NamespaceDescription{}, fmt.Errorf("%w: %q", ErrNamespaceExists, canon)
	}
	ns, err := ix.newNamespace(ctx, canon, time.Now(), &usage.Counters{})
	if err != nil {
		return NamespaceDescription{}, err
	}
	err = h.db.store.Update(ctx, func(t *storage.Txn) error {
		return ix.putNamespace(t, ns, storage.Stats{})
	})
	if err != nil {
		return NamespaceDescription{}, storageErr(err)
	}
	ix.publish(ns)
	return ns.describe(), nil
}

// DescribeNamespace describes the namespace called name, or returns
// ErrNamespaceNotFound. It does not load the namespace.
func (h *Index) DescribeNamespace(ctx context.Context, name string) (NamespaceDescription, error) {
	canon, err := h.beginNamed(ctx, name)
	if err != nil {
		return NamespaceDescription{}, err
	}
	defer h.db.leave()
	ns := h.ix.lookup(canon)
	if ns == nil {
		return NamespaceDescription{}, fmt.Errorf("%w: %q", ErrNamespaceNotFound, canon)
	}
	return ns.describe(), nil
}

// ListNamespacesRequest holds the parameters of ListNamespaces: the page
// of namespaces to return.
type ListNamespacesRequest struct {
	Prefix          string // only names starting with Prefix
	Limit           int    // page size, 1 to MaxListLimit; 0 means DefaultListLimit
	PaginationToken string // NextToken of the previous page; "" for the first
}

// ListNamespacesResult is what ListNamespaces returns: one page of
// namespaces, in bytewise name order.
type ListNamespacesResult struct {
	Namespaces []NamespaceDescription
	NextToken  string // "" on the last page
	TotalCount int    // namespaces matching Prefix, across all pages
}

// Pagination tokens are opaque to callers: base64 of a kind byte and the
// last name or id returned; a listing resumes after that name or id. The
// kind byte rejects a namespace token given to List and the reverse; a
// token used with another namespace or prefix is harmless, since it only
// sets where the listing of the caller's own range resumes.
const (
	tokenNamespaces byte = 'n'
	tokenIDs        byte = 'i'
	tokenMetadata   byte = 'm'
)

func encodeToken(kind byte, last string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{kind}, last...))
}

func decodeToken(kind byte, tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != kind {
		return "", argErr("paginationToken", tok, "not a token this listing returned")
	}
	return string(b[1:]), nil
}

func listLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultListLimit, nil
	case limit < 0 || limit > MaxListLimit:
		return 0, argErrf("limit", limit, "must be 1 to %d (0 means %d)", MaxListLimit, DefaultListLimit)
	}
	return limit, nil
}

// ListNamespaces returns a page of the index's namespaces in bytewise name
// order. It loads none of them.
func (h *Index) ListNamespaces(ctx context.Context, opts ListNamespacesRequest) (ListNamespacesResult, error) {
	limit, err := listLimit(opts.Limit)
	if err != nil {
		return ListNamespacesResult{}, err
	}
	after, err := decodeToken(tokenNamespaces, opts.PaginationToken)
	if err != nil {
		return ListNamespacesResult{}, err
	}
	if err := h.begin(ctx); err != nil {
		return ListNamespacesResult{}, err
	}
	defer h.db.leave()
	var page ListNamespacesResult
	var names []*namespaceState
	h.ix.namespaces.Range(func(k, v any) bool {
		name := k.(string)
		if strings.HasPrefix(name, opts.Prefix) {
			page.TotalCount++
			if opts.PaginationToken == "" || name > after {
				names = append(names, v.(*namespaceState))
			}
		}
		return true
	})
	slices.SortFunc(names, func(a, b *namespaceState) int { return strings.Compare(a.name, b.name) })
	if len(names) > limit {
		names = names[:limit]
		page.NextToken = encodeToken(tokenNamespaces, names[limit-1].name)
	}
	page.Namespaces = make([]NamespaceDescription, len(names))
	for i, ns := range names {
		page.Namespaces[i] = ns.describe()
	}
	return page, nil
}

// Namespaces iterates over the index's namespaces whose names start with
// prefix, in bytewise order, one ListNamespaces page at a time. It stops
// at the first error, which it yields.
func (h *Index) Namespaces(ctx context.Context, prefix string) iter.Seq2[NamespaceDescription, error] {
	return func(yield func(NamespaceDescription, error) bool) {
		opts := ListNamespacesRequest{Prefix: prefix}
		for {
			page, err := h.ListNamespaces(ctx, opts)
			if err != nil {
				yield(NamespaceDescription{}, err)
				return
			}
			for _, d := range page.Namespaces {
				if !yield(d, nil) {
					return
				}
			}
			if page.NextToken == "" {
				return
			}
			opts.PaginationToken = page.NextToken
		}
	}
}

// DeleteNamespace deletes the namespace called name and all its records,
// or returns ErrNamespaceNotFound. It returns once the namespace is gone
// from the catalog, durably: from then on the namespace reads as empty and
// a namespace created under the same name starts empty. The data is
// removed in the background without blocking other namespaces' writes.
func (h *Index) DeleteNamespace(ctx context.Context, name string) error {
	canon, err := h.beginNamed(ctx, name)
	if err != nil {
		return err
	}
	defer h.db.leave()
	found, _, err := h.ix.dropNamespace(ctx, canon, false)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: %q", ErrNamespaceNotFound, canon)
	}
	return nil
}

// IndexStats summarises an index.
type IndexStats struct {
	Dimension        int
	Metric           Metric
	TotalRecordCount int64
	Namespaces       map[string]NamespaceStats // by canonical name
}

// NamespaceStats is one namespace's entry in IndexStats.
type NamespaceStats struct {
	RecordCount int64
}

// DescribeStats returns the index's record counts, per namespace and in
// total. It loads no namespace.
func (h *Index) DescribeStats(ctx context.Context) (IndexStats, error) {
	if err := h.begin(ctx); err != nil {
		return IndexStats{}, err
	}
	defer h.db.leave()
	st := IndexStats{Dimension: h.ix.dim, Metric: h.ix.metric, Namespaces: make(map[string]NamespaceStats)}
	h.ix.namespaces.Range(func(k, v any) bool {
		n := v.(*namespaceState).records.Load()
		st.Namespaces[k.(string)] = NamespaceStats{RecordCount: n}
		st.TotalRecordCount += n
		return true
	})
	return st, nil
}
