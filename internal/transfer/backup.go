package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/stream"
)

// BackupHeader is the header of a backup.
type BackupHeader struct {
	Format        int         `json:"format"`        // stream.Version
	StorageFormat uint32      `json:"storageFormat"` // storage.FormatVersion
	Vectordb      string      `json:"vectordb"`      // the module version that wrote it
	CreatedAt     time.Time   `json:"createdAt"`
	Indexes       []IndexInfo `json:"indexes"`
}

// IndexInfo describes one index of a backup, as the vectordb package's
// BackupIndex does (same fields, same JSON).
type IndexInfo struct {
	Name       string `json:"name"`
	Dimension  int    `json:"dimension"`
	Metric     string `json:"metric"`
	Namespaces int    `json:"namespaces"`
}

// Backup writes every key and value t holds to w as a backup stream,
// leaving out pending drops and imports in progress with their data. It
// returns the header it wrote. A failed backup leaves w with a truncated
// stream.
func Backup(ctx context.Context, t *storage.Txn, w io.Writer) (*BackupHeader, Totals, error) {
	hdr := &BackupHeader{Format: int(stream.Version), StorageFormat: storage.FormatVersion,
		Vectordb: moduleVersion(), CreatedAt: time.Now().UTC()}
	skip, err := unreachablePrefixes(t)
	if err != nil {
		return nil, Totals{}, err
	}
	if hdr.Indexes, err = backupCatalog(t); err != nil {
		return nil, Totals{}, err
	}
	raw, err := json.Marshal(hdr)
	if err != nil {
		return nil, Totals{}, err
	}
	sw, err := stream.NewWriter(w, stream.KindBackup, raw)
	if err != nil {
		return nil, Totals{}, err
	}
	n := 0
	err = t.Iterate(storage.IterOptions{}, func(k, v []byte) (bool, error) {
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		for _, p := range skip {
			if bytes.HasPrefix(k, p) {
				return true, nil
			}
		}
		return true, sw.Append(func(b []byte) []byte {
			return append(append(binary.AppendUvarint(b, uint64(len(k))), k...), v...)
		})
	})
	if err != nil {
		sw.Abort()
		return nil, Totals{}, err
	}
	tot, err := sw.Close()
	return hdr, Totals{Records: tot.Items, RawBytes: tot.RawBytes, Bytes: tot.Bytes}, err
}

// unreachablePrefixes lists the key ranges a backup leaves out: pending
// drops and their data, imports in progress and theirs.
func unreachablePrefixes(t *storage.Txn) ([][]byte, error) {
	skip := [][]byte{storage.DropPrefix(), storage.StagingPrefix()}
	err := t.Iterate(storage.IterOptions{Prefix: storage.DropPrefix()}, func(_, v []byte) (bool, error) {
		r, err := storage.DecodeDropRecord(v)
		skip = append(skip, r.Prefixes...)
		return true, err
	})
	if err != nil {
		return nil, err
	}
	err = t.Iterate(storage.IterOptions{Prefix: storage.StagingPrefix(), KeysOnly: true}, func(k, _ []byte) (bool, error) {
		ixID, nsID, err := storage.IDPairFromKey(k)
		skip = append(skip, storage.NamespaceDataPrefix(ixID, nsID))
		return true, err
	})
	return skip, err
}

// backupCatalog describes the indexes t holds.
func backupCatalog(t *storage.Txn) ([]IndexInfo, error) {
	var out []IndexInfo
	byID := map[uint32]int{}
	err := t.Iterate(storage.IterOptions{Prefix: storage.IndexCatalogPrefix()}, func(k, v []byte) (bool, error) {
		name, err := storage.IndexNameFromKey(k)
		if err != nil {
			return false, err
		}
		r, err := storage.DecodeIndexRecord(v)
		if err != nil {
			return false, err
		}
		byID[r.ID] = len(out)
		out = append(out, IndexInfo{Name: name, Dimension: r.Dimension, Metric: r.Metric})
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	err = t.Iterate(storage.IterOptions{Prefix: storage.AllNamespacesPrefix(), KeysOnly: true}, func(k, _ []byte) (bool, error) {
		ixID, _, err := storage.NamespaceFromKey(k)
		if i, ok := byID[ixID]; ok {
			out[i].Namespaces++
		}
		return true, err
	})
	return out, err
}
