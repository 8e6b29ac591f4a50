package testutil

// FilterRecords returns the metadata of the records that the filter
// semantics tests filter (root, internal/filter and internal/segment use
// the same set, so the reference evaluator, the public API and the
// metadata index are checked on one fixture): equal numbers of different
// spellings, a string that looks like a number, negative zero, empty and
// missing lists, no metadata at all.
func FilterRecords() map[string]map[string]any {
	return map[string]map[string]any{
		"drama2019": {"genre": "drama", "year": 2019.0, "tags": []string{"a", "b"}, "ok": true},
		"drama2021": {"genre": "drama", "year": 2021.0, "tags": []string{"b"}},
		"comedy":    {"genre": "comedy", "year": 2020.0, "ok": false},
		"noyear":    {"genre": "documentary", "tags": []string{}},
		"strYear":   {"year": "2020"},
		"negzero":   {"year": -0.0},
		"none":      nil,
	}
}
