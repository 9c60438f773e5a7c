package sweep

import (
	"slices"
	"strconv"
	"testing"
)

func TestRandomDeterministic(t *testing.T) {
	ep := loadMain(t, baseProject)
	args := kvs("C=loguniform(1e-3, 10)", "max_iter=100,200", "solver=choice(lbfgs, saga)", "tol=uniform(0,1)")
	draw := func(seed uint64) []string {
		s, got := mustParse(t, ep, args, Options{MaxTrials: 20, Seed: seed, SeedSet: true})
		if !s.Random || len(got) != 20 {
			t.Fatalf("Random=%v with %d trials, want a random search of 20", s.Random, len(got))
		}
		return got
	}
	a, b, c := draw(1), draw(1), draw(2)
	if !slices.Equal(a, b) {
		t.Fatalf("seed 1 twice gives different trials:\n%q\n%q", a, b)
	}
	if slices.Equal(a, c) {
		t.Fatalf("seeds 1 and 2 give the same trials %q", a)
	}
	s, _ := mustParse(t, ep, args, Options{MaxTrials: 20, Seed: 1, SeedSet: true})
	want := "random search: 20 trials over C (loguniform(1e-3, 10)), max_iter (2 values), solver (choice(lbfgs, saga)), tol (uniform(0,1)), seed 1"
	if s.Describe() != want {
		t.Fatalf("Describe() = %q, want %q", s.Describe(), want)
	}
}

// TestRandomDistinct draws every combination of small discrete spaces:
// no combination may repeat, so all of them must come out.
func TestRandomDistinct(t *testing.T) {
	ep := loadMain(t, baseProject)
	tests := []struct {
		args []string
		size int
	}{
		{[]string{"C=choice(0.1, 1)", "max_iter=100,200,300"}, 6},
		{[]string{"max_iter=randint(0, 50)", "fit=choice(true,false)"}, 100},
		// Whole-number loguniform is not uniform: drawn with redraws.
		{[]string{"max_iter=loguniform(1, 5)", "solver=choice(a,b)"}, 8},
	}
	for _, tc := range tests {
		for seed := uint64(0); seed < 5; seed++ {
			_, got := mustParse(t, ep, kvs(tc.args...), Options{MaxTrials: tc.size, Seed: seed, SeedSet: true})
			seen := map[string]bool{}
			for _, g := range got {
				if seen[g] {
					t.Fatalf("%v seed %d: trial %q repeats", tc.args, seed, g)
				}
				seen[g] = true
			}
			if len(seen) != tc.size {
				t.Fatalf("%v seed %d: %d distinct trials, want %d", tc.args, seed, len(seen), tc.size)
			}
			_, err := Parse(ep, kvs(tc.args...), Options{MaxTrials: tc.size + 1})
			checkInvalid(t, err, "the search space has only "+strconv.Itoa(tc.size)+" combinations")
		}
	}
}

// TestRandomBounds draws 2,000 trials and checks that each distribution
// stays in its bounds and spreads as it should (generous bounds: with
// 2,000 draws a fraction's standard deviation is about 0.011).
func TestRandomBounds(t *testing.T) {
	ep := loadMain(t, baseProject)
	const n = 2000
	s, err := Parse(ep, kvs("C=uniform(0.5, 2)", "tol=loguniform(1e-4, 1)", "max_iter=randint(3, 7)", "depth=choice(a,b)"), Options{MaxTrials: n, Seed: 7, SeedSet: true})
	if err != nil {
		t.Fatal(err)
	}
	trials, err := s.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != n {
		t.Fatalf("%d trials, want %d", len(trials), n)
	}
	var cLow, tolLow int
	counts := map[string]int{}
	for _, tr := range trials {
		c := mustFloat(t, tr.Values["C"])
		if c < 0.5 || c >= 2 {
			t.Fatalf("uniform(0.5, 2) drew %v", c)
		}
		if c < 1.25 {
			cLow++
		}
		tol := mustFloat(t, tr.Values["tol"])
		if tol < 1e-4 || tol >= 1 {
			t.Fatalf("loguniform(1e-4, 1) drew %v", tol)
		}
		if tol < 1e-2 { // the geometric midpoint
			tolLow++
		}
		counts["max_iter="+tr.Values["max_iter"]]++
		counts["depth="+tr.Values["depth"]]++
	}
	for _, frac := range []struct {
		name string
		got  int
	}{{"uniform below its midpoint", cLow}, {"loguniform below its geometric midpoint", tolLow}} {
		if f := float64(frac.got) / n; f < 0.45 || f > 0.55 {
			t.Fatalf("%s: fraction %.3f, want about 0.5", frac.name, f)
		}
	}
	for _, k := range []string{"max_iter=3", "max_iter=4", "max_iter=5", "max_iter=6"} {
		if counts[k] < 400 || counts[k] > 600 { // 500 expected
			t.Fatalf("randint(3, 7) drew %s %d times in %d, want about 500 (all: %v)", k, counts[k], n, counts)
		}
	}
	if len(counts) != 6 || counts["depth=a"] < 900 || counts["depth=b"] < 900 {
		t.Fatalf("unexpected draws %v", counts)
	}
}

func TestRandomIntLoguniform(t *testing.T) {
	ep := loadMain(t, baseProject)
	const n = 2000
	s, err := Parse(ep, kvs("max_iter=loguniform(10, 1000)", "C=uniform(0,1)"), Options{MaxTrials: n})
	if err != nil {
		t.Fatal(err)
	}
	trials, err := s.Trials()
	if err != nil {
		t.Fatal(err)
	}
	low := 0
	for _, tr := range trials {
		v, err := strconv.Atoi(tr.Values["max_iter"])
		if err != nil {
			t.Fatalf("loguniform on an int parameter drew %q", tr.Values["max_iter"])
		}
		if v < 10 || v >= 1000 {
			t.Fatalf("loguniform(10, 1000) drew %d", v)
		}
		if v < 100 {
			low++
		}
	}
	if f := float64(low) / n; f < 0.45 || f > 0.55 {
		t.Fatalf("fraction below 100: %.3f, want about 0.5", f)
	}
}

// TestRandomSamplesListAxes checks that list and grid axes are drawn from
// like choice in a random search, with every value turning up.
func TestRandomSamplesListAxes(t *testing.T) {
	ep := loadMain(t, baseProject)
	s, got := mustParse(t, ep, kvs("C=uniform(0,1)", "max_iter=range(1,4)", "solver=x,y"), Options{MaxTrials: 60})
	if !s.Random {
		t.Fatal("a distribution axis must make a random search")
	}
	seen := map[string]bool{}
	for _, tr := range got {
		seen[tr[len(tr)-len("max_iter=1 solver=x"):]] = true
	}
	if len(seen) != 6 {
		t.Fatalf("the 60 draws cover %d of the 6 max_iter × solver pairs: %v", len(seen), seen)
	}
}

// TestRandomRedrawLimit shows the limit of redrawing: a whole-number
// loguniform rarely draws its largest values, so asking for nearly all
// 999 of loguniform(1, 1000)'s values fails after 1,000 redraws of a trial
// instead of looping for long.
func TestRandomRedrawLimit(t *testing.T) {
	ep := loadMain(t, baseProject)
	_, err := Parse(ep, kvs("max_iter=loguniform(1, 1000)"), Options{MaxTrials: 999})
	checkInvalid(t, err, "unlike the")
	checkInvalid(t, err, "in 1000 draws; the search space is too small for max_trials 999")
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
