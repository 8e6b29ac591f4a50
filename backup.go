package vectordb

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/stream"
)

// Whole-database backups. A backup is a stream (internal/stream) whose
// header is backupHeader in JSON and whose items are the database's keys
// and values as one snapshot holds them, in key order, each a uvarint key
// length, the key, then the value. Data that the snapshot shows as
// deleted but not yet reclaimed (pending drops) or not yet imported
// (staging) is left out. Restore writes the pairs into a new directory
// beside the target, checks the result with Check, and only then renames
// it into place.

// backupHeader is the header of a backup.
type backupHeader struct {
	Format        int           `json:"format"`        // stream.Version
	StorageFormat uint32        `json:"storageFormat"` // storage.FormatVersion
	Vectordb      string        `json:"vectordb"`      // the module version that wrote it
	CreatedAt     time.Time     `json:"createdAt"`
	Indexes       []BackupIndex `json:"indexes"`
}

// BackupIndex describes one index of a backup.
type BackupIndex struct {
	Name       string `json:"name"`
	Dimension  int    `json:"dimension"`
	Metric     Metric `json:"metric"`
	Namespaces int    `json:"namespaces"`
}

// BackupResult is what Backup and Restore return.
type BackupResult struct {
	CreatedAt time.Time     // when the backup's snapshot was taken
	Indexes   []BackupIndex // the catalog at that moment
	Keys      int64         // storage keys written or read
	RawBytes  int64         // their bytes, uncompressed
	Bytes     int64         // bytes of the stream (0 for a restore)
}

// Backup writes a consistent snapshot of the whole database to w as one
// compressed, checksummed stream, which Restore turns back into a database
// directory: every index and namespace with its records, counters, quotas
// and stored IVF indexes. Writes keep flowing while it runs; the backup
// holds the database as it was when Backup began. A failed backup leaves
// w with a truncated stream, which Restore refuses. Like Export, it holds
// a snapshot while it runs, so reclaiming a large deleted namespace's
// space waits for it, and it takes no scheduler slot.
//
// Backups are always full: the storage engine's versions would give
// changed keys cheaply, but not the keys that a namespace drop removed
// whole, so an incremental stream could not say what to delete.
func (db *DB) Backup(ctx context.Context, w io.Writer) (BackupResult, error) {
	if err := db.enter(); err != nil {
		return BackupResult{}, err
	}
	defer db.leave()
	// Read units are kept in memory and flushed now and then: flush them
	// so that the snapshot has them up to date.
	if err := db.flushReadUnits(ctx); err != nil {
		return BackupResult{}, storageErr(err)
	}
	t := db.store.Snapshot()
	defer t.Discard()
	info, err := backupSnapshot(ctx, t, w)
	return info, storageErr(err)
}

func backupSnapshot(ctx context.Context, t *storage.Txn, w io.Writer) (BackupResult, error) {
	hdr := backupHeader{Format: int(stream.Version), StorageFormat: storage.FormatVersion,
		Vectordb: moduleVersion(), CreatedAt: time.Now().UTC()}
	skip, err := unreachablePrefixes(t)
	if err != nil {
		return BackupResult{}, err
	}
	if hdr.Indexes, err = backupCatalog(t); err != nil {
		return BackupResult{}, err
	}
	raw, err := json.Marshal(hdr)
	if err != nil {
		return BackupResult{}, err
	}
	sw, err := stream.NewWriter(w, stream.KindBackup, raw)
	if err != nil {
		return BackupResult{}, err
	}
	n := 0
	err = t.Iterate(storage.IterOptions{}, func(k, v []byte) (bool, error) {
		if n++; n%loadCheckEvery == 0 {
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
		return BackupResult{}, err
	}
	tot, err := sw.Close()
	return BackupResult{CreatedAt: hdr.CreatedAt, Indexes: hdr.Indexes, Keys: tot.Items, RawBytes: tot.RawBytes, Bytes: tot.Bytes}, err
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
func backupCatalog(t *storage.Txn) ([]BackupIndex, error) {
	var out []BackupIndex
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
		out = append(out, BackupIndex{Name: name, Dimension: r.Dimension, Metric: Metric(r.Metric)})
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

// Restore rebuilds a database directory at dir from a stream written by
// Backup. dir must not exist or be empty; Restore refuses anything else
// with an *ArgumentError. It writes into a new directory beside dir,
// verifies the result with Check, and renames it to dir only then: a
// damaged or truncated stream (a *StreamError), a cancelled ctx or a crash
// leaves dir as it was (a crash may leave the temporary directory, named
// dir + ".restore-*", behind). Open dir afterwards to use the database.
func Restore(ctx context.Context, dir string, r io.Reader) (BackupResult, error) {
	if dir == "" {
		return BackupResult{}, argErr("dir", dir, "is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return BackupResult{}, argErr("dir", dir, err.Error())
	}
	if filepath.Dir(abs) == abs {
		return BackupResult{}, argErr("dir", dir, "must not be a file system root")
	}
	dir = abs
	switch entries, err := os.ReadDir(dir); {
	case err == nil && len(entries) > 0:
		return BackupResult{}, argErr("dir", dir, "must be empty or not exist")
	case err != nil && !os.IsNotExist(err):
		return BackupResult{}, argErr("dir", dir, err.Error())
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return BackupResult{}, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".restore-*")
	if err != nil {
		return BackupResult{}, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // as Open would create it
		os.RemoveAll(tmp)
		return BackupResult{}, err
	}
	info, err := restoreInto(ctx, tmp, r)
	if err == nil {
		err = moveInto(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return BackupResult{}, err
	}
	return info, nil
}

// restoreInto writes the backup read from r into the empty directory dir
// and checks the database it makes.
func restoreInto(ctx context.Context, dir string, r io.Reader) (BackupResult, error) {
	var hdr backupHeader
	sr, err := openStream(r, stream.KindBackup, &hdr)
	if err != nil {
		return BackupResult{}, err
	}
	defer sr.Close()
	if hdr.StorageFormat != storage.FormatVersion {
		return BackupResult{}, fmt.Errorf("%w: the backup holds storage format %d, this build reads %d", ErrIncompatible, hdr.StorageFormat, storage.FormatVersion)
	}
	// The defaults, unsynced: one Sync at the end makes it all durable.
	o, err := (&Options{Durability: DurabilityProcess}).withDefaults()
	if err != nil {
		return BackupResult{}, err
	}
	st, err := storage.Open(o.storageOptions(dir))
	if err != nil {
		return BackupResult{}, err
	}
	err = restorePairs(ctx, st, sr)
	if err == nil {
		err = st.Sync()
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BackupResult{}, storageErr(err)
	}
	db, err := Open(dir, &Options{IVFMinRecords: -1})
	if err != nil {
		return BackupResult{}, badContent("does not open", err)
	}
	err = db.Check(ctx)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return BackupResult{}, badContent("fails its check", err)
	}
	tot := sr.Totals()
	return BackupResult{CreatedAt: hdr.CreatedAt, Indexes: hdr.Indexes, Keys: tot.Items, RawBytes: tot.RawBytes}, nil
}

// badContent reports a restored database that does not open or check:
// the stream's content was wrong (a *StreamError) if the error is about
// the data; a cancelled context or a system error passes through.
func badContent(what string, err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrIncompatible) {
		return &StreamError{Reason: "the restored database " + what, Block: -1, Item: -1, Err: err}
	}
	return err
}

// restorePairs writes the stream's keys and values into st in
// transactions of a quarter of its limit.
func restorePairs(ctx context.Context, st *storage.Store, sr *stream.Reader) error {
	var batch [][2][]byte
	var size int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := st.Update(ctx, func(t *storage.Txn) error {
			for _, kv := range batch {
				if err := t.Set(kv[0], kv[1]); err != nil {
					return err
				}
			}
			return nil
		})
		batch, size = batch[:0], 0
		return err
	}
	var last []byte
	for n := 0; ; n++ {
		item, err := sr.Next()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fromStream(err, -1)
		}
		if n%loadCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		klen, k := binary.Uvarint(item)
		if k <= 0 || klen == 0 || klen > uint64(len(item)-k) {
			return &StreamError{Reason: "malformed key", Block: sr.Block(), Item: int64(n)}
		}
		key := bytes.Clone(item[k : k+int(klen)])
		if n > 0 && bytes.Compare(key, last) <= 0 {
			return &StreamError{Reason: "keys out of order", Block: sr.Block(), Item: int64(n)}
		}
		last = key
		val := bytes.Clone(item[k+int(klen):])
		cost := int64(len(key)+len(val)) + storage.TxnEntryOverhead
		if len(batch) > 0 && (size+cost >= st.MaxTxnBytes()/importTxnShare || int64(len(batch)+1) >= st.MaxTxnEntries()/importTxnShare) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, [2][]byte{key, val})
		size += cost
	}
}

// moveInto renames the directory tmp to dir, which is absent or empty.
func moveInto(tmp, dir string) error {
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	// Make the rename durable.
	if d, err := os.Open(filepath.Dir(dir)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// moduleVersion is the version of the vectordb module in this binary, as
// the Go toolchain recorded it ("(devel)" in a checkout of its own).
func moduleVersion() string {
	const path = "github.com/vectordb-go/vectordb"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == path {
			return bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == path {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}
