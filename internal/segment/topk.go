package segment

import (
	"math"
	"slices"
)

// hit is a scored slot of a segment.
type hit struct {
	slot  uint32
	score float32
}

// topK keeps the k best hits seen so far in a heap whose root is the worst
// of them, so that each new candidate costs one comparison unless it
// enters. Equal scores rank by id, so results are deterministic.
type topK struct {
	k   int
	asc bool     // lower scores are better (euclidean)
	ids []string // slot -> id, for tie-breaks
	h   []hit
}

func newTopK(k int, asc bool, ids []string) *topK {
	return &topK{k: k, asc: asc, ids: ids, h: make([]hit, 0, min(k, 1024))}
}

// better reports whether a ranks before b.
func (t *topK) better(a, b hit) bool {
	if a.score != b.score {
		if t.asc {
			return a.score < b.score
		}
		return a.score > b.score
	}
	return t.ids[a.slot] < t.ids[b.slot]
}

// offer considers one hit. A NaN score (possible only when float32
// arithmetic overflows on huge values) ranks last.
func (t *topK) offer(x hit) {
	if x.score != x.score {
		x.score = float32(math.Inf(1))
		if !t.asc {
			x.score = float32(math.Inf(-1))
		}
	}
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
		return
	}
	if t.better(x, t.h[0]) {
		t.h[0] = x
		t.down(0)
	}
}

// up and down maintain the heap with the worst hit at the root.
func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.better(t.h[p], t.h[i]) {
			break
		}
		t.h[p], t.h[i] = t.h[i], t.h[p]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		w := i
		l, r := 2*i+1, 2*i+2
		if l < n && t.better(t.h[w], t.h[l]) {
			w = l
		}
		if r < n && t.better(t.h[w], t.h[r]) {
			w = r
		}
		if w == i {
			return
		}
		t.h[w], t.h[i] = t.h[i], t.h[w]
		i = w
	}
}

// merge offers every hit of o.
func (t *topK) merge(o *topK) {
	for _, x := range o.h {
		t.offer(x)
	}
}

// sorted returns the hits best first.
func (t *topK) sorted() []hit {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b hit) int {
		if t.better(a, b) {
			return -1
		}
		if t.better(b, a) {
			return 1
		}
		return 0
	})
	return out
}
