package main

import (
	"reflect"
	"testing"

	"github.com/vectordb-go/vectordb/server"
)

func TestKeyFlags(t *testing.T) {
	var k keyFlags
	for _, s := range []string{"admin", "ix:docs", "tenant:docs:t1, t2"} {
		if err := k.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	want := keyFlags{
		{Secret: "admin"},
		{Secret: "ix", Index: "docs"},
		{Secret: "tenant", Index: "docs", Namespaces: []string{"t1", "t2"}},
	}
	if !reflect.DeepEqual(k, want) {
		t.Fatalf("parsed %+v, want %+v", k, want)
	}
	var _ []server.Key = k
	// An empty part would widen the key: refused.
	for _, s := range []string{"", "s:", "s::t1", "s:docs:", "s:docs:t1,,t2"} {
		if err := new(keyFlags).Set(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
