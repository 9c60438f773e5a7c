package sweep

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/project"
)

func TestGrid(t *testing.T) {
	ep := loadMain(t, baseProject)
	tests := []struct {
		name     string
		args     []string
		opts     Options
		want     []string
		describe string
	}{
		{
			name: "the iris example: each combination once, first axis slowest",
			args: []string{"C=0.1,1,10", "max_iter=100,200"},
			want: []string{
				"C=0.1 max_iter=100", "C=0.1 max_iter=200",
				"C=1 max_iter=100", "C=1 max_iter=200",
				"C=10 max_iter=100", "C=10 max_iter=200",
			},
			describe: "grid over C (3) × max_iter (2) = 6 trials",
		},
		{
			name:     "axes in -P order, fixed values first in every trial",
			args:     []string{"max_iter=100,200", "solver=saga", "C=1,2"},
			want:     []string{"solver=saga max_iter=100 C=1", "solver=saga max_iter=100 C=2", "solver=saga max_iter=200 C=1", "solver=saga max_iter=200 C=2"},
			describe: "grid over max_iter (2) × C (2) = 4 trials",
		},
		{
			name: "white space around items is trimmed",
			args: []string{"C= 0.1 , 1 "},
			want: []string{"C=0.1", "C=1"},
		},
		{
			name: `\, is a literal comma, \\ a backslash`,
			args: []string{`solver=a\,b, c\\d ,e\f`},
			want: []string{`solver=a,b`, `solver=c\d`, `solver=e\f`},
		},
		{
			name: `an escaped parenthesis is not a call; a single value keeps its spaces`,
			args: []string{`solver=range\(1\,2)`, `note= x `, "C=1,2"},
			want: []string{"solver=range(1,2) note= x  C=1", "solver=range(1,2) note= x  C=2"},
		},
		{
			name: "other text with parentheses is a plain value",
			args: []string{"solver=f(x),g(y)"},
			want: []string{"solver=f(x)", "solver=g(y)"},
		},
		{
			name: "an undeclared parameter keeps its values as text",
			args: []string{"extra=a,b"},
			want: []string{"extra=a", "extra=b"},
		},
		{
			name: "bool and path lists",
			args: []string{"fit=true,false", "data=data.csv,./data.csv"},
			want: []string{"fit=true data=data.csv", "fit=true data=./data.csv", "fit=false data=data.csv", "fit=false data=./data.csv"},
		},
		{
			name:     "logspace with whole exponents is exact",
			args:     []string{"C=logspace(-3, 1, 5)"},
			want:     []string{"C=0.001", "C=0.01", "C=0.1", "C=1", "C=10"},
			describe: "grid over C (5) = 5 trials",
		},
		{
			name: "logspace on an int parameter gives ints",
			args: []string{"max_iter=logspace(1,3,3)"},
			want: []string{"max_iter=10", "max_iter=100", "max_iter=1000"},
		},
		{
			name: "linspace is inclusive and rounds once",
			args: []string{"C=linspace(0,1,11)"},
			want: []string{"C=0", "C=0.1", "C=0.2", "C=0.3", "C=0.4", "C=0.5", "C=0.6", "C=0.7", "C=0.8", "C=0.9", "C=1"},
		},
		{
			name: "linspace with one value gives its start",
			args: []string{"C=linspace(2.5, 7, 1)"},
			want: []string{"C=2.5"},
		},
		{
			name: "linspace on an int parameter",
			args: []string{"max_iter=linspace(100, 400, 4)"},
			want: []string{"max_iter=100", "max_iter=200", "max_iter=300", "max_iter=400"},
		},
		{
			name: "float range: start + i*step, stop excluded",
			args: []string{"C=range(0.1,0.4,0.1)"},
			want: []string{"C=0.1", "C=0.2", "C=0.3"},
		},
		{
			name: "int range as in Python",
			args: []string{"max_iter=range(100, 400, 100)"},
			want: []string{"max_iter=100", "max_iter=200", "max_iter=300"},
		},
		{
			name: "negative step",
			args: []string{"max_iter=range(10,0,-3)"},
			want: []string{"max_iter=10", "max_iter=7", "max_iter=4", "max_iter=1"},
		},
		{
			name: "range(stop) starts at 0",
			args: []string{"max_iter=range(3)"},
			want: []string{"max_iter=0", "max_iter=1", "max_iter=2"},
		},
		{
			name: "a generated axis on an undeclared parameter",
			args: []string{"depth=range(2, 8, 2)"},
			want: []string{"depth=2", "depth=4", "depth=6"},
		},
		{
			name: "a max trials at least the grid's size is accepted",
			args: []string{"C=1,2", "max_iter=1,2,3"},
			opts: Options{MaxTrials: 6},
			want: []string{"C=1 max_iter=1", "C=1 max_iter=2", "C=1 max_iter=3", "C=2 max_iter=1", "C=2 max_iter=2", "C=2 max_iter=3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, got := mustParse(t, ep, kvs(tc.args...), tc.opts)
			if s.Random {
				t.Fatalf("Random = true for a grid")
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("trials\n  %q\nwant\n  %q", got, tc.want)
			}
			if tc.describe != "" && s.Describe() != tc.describe {
				t.Fatalf("Describe() = %q, want %q", s.Describe(), tc.describe)
			}
			again, err := s.Trials()
			if err != nil || !slices.Equal(lines(t, s, again), got) {
				t.Fatalf("a second Trials() differs: %v", err)
			}
		})
	}
}

// TestGeneratedMatchNumpy compares generated values with numpy 1.24's,
// printed once with
//
//	/usr/bin/python3 -c "import numpy as np; print(np.logspace(-3,1,5).tolist())"
//
// and so on. mlrun's values are the float64 nearest the exact value; numpy
// may be one unit in the last place off, so the comparison allows 1 ulp,
// and the exact strings are checked too (the nearest values were printed
// with Python's decimal module at 60 digits: float(Decimal(10)**Decimal("0.25"))).
func TestGeneratedMatchNumpy(t *testing.T) {
	ep := loadMain(t, baseProject)
	tests := []struct {
		value string
		numpy []float64
		want  []string
	}{
		{"logspace(-3,1,5)", []float64{0.001, 0.01, 0.09999999999999999, 1.0, 10.0},
			[]string{"0.001", "0.01", "0.1", "1", "10"}},
		{"logspace(0,1,5)", []float64{1.0, 1.7782794100389228, 3.162277660168379, 5.62341325190349, 10.0},
			[]string{"1", "1.7782794100389228", "3.1622776601683795", "5.623413251903491", "10"}},
		{"logspace(-3,-2,3)", []float64{0.001, 0.0031622776601683794, 0.01},
			[]string{"0.001", "0.0031622776601683794", "0.01"}},
		{"logspace(-5,-2,4)", []float64{9.999999999999999e-06, 9.999999999999999e-05, 0.001, 0.01},
			[]string{"1e-05", "0.0001", "0.001", "0.01"}},
		{"linspace(0,1,5)", []float64{0.0, 0.25, 0.5, 0.75, 1.0},
			[]string{"0", "0.25", "0.5", "0.75", "1"}},
		{"linspace(0,1,11)", []float64{0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6000000000000001, 0.7000000000000001, 0.8, 0.9, 1.0},
			[]string{"0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"}},
		{"linspace(-1,2,4)", []float64{-1.0, 0.0, 1.0, 2.0},
			[]string{"-1", "0", "1", "2"}},
		{"linspace(10,100,4)", []float64{10.0, 40.0, 70.0, 100.0},
			[]string{"10", "40", "70", "100"}},
		// numpy.arange(0.1, 0.4, 0.1) gives [0.1, 0.2, 0.30000000000000004, 0.4]:
		// its length comes from rounded floats. mlrun's range follows the
		// exact decimals, so only the first three compare.
		{"range(0.1,0.4,0.1)", []float64{0.1, 0.2, 0.30000000000000004},
			[]string{"0.1", "0.2", "0.3"}},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			s, err := Parse(ep, kvs("C="+tc.value), Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := s.Axes[0].Values
			if !slices.Equal(got, tc.want) {
				t.Fatalf("values %q, want %q", got, tc.want)
			}
			if len(got) != len(tc.numpy) {
				t.Fatalf("%d values, numpy has %d", len(got), len(tc.numpy))
			}
			for i, v := range got {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatal(err)
				}
				if f != tc.numpy[i] && math.Nextafter(f, tc.numpy[i]) != tc.numpy[i] {
					t.Fatalf("value %d: %v is more than 1 ulp from numpy's %v", i, f, tc.numpy[i])
				}
			}
		})
	}
}

func TestPlainRunIsNil(t *testing.T) {
	for _, text := range []string{baseProject, withSection("parameters: {C: [1, 2]}")} {
		ep := loadMain(t, text)
		for _, args := range [][]string{nil, {"C=0.5"}, {"C=0.5", "solver=a\\,b", "other=x"}} {
			s, err := Parse(ep, kvs(args...), Options{MaxTrials: 5, Seed: 3, SeedSet: true})
			if s != nil || err != nil {
				t.Fatalf("Parse(%q) = %v, %v; want nil, nil", args, s, err)
			}
		}
	}
}

func TestUnescape(t *testing.T) {
	got := Unescape(kvs(`a=x\,y`, `b=c:\\d`, `c=\(\)`, `d=e\f\`, "e=plain"))
	want := []project.KV{{Key: "a", Value: "x,y"}, {Key: "b", Value: `c:\d`}, {Key: "c", Value: "()"}, {Key: "d", Value: `e\f\`}, {Key: "e", Value: "plain"}}
	if !slices.Equal(got, want) {
		t.Fatalf("Unescape = %q, want %q", got, want)
	}
}

func TestErrors(t *testing.T) {
	ep := loadMain(t, baseProject)
	tests := []struct {
		args []string
		opts Options
		want string
	}{
		{[]string{"C=0.1,abc,10"}, Options{}, `parameter "C": "abc" in the list "0.1,abc,10" is not a float`},
		{[]string{"max_iter=1,2.5"}, Options{}, `parameter "max_iter": "2.5" in the list "1,2.5" is not an int`},
		{[]string{"fit=true,maybe"}, Options{}, `parameter "fit": "maybe" in the list "true,maybe" is not a bool (use true or false)`},
		{[]string{"C=1,,2"}, Options{}, `parameter "C": the list "1,,2" has an empty item (write \, for a literal comma)`},
		{[]string{"C=1,2,"}, Options{}, `parameter "C": the list "1,2," has an empty item`},
		{[]string{"C=1,1"}, Options{}, `parameter "C": the list "1,1" holds "1" twice`},
		{[]string{"C=1,1.0"}, Options{}, `parameter "C": the list "1,1.0" holds the same value twice ("1" and "1.0")`},
		{[]string{"fit=true,yes"}, Options{}, `parameter "fit": the list "true,yes" holds the same value twice ("true" and "yes")`},
		{[]string{"extra=a,a"}, Options{}, `parameter "extra": the list "a,a" holds "a" twice`},
		{[]string{"C=0.1,logspace(1,2,3)"}, Options{}, `parameter "C": the list "0.1,logspace(1,2,3)" holds a call to logspace; a function must be the whole value`},
		{[]string{"C=logspace(1,2"}, Options{}, `parameter "C": "logspace(1,2" calls logspace but does not end with ")"`},
		{[]string{"C=logspace(1,2)"}, Options{}, `parameter "C": logspace(1,2) takes 3 arguments (start, stop, num) but has 2`},
		{[]string{"C=logspace(1,x,3)"}, Options{}, `parameter "C": logspace(1,x,3): "x" is not a number`},
		{[]string{"C=logspace(0,1,0)"}, Options{}, `parameter "C": logspace(0,1,0): num must be a whole number from 1 to 10000`},
		{[]string{"C=logspace(0,1,2.5)"}, Options{}, `num must be a whole number`},
		{[]string{"C=logspace(0,500,2)"}, Options{}, `parameter "C": logspace(0,500,2) gives a value out of the float64 range`},
		{[]string{"C=linspace(1,1,3)"}, Options{}, `parameter "C": linspace(1,1,3) holds "1" twice`},
		{[]string{"max_iter=linspace(1,2,3)"}, Options{}, `parameter "max_iter": linspace(1,2,3) gives 1.5, which is not an int`},
		{[]string{"max_iter=logspace(-1,1,3)"}, Options{}, `parameter "max_iter": logspace(-1,1,3) gives 0.1, which is not an int`},
		{[]string{"max_iter=range(0,1,0.5)"}, Options{}, `parameter "max_iter": range(0,1,0.5): "0.5" is not a whole number, as range takes for an int parameter`},
		{[]string{"C=range(0,1,0)"}, Options{}, `parameter "C": range(0,1,0): the step must not be 0`},
		{[]string{"C=range(5,1)"}, Options{}, `parameter "C": range(5,1) gives no values`},
		{[]string{"C=range(1,2,3,4)"}, Options{}, `parameter "C": range(1,2,3,4) takes 1 to 3 arguments (start, stop, step) but has 4`},
		{[]string{"C=range(0,100000)"}, Options{}, `parameter "C": range(0,100000) gives 100000 values, more than 10000`},
		{[]string{"fit=range(0,2)"}, Options{}, `parameter "fit": range(0,2) generates numbers, which a bool parameter does not take (list its values instead)`},
		{[]string{"data=linspace(0,1,2)"}, Options{}, `parameter "data": linspace(0,1,2) generates numbers, which a path parameter does not take`},
		{[]string{"max_iter=uniform(1,10)"}, Options{}, `parameter "max_iter": uniform(1,10) draws floats, which an int parameter does not take (use randint)`},
		{[]string{"solver=uniform(0,1)"}, Options{}, `parameter "solver": uniform(0,1) draws numbers, which a string parameter does not take (use choice)`},
		{[]string{"fit=randint(0,2)"}, Options{}, `parameter "fit": randint(0,2) draws numbers, which a bool parameter does not take (use choice)`},
		{[]string{"extra=loguniform(1,2)"}, Options{}, `parameter "extra": loguniform(1,2) draws numbers, which needs the parameter declared as a float or an int; only choice works for an undeclared parameter`},
		{[]string{"C=loguniform(0,1)"}, Options{}, `parameter "C": loguniform(0,1): the bounds must be above 0`},
		{[]string{"C=uniform(2,1)"}, Options{}, `parameter "C": uniform(2,1): the low bound must be below the high bound`},
		{[]string{"C=uniform(1)"}, Options{}, `parameter "C": uniform(1) takes 2 arguments (low, high) but has 1`},
		{[]string{"max_iter=randint(1.5,3)"}, Options{}, `parameter "max_iter": randint(1.5,3): "1.5" is not a whole number`},
		{[]string{"max_iter=loguniform(1,2.5)"}, Options{}, `parameter "max_iter": loguniform(1,2.5): "2.5" is not a whole number`},
		{[]string{"C=choice(1,1.0)"}, Options{}, `parameter "C": choice(1,1.0) holds the same value twice ("1" and "1.0")`},
		{[]string{"C=choice(1,,2)"}, Options{}, `parameter "C": choice(1,,2) has an empty item`},
		{[]string{"C=choice(1,x)"}, Options{MaxTrials: 2}, `parameter "C": "x" in choice(1,x) is not a float`},
		{[]string{"C=uniform(0,1)"}, Options{}, `a random search needs a number of trials`},
		{[]string{"C=range(0,200)", "max_iter=range(0,100)"}, Options{}, `the grid over C (200) × max_iter (100) has 20000 combinations, more than the 10000 trials a sweep may run`},
		{[]string{"C=1,2,3"}, Options{MaxTrials: 2}, `the grid over C (3) has 3 combinations, more than max_trials 2; raise max_trials or make an axis a distribution for a random search`},
		{[]string{"C=choice(1,2)", "max_iter=1,2"}, Options{MaxTrials: 5}, `the search space has only 4 combinations, fewer than the 5 trials asked for`},
		{[]string{"C=1", "C=2,3"}, Options{}, `parameter "C" is given more than once`},
		{[]string{"=1,2"}, Options{}, `a parameter name is empty (in "=1,2"); write NAME=VALUE`},
		{[]string{"C=1,2"}, Options{MaxTrials: -1}, `the maximum number of trials must be from 1 to 10000, not -1`},
		{[]string{"C=uniform(0,1)"}, Options{MaxTrials: 20000}, `the maximum number of trials must be from 1 to 10000, not 20000`},
		{nil, Options{UseSection: true}, `entry point "main" has no sweep section to use`},
		// The entry point's own check runs for every trial.
		{[]string{"data=data.csv,missing.csv"}, Options{}, `trial 2 of 2 (data=missing.csv): parameter "data": no such file or directory`},
		{[]string{"site=s3://a/b,notauri"}, Options{}, `trial 2 of 2 (site=notauri): parameter "site": "notauri" is not a URI`},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			s, err := Parse(ep, kvs(tc.args...), tc.opts)
			if s != nil {
				t.Fatalf("Parse returned a sweep (%s) with the error %v", s.Describe(), err)
			}
			checkInvalid(t, err, tc.want)
		})
	}
}

func TestRequiredParameterCheckedPerTrial(t *testing.T) {
	ep := loadMain(t, `name: t
entry_points:
  main:
    parameters:
      alpha: float
      beta: {type: int, default: 1}
    command: "echo {alpha}"
`)
	_, err := Parse(ep, kvs("beta=1,2"), Options{})
	checkInvalid(t, err, `trial 1 of 2 (beta=1): missing value for required parameter(s) "alpha"`)
	_, got := mustParse(t, ep, kvs("alpha=0.5", "beta=1,2"), Options{})
	if want := []string{"alpha=0.5 beta=1", "alpha=0.5 beta=2"}; !slices.Equal(got, want) {
		t.Fatalf("trials %q, want %q", got, want)
	}
}
