package preprocess

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/dataset"
)

// readFrame reads a fixture CSV into a Frame; the columns named in numeric
// are numeric, the others categorical.
func readFrame(t *testing.T, path string, numeric ...string) *dataset.Frame {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f := &dataset.Frame{NRows: len(rows) - 1}
	for j, name := range rows[0] {
		col := dataset.Column{Name: name, Kind: dataset.Categorical}
		isNum := false
		for _, n := range numeric {
			isNum = isNum || n == name
		}
		for _, r := range rows[1:] {
			if isNum {
				v, err := strconv.ParseFloat(r[j], 64)
				if err != nil {
					t.Fatal(err)
				}
				col.Kind = dataset.Numeric
				col.Num = append(col.Num, v)
			} else {
				col.Str = append(col.Str, r[j])
			}
		}
		f.Columns = append(f.Columns, col)
	}
	return f
}

type sklearnCase struct {
	Mean       []float64   `json:"mean"`
	Scale      []float64   `json:"scale"`
	Train      [][]float64 `json:"train"`
	TestIgnore [][]float64 `json:"test_ignore"`
}

type sklearnFixture struct {
	Categories   [][]string             `json:"categories"`
	FeatureNames []string               `json:"feature_names"`
	Cases        map[string]sklearnCase `json:"cases"`
}

func loadFixture(t *testing.T) (train, test *dataset.Frame, fx sklearnFixture) {
	t.Helper()
	dir := filepath.Join("testdata", "mixed")
	train = readFrame(t, filepath.Join(dir, "train.csv"), "x1", "x2", "x3")
	test = readFrame(t, filepath.Join(dir, "test.csv"), "x1", "x2", "x3")
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	return train, test, fx
}

// approxEqual reports whether a and b agree to 1e-12, relative to their size.
func approxEqual(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func checkMatrix(t *testing.T, what string, got *mat.Dense, want [][]float64) {
	t.Helper()
	r, c := got.Dims()
	if r != len(want) || c != len(want[0]) {
		t.Fatalf("%s: got %d×%d, want %d×%d", what, r, c, len(want), len(want[0]))
	}
	for i := range want {
		for j := range want[i] {
			if !approxEqual(got.At(i, j), want[i][j]) {
				t.Fatalf("%s[%d][%d] = %.17g, scikit-learn gives %.17g", what, i, j, got.At(i, j), want[i][j])
			}
		}
	}
}

func TestMatchesScikitLearn(t *testing.T) {
	train, test, fx := loadFixture(t)
	cases := []struct {
		name                 string
		opt                  Options
		checkMean, checkStdv bool
	}{
		{"scaled", Options{Scale: true, OneHot: true, HandleUnknown: "ignore"}, true, true},
		{"no_mean", Options{Scale: true, NoMean: true, OneHot: true, HandleUnknown: "ignore"}, false, true},
		{"no_std", Options{Scale: true, NoStd: true, OneHot: true, HandleUnknown: "ignore"}, true, false},
		{"none", Options{OneHot: true, HandleUnknown: "ignore"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := fx.Cases[tc.name]
			p, err := Fit(train, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			numeric := []Column{p.Columns[0], p.Columns[2], p.Columns[4]}
			for i, c := range numeric {
				if tc.checkMean && !approxEqual(c.Mean, want.Mean[i]) {
					t.Errorf("mean of %s = %.17g, scikit-learn %.17g", c.Name, c.Mean, want.Mean[i])
				}
				if tc.checkStdv && !approxEqual(c.Scale, want.Scale[i]) {
					t.Errorf("scale of %s = %.17g, scikit-learn %.17g", c.Name, c.Scale, want.Scale[i])
				}
			}
			X, err := p.Transform(train)
			if err != nil {
				t.Fatal(err)
			}
			checkMatrix(t, "train", X, want.Train)
			X, err = p.Transform(test)
			if err != nil {
				t.Fatal(err)
			}
			checkMatrix(t, "test", X, want.TestIgnore)
		})
	}
}

func TestConstantColumnGetsScaleOne(t *testing.T) {
	train, _, _ := loadFixture(t)
	p, err := Fit(train, Options{Scale: true, OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	// x2 is 0.1 in every row; its computed variance is a rounding residue.
	if p.Columns[2].Name != "x2" || p.Columns[2].Scale != 1 {
		t.Fatalf("column %s scale = %v, want 1", p.Columns[2].Name, p.Columns[2].Scale)
	}
}

func TestCategoriesAndNames(t *testing.T) {
	train, _, fx := loadFixture(t)
	p, err := Fit(train, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := [][]string{p.Columns[1].Categories, p.Columns[3].Categories}
	if !reflect.DeepEqual(got, fx.Categories) {
		t.Fatalf("categories %q, scikit-learn %q", got, fx.Categories)
	}
	if names := p.OutputNames(); !reflect.DeepEqual(names, fx.FeatureNames) {
		t.Fatalf("output names %q, scikit-learn %q", names, fx.FeatureNames)
	}
	wantIn := []InputColumn{{"x1", dataset.Numeric}, {"color", dataset.Categorical}, {"x2", dataset.Numeric}, {"size", dataset.Categorical}, {"x3", dataset.Numeric}}
	if in := p.InputColumns(); !reflect.DeepEqual(in, wantIn) {
		t.Fatalf("input columns %v, want %v", in, wantIn)
	}
}

func TestUnknownCategoryIsAnError(t *testing.T) {
	train, test, _ := loadFixture(t)
	p, err := Fit(train, Options{Scale: true, OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Transform(test)
	if errs.Code(err) != errs.Invalid {
		t.Fatalf("got %v (code %s), want an Invalid error", err, errs.Code(err))
	}
	for _, part := range []string{`"color"`, `"purple"`, "row 2"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %s", err, part)
		}
	}
}

func TestTransformChecksColumns(t *testing.T) {
	train, _, _ := loadFixture(t)
	p, err := Fit(train, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}

	// Columns in another order, plus an extra one, give the same matrix.
	shuffled := &dataset.Frame{NRows: train.NRows}
	for i := len(train.Columns) - 1; i >= 0; i-- {
		shuffled.Columns = append(shuffled.Columns, train.Columns[i])
	}
	shuffled.Columns = append(shuffled.Columns, dataset.Column{Name: "extra", Kind: dataset.Numeric, Num: make([]float64, train.NRows)})
	a, err := p.Transform(train)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Transform(shuffled)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(a, b) {
		t.Fatal("reordering columns changed the output")
	}

	missing := &dataset.Frame{NRows: train.NRows, Columns: train.Columns[1:]}
	if _, err := p.Transform(missing); errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), `"x1"`) {
		t.Fatalf("missing column: got %v", err)
	}

	wrongKind := &dataset.Frame{NRows: train.NRows, Columns: append([]dataset.Column(nil), train.Columns...)}
	wrongKind.Columns[0] = dataset.Column{Name: "x1", Kind: dataset.Categorical, Str: make([]string, train.NRows)}
	if _, err := p.Transform(wrongKind); errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), `"x1" must be numeric`) {
		t.Fatalf("wrong kind: got %v", err)
	}
}

func TestFitRejectsBadInput(t *testing.T) {
	train, _, _ := loadFixture(t)
	nan := &dataset.Frame{NRows: 2, Columns: []dataset.Column{{Name: "a", Kind: dataset.Numeric, Num: []float64{1, math.NaN()}}}}
	cases := []struct {
		name string
		f    *dataset.Frame
		o    Options
		want string
	}{
		{"categorical without one-hot", train, Options{Scale: true}, `"color" holds text`},
		{"bad handle_unknown", train, Options{OneHot: true, HandleUnknown: "skip"}, `handle_unknown must be`},
		{"NaN", nan, DefaultOptions(), `"a" has a missing or non-finite value in row 2`},
		{"no rows", &dataset.Frame{Columns: []dataset.Column{{Name: "a", Kind: dataset.Numeric}}}, DefaultOptions(), "no rows"},
		{"no columns", &dataset.Frame{NRows: 3}, DefaultOptions(), "no feature columns"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(tc.f, tc.o)
			if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an Invalid error containing %q", err, tc.want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	train, test, _ := loadFixture(t)
	p, err := Fit(train, Options{Scale: true, OneHot: true, HandleUnknown: "ignore"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q Pipeline
	if err := json.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, &q) {
		t.Fatalf("round trip changed the pipeline:\n%+v\n%+v", p, &q)
	}
	a, _ := p.Transform(test)
	c, err := q.Transform(test)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(a, c) {
		t.Fatal("decoded pipeline transforms differently")
	}
	q.Version = Version + 1
	if err := q.Validate(); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("future version: got %v", err)
	}
}
