package sweep

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mlrun/mlrun/project"
)

// fullSection is the section of the package documentation.
var fullSection = withSection(
	"parameters:",
	"  tol: \"loguniform(1e-5, 1e-2)\"",
	"  max_iter: \"range(100, 400, 100)\"",
	"  C: [0.01, 0.1, 1, 10]",
	"max_trials: 20",
	"seed: 0",
	"objective: metrics.accuracy",
	"goal: maximize",
	"parallel: 4",
)

func TestSection(t *testing.T) {
	ep := loadMain(t, fullSection)
	s, got := mustParse(t, ep, nil, Options{UseSection: true})
	if !s.Random || s.MaxTrials != 20 || s.Seed != 0 || len(got) != 20 {
		t.Fatalf("Random=%v MaxTrials=%d Seed=%d with %d trials, want a random search of 20 with seed 0", s.Random, s.MaxTrials, s.Seed, len(got))
	}
	if s.Objective != "metrics.accuracy" || s.Goal != "maximize" || s.Parallel != 4 {
		t.Fatalf("Objective=%q Goal=%q Parallel=%d", s.Objective, s.Goal, s.Parallel)
	}
	// Axes follow the declared parameters' order, not the section's.
	want := "random search: 20 trials over C (4 values), max_iter (3 values), tol (loguniform(1e-5, 1e-2)), seed 0"
	if s.Describe() != want {
		t.Fatalf("Describe() = %q, want %q", s.Describe(), want)
	}
	if v := s.Axes[0].Values; !slices.Equal(v, []string{"0.01", "0.1", "1", "10"}) {
		t.Fatalf("C values %q", v)
	}
	if v := s.Axes[1].Values; !slices.Equal(v, []string{"100", "200", "300"}) {
		t.Fatalf("max_iter values %q", v)
	}
	if ax := s.Axes[2]; ax.Dist != "loguniform" || !slices.Equal(ax.Args, []float64{1e-5, 1e-2}) {
		t.Fatalf("tol axis %+v", ax)
	}

	// --max-trials and --sweep-seed override the section.
	s, got = mustParse(t, ep, nil, Options{UseSection: true, MaxTrials: 5, Seed: 9, SeedSet: true})
	if s.MaxTrials != 5 || s.Seed != 9 || len(got) != 5 {
		t.Fatalf("MaxTrials=%d Seed=%d with %d trials, want 5 with seed 9", s.MaxTrials, s.Seed, len(got))
	}

	// A seed other than 0 overrides without SeedSet; 0 needs SeedSet.
	if s, _ = mustParse(t, ep, nil, Options{UseSection: true, Seed: 3}); s.Seed != 3 {
		t.Fatalf("Seed = %d, want 3", s.Seed)
	}
	seeded := loadMain(t, withSection("parameters: {C: \"uniform(0, 1)\"}", "max_trials: 3", "seed: 4"))
	for _, tc := range []struct {
		o    Options
		want uint64
	}{{Options{UseSection: true}, 4}, {Options{UseSection: true, Seed: 0}, 4}, {Options{UseSection: true, SeedSet: true}, 0}, {Options{UseSection: true, Seed: 5}, 5}} {
		if s, _ = mustParse(t, seeded, nil, tc.o); s.Seed != tc.want {
			t.Fatalf("%+v: Seed = %d, want %d", tc.o, s.Seed, tc.want)
		}
	}

	// A single -P value replaces the section's axis: a grid of 4 × 3 remains.
	s, got = mustParse(t, ep, kvs("tol=0.001"), Options{UseSection: true})
	if s.Random || len(got) != 12 || got[0] != "tol=0.001 C=0.01 max_iter=100" || got[11] != "tol=0.001 C=10 max_iter=300" {
		t.Fatalf("Random=%v trials %q", s.Random, got)
	}
	if s.Describe() != "grid over C (4) × max_iter (3) = 12 trials" {
		t.Fatalf("Describe() = %q", s.Describe())
	}

	// A -P list replaces the section's axis and comes first.
	s, got = mustParse(t, ep, kvs("max_iter=5,6", "tol=0.1"), Options{UseSection: true})
	if want := []string{
		"tol=0.1 max_iter=5 C=0.01", "tol=0.1 max_iter=5 C=0.1", "tol=0.1 max_iter=5 C=1", "tol=0.1 max_iter=5 C=10",
		"tol=0.1 max_iter=6 C=0.01", "tol=0.1 max_iter=6 C=0.1", "tol=0.1 max_iter=6 C=1", "tol=0.1 max_iter=6 C=10",
	}; !slices.Equal(got, want) {
		t.Fatalf("trials %q, want %q", got, want)
	}

	// Without --sweep, -P lists alone make the sweep; the section's
	// objective, goal and parallel still apply.
	s, got = mustParse(t, ep, kvs("C=0.1,1,10", "max_iter=100,200"), Options{})
	if len(got) != 6 || s.Objective != "metrics.accuracy" || s.Goal != "maximize" || s.Parallel != 4 || s.MaxTrials != 0 {
		t.Fatalf("%d trials, Objective=%q Goal=%q Parallel=%d MaxTrials=%d", len(got), s.Objective, s.Goal, s.Parallel, s.MaxTrials)
	}

	// Nothing to sweep without --sweep and -P lists.
	if s, err := Parse(ep, kvs("C=1"), Options{}); s != nil || err != nil {
		t.Fatalf("Parse = %v, %v; want nil, nil", s, err)
	}
}

func TestSectionValues(t *testing.T) {
	ep := loadMain(t, withSection(
		"parameters:",
		"  solver: saga",
		"  fit: [true, false]",
		"  extra: \"a,b\\\\,c\"",
		"  tol: 0.5",
		"  note: [\"f(x)\", \"logspace(1,2,3)\"]",
	))
	_, got := mustParse(t, ep, nil, Options{UseSection: true})
	want := []string{
		"tol=0.5 solver=saga fit=true extra=a note=f(x)",
		"tol=0.5 solver=saga fit=true extra=a note=logspace(1,2,3)",
		"tol=0.5 solver=saga fit=true extra=b,c note=f(x)",
		"tol=0.5 solver=saga fit=true extra=b,c note=logspace(1,2,3)",
		"tol=0.5 solver=saga fit=false extra=a note=f(x)",
		"tol=0.5 solver=saga fit=false extra=a note=logspace(1,2,3)",
		"tol=0.5 solver=saga fit=false extra=b,c note=f(x)",
		"tol=0.5 solver=saga fit=false extra=b,c note=logspace(1,2,3)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("trials\n  %q\nwant\n  %q", got, want)
	}
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		lines []string
		args  []string
		opts  Options
		want  string // after "FILE:13:5: entry_points.main.sweep"
	}{
		{[]string{"paramters: {C: [1, 2]}"}, nil, Options{UseSection: true},
			".paramters: unknown key (known: parameters, max_trials, seed, objective, goal, parallel)"},
		// The section is checked even when a run does not use it.
		{[]string{"paramters: {C: [1, 2]}"}, []string{"C=1"}, Options{}, ".paramters: unknown key"},
		{[]string{"parameters: {C: [0.1, abc]}"}, nil, Options{UseSection: true},
			`.parameters.C: "abc" in the list [0.1, abc] is not a float`},
		{[]string{"parameters: {C: [1, 1.0]}"}, nil, Options{UseSection: true},
			`.parameters.C: the list [1, 1] holds "1" twice`},
		{[]string{"parameters: {C: []}"}, nil, Options{UseSection: true}, ".parameters.C: is an empty list"},
		{[]string{"parameters: {C: [[1]]}"}, nil, Options{UseSection: true}, ".parameters.C: item 1 must be a number, a string or a bool, not a list"},
		{[]string{"parameters: {C: {a: 1}}"}, nil, Options{UseSection: true}, ".parameters.C: must be a list, a string or one value, not a mapping"},
		{[]string{"parameters: {C: \"uniform(0,1\"}"}, nil, Options{UseSection: true}, `.parameters.C: "uniform(0,1" calls uniform but does not end with ")"`},
		{[]string{"parameters: {solver: \"uniform(0,1)\"}"}, nil, Options{UseSection: true}, ".parameters.solver: uniform(0,1) draws numbers, which a string parameter does not take (use choice)"},
		{[]string{"parameters: [C]"}, nil, Options{UseSection: true}, ".parameters: must be a mapping from parameter names to values, not a list"},
		{[]string{"max_trials: 0"}, nil, Options{}, ".max_trials: must be a whole number from 1 to 10000, not the number 0"},
		{[]string{"max_trials: many"}, nil, Options{}, `.max_trials: must be a whole number from 1 to 10000, not the string "many"`},
		{[]string{"parallel: 2.5"}, nil, Options{}, ".parallel: must be a whole number from 1 to 2147483647, not the number 2.5"},
		{[]string{"seed: -1"}, nil, Options{}, ".seed: must be a whole number from 0 up, not the number -1"},
		{[]string{"objective: accuracy"}, nil, Options{}, `.objective: objective "accuracy" must name a metric as metrics.KEY, such as metrics.accuracy`},
		{[]string{"objective: [metrics.a]"}, nil, Options{}, ".objective: must be a string such as metrics.accuracy, not a list"},
		{[]string{"objective: metrics.accuracy", "goal: best"}, nil, Options{}, `.goal: must be maximize or minimize, not the string "best"`},
		{[]string{"goal: maximize"}, nil, Options{}, ".goal: needs an objective (such as objective: metrics.accuracy)"},
		{[]string{"max_trials: 5", "parameters: {C: [1, 2, 3], max_iter: [1, 2]}"}, nil, Options{UseSection: true},
			"!the grid over C (3) × max_iter (2) has 6 combinations, more than max_trials 5"},
		{[]string{"parameters: {C: \"uniform(0, 1)\"}"}, nil, Options{UseSection: true}, "!a random search needs a number of trials"},
		{[]string{"seed: 1"}, nil, Options{UseSection: true}, `!the sweep of entry point "main" varies no parameter`},
		{nil, nil, Options{UseSection: true}, `!the sweep of entry point "main" varies no parameter`},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.lines), func(t *testing.T) {
			text := withSection(tc.lines...)
			ep := loadMain(t, text)
			s, err := Parse(ep, kvs(tc.args...), tc.opts)
			if s != nil {
				t.Fatalf("Parse returned a sweep (%s)", s.Describe())
			}
			want := tc.want
			if want[0] == '!' { // not about one field: no position
				want = want[1:]
			} else {
				want = fmt.Sprintf("%s:%d:5: entry_points.main.sweep%s", ep.SweepPos.File, sweepLine, want)
			}
			checkInvalid(t, err, want)
		})
	}
}

func TestSectionPositionNamesTheFile(t *testing.T) {
	// The message starts with the MLproject path, line and column.
	ep := loadMain(t, withSection("paramters: {}"))
	if filepath.Base(ep.SweepPos.File) != "MLproject" || ep.SweepPos.Line != sweepLine || ep.SweepPos.Column != 5 {
		t.Fatalf("SweepPos = %v, want .../MLproject:%d:5", ep.SweepPos, sweepLine)
	}
	_, err := Parse(ep, nil, Options{})
	checkInvalid(t, err, ep.SweepPos.String()+": entry_points.main.sweep.paramters: unknown key")
}

func TestParseObjective(t *testing.T) {
	tests := []struct{ in, key string }{
		{"metrics.accuracy", "accuracy"},
		{" metrics.val_loss ", "val_loss"},
		{"metrics.val/acc-1.0", "val/acc-1.0"},
		{"accuracy", ""},
		{"metrics.", ""},
		{"params.C", ""},
		{"metrics.a;b", ""},
		{"metrics. a", ""},
	}
	for _, tc := range tests {
		key, err := ParseObjective(tc.in)
		if tc.key == "" {
			checkInvalid(t, err, fmt.Sprintf("objective %q must name a metric as metrics.KEY", tc.in))
			continue
		}
		if err != nil || key != tc.key {
			t.Fatalf("ParseObjective(%q) = %q, %v; want %q", tc.in, key, err, tc.key)
		}
	}
}

// TestSweepWithoutEntryPoint checks that a Sweep built by hand works:
// Trials without an entry point skips the parameter check.
func TestSweepWithoutEntryPoint(t *testing.T) {
	s := &Sweep{Fixed: []project.KV{{Key: "a", Value: "1"}}, Axes: []Axis{{Name: "b", Values: []string{"x", "y"}}}}
	trials, err := s.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(t, s, trials); !slices.Equal(got, []string{"a=1 b=x", "a=1 b=y"}) {
		t.Fatalf("trials %q", got)
	}
}
