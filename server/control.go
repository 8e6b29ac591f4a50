package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/vectordb-go/vectordb"
)

// The control plane: indexes, in the shape the request's
// X-Pinecone-Api-Version asks for: 2026-07 and later describe an index by
// schema (one dense vector field, "_values") and deployment; earlier
// versions, or none, by dimension, metric and spec. Requests are accepted
// in either shape whatever the header.

// control wraps a control-plane handler with authentication.
func (h *Handler) control(fn func(w http.ResponseWriter, r *http.Request, k *Key) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, ok := h.authenticate(r)
		if !ok {
			writeControlError(w, errorf(http.StatusUnauthorized, 16, "UNAUTHENTICATED", "invalid or missing Api-Key"))
			return
		}
		if err := checkURL(r); err != nil {
			writeControlError(w, err)
			return
		}
		if err := fn(w, r, k); err != nil {
			writeControlError(w, err)
		}
	}
}

// schemaVersion is the first API version of the schema/deployment shape.
const schemaVersion = "2026-07"

// usesSchema reports whether r asks for the schema/deployment shape. API
// versions are dates, YYYY-MM, which compare as strings.
func usesSchema(r *http.Request) bool {
	v := r.Header.Get("X-Pinecone-Api-Version")
	return v != "" && v >= schemaVersion
}

// denseField is the reserved field that holds an index's vectors in the
// schema shape.
const denseField = "_values"

// schemaField is a field of an index schema.
type schemaField struct {
	Type      string          `json:"type"`
	Dimension int             `json:"dimension,omitempty"`
	Metric    vectordb.Metric `json:"metric,omitempty"`
}

type indexSchema struct {
	Fields map[string]schemaField `json:"fields"`
}

type deployment struct {
	DeploymentType string `json:"deployment_type"`
	Cloud          string `json:"cloud,omitempty"`
	Region         string `json:"region,omitempty"`
}

// schemaModel is an index in the 2026-07 shape.
type schemaModel struct {
	Name               string            `json:"name"`
	Host               string            `json:"host"`
	Status             indexStatus       `json:"status"`
	Deployment         deployment        `json:"deployment"`
	Schema             indexSchema       `json:"schema"`
	Tags               map[string]string `json:"tags,omitempty"`
	DeletionProtection string            `json:"deletion_protection"`
}

// indexModel is an index as the control plane describes it.
type indexModel struct {
	Name               string            `json:"name"`
	Dimension          int               `json:"dimension"`
	Metric             vectordb.Metric   `json:"metric"`
	Host               string            `json:"host"`
	Spec               map[string]any    `json:"spec"`
	Status             indexStatus       `json:"status"`
	DeletionProtection string            `json:"deletion_protection"`
	Tags               map[string]string `json:"tags,omitempty"`
	VectorType         string            `json:"vector_type"`
}

type indexStatus struct {
	Ready bool   `json:"ready"`
	State string `json:"state"`
}

// host is the data-plane URL of index name.
func (h *Handler) host(r *http.Request, name string) string {
	base := h.cfg.BaseURL
	if base == "" {
		base = "http://" + r.Host
	}
	return strings.TrimSuffix(base, "/") + "/ix/" + name
}

// model describes index d in the shape r asks for.
func (h *Handler) model(r *http.Request, d vectordb.IndexDescription) any {
	dp := "disabled"
	if d.DeletionProtection {
		dp = "enabled"
	}
	if usesSchema(r) {
		return schemaModel{
			Name: d.Name, Host: h.host(r, d.Name), Status: indexStatus{Ready: true, State: "Ready"},
			Deployment: deployment{DeploymentType: "managed", Cloud: "local", Region: "local"},
			Schema:     indexSchema{Fields: map[string]schemaField{denseField: {Type: "dense_vector", Dimension: d.Dimension, Metric: d.Metric}}},
			Tags:       d.Tags, DeletionProtection: dp,
		}
	}
	return indexModel{
		Name: d.Name, Dimension: d.Dimension, Metric: d.Metric, Host: h.host(r, d.Name),
		Spec:   map[string]any{"serverless": map[string]string{"cloud": "local", "region": "local"}},
		Status: indexStatus{Ready: true, State: "Ready"}, DeletionProtection: dp, Tags: d.Tags, VectorType: "dense",
	}
}

// protection parses deletion_protection: "enabled" or "disabled".
func protection(s string) (*bool, error) {
	switch s {
	case "":
		return nil, nil
	case "enabled", "disabled":
		on := s == "enabled"
		return &on, nil
	}
	return nil, badRequest("deletion_protection must be \"enabled\" or \"disabled\", not %q", s)
}

func (h *Handler) createIndex(w http.ResponseWriter, r *http.Request, k *Key) error {
	if k.Index != "" {
		return errForbidden
	}
	var req struct {
		Name               string            `json:"name"`
		Dimension          int               `json:"dimension"`
		Metric             vectordb.Metric   `json:"metric"`
		DeletionProtection string            `json:"deletion_protection"`
		Tags               map[string]string `json:"tags"`
		VectorType         string            `json:"vector_type"`
		Schema             *indexSchema      `json:"schema"`
	}
	if err := decode(w, r, maxOtherBody, &req); err != nil {
		return err
	}
	if req.Schema != nil {
		// The 2026-07 shape: exactly one dense vector field.
		f, ok := req.Schema.Fields[denseField]
		if len(req.Schema.Fields) != 1 || !ok || f.Type != "dense_vector" {
			return badRequest("schema must hold exactly one field, %q, of type \"dense_vector\"", denseField)
		}
		if req.Dimension != 0 || req.Metric != "" {
			return badRequest("pass dimension and metric in the schema or at the top level, not both")
		}
		req.Dimension, req.Metric = f.Dimension, f.Metric
	}
	if req.VectorType != "" && req.VectorType != "dense" {
		return badRequest("vector_type %q is not supported; only \"dense\"", req.VectorType)
	}
	dp, err := protection(req.DeletionProtection)
	if err != nil {
		return err
	}
	spec := vectordb.CreateIndexRequest{Name: req.Name, Dimension: req.Dimension, Metric: req.Metric, Tags: req.Tags}
	if dp != nil {
		spec.DeletionProtection = *dp
	}
	if _, err := h.db.CreateIndex(r.Context(), spec); err != nil {
		return err
	}
	d, err := h.db.DescribeIndex(r.Context(), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, h.model(r, d))
	return nil
}

func (h *Handler) listIndexes(w http.ResponseWriter, r *http.Request, k *Key) error {
	ds, err := h.db.ListIndexes(r.Context())
	if err != nil {
		return err
	}
	out := []any{}
	for _, d := range ds {
		if k.reachesIndex(d.Name) {
			out = append(out, h.model(r, d))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"indexes": out})
	return nil
}

func (h *Handler) describeIndex(w http.ResponseWriter, r *http.Request, k *Key) error {
	name := r.PathValue("index")
	if !k.reachesIndex(name) {
		return errForbidden
	}
	d, err := h.db.DescribeIndex(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.model(r, d))
	return nil
}

func (h *Handler) configureIndex(w http.ResponseWriter, r *http.Request, k *Key) error {
	if k.Index != "" {
		return errForbidden
	}
	var req struct {
		DeletionProtection string            `json:"deletion_protection"`
		Tags               map[string]string `json:"tags"`
		Schema             json.RawMessage   `json:"schema"`
		Deployment         json.RawMessage   `json:"deployment"`
		ReadCapacity       json.RawMessage   `json:"read_capacity"`
		Spec               json.RawMessage   `json:"spec"`
	}
	if err := decode(w, r, maxOtherBody, &req); err != nil {
		return err
	}
	switch {
	case req.Schema != nil || req.Deployment != nil || req.ReadCapacity != nil || req.Spec != nil:
		return badRequest("only deletion_protection and tags can be configured")
	case req.DeletionProtection == "" && req.Tags == nil:
		return badRequest("nothing to configure: pass deletion_protection or tags")
	}
	dp, err := protection(req.DeletionProtection)
	if err != nil {
		return err
	}
	d, err := h.db.ConfigureIndex(r.Context(), r.PathValue("index"), vectordb.ConfigureIndexRequest{DeletionProtection: dp, Tags: req.Tags})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, h.model(r, d))
	return nil
}

func (h *Handler) deleteIndex(w http.ResponseWriter, r *http.Request, k *Key) error {
	if k.Index != "" {
		return errForbidden
	}
	if err := h.db.DeleteIndex(r.Context(), r.PathValue("index")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
