package vectordb_test

// The external tests' (package vectordb_test) short names for the shared
// helpers of internal/testutil and internal/testutil/dbtest; the white-box
// tests have theirs in helpers_test.go.

import (
	"context"
	"testing"

	"github.com/vectordb-go/vectordb"
	"github.com/vectordb-go/vectordb/internal/testutil"
	"github.com/vectordb-go/vectordb/internal/testutil/dbtest"
)

var ctx = context.Background()

var (
	testOptions     = dbtest.Options
	openMem         = dbtest.OpenMem
	openMemWith     = dbtest.OpenMemWith
	openDir         = dbtest.OpenDir
	mustIndex       = dbtest.MustIndex
	mustIndexHandle = dbtest.MustIndexHandle
	wantErr         = dbtest.WantErr
	errStream       = dbtest.ErrStream
	isStreamErr     = dbtest.IsStreamErr
	fill            = testutil.Fill
	randVec         = testutil.RandVec
	bitsEqual       = testutil.BitsEqual
	snapshot        = vectordb.Snapshot
	upsertRecords   = vectordb.UpsertRecords
	fetchAll        = vectordb.FetchAll
	sameRecords     = vectordb.SameRecords
	exportBytes     = vectordb.ExportBytes
	exportWith      = vectordb.ExportWith
)

// waitDrops waits until the janitor has finished every pending drop.
func waitDrops(t testing.TB, db *vectordb.DB) {
	t.Helper()
	var n int
	var err error
	testutil.Eventually(t, testutil.Patience, "every pending drop is done", func() bool {
		n, err = vectordb.PendingDrops(db)
		return err != nil || n == 0
	})
	if err != nil {
		t.Fatal(err)
	}
}
