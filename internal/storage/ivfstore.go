package storage

import (
	"context"
	"errors"
	"slices"
	"time"
)

// ivfPartBytes caps one stored part of an IVF body.
const ivfPartBytes = 1 << 20

// ReadIVFHeader returns the IVF header of namespace ns of index ix, and
// whether it has one. A header that does not decode gives ErrCorrupt.
func ReadIVFHeader(t *Txn, ix, ns uint32) (IVFHeader, bool, error) {
	v, ok, err := t.GetCopy(IVFHeaderKey(ix, ns))
	if err != nil || !ok {
		return IVFHeader{}, false, err
	}
	h, err := DecodeIVFHeader(v)
	return h, err == nil, err
}

// StoredIVF is a stored IVF index, as ReadIVF decodes it.
type StoredIVF struct {
	Header      IVFHeader
	Centroids   []float32  // NList*Dim
	Assignments []IVFEntry // in id order
}

// ReadIVF reads and decodes the IVF index of namespace ns of index ix, or
// returns nil if it has none. A header, part or body that is missing or
// does not decode gives ErrCorrupt; other errors are the transaction's.
func ReadIVF(t *Txn, ix, ns uint32) (*StoredIVF, error) {
	h, ok, err := ReadIVFHeader(t, ix, ns)
	if err != nil || !ok {
		return nil, err
	}
	// BodyLen is checked against the parts read; it is not trusted for an
	// allocation before that.
	body := make([]byte, 0, min(h.BodyLen, 64<<20))
	for i := range h.Parts {
		p, ok, err := t.GetCopy(IVFPartKey(ix, ns, h.Gen, i))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, corrupt("ivf body part missing")
		}
		body = append(body, p...)
	}
	cents, es, err := DecodeIVFBody(&h, body)
	if err != nil {
		return nil, err
	}
	return &StoredIVF{Header: h, Centroids: cents, Assignments: es}, nil
}

// WriteIVF stores an IVF index of namespace ns of index ix: h describes
// it (its Gen and body fields are set here) and body is its
// EncodeIVFBody. It writes the body's parts under a new generation, then
// the header naming it, then deletes every other generation's parts (see
// the layout at the top of ivf.go). Every transaction is committed by
// write, which holds the caller's locks around Update (and may refuse,
// for a namespace dropped meanwhile). stored reports whether the header
// was committed: the new index is then in place even if err reports that
// removing the old generations failed.
func (s *Store) WriteIVF(ctx context.Context, ix, ns uint32, h IVFHeader, body []byte, write func(fn func(*Txn) error) error) (stored bool, err error) {
	parts, split := SplitIVFBody(body, min(ivfPartBytes, int(s.MaxTxnBytes()/2)))
	h.Parts, h.BodyLen, h.BodyCRC = split.Parts, split.BodyLen, split.BodyCRC
	// A new generation for every write, the first rewrite of a loaded
	// index included, so the parts of the generation the header names are
	// never overwritten: a crash midway leaves the old index. A corrupt
	// header names no generation worth keeping.
	var cur uint64
	err = s.View(func(t *Txn) error {
		old, _, err := ReadIVFHeader(t, ix, ns)
		cur = old.Gen
		return err
	})
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return false, err
	}
	h.Gen = max(uint64(time.Now().UnixNano()), cur+1)
	for i, p := range parts {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if err := write(func(t *Txn) error { return t.Set(IVFPartKey(ix, ns, h.Gen, uint32(i)), p) }); err != nil {
			return false, err
		}
	}
	if err := write(func(t *Txn) error { return t.Set(IVFHeaderKey(ix, ns), h.Encode()) }); err != nil {
		return false, err
	}
	// Remove every other generation: the one replaced, and any a crash
	// left half written.
	var stale [][]byte
	err = s.View(func(t *Txn) error {
		return t.Iterate(IterOptions{Prefix: IVFPartsPrefix(ix, ns), KeysOnly: true}, func(k, _ []byte) (bool, error) {
			if gen, err := IVFPartGen(k); err != nil || gen != h.Gen {
				stale = append(stale, slices.Clone(k))
			}
			return true, nil
		})
	})
	if err != nil {
		return true, err
	}
	for len(stale) > 0 {
		n := min(len(stale), 1000)
		err := write(func(t *Txn) error {
			for _, k := range stale[:n] {
				if err := t.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return true, err
		}
		stale = stale[n:]
	}
	return true, nil
}
