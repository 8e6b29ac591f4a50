package vectordb

import (
	"testing"
)

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
