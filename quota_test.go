package vectordb

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func quotaRecords(n, from int) []Record {
	var recs []Record
	for i := range n {
		recs = append(recs, Record{ID: fmt.Sprintf("q%04d", from+i), Values: fill(4, float32(from+i+1))})
	}
	return recs
}

func wantQuotaError(t *testing.T, err error, limit string, max, would int64) {
	t.Helper()
	var qe *QuotaError
	if !errors.As(err, &qe) || !errors.Is(err, ErrQuotaExceeded) || qe.Limit != limit || qe.Max != max || qe.Would != would {
		t.Fatalf("got %v, want a QuotaError on %s (max %d, would %d)", err, limit, max, would)
	}
}

func TestQuotaRecords(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir, nil)
	ix := mustIndex(t, db, "q", 4, Euclidean)
	h := ix.Namespace("t")
	if err := ix.SetNamespaceQuota(ctx, "t", Quota{MaxRecords: 10}); !errors.Is(err, ErrNamespaceNotFound) {
		t.Fatalf("quota on a missing namespace: %v", err)
	}
	if _, err := h.Upsert(ctx, quotaRecords(8, 0)); err != nil {
		t.Fatal(err)
	}
	if err := ix.SetNamespaceQuota(ctx, "t", Quota{MaxRecords: 10}); err != nil {
		t.Fatal(err)
	}
	// 8 + 3 new would be 11: refused whole.
	_, err := h.Upsert(ctx, quotaRecords(3, 8))
	wantQuotaError(t, err, "records", 10, 11)
	if d, _ := ix.DescribeNamespace(ctx, "t"); d.RecordCount != 8 || d.Quota.MaxRecords != 10 {
		t.Fatalf("after a refused write: %+v", d)
	}
	// The catalog entry with a quota still names the namespace for reads.
	if r, err := h.Fetch(ctx, []string{"q0001"}); err != nil || len(r.Records) != 1 {
		t.Fatalf("fetch after setting a quota: %v, %v", r.Records, err)
	}
	// Exactly at the boundary passes; overwrites add no records.
	if _, err := h.Upsert(ctx, quotaRecords(2, 8)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Upsert(ctx, quotaRecords(10, 0)); err != nil {
		t.Fatalf("overwriting at the quota: %v", err)
	}
	_, err = h.Upsert(ctx, quotaRecords(1, 10))
	wantQuotaError(t, err, "records", 10, 11)
	// Deletes pass, and make room.
	if _, err := h.Delete(ctx, []string{"q0000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Upsert(ctx, quotaRecords(1, 10)); err != nil {
		t.Fatal(err)
	}
	// DeleteAll keeps the quota; it survives a reopen.
	if _, err := h.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDir(t, dir, nil)
	defer db.Close()
	ix, _ = db.Index("q")
	h = ix.Namespace("t")
	if d, _ := ix.DescribeNamespace(ctx, "t"); d.Quota.MaxRecords != 10 {
		t.Fatalf("quota after DeleteAll and reopen: %+v", d.Quota)
	}
	_, err = h.Upsert(ctx, quotaRecords(11, 0))
	wantQuotaError(t, err, "records", 10, 11)
	// DeleteNamespace removes it with the namespace.
	if err := ix.DeleteNamespace(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Upsert(ctx, quotaRecords(11, 0)); err != nil {
		t.Fatalf("a re-created namespace kept the old quota: %v", err)
	}
	if err := ix.SetNamespaceQuota(ctx, "t", Quota{MaxRecords: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative quota: %v", err)
	}
}

func TestQuotaBytesAndDefault(t *testing.T) {
	db := openMemWith(t, func(o *Options) { o.NamespaceQuota = Quota{MaxBytes: 2000} })
	ix := mustIndex(t, db, "b", 4, Euclidean)
	h := ix.Namespace("t")
	// Each record: a 5-byte id and 16 bytes of values.
	var total int64
	for i := 0; ; i++ {
		_, err := h.Upsert(ctx, quotaRecords(1, i))
		d, _ := ix.DescribeNamespace(ctx, "t")
		if err != nil {
			wantQuotaError(t, err, "bytes", 2000, d.Bytes+(d.Bytes/int64(i)))
			if d.Bytes != total {
				t.Fatalf("refused write changed the size: %d -> %d", total, d.Bytes)
			}
			break
		}
		total = d.Bytes
	}
	if total > 2000 || total < 2000-100 {
		t.Fatalf("filled to %d bytes under a 2000-byte quota", total)
	}
	// Update by filter growing the metadata is refused too.
	_, err := h.Update(ctx, UpdateRequest{ID: "q0000", SetMetadata: Metadata{"note": "a long enough string to pass the quota"}})
	if !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("update past the byte quota: %v", err)
	}
	// A namespace's own quota overrides the default.
	if err := ix.SetNamespaceQuota(ctx, "t", Quota{MaxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Upsert(ctx, quotaRecords(50, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("", &Options{InMemory: true, NamespaceQuota: Quota{MaxRecords: -5}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("negative default quota: %v", err)
	}
}

// TestQuotaConcurrentWriters: many writers racing for the last slots of a
// quota fill it exactly, never past it.
func TestQuotaConcurrentWriters(t *testing.T) {
	db := openMem(t)
	ix := mustIndex(t, db, "c", 4, Euclidean)
	h := ix.Namespace("t")
	if _, err := h.Upsert(ctx, quotaRecords(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := ix.SetNamespaceQuota(ctx, "t", Quota{MaxRecords: 100}); err != nil {
		t.Fatal(err)
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				_, err := h.Upsert(ctx, quotaRecords(3, 1+(w*20+i)*3))
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrQuotaExceeded):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	d, _ := ix.DescribeNamespace(ctx, "t")
	if d.RecordCount != 1+3*ok.Load() || d.RecordCount > 100 || d.RecordCount < 98 {
		t.Fatalf("%d records after %d accepted batches of 3 (%d refused)", d.RecordCount, ok.Load(), refused.Load())
	}
}
