package vectordb

import (
	"fmt"
	"testing"
)

// BenchmarkFilterEval measures compiling a filter and evaluating it to an
// allowed-set on a hot segment of 100k records with the benchmarks' metadata
// (benchmarks/bench_test.go): the cost a filtered query adds before its
// scan.
func BenchmarkFilterEval(b *testing.B) {
	const n = 100_000
	seg := newSegment(1, Cosine, n)
	seg.indexed.Store(true)
	for i := range n {
		md := Metadata{
			"cat": []string{"even", "odd"}[i%2], "grp": fmt.Sprintf("g%d", i%10),
			"user": fmt.Sprintf("u%07d", i), "n": float64(i),
		}
		seg.putLocked(fmt.Sprintf("doc-%08d", i), []float32{1}, sparseVec{}, md, nil, -1)
	}
	seg.mergeAllLocked()
	users := make([]string, n/100)
	for i := range users {
		users[i] = fmt.Sprintf("u%07d", i*100+7)
	}
	for _, c := range []struct {
		name   string
		filter Filter
	}{
		{"0.1%-range", Filter{"n": Filter{"$lt": n / 1000}}},
		{"1%-range", Filter{"n": Filter{"$gte": n / 2, "$lt": n/2 + n/100}}},
		{"1%-in-highcard", Filter{"user": Filter{"$in": users}}},
		{"10%-eq", Filter{"grp": "g3"}},
		{"50%-eq", Filter{"cat": "odd"}},
		{"or-11%", Filter{"$or": []Filter{{"grp": "g3"}, {"n": Filter{"$lt": n / 100}}}}},
	} {
		b.Run("filter="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fn, err := compileFilter(c.filter)
				if err != nil {
					b.Fatal(err)
				}
				if bm, err := seg.evalLocked(ctx, fn); err != nil || bm.IsEmpty() {
					b.Fatal("empty")
				}
			}
		})
	}
}

// BenchmarkFilterRefusal measures refusing a filter nested 10,000 deep and
// one with a million clauses, as JSON (ParseFilter) and as a Go value
// (what Query compiles): the cost a hostile filter imposes.
func BenchmarkFilterRefusal(b *testing.B) {
	for name, h := range hostileFilters() {
		b.Run(name+"/json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseFilter(h.json); err == nil {
					b.Fatal("accepted")
				}
			}
		})
		b.Run(name+"/go", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compileFilter(h.goF); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkFilterCostRefusal measures refusing a filter of 9,999 range
// clauses over a 100k-record hot segment, which before the work budget
// touched a billion column entries (11 s): the evaluation stops once it
// has spent filterWorkPerRecord entries per record.
func BenchmarkFilterCostRefusal(b *testing.B) {
	const n = 100_000
	seg := newSegment(1, Cosine, n)
	seg.indexed.Store(true)
	for i := range n {
		seg.putLocked(fmt.Sprintf("doc-%08d", i), []float32{1}, sparseVec{}, Metadata{"x": float64(i)}, nil, -1)
	}
	seg.mergeAllLocked()
	or := make([]any, 9999)
	for i := range or {
		or[i] = Filter{"x": Filter{"$gte": i}}
	}
	fn, err := compileFilter(Filter{"$or": or})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seg.evalLocked(ctx, fn); err == nil {
			b.Fatal("accepted")
		}
	}
}
