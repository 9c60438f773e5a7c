package modelfile

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"gonum.org/v1/gonum/mat"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/preprocess"
	"github.com/mlrun/mlrun/ml/svm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// nearestCentroid is a small real classifier: it predicts the class whose
// training mean is closest, with probabilities softmax(-Temperature·d²).
type nearestCentroid struct {
	Temperature float64     `json:"temperature"`
	Centroids   [][]float64 `json:"centroids"`
}

func (c *nearestCentroid) Fit(ctx context.Context, X *mat.Dense, y []float64, _ ml.Progress) error {
	n, p := X.Dims()
	k := 0
	for _, v := range y {
		k = max(k, int(v)+1)
	}
	c.Centroids = make([][]float64, k)
	counts := make([]float64, k)
	for j := range c.Centroids {
		c.Centroids[j] = make([]float64, p)
	}
	for i := range n {
		counts[int(y[i])]++
		for j := range p {
			c.Centroids[int(y[i])][j] += X.At(i, j)
		}
	}
	for j := range c.Centroids {
		for f := range p {
			c.Centroids[j][f] /= counts[j]
		}
	}
	return ctx.Err()
}

func (c *nearestCentroid) dist2(X *mat.Dense, i, k int) float64 {
	d := 0.0
	for j, m := range c.Centroids[k] {
		d += (X.At(i, j) - m) * (X.At(i, j) - m)
	}
	return d
}

func (c *nearestCentroid) Predict(X *mat.Dense) []float64 {
	n, _ := X.Dims()
	out := make([]float64, n)
	for i := range n {
		best := 0
		for k := range c.Centroids {
			if c.dist2(X, i, k) < c.dist2(X, i, best) {
				best = k
			}
		}
		out[i] = float64(best)
	}
	return out
}

func (c *nearestCentroid) NumClasses() int { return len(c.Centroids) }

func (c *nearestCentroid) PredictProba(X *mat.Dense) *mat.Dense {
	n, _ := X.Dims()
	k := len(c.Centroids)
	P := mat.NewDense(n, k, nil)
	for i := range n {
		sum := 0.0
		for j := range k {
			e := math.Exp(-c.Temperature * c.dist2(X, i, j))
			P.Set(i, j, e)
			sum += e
		}
		for j := range k {
			P.Set(i, j, P.At(i, j)/sum)
		}
	}
	return P
}

// meanRegressor predicts the training mean of y plus Slope times the first feature.
type meanRegressor struct {
	Slope float64 `json:"slope"`
	Mean  float64 `json:"mean"`
}

func (r *meanRegressor) Fit(ctx context.Context, X *mat.Dense, y []float64, _ ml.Progress) error {
	for _, v := range y {
		r.Mean += v / float64(len(y))
	}
	return ctx.Err()
}

func (r *meanRegressor) Predict(X *mat.Dense) []float64 {
	n, _ := X.Dims()
	out := make([]float64, n)
	for i := range out {
		out[i] = r.Mean + r.Slope*X.At(i, 0)
	}
	return out
}

func testSpecs(name string) (ml.Spec, bool) {
	switch name {
	case "nearest_centroid":
		return ml.Spec{
			Name: name, Tasks: []ml.Task{ml.Classification},
			Params: []ml.Param{{Name: "temperature", Type: "float", Default: 1.0}},
			New: func(task ml.Task, p ml.Params) (ml.Estimator, error) {
				t, err := p.Float("temperature")
				if err != nil {
					return nil, err
				}
				return &nearestCentroid{Temperature: t}, nil
			},
		}, true
	case "mean_regressor":
		return ml.Spec{
			Name: name, Tasks: []ml.Task{ml.Regression},
			Params: []ml.Param{{Name: "slope", Type: "float", Default: 0.0}},
			New: func(task ml.Task, p ml.Params) (ml.Estimator, error) {
				s, err := p.Float("slope")
				if err != nil {
					return nil, err
				}
				return &meanRegressor{Slope: s}, nil
			},
		}, true
	}
	return ml.Spec{}, false
}

// testFrame is 12 rows of two numeric features and a colour, three classes.
func testFrame() (*dataset.Frame, []float64) {
	f := &dataset.Frame{NRows: 12, Columns: []dataset.Column{
		{Name: "length", Kind: dataset.Numeric, Num: []float64{1.1, 0.9, 1.3, 1.0, 5.2, 4.8, 5.5, 5.1, 9.0, 8.7, 9.4, 9.1}},
		{Name: "color", Kind: dataset.Categorical, Str: []string{"red", "red", "blue", "red", "green", "green", "blue", "green", "blue", "red", "blue", "blue"}},
		{Name: "width", Kind: dataset.Numeric, Num: []float64{0.2, 0.3, 0.1, 0.25, 1.5, 1.4, 1.6, 1.3, 2.2, 2.5, 2.1, 2.4}},
	}}
	y := []float64{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}
	return f, y
}

// fitModel trains the nearest-centroid classifier on testFrame.
func fitModel(t *testing.T) (*Model, *dataset.Frame) {
	t.Helper()
	f, y := testFrame()
	pipe, err := preprocess.Fit(f, preprocess.Options{Scale: true, OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	X, err := pipe.Transform(f)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := testSpecs("nearest_centroid")
	params, err := spec.WithDefaults(ml.Params{"temperature": 0.7})
	if err != nil {
		t.Fatal(err)
	}
	est, err := spec.New(ml.Classification, params)
	if err != nil {
		t.Fatal(err)
	}
	if err := est.Fit(context.Background(), X, y, nil); err != nil {
		t.Fatal(err)
	}
	return &Model{
		Estimator: est, EstimatorName: "nearest_centroid", Task: ml.Classification,
		Hyperparameters: params, Preprocess: pipe,
		Target: TargetInfo{Name: "species", Classes: []string{"small", "medium", "large"}},
		RunID:  "0123456789abcdef0123456789abcdef",
		UUID:   "fedcba9876543210fedcba9876543210",
		// 1e-7 s past the microsecond: utc_time_created keeps microseconds only.
		Created: time.Date(2025, 3, 4, 5, 6, 7, 123456700, time.FixedZone("CET", 3600)),
	}, f
}

func TestSaveLoadPredictsIdentically(t *testing.T) {
	m, f := fitModel(t)
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, m, f); err != nil {
		t.Fatal(err)
	}
	before, err := m.Predict(f)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(dir, testSpecs)
	if err != nil {
		t.Fatal(err)
	}
	after, err := loaded.Predict(f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before.Labels, after.Labels) || !reflect.DeepEqual(before.Classes, after.Classes) {
		t.Fatalf("labels before %v, after load %v", before.Labels, after.Labels)
	}
	for i := range before.Proba {
		for j := range before.Proba[i] {
			if math.Float64bits(before.Proba[i][j]) != math.Float64bits(after.Proba[i][j]) {
				t.Fatalf("proba[%d][%d]: %v before, %v after load", i, j, before.Proba[i][j], after.Proba[i][j])
			}
		}
	}
	wantLabels := []any{"small", "small", "small", "small", "medium", "medium", "medium", "medium", "large", "large", "large", "large"}
	if !reflect.DeepEqual(after.Labels, wantLabels) {
		t.Fatalf("labels %v, want %v", after.Labels, wantLabels)
	}
	if !reflect.DeepEqual(loaded.Estimator, m.Estimator) || !reflect.DeepEqual(loaded.Preprocess, m.Preprocess) {
		t.Fatal("loaded estimator or pipeline differs from the saved one")
	}
	if !loaded.Created.Equal(time.Date(2025, 3, 4, 4, 6, 7, 123456000, time.UTC)) || loaded.RunID != m.RunID || loaded.UUID != m.UUID {
		t.Fatalf("metadata after load: created %v run %q uuid %q", loaded.Created, loaded.RunID, loaded.UUID)
	}
	if loaded.Hyperparameters["temperature"] != 0.7 || loaded.SizeBytes != m.SizeBytes || m.SizeBytes == 0 {
		t.Fatalf("hyperparameters %v, size %d (saved %d)", loaded.Hyperparameters, loaded.SizeBytes, m.SizeBytes)
	}
	// Only the final directory remains: no temporary directory is left behind.
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Fatalf("parent holds %d entries, want only model/", len(entries))
	}
}

func TestRegressionModel(t *testing.T) {
	f, _ := testFrame()
	pipe, err := preprocess.Fit(f, preprocess.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	X, _ := pipe.Transform(f)
	est := &meanRegressor{Slope: 0.5}
	if err := est.Fit(context.Background(), X, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, nil); err != nil {
		t.Fatal(err)
	}
	m := &Model{Estimator: est, EstimatorName: "mean_regressor", Task: ml.Regression,
		Hyperparameters: ml.Params{"slope": 0.5}, Preprocess: pipe, Target: TargetInfo{Name: "price"}}
	dir := filepath.Join(t.TempDir(), "m")
	if err := Save(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, InputExampleFile)); !os.IsNotExist(err) {
		t.Fatalf("input example written without an example frame: %v", err)
	}
	loaded, err := Load(dir, testSpecs)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loaded.Predict(f)
	if err != nil {
		t.Fatal(err)
	}
	// mean 6.5 + 0.5 × length 1.1
	if p.Labels[0] != 6.5+0.5*1.1 || p.Proba != nil || p.Classes != nil {
		t.Fatalf("prediction %v proba %v classes %v", p.Labels[0], p.Proba, p.Classes)
	}
	sig := loaded.Signature()
	if want := []ColumnSpec{{Name: "price", Type: "double", Required: true}}; !reflect.DeepEqual(sig.Outputs, want) {
		t.Fatalf("outputs %v, want %v", sig.Outputs, want)
	}
	if len(loaded.UUID) != 32 || loaded.ArtifactPath != "m" || loaded.MLrunVersion != "dev" {
		t.Fatalf("defaults: uuid %q artifact_path %q version %q", loaded.UUID, loaded.ArtifactPath, loaded.MLrunVersion)
	}
}

func TestMLmodelGolden(t *testing.T) {
	m, f := fitModel(t)
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, m, f); err != nil {
		t.Fatal(err)
	}
	// model_size_bytes is the size of the other files, as in MLflow.
	var size int64
	for _, name := range []string{DataFile, InputExampleFile, ServingExampleFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
	}
	if m.SizeBytes != size {
		t.Errorf("model_size_bytes %d, files hold %d bytes", m.SizeBytes, size)
	}
	for _, name := range []string{MLmodelFile, InputExampleFile, ServingExampleFile} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// The golden MLmodel has size 0: model.json's float digits may differ
		// by platform (fused multiply-add), its size is checked above.
		got = bytes.Replace(got, fmt.Appendf(nil, "model_size_bytes: %d\n", size), []byte("model_size_bytes: 0\n"), 1)
		golden := filepath.Join("testdata", "golden", name)
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (run go test -update to accept):\n%s", name, golden, got)
		}
	}

	// MLmodel parses as YAML with MLflow's keys and JSON-string signature.
	text, _ := os.ReadFile(filepath.Join(dir, MLmodelFile))
	var doc map[string]any
	if err := yaml.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"artifact_path", "flavors", "model_uuid", "run_id", "utc_time_created", "model_size_bytes", "signature", "saved_input_example_info", "mlrun_version"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("MLmodel has no %s", key)
		}
	}
	if _, ok := doc["mlflow_version"]; ok {
		t.Error("MLmodel has mlflow_version")
	}
	if got := fmt.Sprint(doc["utc_time_created"]); got != "2025-03-04 04:06:07.123456" {
		t.Errorf("utc_time_created = %q", got)
	}
	sig := doc["signature"].(map[string]any)
	var inputs []ColumnSpec
	if err := json.Unmarshal([]byte(sig["inputs"].(string)), &inputs); err != nil {
		t.Fatal(err)
	}
	wantIn := []ColumnSpec{{"length", "double", true}, {"color", "string", true}, {"width", "double", true}}
	if !reflect.DeepEqual(inputs, wantIn) {
		t.Errorf("signature inputs %v, want %v", inputs, wantIn)
	}
	flavors := doc["flavors"].(map[string]any)
	if py := flavors["python_function"].(map[string]any); py["loader_module"] != "mlrun.pyfunc" {
		t.Errorf("python_function flavor %v", py)
	}
	if mr := flavors["mlrun"].(map[string]any); mr["estimator"] != "nearest_centroid" || mr["data"] != DataFile {
		t.Errorf("mlrun flavor %v", mr)
	}
}

func TestSaveRefusesExistingModel(t *testing.T) {
	m, f := fitModel(t)
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, m, f); err != nil {
		t.Fatal(err)
	}
	if err := Save(dir, m, f); errs.Code(err) != errs.Conflict {
		t.Fatalf("second save: got %v, want a Conflict error", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Save(empty, m, f); err != nil {
		t.Fatalf("save into an existing empty directory: %v", err)
	}
}

// corrupt saves a model, applies damage to a copy and returns Load's error.
func TestLoadRejectsDamage(t *testing.T) {
	m, f := fitModel(t)
	base := filepath.Join(t.TempDir(), "model")
	if err := Save(base, m, f); err != nil {
		t.Fatal(err)
	}
	modelJSONText, _ := os.ReadFile(filepath.Join(base, DataFile))
	mlmodelText, _ := os.ReadFile(filepath.Join(base, MLmodelFile))

	cases := []struct {
		name   string
		damage func(dir string) error
		want   string
	}{
		{"truncated model.json", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, DataFile), modelJSONText[:len(modelJSONText)/2], 0o644)
		}, "model.json is not valid JSON"},
		{"digit changed in state", func(dir string) error {
			i := bytes.Index(modelJSONText, []byte(`"centroids"`))
			b := bytes.Clone(modelJSONText)
			for ; b[i] < '1' || b[i] > '8'; i++ {
			}
			b[i]++
			return os.WriteFile(filepath.Join(dir, DataFile), b, 0o644)
		}, "model.json is corrupted: its content does not match its sha256 checksum"},
		{"class renamed", func(dir string) error {
			b := bytes.Replace(modelJSONText, []byte(`"medium"`), []byte(`"MEDIUM"`), 1)
			return os.WriteFile(filepath.Join(dir, DataFile), b, 0o644)
		}, "does not match its sha256 checksum"},
		{"format_version 99", func(dir string) error {
			b := bytes.Replace(modelJSONText, []byte(`"format_version": 1`), []byte(`"format_version": 99`), 1)
			return os.WriteFile(filepath.Join(dir, DataFile), b, 0o644)
		}, "model.json has format_version 99, newer than the 1 this mlrun reads"},
		{"missing MLmodel", func(dir string) error {
			return os.Remove(filepath.Join(dir, MLmodelFile))
		}, "is not a model directory: it has no MLmodel file"},
		{"missing model.json", func(dir string) error {
			return os.Remove(filepath.Join(dir, DataFile))
		}, "model.json is missing"},
		{"bad YAML", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, MLmodelFile), []byte("flavors: [unclosed\n"), 0o644)
		}, "MLmodel is not valid YAML"},
		{"not an mlrun model", func(dir string) error {
			b := bytes.Replace(mlmodelText, []byte("  mlrun:"), []byte("  sklearn:"), 1)
			return os.WriteFile(filepath.Join(dir, MLmodelFile), b, 0o644)
		}, "MLmodel has no mlrun flavor"},
		{"unknown estimator", func(dir string) error {
			// A consistent file (checksum recomputed) naming an unknown estimator.
			var doc modelJSON
			if err := json.Unmarshal(modelJSONText, &doc); err != nil {
				return err
			}
			doc.Estimator = json.RawMessage(`"quantum_forest"`)
			doc.SHA256, _ = doc.checksum()
			b, _ := json.Marshal(doc)
			return os.WriteFile(filepath.Join(dir, DataFile), b, 0o644)
		}, `uses estimator "quantum_forest", which this mlrun does not know`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir, testSpecs)
			if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (code %s), want an Invalid error containing %q", err, errs.Code(err), tc.want)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q does not name the directory", err)
			}
		})
	}
}

func TestPredictRejectsBadFrames(t *testing.T) {
	m, f := fitModel(t)
	unknown := &dataset.Frame{NRows: 1, Columns: []dataset.Column{
		{Name: "length", Kind: dataset.Numeric, Num: []float64{1}},
		{Name: "color", Kind: dataset.Categorical, Str: []string{"purple"}},
		{Name: "width", Kind: dataset.Numeric, Num: []float64{1}},
	}}
	if _, err := m.Predict(unknown); errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), `"purple"`) {
		t.Fatalf("unknown category: %v", err)
	}
	missing := &dataset.Frame{NRows: f.NRows, Columns: f.Columns[:2]}
	if _, err := m.Predict(missing); errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), `"width"`) {
		t.Fatalf("missing column: %v", err)
	}
}

// An SVC fitted with probability=false (scikit-learn's default) predicts
// labels and no probabilities; with probability=true it gives both.
func TestPredictWithoutProbabilities(t *testing.T) {
	f, y := testFrame()
	pipe, err := preprocess.Fit(f, preprocess.Options{Scale: true, OneHot: true})
	if err != nil {
		t.Fatal(err)
	}
	X, err := pipe.Transform(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, prob := range []bool{false, true} {
		spec := svm.Specs()[0]
		params, err := spec.WithDefaults(ml.Params{"probability": prob, "random_state": 0})
		if err != nil {
			t.Fatal(err)
		}
		est, err := spec.New(ml.Classification, params)
		if err != nil {
			t.Fatal(err)
		}
		if err := est.Fit(context.Background(), X, y, nil); err != nil {
			t.Fatal(err)
		}
		m := &Model{Estimator: est, EstimatorName: spec.Name, Task: ml.Classification, Hyperparameters: params,
			Preprocess: pipe, Target: TargetInfo{Name: "species", Classes: []string{"small", "medium", "large"}}}
		if m.HasProbabilities() != prob {
			t.Errorf("probability=%v: HasProbabilities() = %v", prob, m.HasProbabilities())
		}
		p, err := m.Predict(f)
		if err != nil {
			t.Fatalf("probability=%v: %v", prob, err)
		}
		if len(p.Labels) != 12 || p.Labels[0] != "small" || p.Labels[11] != "large" {
			t.Errorf("probability=%v: labels %v", prob, p.Labels)
		}
		if prob != (p.Proba != nil) {
			t.Errorf("probability=%v: Proba %v", prob, p.Proba)
		}
		if prob && len(p.Proba[0]) != 3 {
			t.Errorf("probability=true: %d probabilities per row, want 3", len(p.Proba[0]))
		}
	}
}

// A model with ONNX gets model.onnx, MLflow's onnx flavor and a
// python_function entry that loads it through mlflow.onnx; Load reports it.
func TestSaveWithONNX(t *testing.T) {
	m, f := fitModel(t)
	m.ONNX = &ONNXModel{Data: []byte("not really onnx"), Version: "1.23.0"}
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, m, f); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, ONNXFile)); err != nil || string(got) != "not really onnx" {
		t.Fatalf("model.onnx: %q, %v", got, err)
	}
	text, err := os.ReadFile(filepath.Join(dir, MLmodelFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  onnx:\n    code: null\n    data: model.onnx\n    onnx_version: 1.23.0\n    providers:\n    - CPUExecutionProvider\n",
		"  python_function:\n    data: model.onnx\n    env: none\n    loader_module: mlflow.onnx\n",
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("MLmodel lacks\n%s\nin\n%s", want, text)
		}
	}
	loaded, err := Load(dir, testSpecs)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.HasONNX || loaded.SizeBytes != m.SizeBytes {
		t.Errorf("HasONNX %v, size %d (saved %d)", loaded.HasONNX, loaded.SizeBytes, m.SizeBytes)
	}
	m2, f2 := fitModel(t)
	if err := Save(filepath.Join(t.TempDir(), "plain"), m2, f2); err != nil {
		t.Fatal(err)
	}
	if m2.SizeBytes+int64(len("not really onnx")) != m.SizeBytes {
		t.Errorf("model_size_bytes %d with ONNX, %d without", m.SizeBytes, m2.SizeBytes)
	}
}

// PredictLabels gives Predict's labels and classes without probabilities.
func TestPredictLabelsSkipsProbabilities(t *testing.T) {
	m, f := fitModel(t)
	full, err := m.Predict(f)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := m.PredictLabels(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Proba) != f.NRows || labels.Proba != nil {
		t.Fatalf("Predict gave %d probability rows, PredictLabels %d; want %d and none", len(full.Proba), len(labels.Proba), f.NRows)
	}
	if !reflect.DeepEqual(full.Labels, labels.Labels) || !reflect.DeepEqual(full.Classes, labels.Classes) {
		t.Fatalf("PredictLabels %v %v, Predict %v %v", labels.Labels, labels.Classes, full.Labels, full.Classes)
	}
}
