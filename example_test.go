package vectordb_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/vectordb-go/vectordb"
)

// Example runs the multitenant scenario in memory: one namespace per
// tenant, a query in one, offboarding the other.
func Example() {
	ctx := context.Background()
	db, err := vectordb.Open("", &vectordb.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 2, Metric: vectordb.Cosine})
	if err != nil {
		log.Fatal(err)
	}
	acme, globex := ix.Namespace("acme"), ix.Namespace("globex")
	if _, err := acme.Upsert(ctx, []vectordb.Record{
		{ID: "a1", Values: []float32{1, 0}, Metadata: vectordb.Metadata{"title": "invoice"}},
		{ID: "a2", Values: []float32{0.6, 0.8}},
	}); err != nil {
		log.Fatal(err)
	}
	if _, err := globex.Upsert(ctx, []vectordb.Record{{ID: "g1", Values: []float32{1, 0}}}); err != nil {
		log.Fatal(err)
	}

	res, err := acme.Query(ctx, vectordb.QueryRequest{Vector: []float32{1, 0}, TopK: 5, IncludeMetadata: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range res.Matches {
		fmt.Printf("%s %.2f %v\n", m.ID, m.Score, m.Metadata)
	}

	if err := ix.DeleteNamespace(ctx, "globex"); err != nil {
		log.Fatal(err)
	}
	_, err = ix.DescribeNamespace(ctx, "globex")
	fmt.Println(errors.Is(err, vectordb.ErrNamespaceNotFound))
	// Output:
	// a1 1.00 map[title:invoice]
	// a2 0.60 map[]
	// true
}

// ExampleNamespace_Upsert shows a typed error naming the field at fault.
func ExampleNamespace_Upsert() {
	ctx := context.Background()
	db, _ := vectordb.Open("", &vectordb.Options{InMemory: true})
	defer db.Close()
	ix, _ := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 3})
	_, err := ix.Namespace("t").Upsert(ctx, []vectordb.Record{
		{ID: "ok", Values: []float32{1, 2, 3}},
		{ID: "short", Values: []float32{1, 2}},
	})
	var de *vectordb.DimensionError
	fmt.Println(errors.As(err, &de), de.Field, errors.Is(err, vectordb.ErrInvalidArgument))
	fmt.Println(err)
	// Output:
	// true records[1].values true
	// vectordb: dimension mismatch: records[1].values: vector dimension 2 does not match the dimension of the index 3
}

// ExampleNamespace_IDs pages through a namespace's ids with an iterator.
func ExampleNamespace_IDs() {
	ctx := context.Background()
	db, _ := vectordb.Open("", &vectordb.Options{InMemory: true})
	defer db.Close()
	ix, _ := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 1, Metric: vectordb.Euclidean})
	ns := ix.Namespace("t")
	ns.Upsert(ctx, []vectordb.Record{
		{ID: "doc#2", Values: []float32{2}},
		{ID: "doc#1", Values: []float32{1}},
		{ID: "img#1", Values: []float32{3}},
	})
	for id, err := range ns.IDs(ctx, "doc#") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(id)
	}
	// Output:
	// doc#1
	// doc#2
}

// ExampleNamespace_Export offboards a tenant who asked for their data:
// export the namespace to a file, verify the file by importing it into a
// scratch database, then delete the namespace.
func ExampleNamespace_Export() {
	ctx := context.Background()
	db, err := vectordb.Open("", &vectordb.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ix, err := db.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "docs", Dimension: 2})
	if err != nil {
		log.Fatal(err)
	}
	tenant := ix.Namespace("customer-42")
	if _, err := tenant.Upsert(ctx, []vectordb.Record{
		{ID: "a", Values: []float32{1, 0}, Metadata: vectordb.Metadata{"title": "invoice"}},
		{ID: "b", Values: []float32{0.6, 0.8}},
	}); err != nil {
		log.Fatal(err)
	}

	f, err := os.CreateTemp("", "customer-42-*.vdbx")
	if err != nil {
		log.Fatal(err)
	}
	path := f.Name()
	defer os.Remove(path)
	info, err := tenant.Export(ctx, f) // one snapshot; writes may continue
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Fatal(err)
	}

	// Verify the file before deleting anything.
	scratch, err := vectordb.Open("", &vectordb.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	defer scratch.Close()
	six, err := scratch.CreateIndex(ctx, vectordb.CreateIndexRequest{Name: "check", Dimension: ix.Dimension(), Metric: ix.Metric()})
	if err != nil {
		log.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	got, err := six.ImportNamespace(ctx, "customer-42", in, nil)
	if err != nil || got.Records != info.Records {
		log.Fatalf("the export does not verify: %v", err)
	}
	if err := ix.DeleteNamespace(ctx, "customer-42"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("exported and verified", got.Records, "records, then deleted the namespace")
	// Output: exported and verified 2 records, then deleted the namespace
}
