package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vectordb-go/vectordb"
)

// metrics are what GET /metrics exposes, in Prometheus' text format: the
// requests by route and status and their latencies, counted as they are
// served, and the database's state, read at each scrape: memory (hot
// namespaces, their bytes, the budget, evictions) and every namespace's
// cumulative read and write units, as the database persists them.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(db *vectordb.DB) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vectordb_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vectordb_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10), // 0.1 ms to 26 s
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.requests, m.latency, &dbCollector{db: db})
	return m
}

// watch adds the handler's own shared resources, read at each scrape:
// the response bytes reserved (respbudget.go) and the transfers running.
func (m *metrics) watch(h *Handler) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vectordb_http_response_bytes_reserved", Help: "Response memory reserved by requests in flight (Config.MaxResponseBytes bounds it).",
		}, func() float64 {
			if h.responses == nil {
				return 0
			}
			used, _ := h.responses.inUse()
			return float64(used)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vectordb_http_transfers_running", Help: "Namespace exports and imports running (Config.MaxTransfers bounds them).",
		}, func() float64 {
			h.transfers.mu.Lock()
			defer h.transfers.mu.Unlock()
			return float64(h.transfers.running)
		}),
	)
}

// observe counts a served request. route is the mux pattern, so that the
// label has a bounded number of values.
func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// dbCollector reads the database's state at each scrape.
type dbCollector struct{ db *vectordb.DB }

var (
	descHot       = prometheus.NewDesc("vectordb_hot_namespaces", "Namespaces with their vectors in memory.", nil, nil)
	descHotBytes  = prometheus.NewDesc("vectordb_hot_bytes", "Memory accounted to hot namespaces.", nil, nil)
	descBudget    = prometheus.NewDesc("vectordb_memory_budget_bytes", "The memory budget (0: none).", nil, nil)
	descHotBudget = prometheus.NewDesc("vectordb_hot_budget_bytes", "The budget's share for hot namespaces.", nil, nil)
	descEvictions = prometheus.NewDesc("vectordb_evictions_total", "Namespaces evicted to cold since the database opened.", nil, nil)
	descRecords   = prometheus.NewDesc("vectordb_namespace_records", "Records in a namespace.", []string{"index", "namespace"}, nil)
	descReadUnits = prometheus.NewDesc("vectordb_namespace_read_units_total", "Read units a namespace has used.", []string{"index", "namespace"}, nil)
	descWrite     = prometheus.NewDesc("vectordb_namespace_write_units_total", "Write units a namespace has used.", []string{"index", "namespace"}, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHot, descHotBytes, descBudget, descHotBudget, descEvictions, descRecords, descReadUnits, descWrite} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.db.Stats(context.Background())
	if err != nil {
		return // closed: nothing to report
	}
	ch <- prometheus.MustNewConstMetric(descHot, prometheus.GaugeValue, float64(st.HotNamespaces))
	ch <- prometheus.MustNewConstMetric(descHotBytes, prometheus.GaugeValue, float64(st.HotBytes))
	ch <- prometheus.MustNewConstMetric(descBudget, prometheus.GaugeValue, float64(st.MemoryBudget))
	ch <- prometheus.MustNewConstMetric(descHotBudget, prometheus.GaugeValue, float64(st.HotBudget))
	ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue, float64(st.Evictions))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ixs, err := c.db.ListIndexes(ctx)
	if err != nil {
		return
	}
	// A series reported twice fails the whole scrape: labelValue is
	// injective, and seen drops a namespace that a listing racing with a
	// create or a drop returns twice.
	type series struct{ ix, ns string }
	seen := make(map[series]bool)
	for _, d := range ixs {
		ix, err := c.db.Index(d.Name)
		if err != nil {
			continue // deleted meanwhile
		}
		// Describing namespaces reads counters only; cold ones stay cold.
		for nd, err := range ix.Namespaces(ctx, "") {
			if err != nil {
				break
			}
			ixName, nsName := labelValue(d.Name), labelValue(nd.Name)
			if seen[series{ixName, nsName}] {
				continue
			}
			seen[series{ixName, nsName}] = true
			for _, m := range []struct {
				desc *prometheus.Desc
				kind prometheus.ValueType
				v    int64
			}{
				{descRecords, prometheus.GaugeValue, nd.RecordCount},
				{descReadUnits, prometheus.CounterValue, nd.ReadUnits},
				{descWrite, prometheus.CounterValue, nd.WriteUnits},
			} {
				if metric, err := prometheus.NewConstMetric(m.desc, m.kind, float64(m.v), ixName, nsName); err == nil {
					ch <- metric
				}
			}
		}
	}
}

// labelValue turns a name into a label value. Label values must be
// UTF-8 and names need not be (the library takes any bytes but NUL), so
// invalid bytes are written as \xNN and a backslash as \\: an escaping
// that can be undone, so that two names never share a label (a scrape
// fails if two series do), and that leaves every UTF-8 name without a
// backslash as it is.
func labelValue(name string) string {
	if utf8.ValidString(name) && !strings.Contains(name, `\`) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); {
		r, n := utf8.DecodeRuneInString(name[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, name[i])
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteString(name[i : i+n])
		}
		i += n
	}
	return b.String()
}

// serveMetrics answers GET /metrics; with keys configured it needs an
// unscoped one (the namespace names are the tenants').
func (h *Handler) serveMetrics(w http.ResponseWriter, r *http.Request) {
	k, ok := h.authenticate(r)
	switch {
	case !ok:
		writeControlError(w, errorf(http.StatusUnauthorized, 16, "UNAUTHENTICATED", "invalid or missing Api-Key"))
	case k.Index != "":
		writeControlError(w, errForbidden)
	default:
		h.metricsHandler.ServeHTTP(w, r)
	}
}

// newMetricsHandler returns the Prometheus handler of m.
func newMetricsHandler(m *metrics) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
