// Package benchcmp compares a measured piece of work with an anchor doing
// the same work, for `make bench` (scripts/bench.sh): the two sides are
// measured in turn, several times, and the figure is the median of the
// per-pair ratios with their spread (min–max), so that it holds when the
// speed of a shared machine drifts during the run.
//
// Report logs one line per figure that starts with "figure|"; bench.sh
// gathers those lines into its table.
package benchcmp

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Figure names a comparison and states its goal.
type Figure struct {
	Name   string // what mlrun does, with the unit of the values, e.g. "create run (runs/s)"
	Anchor string // what the anchor does, e.g. "raw INSERTs, same schema"
	// Goal bounds the median ratio mlrun/anchor: ">= 0.5" or "<= 1.5";
	// empty for a figure without one.
	Goal string
	// Max, when not 0, bounds mlrun's median value itself (e.g. 20 for
	// "at most 20 ms").
	Max float64
}

// Alternate measures pairs pairs of (ours, anchor), each function returning
// its measured value. The side measured first alternates from one pair to
// the next, so that neither always runs on a warmer or colder machine.
func Alternate(pairs int, ours, anchor func() float64) (o, a []float64) {
	for i := range pairs {
		if i%2 == 0 {
			o = append(o, ours())
			a = append(a, anchor())
		} else {
			a = append(a, anchor())
			o = append(o, ours())
		}
	}
	return o, a
}

// Stats summarises paired measurements: the medians of each side and the
// median and range of the per-pair ratios ours/anchor.
type Stats struct {
	Ours, Anchor              float64 // medians
	Ratio, RatioMin, RatioMax float64
	Pairs                     int
}

// Summarise computes the Stats of paired measurements.
func Summarise(ours, anchor []float64) Stats {
	n := min(len(ours), len(anchor))
	ratios := make([]float64, n)
	for i := range n {
		ratios[i] = ours[i] / anchor[i]
	}
	slices.Sort(ratios)
	s := Stats{Ours: median(ours[:n]), Anchor: median(anchor[:n]), Pairs: n}
	if n > 0 {
		s.Ratio, s.RatioMin, s.RatioMax = median(ratios), ratios[0], ratios[n-1]
	}
	return s
}

// Met reports whether the median ratio meets goal (">= x" or "<= x");
// a figure without a goal meets it.
func (s Stats) Met(goal string) bool {
	var op string
	var x float64
	if goal == "" {
		return true
	}
	if _, err := fmt.Sscanf(goal, "%s %g", &op, &x); err != nil {
		return false
	}
	switch op {
	case ">=":
		return s.Ratio >= x
	case "<=":
		return s.Ratio <= x
	}
	return false
}

// Report logs the figure's line for bench.sh's table and reports the
// median ratio as a benchmark metric (when tb is a *testing.B).
func (f Figure) Report(tb testing.TB, ours, anchor []float64) Stats {
	tb.Helper()
	s := Summarise(ours, anchor)
	goal, verdict := f.Goal, "-"
	if f.Max != 0 {
		goal = strings.TrimPrefix(goal+", mlrun <= "+num(f.Max), ", ")
	}
	if goal != "" {
		verdict = "met"
		if !s.Met(f.Goal) || (f.Max != 0 && s.Ours > f.Max) {
			verdict = "NOT met"
		}
	}
	tb.Logf("figure|%s|%s|%s|%s|%.3g|%.3g-%.3g|%d|%s|%s", f.Name, num(s.Ours), f.Anchor, num(s.Anchor),
		s.Ratio, s.RatioMin, s.RatioMax, s.Pairs, goal, verdict)
	if b, ok := tb.(*testing.B); ok {
		b.ReportMetric(s.Ratio, metricName(f.Name)+"_ratio")
	}
	return s
}

// num formats a measured value with 3 significant digits, without an
// exponent for ordinary magnitudes.
func num(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// metricName turns a figure name into a benchmark metric unit (no spaces).
func metricName(name string) string {
	name, _, _ = strings.Cut(name, " (")
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' {
			return '_'
		}
		return r
	}, name)
}

// median returns the median of vs (the mean of the middle two for an even
// count), without changing vs.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
