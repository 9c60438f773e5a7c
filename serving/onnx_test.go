package serving

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/testenv"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/onnx"
	"github.com/mlrun/mlrun/ml/onnx/onnxrt"
)

// onnxLibrary returns the ONNX Runtime library, or skips (fails in CI).
func onnxLibrary(t testing.TB) string {
	t.Helper()
	lib := onnxrt.Library("")
	if lib == "" {
		testenv.Missing(t, "no ONNX Runtime library (run .ci/install-onnx.sh or set %s)", onnxrt.EnvLibrary)
	}
	return lib
}

// withONNX rewrites the model directory dir with model.onnx and MLflow's
// onnx flavor, as the train step writes it, into a new directory.
func withONNX(t testing.TB, m *modelfile.Model, path string, opts dataset.LoadOptions) string {
	t.Helper()
	data, err := onnx.Export(m)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	m.ONNX = &modelfile.ONNXModel{Data: data, Version: onnx.SpecVersion}
	m.UUID = ""
	dir := filepath.Join(t.TempDir(), "model")
	if err := modelfile.Save(dir, m, ds.Features); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sameAnswers posts each body to both servers and checks the answers are
// the same: status, error JSON, predictions; probabilities within 1e-5.
func sameAnswers(t *testing.T, native, viaONNX string, bodies []string) {
	t.Helper()
	for _, body := range bodies {
		ns, nb := post(t, native+"/invocations", "application/json", body)
		os, ob := post(t, viaONNX+"/invocations", "application/json", body)
		if ns != os {
			t.Errorf("%s: native %d %s, onnx %d %s", body, ns, nb, os, ob)
			continue
		}
		if ns != http.StatusOK {
			if !bytes.Equal(nb, ob) {
				t.Errorf("%s: native error %s, onnx error %s", body, nb, ob)
			}
			continue
		}
		var n, o scoreResponse
		if json.Unmarshal(nb, &n) != nil || json.Unmarshal(ob, &o) != nil {
			t.Fatalf("answers %s / %s", nb, ob)
		}
		if len(n.Predictions) != len(o.Predictions) || len(n.Probabilities) != len(o.Probabilities) {
			t.Errorf("%s: native %s, onnx %s", body, nb, ob)
			continue
		}
		for i := range n.Predictions {
			a, aok := n.Predictions[i].(float64)
			b, bok := o.Predictions[i].(float64)
			if aok && bok && math.Abs(a-b) <= 1e-5*math.Max(1, math.Abs(a)) {
				continue
			}
			if n.Predictions[i] != o.Predictions[i] {
				t.Errorf("%s: row %d native %v, onnx %v", body, i, n.Predictions[i], o.Predictions[i])
			}
		}
		for i := range n.Probabilities {
			for j := range n.Probabilities[i] {
				if math.Abs(n.Probabilities[i][j]-o.Probabilities[i][j]) > 1e-5 {
					t.Errorf("%s: probability [%d][%d] native %v, onnx %v", body, i, j, n.Probabilities[i][j], o.Probabilities[i][j])
				}
			}
		}
	}
}

// An mlrun model served through ONNX Runtime answers as the native model:
// the same predictions, probabilities within 1e-5, the same errors.
func TestServeONNXAnswersAsNative(t *testing.T) {
	lib := onnxLibrary(t)
	opts := dataset.LoadOptions{Target: "target"}
	path := rewriteCSV(t, strings.Join(irisColumns, ",")+",target", func(f []string, _ int) []string {
		f[4] = speciesNames[f[4]]
		return f
	})
	_, m := trainModel(t, path, opts, "random_forest", ml.Params{"n_estimators": 10, "random_state": 0})
	dir := withONNX(t, m, path, opts)
	_, native := newTestServer(t, dir, Options{})
	s, viaONNX := newTestServer(t, dir, Options{ONNX: ONNXOptions{Library: lib, Backend: BackendONNX}})
	if s.cur.Load().onnx == nil {
		t.Fatal("the onnx backend was not used")
	}
	_, md := get(t, viaONNX+"/metadata")
	if !strings.Contains(string(md), `"probabilities": true`) {
		t.Errorf("metadata %s", md)
	}
	sameAnswers(t, native, viaONNX, []string{
		`{"data": [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]], "params": {"predict_proba": true}}`,
		`{"dataframe_records": [{"sepal_length_cm": 5.9, "sepal_width_cm": 3.0, "petal_length_cm": 5.1, "petal_width_cm": 1.8}]}`,
		`{"dataframe_split": {"columns": ["sepal_length_cm", "sepal_width_cm"], "data": [[5.1, 3.5]]}}`,
		`{"data": [[5.1, 3.5, 1.4, null]]}`,
		`{"data": [[5.1, 3.5, 1.4]]}`,
		`{"inputs": []}`,
		`not json`,
	})

	// k-NN, and a request larger than one ONNX Runtime batch.
	_, km := trainModel(t, irisCSV, dataset.LoadOptions{Target: "target"}, "knn", ml.Params{"weights": "distance"})
	kdir := withONNX(t, km, irisCSV, dataset.LoadOptions{Target: "target"})
	_, knative := newTestServer(t, kdir, Options{})
	_, konnx := newTestServer(t, kdir, Options{ONNX: ONNXOptions{Library: lib, Backend: BackendONNX}})
	var rows [][]float64
	for i := range 2*onnxBatch + 37 {
		rows = append(rows, []float64{4.3 + float64(i%36)/10, 2 + float64(i%23)/10, 1 + float64(i%59)/10, 0.1 + float64(i%25)/10})
	}
	sameAnswers(t, knative, konnx, []string{`{"data": ` + jsonRows(rows) + `, "params": {"predict_proba": true}}`})

	// A regressor with a categorical column.
	shops := filepath.Join("..", "ml", "onnx", "testdata", "shops.csv")
	ropts := dataset.LoadOptions{Target: "basket", Task: ml.Regression}
	_, rm := trainModel(t, shops, ropts, "ridge", ml.Params{"alpha": 0.3})
	rdir := withONNX(t, rm, shops, ropts)
	_, rnative := newTestServer(t, rdir, Options{})
	_, ronnx := newTestServer(t, rdir, Options{ONNX: ONNXOptions{Library: lib, Backend: BackendONNX}})
	sameAnswers(t, rnative, ronnx, []string{
		`{"dataframe_records": [{"visits": 3, "city": "paris", "plan": "pro", "segment": "high"}, {"visits": 9, "city": "lyon", "plan": "basic", "segment": "low"}]}`,
		`{"dataframe_records": [{"visits": 3, "city": "berlin", "plan": "pro", "segment": "high"}]}`,
		`{"dataframe_records": [{"visits": 3, "city": "paris", "plan": "pro", "segment": "high"}], "params": {"predict_proba": true}}`,
	})
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// Without ONNX Runtime, a directory holding only an ONNX model cannot be
// served, and the error says how to get the runtime.
func TestServeONNXWithoutRuntimeSaysHowToGetIt(t *testing.T) {
	_, m := irisModel(t)
	dir := withONNX(t, m, irisCSV, dataset.LoadOptions{Target: "target"})
	dropMLrunFlavor(t, dir)
	_, err := New(context.Background(), newSource(dir), Options{ONNX: ONNXOptions{Library: filepath.Join(t.TempDir(), "libonnxruntime.so")}})
	if errs.Code(err) != errs.NotFound || !strings.Contains(err.Error(), ".ci/install-onnx.sh") {
		t.Fatalf("error %v (code %s)", err, errs.Code(err))
	}
	// The native backend still serves a directory with both flavors.
	if _, err := New(context.Background(), newSource(withONNX(t, m, irisCSV, dataset.LoadOptions{Target: "target"})), Options{ONNX: ONNXOptions{Library: "/nonexistent"}}); err != nil {
		t.Fatalf("native model with an onnx flavor: %v", err)
	}
}

// dropMLrunFlavor removes the mlrun flavor from the MLmodel file of dir,
// which then holds only the ONNX model.
func dropMLrunFlavor(t *testing.T, dir string) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(dir, "MLmodel"))
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(text, []byte("  mlrun:\n")), bytes.Index(text, []byte("  onnx:\n"))
	if i < 0 || j < i {
		t.Fatalf("MLmodel has no mlrun flavor before the onnx one:\n%s", text)
	}
	if err := os.WriteFile(filepath.Join(dir, "MLmodel"), append(append([]byte{}, text[:i]...), text[j:]...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An mlrun model directory with only the onnx flavor is described by the
// ONNX model's metadata (estimator, target, classes) and answers as the
// native model.
func TestServeONNXOnlyModelFromMLrun(t *testing.T) {
	lib := onnxLibrary(t)
	_, m := irisModel(t)
	classes := m.Target.Classes
	dir := withONNX(t, m, irisCSV, dataset.LoadOptions{Target: "target"})
	_, native := newTestServer(t, dir, Options{})
	onlyONNX := withONNX(t, m, irisCSV, dataset.LoadOptions{Target: "target"})
	dropMLrunFlavor(t, onlyONNX)
	s, viaONNX := newTestServer(t, onlyONNX, Options{ONNX: ONNXOptions{Library: lib}})
	got := s.cur.Load().m
	if got.EstimatorName != "onnx:logistic_regression" || got.Target.Name != "target" || strings.Join(got.Target.Classes, ",") != strings.Join(classes, ",") {
		t.Errorf("described as %s, target %q, classes %v; want onnx:logistic_regression, target, %v", got.EstimatorName, got.Target.Name, got.Target.Classes, classes)
	}
	sameAnswers(t, native, viaONNX, []string{
		`{"data": [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]], "params": {"predict_proba": true}}`,
		`{"dataframe_records": [{"sepal_length_cm": 5.9, "sepal_width_cm": 3.0, "petal_length_cm": 5.1, "petal_width_cm": 1.8}]}`,
	})
}

// A model directory that MLflow's Python client wrote with
// mlflow.onnx.save_model (an skl2onnx-style graph: one float input "X",
// int64 labels, probabilities without ZipMap) is served.
func TestServeModelLoggedByMLflowONNX(t *testing.T) {
	lib := onnxLibrary(t)
	home := os.Getenv("MLRUN_MLFLOW_DEST")
	if home == "" {
		home = "/opt/mlflow-2.12.2"
	}
	if _, err := os.Stat(filepath.Join(home, "src", "mlflow")); err != nil {
		testenv.Missing(t, "the MLflow 2.12.2 client is not in %s (set MLRUN_MLFLOW_DEST)", home)
	}
	if exec.Command("/usr/bin/python3", "-c", "import onnx").Run() != nil {
		testenv.Missing(t, "Debian's python3-onnx is not installed (.ci/install-onnx.sh installs it)")
	}
	dir := filepath.Join(t.TempDir(), "mlflow_model")
	// mlflow.onnx.save_model is MLflow's own writer; only its check of the
	// (absent) session options imports Python's onnxruntime, which Debian
	// does not package, so the script turns that check off.
	script := `import sys, onnx, mlflow.onnx
mlflow.onnx._validate_onnx_session_options = lambda options: None
from onnx import helper, TensorProto
W = [[0.5, -1, 0.25, 2], [-0.3, 0.8, 1.5, -1], [1.2, 0.1, -0.7, 0.4]]
node = helper.make_node("LinearClassifier", ["X"], ["label", "probabilities"], domain="ai.onnx.ml",
    coefficients=sum(W, []), intercepts=[0.1, -0.2, 0.3], classlabels_ints=[0, 1, 2], post_transform="SOFTMAX")
g = helper.make_graph([node], "lc", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4])],
    [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
     helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 1)])
m.ir_version = 8
mlflow.onnx.save_model(m, sys.argv[1], pip_requirements=["onnx", "onnxruntime"])
`
	py := exec.Command("/usr/bin/python3", "-c", script, dir)
	py.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(home, "src")+":"+filepath.Join(home, "shim"))
	if out, err := py.CombinedOutput(); err != nil {
		t.Fatalf("mlflow.onnx.save_model: %v\n%s", err, out)
	}
	_, url := newTestServer(t, dir, Options{ONNX: ONNXOptions{Library: lib}})
	r := score(t, url+"/invocations", "application/json", `{"data": [[1, 2, 3, 4], [-1, 0.5, 0, 2], [3, -2, 1, -1]], "params": {"predict_proba": true}}`)
	// The scores of the three rows are [7.6, 1.3, 1.9], [2.1, -1.5, 1.3] and [-1.1, -1.9, 4.9]: classes 0, 0, 2.
	if len(r.Predictions) != 3 || r.Predictions[0] != 0.0 || r.Predictions[1] != 0.0 || r.Predictions[2] != 2.0 {
		t.Errorf("predictions %v", r.Predictions)
	}
	if len(r.Probabilities) != 3 || math.Abs(r.Probabilities[0][0]+r.Probabilities[0][1]+r.Probabilities[0][2]-1) > 1e-6 {
		t.Errorf("probabilities %v", r.Probabilities)
	}
	if status, b := post(t, url+"/invocations", "application/json", `{"data": [[1, 2, 3]]}`); status != http.StatusBadRequest || !strings.Contains(string(b), "INVALID_PARAMETER_VALUE") {
		t.Errorf("a short row: %d %s", status, b)
	}
}
