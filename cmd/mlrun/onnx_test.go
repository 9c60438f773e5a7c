package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/mlrun/mlrun/internal/testenv"
)

// mlflowPythonPath returns the PYTHONPATH of the MLflow 2.12.2 client tree
// (/work/shared/mlflow-client/setup.sh; MLRUN_MLFLOW_DEST overrides
// /opt/mlflow-2.12.2), or skips when it is not installed.
func mlflowPythonPath(t *testing.T) string {
	t.Helper()
	home := os.Getenv("MLRUN_MLFLOW_DEST")
	if home == "" {
		home = "/opt/mlflow-2.12.2"
	}
	if _, err := os.Stat(filepath.Join(home, "src", "mlflow", "version.py")); err != nil {
		testenv.Missing(t, "the MLflow 2.12.2 client is not in %s (run /work/shared/mlflow-client/setup.sh or set MLRUN_MLFLOW_DEST)", home)
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		testenv.Missing(t, "/usr/bin/python3 is missing")
	}
	return filepath.Join(home, "src") + string(os.PathListSeparator) + filepath.Join(home, "shim")
}

// readMLmodelFlavors returns MLmodel's flavors as plain maps.
func readMLmodelFlavors(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(dir, "MLmodel"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Flavors map[string]map[string]any `yaml:"flavors"`
	}
	if err := yaml.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Flavors
}

// The iris run's model directory holds model.onnx and an MLmodel with
// MLflow's onnx flavor that the real MLflow client reads; `models export`
// writes the same bytes from the logged model.
func TestTrainWritesONNXWithMLflowsFlavor(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".")
	run := e.onlyRun()
	model := filepath.Join(artifactDir(run), "model")
	onnxBytes, err := os.ReadFile(filepath.Join(model, "model.onnx"))
	if err != nil {
		t.Fatalf("the model directory has no model.onnx: %v", err)
	}
	fl := readMLmodelFlavors(t, model)
	if o := fl["onnx"]; o == nil || o["data"] != "model.onnx" || o["onnx_version"] == nil || o["providers"] == nil {
		t.Errorf("onnx flavor %v", o)
	}
	if py := fl["python_function"]; py["loader_module"] != "mlflow.onnx" || py["data"] != "model.onnx" {
		t.Errorf("python_function flavor %v", py)
	}
	if fl["mlrun"]["data"] != "model.json" {
		t.Errorf("mlrun flavor %v", fl["mlrun"])
	}

	// The embeddings view: the 38 test rows on two principal components.
	checkProjection(t, artifactDir(run), 38, "row,pc1,pc2,true,predicted,correct")

	out := filepath.Join(t.TempDir(), "iris.onnx")
	r := e.ok(dir, "models", "export", run.Info.ID, "--format", "onnx", "-o", out)
	if !strings.Contains(r.stdout, "wrote "+out) {
		t.Errorf("export said %q", r.stdout)
	}
	exported, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(exported, onnxBytes) {
		t.Errorf("models export wrote %d bytes that differ from the run's model.onnx (%d bytes)", len(exported), len(onnxBytes))
	}
	if r := e.run(dir, "models", "export", run.Info.ID, "--format", "pmml"); r.code != 2 || !strings.Contains(r.stderr, "--format") {
		t.Errorf("--format pmml: exit %d, %q", r.code, r.stderr)
	}
	if r := e.run(dir, "models", "export", "runs:/"+run.Info.ID+"/nope"); r.code != 3 {
		t.Errorf("missing model: exit %d, %q", r.code, r.stderr)
	}

	// The real MLflow client lists both flavors.
	py := exec.Command("/usr/bin/python3", "-c", `import json, sys, mlflow.models
m = mlflow.models.Model.load(sys.argv[1])
print(json.dumps({k: m.flavors[k] for k in sorted(m.flavors)}))`, model)
	py.Env = append(os.Environ(), "PYTHONPATH="+mlflowPythonPath(t))
	got, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("mlflow.models.Model.load: %v\n%s", err, got)
	}
	var flavors map[string]map[string]any
	if err := json.Unmarshal(got[bytes.LastIndexByte(bytes.TrimSpace(got), '\n')+1:], &flavors); err != nil {
		t.Fatalf("MLflow printed %q: %v", got, err)
	}
	if flavors["onnx"]["data"] != "model.onnx" || flavors["python_function"]["loader_module"] != "mlflow.onnx" || flavors["mlrun"] == nil {
		t.Errorf("MLflow read the flavors %v", flavors)
	}
}

// onnx: false on the train step leaves model.onnx out.
func TestTrainWithoutONNX(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	writeFiles(t, dir, map[string]string{"MLproject": `name: iris-no-onnx
entry_points:
  main:
    steps:
      - {name: load, uses: load, with: {path: data/iris.csv, target: target}}
      - {name: train, uses: train, with: {data: "${{ steps.load.outputs.dataset }}", estimator: gaussian_nb, onnx: false}}
  ties:
    steps:
      - {name: load, uses: load, with: {path: data/iris.csv, target: target}}
      - {name: train, uses: train, with: {data: "${{ steps.load.outputs.dataset }}", estimator: svc, hyperparameters: {break_ties: true}}}
`})
	e.ok(dir, "run", ".")
	model := filepath.Join(artifactDir(e.onlyRun()), "model")
	if _, err := os.Stat(filepath.Join(model, "model.onnx")); err == nil {
		t.Error("model.onnx written with onnx: false")
	}
	fl := readMLmodelFlavors(t, model)
	if fl["onnx"] != nil || fl["python_function"]["loader_module"] != "mlrun.pyfunc" {
		t.Errorf("flavors %v", fl)
	}

	// A model ONNX cannot express is saved without model.onnx, with a warning.
	r := e.ok(dir, "run", ".", "-e", "ties")
	if !strings.Contains(r.stderr, "warning: step train: no model.onnx") || !strings.Contains(r.stderr, "break_ties") {
		t.Errorf("no warning about the missing model.onnx:\n%s", r.stderr)
	}
	for _, run := range e.runs() {
		if _, err := os.Stat(filepath.Join(artifactDir(run), "model", "MLmodel")); err != nil {
			t.Errorf("run %s has no model: %v", run.Info.ID, err)
		}
	}
}

// checkProjection checks projection.png and projection.csv in a run's
// artifacts: a PNG image and one CSV line per evaluated row.
func checkProjection(t *testing.T, art string, rows int, header string) {
	t.Helper()
	f, err := os.Open(filepath.Join(art, "projection.png"))
	if err != nil {
		t.Fatalf("no projection.png: %v", err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("projection.png is not a PNG: %v", err)
	}
	text, err := os.ReadFile(filepath.Join(art, "projection.csv"))
	if err != nil {
		t.Fatalf("no projection.csv: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	if len(lines) != rows+1 || lines[0] != header {
		t.Errorf("projection.csv has %d lines, header %q; want %d rows under %q", len(lines), lines[0], rows, header)
	}
}

// The regression example's evaluation draws predicted against true values.
func TestRegressionExampleWritesProjection(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	for _, name := range []string{"MLproject", "data/diabetes.csv"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", "regression", name))
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{name: string(data)})
	}
	e.ok(dir, "run", ".")
	run := e.onlyRun()
	checkProjection(t, artifactDir(run), 89, "row,pc1,pc2,true,predicted,residual")
	if _, err := os.Stat(filepath.Join(artifactDir(run), "model", "model.onnx")); err != nil {
		t.Errorf("the ridge model has no model.onnx: %v", err)
	}
}
