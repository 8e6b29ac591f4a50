package storage

import (
	"bytes"
	"fmt"
)

// CheckOrphans verifies, in t's snapshot, that every key in a data range
// belongs to a namespace of the catalog, an import in progress or a
// pending drop. It is DB.Check's last step: a key it finds is data that no
// drop will ever reclaim.
func CheckOrphans(t *Txn) error {
	type pair struct{ ix, ns uint32 }
	live := map[pair]bool{}
	err := t.Iterate(IterOptions{Prefix: AllNamespacesPrefix()}, func(k, v []byte) (bool, error) {
		ixID, _, err := NamespaceFromKey(k)
		if err != nil {
			return false, err
		}
		id, err := CatalogRecordID(v)
		live[pair{ixID, id}] = true
		return true, err
	})
	if err != nil {
		return err
	}
	var dropped [][]byte
	err = t.Iterate(IterOptions{Prefix: DropPrefix()}, func(_, v []byte) (bool, error) {
		r, err := DecodeDropRecord(v)
		dropped = append(dropped, r.Prefixes...)
		return true, err
	})
	if err != nil {
		return err
	}
	// An import in progress fills a namespace id the catalog does not
	// name yet.
	err = t.Iterate(IterOptions{Prefix: StagingPrefix(), KeysOnly: true}, func(k, _ []byte) (bool, error) {
		ixID, nsID, err := IDPairFromKey(k)
		live[pair{ixID, nsID}] = true
		return true, err
	})
	if err != nil {
		return err
	}
	return t.Iterate(IterOptions{Prefix: AllDataPrefix(), KeysOnly: true}, func(k, _ []byte) (bool, error) {
		ixID, nsID, err := DataIDPairFromKey(k)
		if err != nil {
			return false, err
		}
		if live[pair{ixID, nsID}] {
			return true, nil
		}
		for _, p := range dropped {
			if bytes.HasPrefix(k, p) {
				return true, nil
			}
		}
		return false, fmt.Errorf("key %x belongs to no namespace (index id %d, namespace id %d) and to no pending drop", k, ixID, nsID)
	})
}
