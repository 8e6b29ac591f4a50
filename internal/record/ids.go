package record

import (
	"fmt"
	"strings"
)

// CheckID validates a record id: 1 to MaxIDBytes bytes, any but NUL.
func CheckID(field, id string) error {
	switch {
	case id == "":
		return argErr(field, id, "must not be empty")
	case len(id) > MaxIDBytes:
		return argErrf(field, id, "is %d bytes, more than %d", len(id), MaxIDBytes)
	case strings.IndexByte(id, 0) >= 0:
		return argErr(field, id, "must not contain NUL bytes")
	}
	return nil
}

// CheckNamespace validates a namespace name other than "" (which names
// the default namespace, the caller's business): at most
// MaxNamespaceNameBytes bytes, any but NUL. Errors name the field
// "namespace".
func CheckNamespace(name string) error {
	switch {
	case len(name) > MaxNamespaceNameBytes:
		return argErrf("namespace", name, "is %d bytes, more than %d", len(name), MaxNamespaceNameBytes)
	case strings.IndexByte(name, 0) >= 0:
		return argErr("namespace", name, "must not contain NUL bytes")
	}
	return nil
}

// UniqueIDs validates ids, at least one and at most max, and returns them
// without duplicates, in first-seen order. Errors name the ids as
// field[i].
func UniqueIDs(field string, ids []string, max int) ([]string, error) {
	if len(ids) == 0 {
		return nil, argErr(field, nil, "at least one id is required")
	}
	if len(ids) > max {
		return nil, &CountError{Field: field, Count: len(ids), Max: max}
	}
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		if err := CheckID(fmt.Sprintf("%s[%d]", field, i), id); err != nil {
			return nil, err
		}
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out, nil
}
