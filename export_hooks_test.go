package vectordb

// This file exports, for the external test package vectordb_test only,
// the few internals its tests observe, and the helpers that white-box
// and external tests share. It is the usual export_test.go of Go
// packages; that name is taken here by the tests of Export.

import (
	"context"
	"testing"

	"github.com/vectordb-go/vectordb/internal/record"
	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/transfer"
)

// The record helpers of helpers_test.go, for the tests of both packages.
var (
	UpsertRecords = upsertRecords
	FetchAll      = fetchAll
	SameRecords   = sameRecords
	ExportBytes   = exportBytes
	ExportWith    = exportWith
)

// PendingDrops reports how many drops db's janitor has yet to complete.
func PendingDrops(db *DB) (int, error) { return db.pendingDrops() }

// Snapshot captures everything a call could change in db (see snapshot).
func Snapshot(t *testing.T, db *DB) map[string]string { return snapshot(t, db) }

// SetFaultHook installs hook on db's store (nil removes it).
func SetFaultHook(db *DB, hook func(op string) error) { db.store.SetFaultHook(hook) }

// StageImport runs an import of recs into the namespace name of ix that
// stages and writes its records, then stops before its last transaction,
// as if its process died there.
func StageImport(ctx context.Context, ix *Index, name string, recs []Record) error {
	im := &importer{ix: ix.ix, src: &transfer.StreamSource{}}
	if err := im.stage(ctx, name); err != nil {
		return err
	}
	im.startWriter(ctx)
	for _, rec := range recs {
		var p record.Prepared
		if err := prepareRecord(&rec, ix.ix, &p); err != nil {
			return err
		}
		if err := im.add(p, 0); err != nil {
			return err
		}
	}
	im.flush()
	return im.stopWriter()
}

// StagingKeys counts db's staging keys: one per import under way or
// interrupted.
func StagingKeys(db *DB) int {
	n := 0
	db.store.View(func(t *storage.Txn) error {
		return t.Iterate(storage.IterOptions{Prefix: storage.StagingPrefix(), KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	return n
}
