package ivf

import (
	"cmp"
	"slices"
)

// Order is a query's ranking of the lists, sorted lazily: Take sorts only
// as far as it is asked to, so that probing 20 lists of 4000 costs a
// selection, not a sort.
type Order struct {
	key    []float32 // per list; lower is better
	idx    []int32   // list numbers; idx[:sorted] is in final order
	sorted int
}

func (o *Order) reset(n int) {
	if cap(o.key) < n {
		o.key, o.idx = make([]float32, n), make([]int32, n)
	}
	o.key, o.idx = o.key[:n], o.idx[:n]
	for j := range o.idx {
		o.idx[j] = int32(j)
	}
	o.sorted = 0
}

// Len is the number of lists.
func (o *Order) Len() int { return len(o.idx) }

// Take returns the n best lists (fewer if there are fewer lists), best
// first. A later call with a larger n extends the same ranking.
func (o *Order) Take(n int) []int32 {
	n = min(n, len(o.idx))
	if n <= o.sorted {
		return o.idx[:n]
	}
	rest := o.idx[o.sorted:]
	o.selectSmallest(rest, n-o.sorted)
	slices.SortFunc(rest[:n-o.sorted], o.compare)
	o.sorted = n
	return o.idx[:n]
}

func (o *Order) compare(a, b int32) int {
	if c := cmp.Compare(o.key[a], o.key[b]); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// selectSmallest moves the k smallest elements of s (by compare) to its
// front, in no particular order: quickselect with a median-of-three pivot.
func (o *Order) selectSmallest(s []int32, k int) {
	lo, hi := 0, len(s)
	for hi-lo > 16 && k > lo && k < hi {
		mid := lo + (hi-lo)/2
		// Median of three to the end, then Lomuto partition around it.
		if o.compare(s[mid], s[lo]) < 0 {
			s[mid], s[lo] = s[lo], s[mid]
		}
		if o.compare(s[hi-1], s[lo]) < 0 {
			s[hi-1], s[lo] = s[lo], s[hi-1]
		}
		if o.compare(s[mid], s[hi-1]) < 0 {
			s[mid], s[hi-1] = s[hi-1], s[mid]
		}
		p := s[hi-1]
		i := lo
		for j := lo; j < hi-1; j++ {
			if o.compare(s[j], p) < 0 {
				s[i], s[j] = s[j], s[i]
				i++
			}
		}
		s[i], s[hi-1] = s[hi-1], s[i]
		switch {
		case i == k || i+1 == k:
			return
		case i > k:
			hi = i
		default:
			lo = i + 1
		}
	}
	if k > lo && k < hi {
		slices.SortFunc(s[lo:hi], o.compare)
	}
}
