package benchcmp

import (
	"math"
	"testing"
)

func TestSummarise(t *testing.T) {
	s := Summarise([]float64{2, 4, 9, 1}, []float64{1, 2, 3, 1})
	// Ratios 2, 2, 3, 1: median 2, range 1–3; medians of the sides 3 and 1.5.
	if s.Ratio != 2 || s.RatioMin != 1 || s.RatioMax != 3 || s.Ours != 3 || s.Anchor != 1.5 || s.Pairs != 4 {
		t.Fatalf("Summarise = %+v", s)
	}
	if !s.Met(">= 2") || s.Met(">= 2.1") || !s.Met("<= 2") || s.Met("<= 1.9") || !s.Met("") || s.Met("about 2") {
		t.Fatal("Met disagrees with the median ratio 2")
	}
}

func TestAlternate(t *testing.T) {
	var order []string
	o, a := Alternate(3, func() float64 { order = append(order, "o"); return 1 }, func() float64 { order = append(order, "a"); return 2 })
	if got := string(order[0][0]) + order[1] + order[2] + order[3] + order[4] + order[5]; got != "oaaooa" {
		t.Fatalf("order %s, want oaaooa", got)
	}
	if len(o) != 3 || len(a) != 3 || o[1] != 1 || a[1] != 2 {
		t.Fatalf("values %v %v", o, a)
	}
	if m := median([]float64{math.Inf(1), 1, 2}); m != 2 {
		t.Fatalf("median = %v", m)
	}
}
