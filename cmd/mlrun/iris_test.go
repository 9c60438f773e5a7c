package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/mlrun/mlrun/tracking"
)

// irisDir copies examples/iris into a fresh directory.
func irisDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"MLproject", "data/iris.csv"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "iris", name))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{name: string(data)})
	}
	return dir
}

func artifactDir(r *tracking.Run) string { return strings.TrimPrefix(r.Info.ArtifactURI, "file://") }

// The whole classic tutorial from the example: a FINISHED run with params,
// metrics, the pictures, the reports and the model directory.
func TestIrisExampleIsTheWholeTutorial(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".")
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFinished {
		t.Fatalf("status %s: %s", run.Info.Status, tagOf(run, "mlrun.error"))
	}
	for key, want := range map[string]string{"C": "1.0", "max_iter": "200", "random_state": "42",
		"train.estimator": "logistic_regression", "train.C": "1.0", "train.rows": "112"} {
		if got, _ := run.Param(key); got != want {
			t.Errorf("param %s = %q, want %q", key, got, want)
		}
	}
	// scikit-learn 1.2.1 on the same split: test accuracy 1.0 (38/38), train 0.964286.
	for key, want := range map[string]float64{"accuracy": 1, "f1_macro": 1, "precision_weighted": 1} {
		if got, ok := run.Metric(key); !ok || got != want {
			t.Errorf("metric %s = %v, want %v", key, got, want)
		}
	}
	if got, _ := run.Metric("train_accuracy"); got < 0.964 || got > 0.9643 {
		t.Errorf("train_accuracy = %v, want 0.964286 as scikit-learn", got)
	}
	for _, key := range []string{"log_loss", "roc_auc", "train_loss"} {
		if _, ok := run.Metric(key); !ok {
			t.Errorf("metric %s missing", key)
		}
	}
	if n := countHistory(t, e, run.Info.ID, "train_loss"); n < 50 {
		t.Errorf("train_loss history has %d points, want one per L-BFGS iteration", n)
	}
	if tagOf(run, "dataset_version") == "" || tagOf(run, "dataset_version") != tagOf(run, "mlrun.dataset.data/iris.csv") {
		t.Errorf("dataset_version %q vs recorded %q", tagOf(run, "dataset_version"), tagOf(run, "mlrun.dataset.data/iris.csv"))
	}
	if got := tagOf(run, "mlrun.dataset_shape.load"); got != "150 rows x 4 features" {
		t.Errorf("dataset shape tag = %q", got)
	}
	for _, key := range []string{"mlrun.seed.split.random_state", "mlrun.seed.params.random_state"} {
		if got := tagOf(run, key); got != "42" {
			t.Errorf("seed tag %s = %q, want 42", key, got)
		}
	}

	art := artifactDir(run)
	// Plots are drawn in the background; the run ends once they are written.
	for _, name := range []string{"confusion_matrix.png", "learning_curve.png", "projection.png"} {
		f, err := os.Open(filepath.Join(art, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s is not a PNG: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 300 || distinctColours(img) < 3 {
			t.Errorf("%s looks blank: %v, %d colours", name, b, distinctColours(img))
		}
	}
	var rep map[string]any
	data, err := os.ReadFile(filepath.Join(art, "classification_report.json"))
	if err != nil || json.Unmarshal(data, &rep) != nil {
		t.Fatalf("classification_report.json: %v", err)
	}
	if _, ok := rep["virginica"]; !ok || rep["accuracy"] != 1.0 {
		t.Errorf("classification report: %s", data)
	}
	html, err := os.ReadFile(filepath.Join(art, "classification_report.html"))
	if err != nil || !bytes.Contains(html, []byte("versicolor")) {
		t.Errorf("classification_report.html: %v", err)
	}

	// The model directory: MLmodel with signature and example, model.json.
	mlmodel, err := os.ReadFile(filepath.Join(art, "model", "MLmodel"))
	if err != nil {
		t.Fatal(err)
	}
	var mm struct {
		RunID     string `yaml:"run_id"`
		Signature struct {
			Inputs  string `yaml:"inputs"`
			Outputs string `yaml:"outputs"`
		} `yaml:"signature"`
		Example struct {
			Path string `yaml:"artifact_path"`
		} `yaml:"saved_input_example_info"`
	}
	if err := yaml.Unmarshal(mlmodel, &mm); err != nil {
		t.Fatalf("MLmodel: %v", err)
	}
	if mm.RunID != run.Info.ID || !strings.Contains(mm.Signature.Inputs, "petal_width_cm") || mm.Example.Path != "input_example.json" {
		t.Errorf("MLmodel: %+v", mm)
	}
	for _, name := range []string{"model.json", "input_example.json"} {
		if _, err := os.Stat(filepath.Join(art, "model", name)); err != nil {
			t.Error(err)
		}
	}
}

// The linear SVC entry point: scikit-learn's SVC(kernel="linear",
// probability=True, random_state=42) scores 1.0 on the same split.
func TestIrisSVCEntryPoint(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".", "-e", "svc")
	run := e.onlyRun()
	if got, _ := run.Metric("accuracy"); got != 1 {
		t.Errorf("svc accuracy = %v, want 1.0", got)
	}
	if got, _ := run.Param("train.kernel"); got != "linear" {
		t.Errorf("train.kernel = %q", got)
	}
}

// The same inputs and seed give bit-identical model files and metrics,
// with one worker or several.
func TestSameSeedSameModel(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	writeFiles(t, dir, map[string]string{"MLproject": `name: forest
entry_points:
  main:
    parameters:
      jobs: {type: int, default: 1}
      model: {type: string, default: random_forest}
    steps:
      - {name: load, uses: load, with: {path: data/iris.csv, target: target}}
      - {name: split, uses: split, with: {dataset: "${{ steps.load.outputs.dataset }}", stratify: true}}
      - name: train
        uses: train
        with:
          data: "${{ steps.split.outputs.train }}"
          estimator: "${{ params.model }}"
          hyperparameters: {n_estimators: 20, n_jobs: "${{ params.jobs }}"}
      - {name: evaluate, uses: evaluate, with: {model: "${{ steps.train.outputs.model }}", data: "${{ steps.split.outputs.test }}"}}
`})
	e.ok(dir, "run", ".", "--seed", "7", "-P", "jobs=1")
	e.ok(dir, "run", ".", "--seed", "7", "-P", "jobs=4")
	e.ok(dir, "run", ".", "--seed", "8", "-P", "jobs=4")
	runs := e.runs() // newest first
	model := func(r *tracking.Run) []byte {
		data, err := os.ReadFile(filepath.Join(artifactDir(r), "model", "model.json"))
		if err != nil {
			t.Fatal(err)
		}
		// The state records n_jobs; the fitted trees must not depend on it.
		var m struct {
			State struct {
				Trees json.RawMessage `json:"trees"`
			} `json:"state"`
		}
		if err := json.Unmarshal(data, &m); err != nil || len(m.State.Trees) < 100 {
			t.Fatalf("model.json has no trees: %v", err)
		}
		return m.State.Trees
	}
	seed8, seed7b, seed7a := runs[0], runs[1], runs[2]
	if !bytes.Equal(model(seed7a), model(seed7b)) {
		t.Error("same seed, 1 vs 4 workers: the fitted forests differ")
	}
	for _, key := range []string{"accuracy", "log_loss", "train_accuracy"} {
		a, _ := seed7a.Metric(key)
		b, _ := seed7b.Metric(key)
		if a != b {
			t.Errorf("metric %s: %v vs %v with the same seed", key, a, b)
		}
	}
	if bytes.Equal(model(seed7a), model(seed8)) {
		t.Error("different seeds gave the same forest: the seed is not used")
	}
	if tagOf(seed7a, "mlrun.seed") != "7" || tagOf(seed7a, "mlrun.seed.train.random_state") != "7" {
		t.Errorf("seed tags: %q %q", tagOf(seed7a, "mlrun.seed"), tagOf(seed7a, "mlrun.seed.train.random_state"))
	}
}

// A bad hyperparameter or estimator is reported before any run exists.
func TestBadHyperparametersFailBeforeTheRun(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-P", "C=-1"}, "C"},
		{[]string{"-P", "max_iter=0"}, "max_iter"},
		{[]string{"-P", "test_size=0"}, "test_size"},
	}
	for _, tc := range cases {
		e := newEnv(t)
		dir := irisDir(t)
		r := e.run(dir, append([]string{"run", "."}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
		if n := len(e.runs()); n != 0 {
			t.Errorf("%v left %d runs", tc.args, n)
		}
	}
	e := newEnv(t)
	dir := irisDir(t)
	mlproject, _ := os.ReadFile(filepath.Join(dir, "MLproject"))
	writeFiles(t, dir, map[string]string{"MLproject": strings.Replace(string(mlproject), "estimator: logistic_regression", "estimator: deep_magic", 1)})
	if r := e.run(dir, "run", "."); r.code != 2 || !strings.Contains(r.stderr, "deep_magic") {
		t.Errorf("unknown estimator: exit %d, %q", r.code, r.stderr)
	}
	writeFiles(t, dir, map[string]string{"MLproject": strings.Replace(string(mlproject), "max_iter: \"${{ params.max_iter }}\"", "max_depth: 0", 1)})
	if r := e.run(dir, "run", "."); r.code != 2 || !strings.Contains(r.stderr, "max_depth") {
		t.Errorf("undeclared hyperparameter: exit %d, %q", r.code, r.stderr)
	}
}

// Bad data is reported with the file and the line.
func TestBadDataNamesTheRow(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	data, _ := os.ReadFile(filepath.Join(dir, "data", "iris.csv"))
	lines := strings.Split(string(data), "\n")
	lines[5] = "5.0,3.6,oops,0.2,0"
	writeFiles(t, dir, map[string]string{"data/iris.csv": strings.Join(lines, "\n")})
	r := e.run(dir, "run", ".")
	if r.code == 0 || !strings.Contains(r.stderr, "iris.csv") || !strings.Contains(r.stderr, "line 6") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFailed || !strings.Contains(tagOf(run, "mlrun.error"), "line 6") {
		t.Errorf("status %s, error %q", run.Info.Status, tagOf(run, "mlrun.error"))
	}
}

func distinctColours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bb, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bb, a}] = true
		}
	}
	return len(seen)
}

// The regression example scores as scikit-learn does on the same split
// (examples/regression/data/reference.py prints these numbers).
func TestRegressionExampleMatchesScikitLearn(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	for _, name := range []string{"MLproject", "data/diabetes.csv"} {
		writeFiles(t, dir, map[string]string{name: mustRead(t, filepath.Join("..", "..", "examples", "regression", name))})
	}
	e.ok(dir, "run", ".", "-P", "model=linear_regression,ridge,random_forest")
	want := map[string]float64{"linear_regression": 0.3322332173106187, "ridge": 0.3409800318493461, "random_forest": 0.26865181564422547}
	_, children := sweepRuns(t, e)
	if len(children) != 3 {
		t.Fatalf("%d trials", len(children))
	}
	for _, c := range children {
		model, _ := c.Param("model")
		got, _ := c.Metric("r2")
		if math.Abs(got-want[model]) > 1e-9 {
			t.Errorf("%s: R² %v, scikit-learn %v", model, got, want[model])
		}
		for _, k := range []string{"mae", "rmse", "train_r2"} {
			if _, ok := c.Metric(k); !ok {
				t.Errorf("%s: no %s", model, k)
			}
		}
	}
}

// The example registers its model only when asked and good enough, and
// says why not otherwise.
func TestIrisRegistersByRule(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".")
	e.ok(dir, "run", ".", "-P", "register_as=iris", "-P", "min_accuracy=1.01")
	e.ok(dir, "run", ".", "-P", "register_as=iris")
	runs := e.runs() // newest first
	if got := tagOf(runs[2], "mlrun.step.register"); !strings.Contains(got, `params.register_as = "",`) {
		t.Errorf("not asked: %q", got)
	}
	if got := tagOf(runs[1], "mlrun.step.register"); !strings.Contains(got, "metrics.accuracy = 1, params.min_accuracy = 1.01") {
		t.Errorf("not good enough: %q", got)
	}
	if got := tagOf(runs[0], "mlrun.registered_model"); got != "iris/1" {
		t.Errorf("registered = %q", got)
	}
	list := e.ok(dir, "models", "list").stdout
	if !strings.Contains(list, "champion=1") {
		t.Errorf("models list:\n%s", list)
	}
}

// A binary task gets a ROC curve and its AUC, as scikit-learn's.
func TestBinaryTaskDrawsTheROCCurve(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	// versicolor (1) against virginica (2): the two classes that overlap.
	lines := strings.Split(strings.TrimSpace(mustRead(t, filepath.Join(dir, "data", "iris.csv"))), "\n")
	binary := []string{lines[0]}
	for _, l := range lines[1:] {
		if !strings.HasSuffix(strings.TrimSpace(l), ",0") { // the file has CRLF line ends
			binary = append(binary, l)
		}
	}
	writeFiles(t, dir, map[string]string{
		"data/binary.csv": strings.Join(binary, "\n") + "\n",
		"MLproject": `name: binary
entry_points:
  main:
    steps:
      - {name: load, uses: load, with: {path: data/binary.csv, target: target}}
      - {name: split, uses: split, with: {dataset: "${{ steps.load.outputs.dataset }}", random_state: 0}}
      - {name: train, uses: train, with: {data: "${{ steps.split.outputs.train }}", hyperparameters: {max_iter: 1000}}}
      - {name: evaluate, uses: evaluate, with: {model: "${{ steps.train.outputs.model }}", data: "${{ steps.split.outputs.test }}"}}
`})
	e.ok(dir, "run", ".")
	run := e.onlyRun()
	auc, ok := run.Metric("roc_auc")
	if !ok || auc < 0.9 || auc > 1 {
		t.Errorf("roc_auc = %v (%v)", auc, ok)
	}
	f, err := os.Open(filepath.Join(artifactDir(run), "roc_curve.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || distinctColours(img) < 3 {
		t.Errorf("roc_curve.png: %v", err)
	}
}
