package linear

import (
	"math"
	"math/rand/v2"
	"testing"
)

// halfMultinomialExp is halfMultinomial with math.Exp for every class, as
// it was before the largest score skipped the call.
func halfMultinomialExp(y int, raw []float64) float64 {
	maxv := raw[0]
	for _, v := range raw[1:] {
		if v > maxv {
			maxv = v
		}
	}
	rawY := raw[y]
	sum := 0.0
	for c, v := range raw {
		raw[c] = math.Exp(v - maxv)
		sum += raw[c]
	}
	loss := math.Log(sum) + maxv - rawY
	for c := range raw {
		raw[c] /= sum
	}
	raw[y]--
	return loss
}

// halfMultinomial gives the loss and gradient of calling math.Exp for
// every class, bit for bit: with ties for the largest score, infinities
// and NaN among the scores.
func TestHalfMultinomialSkipsExpOfZeroExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	inf := math.Inf(1)
	cases := [][]float64{{0, 0, 0}, {1, 1, -2}, {-3, 5, 5}, {inf, 1, 2}, {inf, inf, 0}, {-inf, 0, 1}, {math.NaN(), 1, 2}, {1, math.NaN(), 2}, {-0.0, 0, -1e-300}}
	for range 2000 {
		k := 2 + rng.IntN(5)
		raw := make([]float64, k)
		for c := range raw {
			raw[c] = rng.NormFloat64() * 20
			if rng.IntN(4) == 0 && c > 0 {
				raw[c] = raw[rng.IntN(c)] // a tie
			}
		}
		cases = append(cases, raw)
	}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	for _, raw := range cases {
		for y := range raw {
			got, want := append([]float64(nil), raw...), append([]float64(nil), raw...)
			gl, wl := halfMultinomial(y, got), halfMultinomialExp(y, want)
			if !same(gl, wl) {
				t.Fatalf("scores %v, y=%d: loss %v, want %v", raw, y, gl, wl)
			}
			for c := range got {
				if !same(got[c], want[c]) {
					t.Fatalf("scores %v, y=%d: gradient %v, want %v", raw, y, got, want)
				}
			}
		}
	}
}
