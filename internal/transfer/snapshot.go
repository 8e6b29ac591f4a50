package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/stream"
)

// Namespace names the namespace an export reads: its storage ids and what
// the header says of it.
type Namespace struct {
	IndexID     uint32
	NamespaceID uint32
	Index       string // the index's name
	Dimension   int
	Metric      string
	Name        string // the namespace's name
}

// Export writes the namespace ns as t sees it through sink: its counters
// give the header's record count, then every record in id order with its
// metadata. The caller has checked that ns is live in t. Stored data
// that does not add up fails it with a *DataError; the sink is aborted on
// any failure after Begin.
func Export(ctx context.Context, t *storage.Txn, ns *Namespace, sink Sink) (Totals, error) {
	v, _, err := t.GetCopy(storage.StatsKey(ns.IndexID, ns.NamespaceID))
	if err != nil {
		return Totals{}, err
	}
	st, err := storage.DecodeStats(v)
	if err != nil {
		return Totals{}, dataErr("counters of %q: %v", ns.Name, err)
	}
	err = sink.Begin(&Header{
		Format: int(stream.Version), Vectordb: moduleVersion(), CreatedAt: time.Now().UTC(),
		Index: ns.Index, Dimension: ns.Dimension, Metric: ns.Metric, Namespace: ns.Name, Records: int64(st.Records),
	})
	if err != nil {
		return Totals{}, err
	}
	mdPrefix := storage.MetadataPrefix(ns.IndexID, ns.NamespaceID)
	cur, err := t.Cursor(mdPrefix, nil)
	if err != nil {
		sink.Abort()
		return Totals{}, err
	}
	defer cur.Close()
	var mdKey, mdJSON []byte
	n := 0
	err = t.Iterate(storage.IterOptions{Prefix: storage.VectorPrefix(ns.IndexID, ns.NamespaceID)}, func(k, val []byte) (bool, error) {
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		id, err := storage.RecordIDFromKey(k)
		if err != nil {
			return false, err
		}
		view, err := storage.ParseVector(val)
		if err != nil {
			return true, err
		}
		if view.Dim != ns.Dimension {
			return true, dataErr("record %q has dimension %d in an index of dimension %d", id, view.Dim, ns.Dimension)
		}
		// The metadata range is in id order too: advance to this id.
		mdKey = append(append(mdKey[:0], mdPrefix...), id...)
		for cur.Valid() && bytes.Compare(cur.Key(), mdKey) < 0 {
			cur.Next()
		}
		mdJSON = mdJSON[:0]
		if cur.Valid() && bytes.Equal(cur.Key(), mdKey) {
			err := cur.Value(func(b []byte) error {
				md, _, err := storage.DecodeMetadata(b)
				if err != nil {
					return err
				}
				mdJSON, err = json.Marshal(md)
				return err
			})
			if err != nil {
				return true, err
			}
		}
		return true, sink.Add(id, &view, mdJSON)
	})
	if err == nil && int64(n) != int64(st.Records) {
		err = dataErr("namespace %q holds %d records, its counter says %d", ns.Name, n, st.Records)
	}
	if err != nil {
		sink.Abort()
		return Totals{}, err
	}
	return sink.End()
}
