package storage

import (
	"context"
	"fmt"
)

// CorruptError is a stored catalog entry that is missing or does not
// decode. What describes it in the words the database's users see (say,
// `namespace sequence of index "a" missing`), so that the caller can
// render it under its own sentinel error. It unwraps to ErrCorrupt.
type CorruptError struct {
	What string
}

func (e *CorruptError) Error() string { return ErrCorrupt.Error() + ": " + e.What }

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corruptf(format string, args ...any) error {
	return &CorruptError{What: fmt.Sprintf(format, args...)}
}

// Catalog is the stored catalog as Open reads it: the index sequence and
// every live index with its namespaces and their counters.
type Catalog struct {
	NextIndexID uint32 // the stored index sequence
	Indexes     []*CatalogIndex
}

// CatalogIndex is one index of a Catalog.
type CatalogIndex struct {
	Name   string
	Record IndexRecord
	// NextNamespaceID is the stored namespace sequence: the end of the
	// namespace ids leased so far.
	NextNamespaceID uint32
	Namespaces      []*CatalogNamespace
}

// CatalogNamespace is one namespace of a CatalogIndex, with its persisted
// counters (zero when none are stored).
type CatalogNamespace struct {
	Name      string
	Record    NamespaceRecord
	Stats     Stats
	ReadUnits uint64 // the read units flushed so far
}

// ReadCatalog reads and decodes the catalog in t, in a few prefix scans.
// check is called on each index record as it is decoded, and its error,
// if any, is returned as is. Namespace entries and counters of an index
// that is gone (its pending drop removes them) are skipped. An entry that
// is missing or does not decode gives a *CorruptError; a malformed key
// gives ErrBadKey; other errors are the transaction's.
func ReadCatalog(t *Txn, check func(name string, r *IndexRecord) error) (*Catalog, error) {
	v, ok, err := t.GetCopy(IndexSeqKey())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, corruptf("index sequence missing")
	}
	cat := &Catalog{}
	if cat.NextIndexID, err = DecodeUint32(v); err != nil {
		return nil, corruptf("index sequence: %v", err)
	}

	byID := make(map[uint32]*CatalogIndex)
	err = t.Iterate(IterOptions{Prefix: IndexCatalogPrefix()}, func(k, v []byte) (bool, error) {
		name, err := IndexNameFromKey(k)
		if err != nil {
			return false, err
		}
		r, err := DecodeIndexRecord(v)
		if err != nil {
			return false, corruptf("index %q: %v", name, err)
		}
		if err := check(name, &r); err != nil {
			return false, err
		}
		ix := &CatalogIndex{Name: name, Record: r}
		cat.Indexes = append(cat.Indexes, ix)
		byID[r.ID] = ix
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for _, ix := range cat.Indexes {
		v, ok, err := t.GetCopy(NamespaceSeqKey(ix.Record.ID))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, corruptf("namespace sequence of index %q missing", ix.Name)
		}
		if ix.NextNamespaceID, err = DecodeUint32(v); err != nil {
			return nil, corruptf("namespace sequence of index %q: %v", ix.Name, err)
		}
	}

	type key struct{ ix, ns uint32 }
	nss := make(map[key]*CatalogNamespace)
	err = t.Iterate(IterOptions{Prefix: AllNamespacesPrefix()}, func(k, v []byte) (bool, error) {
		ixID, name, err := NamespaceFromKey(k)
		if err != nil {
			return false, err
		}
		ix := byID[ixID]
		if ix == nil {
			return true, nil
		}
		r, err := DecodeNamespaceRecord(v)
		if err != nil {
			return false, corruptf("namespace %q: %v", name, err)
		}
		ns := &CatalogNamespace{Name: name, Record: r}
		ix.Namespaces = append(ix.Namespaces, ns)
		nss[key{ixID, r.ID}] = ns
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	// Counters live under two prefixes, each read in one scan.
	counters := func(prefix []byte, what string, decode func(ns *CatalogNamespace, v []byte) error) error {
		return t.Iterate(IterOptions{Prefix: prefix}, func(k, v []byte) (bool, error) {
			ixID, nsID, err := IDPairFromKey(k)
			if err != nil {
				return false, err
			}
			if ns := nss[key{ixID, nsID}]; ns != nil {
				if err := decode(ns, v); err != nil {
					return false, corruptf("%s of namespace %q: %v", what, ns.Name, err)
				}
			}
			return true, nil
		})
	}
	err = counters(AllStatsPrefix(), "stats", func(ns *CatalogNamespace, v []byte) (err error) {
		ns.Stats, err = DecodeStats(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = counters(AllReadUnitsPrefix(), "read units", func(ns *CatalogNamespace, v []byte) (err error) {
		ns.ReadUnits, err = DecodeUint64(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return cat, nil
}

// NamespaceLive reports, in t's snapshot, whether namespace ns called
// name is still the live generation of its name in index ix called
// ixName: both catalog entries exist and hold those ids. Reads that go to
// storage check it so that a concurrent drop, whose data may be being
// deleted, reads as "not found" rather than as a partial namespace.
func NamespaceLive(t *Txn, ixName string, ix uint32, name string, ns uint32) (bool, error) {
	if ok, err := catalogNames(t, IndexKey(ixName), ix); err != nil || !ok {
		return false, err
	}
	return catalogNames(t, NamespaceKey(ix, name), ns)
}

// catalogNames reports whether the catalog entry under key exists and
// holds id.
func catalogNames(t *Txn, key []byte, id uint32) (bool, error) {
	var got uint32
	found, err := t.Get(key, func(v []byte) error {
		var err error
		got, err = CatalogRecordID(v)
		return err
	})
	return found && got == id, err
}

// FormatError is a store this build cannot read: it holds another format
// version, or keys but no format version at all (Missing), so it is not a
// vectordb database.
type FormatError struct {
	Version uint32 // the stored version, unless Missing
	Missing bool
}

func (e *FormatError) Error() string {
	if e.Missing {
		return "storage: no format version"
	}
	return fmt.Sprintf("storage: format version %d, this build reads %d", e.Version, FormatVersion)
}

// InitFormat checks the store's format version, and initialises an empty
// store: it writes the format version and the first index sequence. A
// store this build cannot read gives a *FormatError, a version that does
// not decode a *CorruptError.
func (s *Store) InitFormat(ctx context.Context) error {
	var fresh bool
	err := s.View(func(t *Txn) error {
		v, ok, err := t.GetCopy(FormatKey())
		if err != nil {
			return err
		}
		if ok {
			ver, err := DecodeUint32(v)
			if err != nil {
				return corruptf("format version: %v", err)
			}
			if ver != FormatVersion {
				return &FormatError{Version: ver}
			}
			return nil
		}
		fresh = true
		return t.Iterate(IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
			return false, &FormatError{Missing: true}
		})
	})
	if err != nil || !fresh {
		return err
	}
	return s.Update(ctx, func(t *Txn) error {
		if err := t.Set(FormatKey(), EncodeUint32(FormatVersion)); err != nil {
			return err
		}
		return t.Set(IndexSeqKey(), EncodeUint32(1))
	})
}
