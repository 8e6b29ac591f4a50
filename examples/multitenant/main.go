// Command multitenant runs the Pinecone multitenancy scenario on vectordb:
// one index, one namespace per tenant, a query in one tenant's namespace,
// and offboarding the other by deleting its namespace.
//
// The data lives in a directory (-dir, by default under the OS temp
// directory), so a second run opens the same database and shows that the
// data persisted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/vectordb-go/vectordb"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "vectordb-multitenant"), "data directory")
	flag.Parse()
	if err := run(context.Background(), *dir); err != nil {
		log.Fatal(err)
	}
}

// fill returns a vector of dimension 8 with every component v.
func fill(v float32) []float32 {
	out := make([]float32, 8)
	for i := range out {
		out[i] = v
	}
	return out
}

func run(ctx context.Context, dir string) error {
	db, err := vectordb.Open(dir, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Printf("data directory: %s\n", dir)

	// A second run finds the index, and tenant2's records, from the first.
	ix, err := db.Index("multitenant-app")
	if errors.Is(err, vectordb.ErrIndexNotFound) {
		ix, err = db.CreateIndex(ctx, vectordb.CreateIndexRequest{
			Name: "multitenant-app", Dimension: 8, Metric: vectordb.Cosine,
		})
		fmt.Println("created index multitenant-app (dimension 8, cosine)")
	} else if err == nil {
		st, err := ix.DescribeStats(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("opened existing index multitenant-app: %d records in %d namespaces from an earlier run\n",
			st.TotalRecordCount, len(st.Namespaces))
	}
	if err != nil {
		return err
	}

	tenant1, tenant2 := ix.Namespace("tenant1"), ix.Namespace("tenant2")
	if _, err := tenant1.Upsert(ctx, []vectordb.Record{
		{ID: "A", Values: fill(0.1)},
		{ID: "B", Values: fill(0.2)},
		{ID: "C", Values: fill(0.3)},
		{ID: "D", Values: fill(0.4)},
	}); err != nil {
		return err
	}
	res, err := tenant2.Upsert(ctx, []vectordb.Record{
		{ID: "E", Values: fill(0.5)},
		{ID: "F", Values: fill(0.6)},
		{ID: "G", Values: fill(0.7)},
		{ID: "H", Values: fill(0.8)},
	})
	if err != nil {
		return err
	}
	fmt.Printf("upserted A-D into tenant1 and E-H into tenant2 (%d write units)\n", res.Usage.WriteUnits)

	if _, err := tenant1.Update(ctx, vectordb.UpdateRequest{
		ID: "A", Values: []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8},
	}); err != nil {
		return err
	}
	fmt.Println("updated A in tenant1 to [0.1 ... 0.8]")

	q, err := tenant2.Query(ctx, vectordb.QueryRequest{Vector: fill(0.7), TopK: 3, IncludeValues: true})
	if err != nil {
		return err
	}
	fmt.Printf("query tenant2 with [0.7]*8, topK 3:\n")
	for _, m := range q.Matches {
		fmt.Printf("  %s  score %.8f  values %v\n", m.ID, m.Score, m.Values)
	}
	fmt.Printf("namespace %s, %d read units\n", q.Namespace, q.Usage.ReadUnits)

	if err := ix.DeleteNamespace(ctx, "tenant1"); err != nil {
		return err
	}
	fmt.Println("deleted namespace tenant1 (offboarded)")
	if _, err := ix.DescribeNamespace(ctx, "tenant1"); errors.Is(err, vectordb.ErrNamespaceNotFound) {
		fmt.Println("tenant1: gone")
	} else {
		return fmt.Errorf("tenant1 still described after deletion: %v", err)
	}
	f, err := tenant1.Fetch(ctx, []string{"A", "B", "C", "D"})
	if err != nil {
		return err
	}
	fmt.Printf("tenant1: fetch A-D returns %d records\n", len(f.Records))
	d, err := ix.DescribeNamespace(ctx, "tenant2")
	if err != nil {
		return err
	}
	fmt.Printf("tenant2: intact, %d records, %d read units and %d write units so far\n",
		d.RecordCount, d.ReadUnits, d.WriteUnits)
	return nil
}
