package vectordb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/transfer"
)

// Whole-database backups. A backup is a stream of the database's keys and
// values as one snapshot holds them, whose format internal/transfer
// writes and reads. Data that the snapshot shows as deleted but not yet
// reclaimed (pending drops) or not yet imported (staging) is left out.
// Restore writes the pairs into a new directory beside the target, checks
// the result with Check, and only then renames it into place.

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
	if err := db.flusher.Flush(ctx); err != nil {
		return BackupResult{}, storageErr(err)
	}
	t := db.store.Snapshot()
	defer t.Discard()
	hdr, tot, err := transfer.Backup(ctx, t, w)
	if hdr == nil {
		return BackupResult{}, storageErr(err)
	}
	// As the stream's close failing leaves it: the totals, and the error.
	info := BackupResult{CreatedAt: hdr.CreatedAt, Indexes: backupIndexes(hdr.Indexes), Keys: tot.Records, RawBytes: tot.RawBytes, Bytes: tot.Bytes}
	return info, storageErr(err)
}

// backupIndexes converts a backup header's indexes.
func backupIndexes(in []transfer.IndexInfo) []BackupIndex {
	if in == nil {
		return nil
	}
	out := make([]BackupIndex, len(in))
	for i, x := range in {
		out[i] = BackupIndex{Name: x.Name, Dimension: x.Dimension, Metric: Metric(x.Metric), Namespaces: x.Namespaces}
	}
	return out
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
		err = transfer.MoveInto(tmp, dir)
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
	sr, hdr, err := transfer.OpenBackup(r)
	if err != nil {
		return BackupResult{}, fromTransfer(err)
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
	err = fromTransfer(transfer.RestorePairs(ctx, st, sr))
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
	return BackupResult{CreatedAt: hdr.CreatedAt, Indexes: backupIndexes(hdr.Indexes), Keys: tot.Items, RawBytes: tot.RawBytes}, nil
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
