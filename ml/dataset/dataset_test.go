package dataset

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
)

// expected mirrors testdata/expected.json (see testdata/README.md).
type expected struct {
	SHA256   string               `json:"sha256"`
	Rows     int                  `json:"rows"`
	Features []string             `json:"features"`
	Values   map[string][]float64 `json:"values"`
	Classes  []string             `json:"classes"`
	Y        []float64            `json:"y"`
}

func loadExpected(t *testing.T) map[string]expected {
	t.Helper()
	data, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]expected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// writeCSV writes content to a file in a fresh temporary directory.
func writeCSV(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadMatchesPython(t *testing.T) {
	for name, want := range loadExpected(t) {
		t.Run(name, func(t *testing.T) {
			ds, err := Load("testdata/"+name+".csv", LoadOptions{Target: "target"})
			if err != nil {
				t.Fatal(err)
			}
			if ds.SHA256 != want.SHA256 {
				t.Fatalf("SHA256 = %s, want %s", ds.SHA256, want.SHA256)
			}
			if ds.Rows != want.Rows || ds.Features.NRows != want.Rows || len(ds.Target.Y) != want.Rows {
				t.Fatalf("rows = %d/%d/%d, want %d", ds.Rows, ds.Features.NRows, len(ds.Target.Y), want.Rows)
			}
			if got := strings.Join(ds.Features.Names(), ","); got != strings.Join(want.Features, ",") {
				t.Fatalf("features = %s, want %v", got, want.Features)
			}
			for _, c := range ds.Features.Columns {
				if c.Kind != Numeric || c.Str != nil {
					t.Fatalf("column %s is %s, want numeric", c.Name, c.Kind)
				}
				for i, v := range want.Values[c.Name] {
					if c.Num[i] != v {
						t.Fatalf("%s[%d] = %v, want %v", c.Name, i, c.Num[i], v)
					}
				}
			}
			if ds.Target.Task != ml.Classification {
				t.Fatalf("task = %s, want classification", ds.Target.Task)
			}
			if got := strings.Join(ds.Target.Classes, ","); got != strings.Join(want.Classes, ",") {
				t.Fatalf("classes = %s, want %v", got, want.Classes)
			}
			for i, y := range want.Y {
				if ds.Target.Y[i] != y {
					t.Fatalf("y[%d] = %v, want %v", i, ds.Target.Y[i], y)
				}
			}
			if ds.Lines[0] != 2 || ds.Lines[ds.Rows-1] != ds.Rows+1 {
				t.Fatalf("lines run %d..%d, want 2..%d", ds.Lines[0], ds.Lines[ds.Rows-1], ds.Rows+1)
			}
		})
	}
}

func TestMissingPolicies(t *testing.T) {
	const path = "testdata/mixed.csv"
	_, err := Load(path, LoadOptions{Target: "label"})
	want := `testdata/mixed.csv line 3, column "age": the value is missing`
	if err == nil || !strings.HasPrefix(err.Error(), want) || errs.Code(err) != errs.Invalid {
		t.Fatalf("reject: got %v, want an error starting %q", err, want)
	}

	ds, err := Load(path, LoadOptions{Target: "label", Missing: MissingDrop})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Rows != 2 || ds.Lines[0] != 2 || ds.Lines[1] != 6 {
		t.Fatalf("drop kept %d rows from lines %v, want lines 2 and 6", ds.Rows, ds.Lines)
	}
	if got := ds.Features.Columns[1].Str; got[0] != "paris" || got[1] != "london" {
		t.Fatalf("city after drop = %v", got)
	}

	ds, err = Load(path, LoadOptions{Target: "label", Missing: MissingMean})
	if err != nil {
		t.Fatal(err)
	}
	cols := ds.Features.Columns
	if cols[0].Kind != Numeric || cols[1].Kind != Categorical || cols[2].Kind != Numeric || cols[3].Kind != Categorical {
		t.Fatalf("kinds = %s %s %s %s", cols[0].Kind, cols[1].Kind, cols[2].Kind, cols[3].Kind)
	}
	if cols[0].Num[1] != 39.75 || cols[2].Num[2] != 50000.125 || cols[3].Str[3] != "yes" {
		t.Fatalf("mean imputation gave age %v, income %v, owns_car %q", cols[0].Num[1], cols[2].Num[2], cols[3].Str[3])
	}
	if cols[1].Str[3] != "berlin" {
		t.Fatalf("spaces not trimmed: %q", cols[1].Str[3])
	}
	if got := strings.Join(ds.Target.Classes, ","); got != "high,low" || ds.Target.Task != ml.Classification {
		t.Fatalf("target classes %s task %s", got, ds.Target.Task)
	}
	if y := ds.Target.Y; y[0] != 0 || y[1] != 1 || y[4] != 0 {
		t.Fatalf("y = %v", y)
	}

	ds, err = Load(path, LoadOptions{Target: "label", Missing: MissingMostFrequent})
	if err != nil {
		t.Fatal(err)
	}
	// Ties go to the smallest value, as in scikit-learn's SimpleImputer.
	if ds.Features.Columns[0].Num[1] != 29 || ds.Features.Columns[2].Num[2] != 39000 {
		t.Fatalf("most_frequent gave age %v, income %v", ds.Features.Columns[0].Num[1], ds.Features.Columns[2].Num[2])
	}
}

func TestMissingTokens(t *testing.T) {
	path := writeCSV(t, "a,b,y\n1,NA,0\n2,NaN,1\n3,nan,0\n4,null,1\n5, ,0\n6,7,1\n")
	ds, err := Load(path, LoadOptions{Target: "y", Missing: MissingMean})
	if err != nil {
		t.Fatal(err)
	}
	b := ds.Features.Columns[1]
	if b.Kind != Numeric {
		t.Fatalf("b is %s, want numeric", b.Kind)
	}
	for i := 0; i < 5; i++ {
		if b.Num[i] != 7 {
			t.Fatalf("b[%d] = %v, want the mean 7", i, b.Num[i])
		}
	}
}

func TestSelectionAndTypes(t *testing.T) {
	const path = "testdata/mixed.csv"
	ds, err := Load(path, LoadOptions{Target: "label", Features: []string{"income", "city"}, Missing: MissingDrop})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ds.Features.Names(), ","); got != "income,city" {
		t.Fatalf("features = %s, want income,city", got)
	}
	ds, err = Load(path, LoadOptions{Target: "label", Drop: []string{"city", "owns_car"}, Missing: MissingDrop,
		Types: map[string]ColumnKind{"age": Categorical}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ds.Features.Names(), ","); got != "age,income" {
		t.Fatalf("features = %s, want age,income", got)
	}
	if c := ds.Features.Columns[0]; c.Kind != Categorical || c.Str[0] != "34" || c.Num != nil {
		t.Fatalf("age typed categorical = %+v", c)
	}
	if ds.Features.Index("income") != 1 || ds.Features.Index("nope") != -1 {
		t.Fatal("Index is wrong")
	}
}

func TestTaskInference(t *testing.T) {
	many := &strings.Builder{}
	many.WriteString("x,y\n")
	for i := 0; i < 60; i++ {
		many.WriteString("1," + string(rune('0'+i%10)) + string(rune('0'+i/10)) + "\n")
	}
	cases := []struct {
		name, content string
		task          ml.Task
		classes       string
	}{
		{"whole numbers", "x,y\n1,10\n2,9\n3,2\n4,10\n", ml.Classification, "2,9,10"},
		{"float labels", "x,y\n1,0.5\n2,1.5\n3,0.5\n", ml.Regression, ""},
		{"strings", "x,y\n1,b\n2,a\n3,b\n", ml.Classification, "a,b"},
		{"many integers", many.String(), ml.Regression, ""},
		{"spelled as written", "x,y\n1,1.0\n2,2.0\n3,1\n", ml.Classification, "1.0,2.0"},
	}
	for _, c := range cases {
		ds, err := Load(writeCSV(t, c.content), LoadOptions{Target: "y"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ds.Target.Task != c.task || strings.Join(ds.Target.Classes, ",") != c.classes {
			t.Fatalf("%s: task %s classes %v, want %s %s", c.name, ds.Target.Task, ds.Target.Classes, c.task, c.classes)
		}
	}
	// Whole-number targets read as regression when asked.
	ds, err := Load(writeCSV(t, "x,y\n1,10\n2,9\n"), LoadOptions{Target: "y", Task: ml.Regression})
	if err != nil || ds.Target.Y[0] != 10 || ds.Target.Classes != nil {
		t.Fatalf("explicit regression: %+v, %v", ds.Target, err)
	}
	// Numeric labels typed categorical sort as strings.
	ds, err = Load(writeCSV(t, "x,y\n1,10\n2,9\n3,2\n"), LoadOptions{Target: "y", Types: map[string]ColumnKind{"y": Categorical}})
	if err != nil || strings.Join(ds.Target.Classes, ",") != "10,2,9" {
		t.Fatalf("categorical numeric labels: %+v, %v", ds.Target, err)
	}
}

func TestDelimiterAndQuotes(t *testing.T) {
	path := writeCSV(t, "\xef\xbb\xbfa;b;y\n1,5;\"x;y\";0\n2,5;\"multi\nline\";1\n3,5;z;0\n")
	ds, err := Load(path, LoadOptions{Target: "y", Delimiter: ';'})
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.Features.Columns[1].Str; got[0] != "x;y" || got[1] != "multi\nline" {
		t.Fatalf("b = %q", got)
	}
	if ds.Features.Columns[0].Kind != Categorical {
		t.Fatalf("a = %s, want categorical (1,5 is not a number)", ds.Features.Columns[0].Kind)
	}
	if ds.Lines[2] != 5 {
		t.Fatalf("line of the row after a two-line field = %d, want 5", ds.Lines[2])
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, content string
		opts          LoadOptions
		want          string // the message, with FILE for the path
	}{
		{"ragged row", "a,b,y\n1,2,0\n1,2\n", LoadOptions{Target: "y"},
			"FILE line 3 has 2 fields but the header has 3"},
		{"ragged after quoted newline", "a,b,y\n1,\"x\ny\",0\n1,2,0,9\n", LoadOptions{Target: "y"},
			"FILE line 4 has 4 fields but the header has 3"},
		{"not a number in a numeric column", "a,b,y\n1,2,0\n1,x,1\n", LoadOptions{Target: "y", Types: map[string]ColumnKind{"b": Numeric}},
			`FILE line 3, column "b": "x" is not a number, but the column is typed numeric`},
		{"empty file", "", LoadOptions{Target: "y"},
			"data file FILE is empty; it needs a header line and data rows"},
		{"blank file", "\n\n  \n", LoadOptions{Target: "y"},
			"data file FILE is empty; it needs a header line and data rows"},
		{"header only", "a,b,y\n", LoadOptions{Target: "y"},
			"data file FILE has a header line but no data rows"},
		{"missing target", "a,b,c\n1,2,3\n", LoadOptions{Target: "y"},
			`FILE has no target column "y"; its columns are a, b, c`},
		{"no target set", "a,b,c\n1,2,3\n", LoadOptions{},
			"no target column is set for FILE"},
		{"duplicate header", "a,b,a,y\n1,2,3,0\n", LoadOptions{Target: "y"},
			`FILE has two columns named "a" (columns 1 and 3)`},
		{"unnamed column", "a,,y\n1,2,0\n", LoadOptions{Target: "y"},
			"column 2 of the header of FILE has no name"},
		{"unknown feature", "a,b,y\n1,2,0\n", LoadOptions{Target: "y", Features: []string{"a", "c"}},
			`FILE has no column "c" (named in features); its columns are a, b, y`},
		{"unknown drop", "a,b,y\n1,2,0\n", LoadOptions{Target: "y", Drop: []string{"z"}},
			`FILE has no column "z" (named in drop); its columns are a, b, y`},
		{"unknown type", "a,b,y\n1,2,0\n", LoadOptions{Target: "y", Types: map[string]ColumnKind{"q": Numeric}},
			`FILE has no column "q" (named in types); its columns are a, b, y`},
		{"bad type", "a,b,y\n1,2,0\n", LoadOptions{Target: "y", Types: map[string]ColumnKind{"a": "text"}},
			`type "text" of column "a" for FILE is not numeric or categorical`},
		{"target among features", "a,b,y\n1,2,0\n", LoadOptions{Target: "y", Features: []string{"a", "y"}},
			`the target column "y" of FILE is also listed in features`},
		{"target dropped", "a,b,y\n1,2,0\n", LoadOptions{Target: "y", Drop: []string{"y"}},
			`the target column "y" of FILE is listed in drop`},
		{"feature twice", "a,b,y\n1,2,0\n", LoadOptions{Target: "y", Features: []string{"a", "b", "a"}},
			`column "a" is listed twice in the features for FILE`},
		{"nothing left", "a,y\n1,0\n", LoadOptions{Target: "y", Drop: []string{"a"}},
			`FILE has no feature columns besides the target "y"`},
		{"bad policy", "a,y\n1,0\n", LoadOptions{Target: "y", Missing: "zero"},
			`missing-value policy "zero" for FILE is not one of drop, mean, most_frequent or empty (reject)`},
		{"bad task", "a,y\n1,0\n", LoadOptions{Target: "y", Task: "clustering"},
			`task "clustering" for FILE is not classification, regression or empty (infer)`},
		{"missing target under mean", "a,y\n1,0\n2,\n", LoadOptions{Target: "y", Missing: MissingMean},
			`FILE line 3: the target "y" is missing, and targets are never imputed; remove the row or set the missing-value policy to drop`},
		{"all dropped", "a,y\n1,\n,0\n", LoadOptions{Target: "y", Missing: MissingDrop},
			"every row of FILE has a missing value, so dropping them leaves no data"},
		{"nothing to impute from", "a,b,y\n1,,0\n2,NA,1\n", LoadOptions{Target: "y", Missing: MissingMean},
			`column "b" of FILE has no values to impute its missing ones from`},
		{"infinite value", "a,y\n1,0\ninf,1\n", LoadOptions{Target: "y"},
			`FILE line 3, column "a": "inf" is not a finite number`},
		{"regression of words", "a,y\n1,x\n2,y\n", LoadOptions{Target: "y", Task: ml.Regression},
			`FILE line 2, column "y": the target "x" is not a finite number, but the task is regression`},
		{"bare quote", "a,y\n1,x\"y\n", LoadOptions{Target: "y"},
			`FILE line 2 is not valid CSV: bare " in non-quoted-field`},
		{"bad delimiter", "a,y\n1,0\n", LoadOptions{Target: "y", Delimiter: '"'},
			`delimiter '"' cannot separate CSV fields in FILE`},
	}
	for _, c := range cases {
		path := writeCSV(t, c.content)
		_, err := Load(path, c.opts)
		want := strings.ReplaceAll(c.want, "FILE", path)
		if err == nil || err.Error() != want {
			t.Fatalf("%s:\n got %v\nwant %s", c.name, err, want)
		}
		if errs.Code(err) != errs.Invalid {
			t.Fatalf("%s: code %s, want %s", c.name, errs.Code(err), errs.Invalid)
		}
	}
	_, err := Load(filepath.Join(t.TempDir(), "nope.csv"), LoadOptions{Target: "y"})
	if errs.Code(err) != errs.NotFound {
		t.Fatalf("missing file: got %v (code %s)", err, errs.Code(err))
	}
}

func TestSubset(t *testing.T) {
	ds, err := Load("testdata/mixed.csv", LoadOptions{Target: "label", Missing: MissingMean})
	if err != nil {
		t.Fatal(err)
	}
	sub := ds.Subset([]int{4, 0, 4})
	if sub.Rows != 3 || sub.Features.NRows != 3 || sub.SHA256 != ds.SHA256 || sub.Path != ds.Path {
		t.Fatalf("subset header = %+v", sub)
	}
	if sub.Features.Columns[0].Num[0] != 45 || sub.Features.Columns[1].Str[1] != "paris" || sub.Target.Y[2] != 0 {
		t.Fatalf("subset values wrong: %+v %+v", sub.Features.Columns, sub.Target)
	}
	if sub.Lines[0] != 6 || sub.Lines[1] != 2 {
		t.Fatalf("subset lines = %v", sub.Lines)
	}
	// The subset is a copy: changing it leaves the original alone.
	sub.Features.Columns[0].Num[0] = -1
	if ds.Features.Columns[0].Num[4] != 45 {
		t.Fatal("Subset shares memory with the original")
	}
}

func BenchmarkLoadIris(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Load("testdata/iris.csv", LoadOptions{Target: "target"}); err != nil {
			b.Fatal(err)
		}
	}
}

// A mostly numeric column with a stray word is an error naming the line;
// typed categorical, the same column loads as text.
func TestStrayTextInANumericColumn(t *testing.T) {
	data := []byte("a,b,y\n1,x,0\n2,y,1\noops,z,0\n4,x,1\n")
	_, err := Parse("d.csv", data, LoadOptions{Target: "y"})
	if err == nil || err.Error() != `d.csv line 4, column "a": "oops" is not a number, though most of the column is numeric (declare the column categorical to keep it as text)` {
		t.Fatalf("err = %v", err)
	}
	ds, err := Parse("d.csv", data, LoadOptions{Target: "y", Types: map[string]ColumnKind{"a": Categorical}})
	if err != nil {
		t.Fatal(err)
	}
	if c := ds.Features.Columns[0]; c.Kind != Categorical || c.Str[2] != "oops" {
		t.Errorf("column a = %+v", c)
	}
}
