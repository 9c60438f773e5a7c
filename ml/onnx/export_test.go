package onnx_test

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/testenv"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/onnx"
	"github.com/mlrun/mlrun/ml/onnx/onnxpb"
	"github.com/mlrun/mlrun/ml/onnx/onnxrt"
	"github.com/mlrun/mlrun/ml/preprocess"
)

// openRuntime opens ONNX Runtime, or skips (fails in CI) when it is not
// installed.
func openRuntime(t *testing.T) *onnxrt.Runtime {
	t.Helper()
	lib := onnxrt.Library("")
	if lib == "" {
		testenv.Missing(t, "no ONNX Runtime library (run .ci/install-onnx.sh or set %s)", onnxrt.EnvLibrary)
	}
	rt, err := onnxrt.Open(lib)
	if err != nil {
		t.Fatalf("open ONNX Runtime: %v", err)
	}
	return rt
}

func repoFile(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", ".."}, parts...)...)
}

// dataSets are the data the exports are checked on.
var dataSets = []struct {
	name, path, target string
	task               ml.Task
}{
	{"iris", repoFile("ml", "internal", "mltest", "testdata", "iris.csv"), "target", ml.Classification},
	{"wine", repoFile("ml", "internal", "mltest", "testdata", "wine.csv"), "target", ml.Classification},
	{"breast_cancer", "testdata/breast_cancer.csv", "target", ml.Classification},
	{"shops", "testdata/shops.csv", "segment", ml.Classification},
	{"diabetes", repoFile("examples", "regression", "data", "diabetes.csv"), "progression", ml.Regression},
}

// estimators are the configurations exported, by task.
var estimators = map[ml.Task][]struct {
	name  string
	scale bool
	hp    ml.Params
}{
	ml.Classification: {
		{"logistic_regression", true, ml.Params{"max_iter": 500}},
		{"logistic_regression", true, ml.Params{"multi_class": "ovr", "max_iter": 500}},
		{"svc", true, ml.Params{"kernel": "linear", "probability": true}},
		{"svc", true, ml.Params{"kernel": "rbf", "probability": true}},
		{"svc", true, ml.Params{"kernel": "rbf"}},
		{"svc", true, ml.Params{"kernel": "poly", "degree": 2, "probability": true}},
		{"decision_tree", false, ml.Params{"random_state": 0}},
		{"random_forest", false, ml.Params{"n_estimators": 15, "random_state": 0}},
		{"knn", true, ml.Params{}},
		{"knn", true, ml.Params{"weights": "distance", "p": 1}},
		{"knn", false, ml.Params{"n_neighbors": 4, "p": 3}},
		{"gaussian_nb", false, ml.Params{}},
	},
	ml.Regression: {
		{"linear_regression", false, ml.Params{}},
		{"ridge", true, ml.Params{"alpha": 0.5}},
		{"decision_tree", false, ml.Params{"random_state": 0, "max_depth": 6}},
		{"random_forest", false, ml.Params{"n_estimators": 15, "random_state": 0}},
		{"knn", true, ml.Params{}},
		{"knn", true, ml.Params{"weights": "distance"}},
	},
}

// subset returns the rows of f (and y) whose index i satisfies keep(i).
func subset(d *dataset.Dataset, keep func(i int) bool) *dataset.Dataset {
	var rows []int
	for i := range d.Rows {
		if keep(i) {
			rows = append(rows, i)
		}
	}
	out := *d
	out.Features = d.Features.Subset(rows)
	out.Target = d.Target.Subset(rows)
	out.Rows = len(rows)
	return &out
}

// TestExportMatchesGoInONNXRuntime fits every estimator on every data set,
// exports it, runs the ONNX model in ONNX Runtime on the held-out rows and
// compares with the Go model's own predictions: identical labels,
// probabilities within 1e-5, regression values within 1e-5 relative.
func TestExportMatchesGoInONNXRuntime(t *testing.T) {
	rt := openRuntime(t)
	fitEach(t, func(t *testing.T, m *modelfile.Model, test *dataset.Dataset) {
		compare(t, rt, m, test.Features)
	})
}

// fitEach fits every estimator on three quarters of every data set and
// calls check, in a subtest, with the model and the held-out rows.
func fitEach(t *testing.T, check func(t *testing.T, m *modelfile.Model, test *dataset.Dataset)) {
	for _, ds := range dataSets {
		data, err := dataset.Load(ds.path, dataset.LoadOptions{Target: ds.target, Task: ds.task})
		if err != nil {
			t.Fatal(err)
		}
		train := subset(data, func(i int) bool { return i%4 != 0 })
		test := subset(data, func(i int) bool { return i%4 == 0 })
		for _, cfg := range estimators[ds.task] {
			name := fmt.Sprintf("%s/%s%v/scale=%v", ds.name, cfg.name, cfg.hp, cfg.scale)
			t.Run(name, func(t *testing.T) {
				opts := preprocess.DefaultOptions()
				opts.Scale = cfg.scale
				check(t, fitModel(t, cfg.name, ds.task, cfg.hp, opts, train, ds.target), test)
			})
		}
	}
}

// compare exports m, runs it on f in ONNX Runtime and checks the outputs
// against m.Predict.
func compare(t *testing.T, rt *onnxrt.Runtime, m *modelfile.Model, f *dataset.Frame) {
	t.Helper()
	want := goPredict(t, m, f)
	data, err := onnx.Export(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sig := m.Signature()
	if len(s.Inputs) != len(sig.Inputs) {
		t.Fatalf("ONNX inputs %+v, signature %+v", s.Inputs, sig.Inputs)
	}
	for i, in := range s.Inputs {
		if want := sig.Inputs[i]; in.Name != want.Name || in.Type != want.Type {
			t.Errorf("ONNX input %d is %s %s, the signature says %s %s", i, in.Name, in.Type, want.Name, want.Type)
		}
	}
	got, err := s.Predict(f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Task == ml.Regression {
		v := got[onnx.OutputVariable]
		if v == nil || len(v.Numbers) != f.NRows {
			t.Fatalf("output %q: %+v", onnx.OutputVariable, v)
		}
		worst := 0.0
		for i, w := range want.Labels {
			wf := w.(float64)
			worst = math.Max(worst, math.Abs(v.Numbers[i]-wf)/math.Max(1, math.Abs(wf)))
		}
		if worst > 1e-5 {
			t.Errorf("regression values differ by up to %.3g (relative)", worst)
		}
		return
	}
	labels := got[onnx.OutputLabel]
	if labels == nil || len(labels.Strings) != f.NRows {
		t.Fatalf("output %q: %+v", onnx.OutputLabel, labels)
	}
	diff := 0
	for i, w := range want.Labels {
		if labels.Strings[i] != w.(string) {
			diff++
			if diff <= 3 {
				t.Errorf("row %d: ONNX label %q, Go %q", i, labels.Strings[i], w)
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d labels differ", diff, f.NRows)
	}
	p := got[onnx.OutputProbabilities]
	if want.Proba == nil {
		if p != nil {
			t.Errorf("ONNX has probabilities, Go has none")
		}
		return
	}
	k := len(m.Target.Classes)
	if p == nil || len(p.Numbers) != f.NRows*k {
		t.Fatalf("output %q: %+v", onnx.OutputProbabilities, p)
	}
	worst := 0.0
	for i, row := range want.Proba {
		for c, w := range row {
			worst = math.Max(worst, math.Abs(p.Numbers[i*k+c]-w))
		}
	}
	if worst > 1e-5 {
		t.Errorf("probabilities differ by up to %.3g", worst)
	}
}

// goPredict is m.Predict without the probabilities of a classifier that
// has none (an SVC fitted without probability returns nil).
func goPredict(t *testing.T, m *modelfile.Model, f *dataset.Frame) *modelfile.Prediction {
	t.Helper()
	X, err := m.Preprocess.Transform(f)
	if err != nil {
		t.Fatal(err)
	}
	p := &modelfile.Prediction{}
	for _, v := range m.Estimator.Predict(X) {
		if m.Task == ml.Classification {
			p.Labels = append(p.Labels, m.Target.Classes[int(v)])
		} else {
			p.Labels = append(p.Labels, v)
		}
	}
	if c, ok := m.Estimator.(ml.Classifier); ok {
		if P := c.PredictProba(X); P != nil {
			for i := range f.NRows {
				p.Proba = append(p.Proba, append([]float64(nil), P.RawRowView(i)...))
			}
		}
	}
	return p
}

// threshold32 rounds down: a float32 feature goes left in ONNX Runtime's
// float32 comparison exactly when it goes left in Go's float64 one, also
// for a threshold halfway between two float32 values (which float32()
// would round up, sending the upper value left).
func TestThreshold32RoundsDown(t *testing.T) {
	a := float32(1.1)
	b := math.Nextafter32(a, 2)
	mid := (float64(a) + float64(b)) / 2
	got := onnx.Threshold32(mid)
	for _, x := range []float32{a, b} {
		if goLeft, onnxLeft := float64(x) <= mid, x <= got; goLeft != onnxLeft {
			t.Errorf("x=%v: Go goes left %v, ONNX %v (threshold %v)", x, goLeft, onnxLeft, got)
		}
	}
	if onnx.Threshold32(2.5) != 2.5 {
		t.Errorf("an exact float32 threshold changed")
	}
}

// Settings ONNX cannot express are refused with a clear error.
func TestExportRefusesWhatONNXCannotExpress(t *testing.T) {
	data, err := dataset.Load(dataSets[0].path, dataset.LoadOptions{Target: "target"})
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := catalog.Builtin().Lookup("svc")
	est, err := spec.New(ml.Classification, ml.Params{"break_ties": true})
	if err != nil {
		t.Fatal(err)
	}
	pipe, _ := preprocess.Fit(data.Features, preprocess.DefaultOptions())
	X, _ := pipe.Transform(data.Features)
	if err := est.Fit(t.Context(), X, data.Target.Y, nil); err != nil {
		t.Fatal(err)
	}
	m := &modelfile.Model{Estimator: est, EstimatorName: "svc", Task: ml.Classification, Preprocess: pipe,
		Target: modelfile.TargetInfo{Name: "target", Classes: data.Target.Classes}}
	_, err = onnx.Export(m)
	if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), "break_ties") {
		t.Errorf("break_ties export: %v", err)
	}
}

// A model of a single column takes it as an [N, 1] input (MLflow's pyfunc
// feeds a one-input model the whole frame): numeric and categorical.
func TestExportSingleColumn(t *testing.T) {
	rt := openRuntime(t)
	y := []float64{0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2}
	frames := []*dataset.Frame{
		{NRows: 12, Columns: []dataset.Column{{Name: "size", Kind: dataset.Numeric, Num: []float64{1, 1.2, 0.8, 5, 5.5, 4.9, 9, 9.2, 8.7, 1.1, 5.2, 9.1}}}},
		{NRows: 12, Columns: []dataset.Column{{Name: "colour", Kind: dataset.Categorical, Str: []string{"red", "red", "red", "blue", "blue", "green", "green", "green", "green", "red", "blue", "green"}}}},
	}
	for _, f := range frames {
		for _, name := range []string{"logistic_regression", "gaussian_nb"} {
			spec, _ := catalog.Builtin().Lookup(name)
			est, err := spec.New(ml.Classification, ml.Params{})
			if err != nil {
				t.Fatal(err)
			}
			pipe, err := preprocess.Fit(f, preprocess.Options{Scale: true, OneHot: true})
			if err != nil {
				t.Fatal(err)
			}
			X, _ := pipe.Transform(f)
			if err := est.Fit(t.Context(), X, y, nil); err != nil {
				t.Fatal(err)
			}
			m := &modelfile.Model{Estimator: est, EstimatorName: name, Task: ml.Classification, Preprocess: pipe,
				Target: modelfile.TargetInfo{Name: "kind", Classes: []string{"a", "b", "c"}}}
			t.Run(f.Columns[0].Name+"/"+name, func(t *testing.T) { compare(t, rt, m, f) })
		}
	}
}

// Export serialises models with its own encoder: the bytes are those
// proto.Marshal (deterministic) gives for the same model built with the
// generated types, and those it gives again after proto.Unmarshal reads
// them, for every estimator on every data set.
func TestEncodingMatchesProtobuf(t *testing.T) {
	fitEach(t, func(t *testing.T, m *modelfile.Model, _ *dataset.Dataset) {
		ours, want, err := onnx.ModelEncodings(m)
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "proto.Marshal", ours, want)
		exported, err := onnx.Export(m)
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "Export", exported, ours)
		var mp onnxpb.ModelProto
		if err := proto.Unmarshal(exported, &mp); err != nil {
			t.Fatalf("proto.Unmarshal: %v", err)
		}
		again, err := proto.MarshalOptions{Deterministic: true}.Marshal(&mp)
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "proto.Marshal after proto.Unmarshal", exported, again)
	})
}

// sameBytes reports where ours differs from want, which the function
// named by what wrote.
func sameBytes(t *testing.T, what string, ours, want []byte) {
	t.Helper()
	if !bytes.Equal(ours, want) {
		i := 0
		for i < len(ours) && i < len(want) && ours[i] == want[i] {
			i++
		}
		t.Errorf("%d bytes, %s's %d; they differ from byte %d", len(ours), what, len(want), i)
	}
}

// fitModel fits estimator name of the catalog, with hyperparameters hp,
// on train preprocessed with opts, and returns it as a model of target.
func fitModel(t *testing.T, name string, task ml.Task, hp ml.Params, opts preprocess.Options, train *dataset.Dataset, target string) *modelfile.Model {
	t.Helper()
	spec, ok := catalog.Builtin().Lookup(name)
	if !ok {
		t.Fatalf("no estimator %q", name)
	}
	est, err := spec.New(task, hp)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := preprocess.Fit(train.Features, opts)
	if err != nil {
		t.Fatal(err)
	}
	X, err := pipe.Transform(train.Features)
	if err != nil {
		t.Fatal(err)
	}
	if err := est.Fit(t.Context(), X, train.Target.Y, nil); err != nil {
		t.Fatal(err)
	}
	return &modelfile.Model{Estimator: est, EstimatorName: name, Task: task, Hyperparameters: hp,
		Preprocess: pipe, Target: modelfile.TargetInfo{Name: target, Classes: train.Target.Classes}}
}
