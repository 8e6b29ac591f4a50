package transfer

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"

	"github.com/vectordb-go/vectordb/internal/storage"
	"github.com/vectordb-go/vectordb/internal/stream"
)

// OpenBackup reads the preamble and header of a backup from r. The caller
// checks the header, writes the pairs with RestorePairs, and closes the
// reader.
func OpenBackup(r io.Reader) (*stream.Reader, *BackupHeader, error) {
	var hdr BackupHeader
	sr, err := openStream(r, stream.KindBackup, &hdr)
	if err != nil {
		return nil, nil, err
	}
	return sr, &hdr, nil
}

// RestorePairs writes the backup's keys and values from sr into st, in
// transactions of a TxnShare of its limit. The keys must come in strictly
// increasing order.
func RestorePairs(ctx context.Context, st *storage.Store, sr *stream.Reader) error {
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
		if n%checkEvery == 0 {
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
		if len(batch) > 0 && (size+cost >= st.MaxTxnBytes()/TxnShare || int64(len(batch)+1) >= st.MaxTxnEntries()/TxnShare) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, [2][]byte{key, val})
		size += cost
	}
}

// MoveInto renames the directory tmp to dir, which is absent or empty,
// and syncs dir's parent so that the rename is durable.
func MoveInto(tmp, dir string) error {
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(dir)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
