package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/preprocess"
)

// irisCSV is the Iris data set (150 rows, 4 numeric features, target 0/1/2).
const irisCSV = "testdata/iris.csv"

// irisColumns are the feature columns of irisCSV, in file order.
var irisColumns = []string{"sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"}

// trainModel fits estimator on the CSV file at path and saves the model to
// a new directory, which it returns with the loaded model.
func trainModel(t testing.TB, path string, opts dataset.LoadOptions, estimator string, params ml.Params) (string, *modelfile.Model) {
	t.Helper()
	ds, err := dataset.Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := preprocess.Fit(ds.Features, preprocess.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	X, err := pipe.Transform(ds.Features)
	if err != nil {
		t.Fatal(err)
	}
	spec, ok := catalog.Builtin().Lookup(estimator)
	if !ok {
		t.Fatalf("no estimator %s", estimator)
	}
	full, err := spec.WithDefaults(params)
	if err != nil {
		t.Fatal(err)
	}
	est, err := spec.New(ds.Target.Task, full)
	if err != nil {
		t.Fatal(err)
	}
	if err := est.Fit(context.Background(), X, ds.Target.Y, nil); err != nil {
		t.Fatal(err)
	}
	m := &modelfile.Model{
		Estimator:       est,
		EstimatorName:   estimator,
		Task:            ds.Target.Task,
		Hyperparameters: full,
		Preprocess:      pipe,
		Target:          modelfile.TargetInfo{Name: ds.Target.Name, Classes: ds.Target.Classes},
		RunID:           "0123456789abcdef0123456789abcdef",
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := modelfile.Save(dir, m, ds.Features); err != nil {
		t.Fatal(err)
	}
	loaded, err := modelfile.Load(dir, catalog.Builtin().Lookup)
	if err != nil {
		t.Fatal(err)
	}
	return dir, loaded
}

// irisModel trains logistic regression on Iris, the classic tutorial model.
func irisModel(t testing.TB) (string, *modelfile.Model) {
	return trainModel(t, irisCSV, dataset.LoadOptions{Target: "target"}, "logistic_regression", ml.Params{"max_iter": 200})
}

// rewriteCSV writes a copy of irisCSV with each data row passed through
// edit (which gets the fields, the target last, and the row number) and
// the header replaced, and returns its path.
func rewriteCSV(t testing.TB, header string, edit func(fields []string, row int) []string) string {
	t.Helper()
	data, err := os.ReadFile(irisCSV)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(data), "\r\n", "\n")), "\n")
	out := []string{header}
	for i, line := range lines[1:] {
		out = append(out, strings.Join(edit(strings.Split(line, ","), i), ","))
	}
	path := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// speciesNames relabel Iris' 0/1/2 target.
var speciesNames = map[string]string{"0": "setosa", "1": "versicolor", "2": "virginica"}

// speciesModel trains logistic regression on Iris with the target
// relabelled to species names: it predicts strings where irisModel
// predicts integers.
func speciesModel(t testing.TB) (string, *modelfile.Model) {
	path := rewriteCSV(t, strings.Join(irisColumns, ",")+",target", func(f []string, _ int) []string {
		f[4] = speciesNames[f[4]]
		return f
	})
	return trainModel(t, path, dataset.LoadOptions{Target: "target"}, "logistic_regression", ml.Params{"max_iter": 200})
}

// fixedSource is a Source whose directory and token a test switches.
type fixedSource struct {
	mu         sync.Mutex
	dir, token string
	err        error
}

func newSource(dir string) *fixedSource { return &fixedSource{dir: dir, token: dir} }

func (s *fixedSource) Resolve(context.Context) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir, s.token, s.err
}

func (s *fixedSource) String() string { return "models:/iris@champion" }

// set switches the source to dir.
func (s *fixedSource) set(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dir, s.token = dir, dir
}

// newTestServer starts s's handler on a real HTTP server on 127.0.0.1.
func newTestServer(t testing.TB, dir string, o Options) (*Server, string) {
	t.Helper()
	s, err := New(context.Background(), newSource(dir), o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// post sends body to url with the content type and returns the status and body.
func post(t testing.TB, url, contentType, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// scoreResponse is a successful /invocations answer.
type scoreResponse struct {
	Predictions   []any       `json:"predictions"`
	Classes       []any       `json:"classes"`
	Probabilities [][]float64 `json:"probabilities"`
}

// score posts body to url (an /invocations URL) and decodes a 200 answer.
func score(t testing.TB, url, contentType, body string) scoreResponse {
	t.Helper()
	status, b := post(t, url, contentType, body)
	if status != http.StatusOK {
		t.Fatalf("POST /invocations %s: status %d, body %s", body, status, b)
	}
	var r scoreResponse
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return r
}

// frameOf builds a frame of numeric columns from rows.
func frameOf(names []string, rows [][]float64) *dataset.Frame {
	f := &dataset.Frame{NRows: len(rows)}
	for j, name := range names {
		c := dataset.Column{Name: name, Kind: dataset.Numeric, Num: make([]float64, len(rows))}
		for i, r := range rows {
			c.Num[i] = r[j]
		}
		f.Columns = append(f.Columns, c)
	}
	return f
}

// jsonRows formats finite rows as a JSON list of lists.
func jsonRows(rows [][]float64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('[')
		for j, v := range r {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
	return b.String()
}
