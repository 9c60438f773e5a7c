package serving

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/onnx"
	"github.com/mlrun/mlrun/ml/onnx/onnxrt"
	"github.com/mlrun/mlrun/ml/preprocess"
)

// Backends of Options.ONNX.Backend.
const (
	BackendAuto   = "auto"   // model.json when the directory has the mlrun flavor, else the ONNX model
	BackendNative = "native" // always model.json
	BackendONNX   = "onnx"   // always the ONNX model, through ONNX Runtime
)

// ONNXOptions choose how a model directory with MLflow's onnx flavor is
// served. A directory with only the onnx flavor (such as one logged by
// mlflow.onnx.log_model) is served through ONNX Runtime, which then must
// be available: Library, else $MLRUN_ONNXRUNTIME_LIB, else the path
// .ci/install-onnx.sh installs to.
type ONNXOptions struct {
	// Library is the ONNX Runtime shared library (libonnxruntime.so).
	Library string
	// Backend is BackendAuto (""), BackendNative or BackendONNX.
	Backend string
	// Threads is the number of threads one ONNX Runtime call uses; 0 means
	// ONNX Runtime's default.
	Threads int
}

// onnxBackend predicts with an ONNX model in ONNX Runtime, with the same
// request validation as the native model (the frame it gets has been
// checked against the signature).
type onnxBackend struct {
	sess    *onnxrt.Session
	task    ml.Task
	label   string // output with the class names or labels
	proba   string // output with the class probabilities, "" if none
	value   string // a regressor's output
	classes []string
}

// onnxBatch is how many rows one ONNX Runtime call gets at most: graphs
// such as k-NN's hold a [rows, training rows, features] tensor, so a large
// request is scored in slices to bound memory.
const onnxBatch = 256

// predict runs the ONNX model on f, onnxBatch rows at a time.
func (b *onnxBackend) predict(f *dataset.Frame) (*modelfile.Prediction, error) {
	if f.NRows <= onnxBatch {
		return b.predictBatch(f)
	}
	p := &modelfile.Prediction{}
	for start := 0; start < f.NRows; start += onnxBatch {
		rows := make([]int, 0, onnxBatch)
		for r := start; r < min(start+onnxBatch, f.NRows); r++ {
			rows = append(rows, r)
		}
		part, err := b.predictBatch(f.Subset(rows))
		if err != nil {
			return nil, err
		}
		p.Labels = append(p.Labels, part.Labels...)
		p.Proba = append(p.Proba, part.Proba...)
		p.Classes = part.Classes
	}
	return p, nil
}

// predictBatch runs the ONNX model on f in one call.
func (b *onnxBackend) predictBatch(f *dataset.Frame) (*modelfile.Prediction, error) {
	out, err := b.sess.Predict(f)
	if err != nil {
		return nil, err
	}
	n := f.NRows
	p := &modelfile.Prediction{Labels: make([]any, n)}
	if b.task == ml.Regression {
		v := out[b.value]
		if len(v.Numbers) != n {
			return nil, fmt.Errorf("onnx output %s has %d values for %d rows", b.value, len(v.Numbers), n)
		}
		for i, x := range v.Numbers {
			p.Labels[i] = x
		}
		return p, nil
	}
	l := out[b.label]
	switch {
	case len(l.Strings) == n:
		for i, s := range l.Strings {
			p.Labels[i] = s
		}
	case len(l.Numbers) == n:
		for i, x := range l.Numbers {
			p.Labels[i] = strconv.FormatFloat(x, 'f', -1, 64)
		}
	default:
		return nil, fmt.Errorf("onnx output %s does not hold one label per row", b.label)
	}
	p.Classes = b.classes
	if b.proba != "" {
		pr := out[b.proba]
		k := len(b.classes)
		if len(pr.Numbers) != n*k {
			return nil, fmt.Errorf("onnx output %s has %d values for %d rows of %d classes", b.proba, len(pr.Numbers), n, k)
		}
		p.Proba = make([][]float64, n)
		for i := range p.Proba {
			p.Proba[i] = pr.Numbers[i*k : (i+1)*k]
		}
	}
	return p, nil
}

// predict returns the model's predictions for f, from model.json or from
// the ONNX model; the class probabilities only when withProba (ONNX
// models give them anyway).
func (mdl *model) predict(f *dataset.Frame, withProba bool) (*modelfile.Prediction, error) {
	if mdl.onnx != nil {
		return mdl.onnx.predict(f)
	}
	if !withProba {
		return mdl.m.PredictLabels(f)
	}
	return mdl.m.Predict(f)
}

// mlmodelHead is what the ONNX path reads of MLmodel.
type mlmodelHead struct {
	Flavors struct {
		MLrun map[string]any `yaml:"mlrun"`
		ONNX  *struct {
			Data string `yaml:"data"`
		} `yaml:"onnx"`
	} `yaml:"flavors"`
	RunID          string `yaml:"run_id"`
	ModelUUID      string `yaml:"model_uuid"`
	UTCTimeCreated string `yaml:"utc_time_created"`
	Signature      *struct {
		Inputs  string `yaml:"inputs"`
		Outputs string `yaml:"outputs"`
	} `yaml:"signature"`
}

// loadBackend reads the model directory: the native model, or the ONNX
// model and a modelfile.Model that describes it, as o asks.
func loadBackend(dir string, specs func(string) (ml.Spec, bool), o ONNXOptions) (*modelfile.Model, *onnxBackend, error) {
	switch o.Backend {
	case "", BackendAuto, BackendNative, BackendONNX:
	default:
		return nil, nil, errs.Errorf(errs.Invalid, "backend must be %s, %s or %s, not %q", BackendAuto, BackendNative, BackendONNX, o.Backend)
	}
	mlPath := filepath.Join(dir, modelfile.MLmodelFile)
	text, err := os.ReadFile(mlPath)
	if err != nil || o.Backend == BackendNative {
		m, err := modelfile.Load(dir, specs)
		return m, nil, err
	}
	var head mlmodelHead
	if yaml.Unmarshal(text, &head) != nil {
		m, err := modelfile.Load(dir, specs) // says what is wrong with the YAML
		return m, nil, err
	}
	native := head.Flavors.MLrun != nil
	if head.Flavors.ONNX == nil {
		if o.Backend == BackendONNX {
			return nil, nil, errs.Errorf(errs.Invalid, "%s has no onnx flavor: it holds no ONNX model to serve with ONNX Runtime", mlPath)
		}
		m, err := modelfile.Load(dir, specs)
		return m, nil, err
	}
	if native && o.Backend != BackendONNX {
		m, err := modelfile.Load(dir, specs)
		return m, nil, err
	}
	data, err := readONNX(dir, mlPath, head.Flavors.ONNX.Data)
	if err != nil {
		return nil, nil, err
	}
	lib := onnxrt.Library(o.Library)
	if lib == "" {
		return nil, nil, errs.Errorf(errs.NotFound, "%s holds an ONNX model (MLflow's onnx flavor), which needs ONNX Runtime to serve: %s", dir, onnxrt.InstallHint)
	}
	rt, err := onnxrt.Open(lib)
	if err != nil {
		return nil, nil, err
	}
	sess, err := rt.NewSession(data, o.Threads)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	b := &onnxBackend{sess: sess}
	var m *modelfile.Model
	if native {
		m, err = modelfile.Load(dir, specs)
	} else {
		m, err = describeONNX(dir, &head, data, sess)
	}
	if err == nil {
		err = b.bind(m, sess)
	}
	if err != nil {
		sess.Close()
		return nil, nil, err
	}
	m.Estimator = nil
	return m, b, nil
}

// readONNX reads the onnx flavor's data file, which must lie inside dir.
func readONNX(dir, mlPath, name string) ([]byte, error) {
	if name == "" || !filepath.IsLocal(name) {
		return nil, errs.Errorf(errs.Invalid, "model file %s names ONNX file %q, which is not a file inside the model directory", mlPath, name)
	}
	path := filepath.Join(dir, name)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		root, _ := filepath.EvalSymlinks(dir)
		if rel, err := filepath.Rel(root, real); err != nil || !filepath.IsLocal(rel) {
			return nil, errs.Errorf(errs.Invalid, "ONNX file %s points outside the model directory", path)
		}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Errorf(errs.Invalid, "model file %s names ONNX file %s, which is missing", mlPath, name)
	}
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return data, nil
}

// bind finds the outputs that hold the labels, probabilities or values.
func (b *onnxBackend) bind(m *modelfile.Model, s *onnxrt.Session) error {
	b.task = m.Task
	b.classes = m.Target.Classes
	find := func(names ...string) string {
		for _, want := range names {
			for _, o := range s.Outputs {
				if o.Name == want {
					return want
				}
			}
		}
		return ""
	}
	if m.Task == ml.Regression {
		if b.value = find(onnx.OutputVariable, "predictions", "output"); b.value == "" {
			for _, o := range s.Outputs {
				if o.Type == "float" || o.Type == "double" {
					b.value = o.Name
					break
				}
			}
		}
		if b.value == "" {
			return errs.Errorf(errs.Invalid, "the ONNX model has no numeric output to serve as the prediction")
		}
		return nil
	}
	b.label = find(onnx.OutputLabel, "output_label")
	if b.label == "" {
		return errs.Errorf(errs.Invalid, "the ONNX classifier has no output named %q or output_label", onnx.OutputLabel)
	}
	if p := find(onnx.OutputProbabilities, "output_probability"); p != "" && len(b.classes) > 0 {
		for _, o := range s.Outputs {
			if o.Name == p && (o.Type == "float" || o.Type == "double") && len(o.Shape) == 2 {
				b.proba = p
			}
		}
	}
	return nil
}

// describeONNX builds the modelfile.Model that stands for an ONNX model
// without the mlrun flavor: its input columns (from MLmodel's column
// signature, or from the graph's inputs), its task and classes (from
// mlrun's metadata or the classifier operator's class labels).
func describeONNX(dir string, head *mlmodelHead, data []byte, s *onnxrt.Session) (*modelfile.Model, error) {
	info, err := onnx.ReadModelInfo(data)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "%s: the ONNX model cannot be decoded: %v", dir, err)
	}
	meta := info.Metadata
	m := &modelfile.Model{EstimatorName: "onnx", RunID: head.RunID, UUID: head.ModelUUID, MLrunVersion: "", ArtifactPath: filepath.Base(dir)}
	if t, err := time.Parse(modelfile.TimeLayout, head.UTCTimeCreated); err == nil {
		m.Created = t
	}
	if est := meta[onnx.MetaEstimator]; est != "" {
		m.EstimatorName = "onnx:" + est
	}
	// Task and classes.
	hasLabel := false
	for _, o := range s.Outputs {
		if o.Name == onnx.OutputLabel || o.Name == "output_label" {
			hasLabel = true
		}
	}
	m.Task = ml.Regression
	if hasLabel {
		m.Task = ml.Classification
		if c := meta[onnx.MetaClasses]; c != "" {
			if err := json.Unmarshal([]byte(c), &m.Target.Classes); err != nil {
				return nil, errs.Errorf(errs.Invalid, "%s: the ONNX model's %s is not a JSON list: %v", dir, onnx.MetaClasses, err)
			}
		} else {
			m.Target.Classes = info.Classes
		}
		if len(m.Target.Classes) == 0 {
			return nil, errs.Errorf(errs.Invalid, "%s: cannot tell the ONNX classifier's classes (no classlabels_* attribute and no %s metadata)", dir, onnx.MetaClasses)
		}
	}
	// Target name: the column signature's output, mlrun's metadata, or the output name.
	m.Target.Name = meta[onnx.MetaTarget]
	var outs []columnSig
	if head.Signature != nil && json.Unmarshal([]byte(head.Signature.Outputs), &outs) == nil && len(outs) == 1 && outs[0].Name != "" {
		m.Target.Name = outs[0].Name
	}
	if m.Target.Name == "" {
		m.Target.Name = "prediction"
	}
	cols, err := inputColumns(dir, head, s)
	if err != nil {
		return nil, err
	}
	// A pipeline with the input columns only: it validates requests (names,
	// kinds); unknown categories are left to the ONNX model.
	m.Preprocess = &preprocess.Pipeline{Version: preprocess.Version, HandleUnknown: preprocess.UnknownIgnore, Columns: cols}
	return m, nil
}

// columnSig is one entry of an MLflow column-based signature.
type columnSig struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// inputColumns returns the request columns of an ONNX-only model.
func inputColumns(dir string, head *mlmodelHead, s *onnxrt.Session) ([]preprocess.Column, error) {
	var sig []columnSig
	if head.Signature != nil && json.Unmarshal([]byte(head.Signature.Inputs), &sig) == nil && len(sig) > 0 {
		var cols []preprocess.Column
		for _, c := range sig {
			kind, ok := map[string]dataset.ColumnKind{"double": dataset.Numeric, "float": dataset.Numeric,
				"long": dataset.Numeric, "integer": dataset.Numeric, "string": dataset.Categorical}[c.Type]
			if c.Name == "" || !ok {
				break
			}
			cols = append(cols, preprocess.Column{Name: c.Name, Kind: kind, Scale: 1})
		}
		if len(cols) == len(sig) {
			return cols, nil
		}
	}
	if len(s.Inputs) == 1 && len(s.Inputs[0].Shape) == 2 && s.Inputs[0].Shape[1] > 1 {
		in := s.Inputs[0]
		if in.Type == "string" {
			return nil, errs.Errorf(errs.Invalid, "%s: the ONNX model's input %q is a string matrix, which mlrun cannot feed", dir, in.Name)
		}
		cols := make([]preprocess.Column, in.Shape[1])
		for i := range cols {
			cols[i] = preprocess.Column{Name: strconv.Itoa(i), Kind: dataset.Numeric, Scale: 1}
		}
		return cols, nil
	}
	var cols []preprocess.Column
	for _, in := range s.Inputs {
		if len(in.Shape) > 2 || len(in.Shape) == 2 && in.Shape[1] != 1 {
			return nil, errs.Errorf(errs.Invalid, "%s: cannot tell the ONNX model's input columns (input %q has shape %v and MLmodel has no column signature)", dir, in.Name, in.Shape)
		}
		kind := dataset.Numeric
		if in.Type == "string" {
			kind = dataset.Categorical
		}
		cols = append(cols, preprocess.Column{Name: in.Name, Kind: kind, Scale: 1})
	}
	return cols, nil
}

// closeWhenUnreachable releases the ONNX Runtime session of mdl once a
// reload has replaced it and no request uses it any more.
func closeWhenUnreachable(mdl *model) {
	if mdl.onnx != nil {
		runtime.AddCleanup(mdl, func(s *onnxrt.Session) { s.Close() }, mdl.onnx.sess)
	}
}
