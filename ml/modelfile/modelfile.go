package modelfile

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/preprocess"
)

// File names inside a model directory.
const (
	MLmodelFile        = "MLmodel"
	DataFile           = "model.json"
	InputExampleFile   = "input_example.json"
	ServingExampleFile = "serving_input_example.json"
	ONNXFile           = "model.onnx"
)

// ONNXProviders are the ONNX Runtime execution providers MLmodel's onnx
// flavor lists: mlrun's models are small, the CPU is right for them.
var ONNXProviders = []string{"CPUExecutionProvider"}

// Format and FormatVersion identify model.json's layout. Load refuses a
// file whose format_version is newer than FormatVersion.
const (
	Format        = "mlrun.model"
	FormatVersion = 1
)

// TimeLayout is MLflow's utc_time_created layout ('%Y-%m-%d %H:%M:%S.%f').
const TimeLayout = "2006-01-02 15:04:05.000000"

// exampleRows is how many training rows the input example holds at most.
const exampleRows = 5

// TargetInfo describes the target column of a model.
type TargetInfo struct {
	// Name is the target column name.
	Name string `json:"name"`
	// Classes are the class names in class-index order (classifiers only).
	Classes []string `json:"classes"`
}

// Model is a fitted model with everything needed to predict from raw data.
type Model struct {
	// Estimator is the fitted estimator.
	Estimator ml.Estimator
	// EstimatorName is the ml.Spec name, used to rebuild it on load.
	EstimatorName string
	// Task is classification or regression.
	Task ml.Task
	// Hyperparameters are the values the estimator was built with.
	Hyperparameters ml.Params
	// Preprocess turns raw frames into the estimator's input.
	Preprocess *preprocess.Pipeline
	// Target names the target column and its classes.
	Target TargetInfo
	// RunID is the training run (MLmodel run_id).
	RunID string
	// Created is when the model was made; Save sets it to now when zero.
	Created time.Time
	// UUID is MLmodel's model_uuid (32 hex digits); Save draws one when empty.
	UUID string
	// ArtifactPath is MLmodel's artifact_path; Save uses the directory's
	// base name when empty.
	ArtifactPath string
	// MLrunVersion is the version of mlrun that wrote the model; Save writes
	// "dev" when empty.
	MLrunVersion string
	// SizeBytes is MLmodel's model_size_bytes, set by Save and Load.
	SizeBytes int64
	// ONNX is the model in ONNX format (see package ml/onnx), or nil. When
	// set, Save writes it as model.onnx and MLmodel gains MLflow's onnx
	// flavor, with python_function loading it through mlflow.onnx. Load
	// leaves it nil and sets HasONNX.
	ONNX *ONNXModel
	// HasONNX is set by Load when the directory holds an ONNX model.
	HasONNX bool
}

// ONNXModel is a serialised ONNX model and the version of the ONNX
// specification it was written against (MLmodel's onnx_version).
type ONNXModel struct {
	Data    []byte
	Version string
}

// ColumnSpec is one column of a signature, as MLflow's column schema.
type ColumnSpec struct {
	Name     string `json:"name,omitempty"`
	Type     string `json:"type"` // "double" or "string"
	Required bool   `json:"required"`
}

// Signature lists the columns a model takes and the columns it returns.
type Signature struct {
	Inputs  []ColumnSpec
	Outputs []ColumnSpec
}

// Prediction is the result of Model.Predict.
type Prediction struct {
	// Labels holds one value per row: the class name (string) for
	// classifiers, the predicted value (float64) for regressors.
	Labels []any
	// Proba holds one row of class probabilities per input row, in Classes
	// order; nil for regressors and classifiers without probabilities
	// (see Model.HasProbabilities).
	Proba [][]float64
	// Classes are the class names (nil for regressors).
	Classes []string
}

// Signature returns the model's input columns (name, MLflow type, required)
// and its output column.
func (m *Model) Signature() Signature {
	var s Signature
	for _, c := range m.Preprocess.InputColumns() {
		typ := "double"
		if c.Kind == dataset.Categorical {
			typ = "string"
		}
		s.Inputs = append(s.Inputs, ColumnSpec{Name: c.Name, Type: typ, Required: true})
	}
	out := ColumnSpec{Name: m.Target.Name, Type: "double", Required: true}
	if m.Task == ml.Classification {
		out.Type = "string"
	}
	s.Outputs = []ColumnSpec{out}
	return s
}

// Predict applies the preprocessing and the estimator to the raw frame f.
// A frame without a needed column, or with a category the model has not
// seen (unless the pipeline ignores unknown categories), is an Invalid error.
func (m *Model) Predict(f *dataset.Frame) (*Prediction, error) { return m.predict(f, true) }

// PredictLabels is Predict without the class probabilities (Proba stays
// nil), for callers that do not show them: a classifier then does not
// compute them.
func (m *Model) PredictLabels(f *dataset.Frame) (*Prediction, error) { return m.predict(f, false) }

// predict is Predict, with the probabilities only when withProba.
func (m *Model) predict(f *dataset.Frame, withProba bool) (*Prediction, error) {
	X, err := m.Preprocess.Transform(f)
	if err != nil {
		return nil, err
	}
	raw := m.Estimator.Predict(X)
	if len(raw) != f.NRows {
		return nil, fmt.Errorf("estimator %s returned %d predictions for %d rows", m.EstimatorName, len(raw), f.NRows)
	}
	p := &Prediction{Labels: make([]any, len(raw))}
	if m.Task != ml.Classification {
		for i, v := range raw {
			p.Labels[i] = v
		}
		return p, nil
	}
	p.Classes = m.Target.Classes
	for i, v := range raw {
		k := int(v)
		if float64(k) != v || k < 0 || k >= len(m.Target.Classes) {
			return nil, fmt.Errorf("estimator %s predicted class index %v, outside 0..%d", m.EstimatorName, v, len(m.Target.Classes)-1)
		}
		p.Labels[i] = m.Target.Classes[k]
	}
	if c, ok := m.Estimator.(ml.Classifier); ok && withProba && m.HasProbabilities() {
		P := c.PredictProba(X)
		if P == nil {
			return nil, fmt.Errorf("estimator %s gave no probabilities", m.EstimatorName)
		}
		if r, k := P.Dims(); r != f.NRows || k != len(m.Target.Classes) {
			return nil, fmt.Errorf("estimator %s gave %d×%d probabilities for %d rows and %d classes", m.EstimatorName, r, k, f.NRows, len(m.Target.Classes))
		}
		p.Proba = make([][]float64, f.NRows)
		for i := range p.Proba {
			p.Proba[i] = copyRow(P.RawRowView(i))
		}
	}
	return p, nil
}

// HasProbabilities reports whether Predict gives class probabilities: the
// model is a classifier whose estimator gives them (scikit-learn's SVC
// fitted with probability=False does not).
func (m *Model) HasProbabilities() bool {
	if _, ok := m.Estimator.(ml.Classifier); !ok || m.Task != ml.Classification {
		return false
	}
	if o, ok := m.Estimator.(ml.OptionalProbabilities); ok {
		return o.HasProbabilities()
	}
	return true
}

// copyRow copies a matrix row so the Prediction does not alias it.
func copyRow(r []float64) []float64 { return append([]float64(nil), r...) }

// modelJSON is model.json. The checksummed values stay raw so the checksum
// is computed over exactly the text in the file.
type modelJSON struct {
	Format          string          `json:"format"`
	FormatVersion   int             `json:"format_version"`
	Estimator       json.RawMessage `json:"estimator"`
	Task            json.RawMessage `json:"task"`
	Hyperparameters json.RawMessage `json:"hyperparameters"`
	Target          json.RawMessage `json:"target"`
	Preprocess      json.RawMessage `json:"preprocess"`
	State           json.RawMessage `json:"state"`
	SHA256          string          `json:"sha256"`
}

// marshalIndent returns json.MarshalIndent(d, "", "  "): the document is
// put together compact from its raw parts (which json.Marshal made, so
// compact and HTML-escaped already) and indented, without reflecting on
// modelJSON and compacting the parts again.
func (d *modelJSON) marshalIndent() ([]byte, error) {
	var b []byte
	key := func(k string) {
		if len(b) == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
	}
	for _, s := range []string{d.Format, d.SHA256} {
		if !plainJSONString(s) {
			return json.MarshalIndent(d, "", "  ")
		}
	}
	key("format")
	b = strconv.AppendQuote(b, d.Format)
	key("format_version")
	b = strconv.AppendInt(b, int64(d.FormatVersion), 10)
	for _, part := range []struct {
		name string
		raw  json.RawMessage
	}{{"estimator", d.Estimator}, {"task", d.Task}, {"hyperparameters", d.Hyperparameters}, {"target", d.Target}, {"preprocess", d.Preprocess}, {"state", d.State}} {
		key(part.name)
		if len(part.raw) == 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, part.raw...)
		}
	}
	key("sha256")
	b = strconv.AppendQuote(b, d.SHA256)
	b = append(b, '}')
	var out bytes.Buffer
	out.Grow(2 * len(b))
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// plainJSONString reports whether s is quoted the same by strconv.Quote and
// encoding/json: printable ASCII without ", \, <, > and &.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// checksum returns the hex SHA-256 defined in doc.go.
func (d *modelJSON) checksum() (string, error) {
	h := sha256.New()
	for _, v := range []json.RawMessage{d.Estimator, d.Task, d.Hyperparameters, d.Target, d.Preprocess, d.State} {
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return "", err
		}
		buf.WriteByte('\n')
		h.Write(buf.Bytes())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// mlmodel is the MLmodel YAML document; fields are in MLflow's
// (alphabetical) key order.
type mlmodel struct {
	ArtifactPath          string       `yaml:"artifact_path"`
	Flavors               flavors      `yaml:"flavors"`
	MLrunVersion          string       `yaml:"mlrun_version"`
	ModelSizeBytes        int64        `yaml:"model_size_bytes"`
	ModelUUID             string       `yaml:"model_uuid"`
	RunID                 string       `yaml:"run_id"`
	SavedInputExampleInfo *exampleInfo `yaml:"saved_input_example_info,omitempty"`
	Signature             sigYAML      `yaml:"signature"`
	UTCTimeCreated        string       `yaml:"utc_time_created"`
}

type flavors struct {
	MLrun          *mlrunFlavor `yaml:"mlrun"`
	ONNX           *onnxFlavor  `yaml:"onnx,omitempty"`
	PythonFunction pyfuncFlavor `yaml:"python_function"`
}

// onnxFlavor is MLflow's onnx flavor (mlflow.onnx.save_model's keys).
type onnxFlavor struct {
	Code        *string  `yaml:"code"`
	Data        string   `yaml:"data"`
	ONNXVersion string   `yaml:"onnx_version"`
	Providers   []string `yaml:"providers"`
}

type mlrunFlavor struct {
	Data          string  `yaml:"data"`
	Estimator     string  `yaml:"estimator"`
	FormatVersion int     `yaml:"format_version"`
	Task          ml.Task `yaml:"task"`
}

type pyfuncFlavor struct {
	Data         string `yaml:"data"`
	Env          string `yaml:"env"`
	LoaderModule string `yaml:"loader_module"`
}

type exampleInfo struct {
	ArtifactPath     string `yaml:"artifact_path"`
	PandasOrient     string `yaml:"pandas_orient"`
	ServingInputPath string `yaml:"serving_input_path"`
	Type             string `yaml:"type"`
}

type sigYAML struct {
	Inputs  string  `yaml:"inputs"`
	Outputs string  `yaml:"outputs"`
	Params  *string `yaml:"params"`
}

// mlmodelHeader is written above the YAML keys.
const mlmodelHeader = "# Written by mlrun. The python_function flavor only describes the model:\n" +
	"# there is no Python module mlrun.pyfunc, load and serve it with `mlrun serve`.\n"

// mlmodelHeaderONNX is written above the YAML keys of a model with ONNX.
const mlmodelHeaderONNX = "# Written by mlrun. mlflow.pyfunc.load_model loads model.onnx (needs onnxruntime);\n" +
	"# `mlrun serve` loads model.json.\n"

// splitFrame is pandas' "split" orient.
type splitFrame struct {
	Columns []string `json:"columns"`
	Data    [][]any  `json:"data"`
}

// check rejects a Model that cannot be saved; these are programming errors.
func (m *Model) check() error {
	switch {
	case m.Estimator == nil:
		return errors.New("model has no estimator")
	case m.EstimatorName == "":
		return errors.New("model has no estimator name")
	case m.Preprocess == nil:
		return errors.New("model has no preprocessing pipeline")
	case m.Task != ml.Classification && m.Task != ml.Regression:
		return fmt.Errorf("model has unknown task %q", m.Task)
	case m.Task == ml.Classification && len(m.Target.Classes) == 0:
		return errors.New("classifier has no class names")
	case m.UUID != "" && !isHex32(m.UUID):
		return fmt.Errorf("model uuid %q is not 32 hex digits", m.UUID)
	}
	return nil
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Save writes m to the model directory dir, with the first rows of
// example (the raw training features, may be nil) as input example. It
// fills in m.UUID, m.Created, m.ArtifactPath and m.MLrunVersion when they
// are empty, and sets m.SizeBytes. The directory is written under a
// temporary name and renamed into place; an existing non-empty dir is a
// Conflict error.
func Save(dir string, m *Model, example *dataset.Frame) error {
	if err := m.check(); err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	if m.UUID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("save model %s: %w", dir, err)
		}
		m.UUID = hex.EncodeToString(b[:])
	}
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	if m.ArtifactPath == "" {
		m.ArtifactPath = filepath.Base(dir)
	}
	if m.MLrunVersion == "" {
		m.MLrunVersion = "dev"
	}

	files, err := m.encodeFiles(example)
	if err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	m.SizeBytes = 0
	for _, f := range files {
		m.SizeBytes += int64(len(f.data))
	}
	mlm, err := m.encodeMLmodel(example != nil)
	if err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	files = append(files, namedFile{MLmodelFile, mlm})
	return writeDirAtomically(dir, files)
}

type namedFile struct {
	name string
	data []byte
}

// encodeFiles returns model.json and, with an example, the two example files.
func (m *Model) encodeFiles(example *dataset.Frame) ([]namedFile, error) {
	classes := m.Target.Classes
	if classes == nil {
		classes = []string{}
	}
	params := m.Hyperparameters
	if params == nil {
		params = ml.Params{}
	}
	parts := []any{m.EstimatorName, m.Task, params, TargetInfo{Name: m.Target.Name, Classes: classes}, m.Preprocess, m.Estimator}
	raw := make([]json.RawMessage, len(parts))
	for i, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", DataFile, err)
		}
		raw[i] = b
	}
	doc := modelJSON{
		Format: Format, FormatVersion: FormatVersion,
		Estimator: raw[0], Task: raw[1], Hyperparameters: raw[2], Target: raw[3], Preprocess: raw[4], State: raw[5],
	}
	sum, err := doc.checksum()
	if err != nil {
		return nil, fmt.Errorf("checksum %s: %w", DataFile, err)
	}
	doc.SHA256 = sum
	data, err := doc.marshalIndent()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", DataFile, err)
	}
	files := []namedFile{{DataFile, append(data, '\n')}}
	if m.ONNX != nil {
		files = append(files, namedFile{ONNXFile, m.ONNX.Data})
	}
	if example == nil {
		return files, nil
	}

	ex, err := m.exampleRows(example)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(ex)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", InputExampleFile, err)
	}
	files = append(files, namedFile{InputExampleFile, b})
	b, err = servingExample(ex)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ServingExampleFile, err)
	}
	return append(files, namedFile{ServingExampleFile, b}), nil
}

// servingExample returns {"dataframe_split": ex} as JSON with one data
// row per line, ready to POST to /invocations.
func servingExample(ex splitFrame) ([]byte, error) {
	cols, err := json.Marshal(ex.Columns)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"dataframe_split\": {\n    \"columns\": ")
	b.Write(cols)
	b.WriteString(",\n    \"data\": [")
	for i, row := range ex.Data {
		r, err := json.Marshal(row)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		b.Write(r)
	}
	b.WriteString("\n    ]\n  }\n}\n")
	return b.Bytes(), nil
}

// exampleRows returns the first rows of the model's input columns of f, as
// pandas split JSON. Non-finite numbers become null.
func (m *Model) exampleRows(f *dataset.Frame) (splitFrame, error) {
	cols := m.Preprocess.InputColumns()
	byName := map[string]*dataset.Column{}
	for i := range f.Columns {
		byName[f.Columns[i].Name] = &f.Columns[i]
	}
	n := min(f.NRows, exampleRows)
	ex := splitFrame{Columns: make([]string, len(cols)), Data: make([][]any, n)}
	for r := range ex.Data {
		ex.Data[r] = make([]any, len(cols))
	}
	for j, want := range cols {
		ex.Columns[j] = want.Name
		c, ok := byName[want.Name]
		if !ok || c.Kind != want.Kind {
			return splitFrame{}, fmt.Errorf("input example has no %s column %q", want.Kind, want.Name)
		}
		for r := range n {
			switch {
			case c.Kind == dataset.Categorical:
				ex.Data[r][j] = c.Str[r]
			case math.IsNaN(c.Num[r]) || math.IsInf(c.Num[r], 0):
				ex.Data[r][j] = nil
			default:
				ex.Data[r][j] = c.Num[r]
			}
		}
	}
	return ex, nil
}

// encodeMLmodel returns the MLmodel YAML text.
func (m *Model) encodeMLmodel(withExample bool) ([]byte, error) {
	sig := m.Signature()
	inputs, err := json.Marshal(sig.Inputs)
	if err != nil {
		return nil, err
	}
	outputs, err := json.Marshal(sig.Outputs)
	if err != nil {
		return nil, err
	}
	doc := mlmodel{
		ArtifactPath: m.ArtifactPath,
		Flavors: flavors{
			MLrun:          &mlrunFlavor{Data: DataFile, Estimator: m.EstimatorName, FormatVersion: FormatVersion, Task: m.Task},
			PythonFunction: pyfuncFlavor{Data: DataFile, Env: "none", LoaderModule: "mlrun.pyfunc"},
		},
		MLrunVersion:   m.MLrunVersion,
		ModelSizeBytes: m.SizeBytes,
		ModelUUID:      m.UUID,
		RunID:          m.RunID,
		Signature:      sigYAML{Inputs: mlflowJSON(inputs), Outputs: mlflowJSON(outputs)},
		UTCTimeCreated: m.Created.UTC().Format(TimeLayout),
	}
	header := mlmodelHeader
	if m.ONNX != nil {
		header = mlmodelHeaderONNX
		doc.Flavors.ONNX = &onnxFlavor{Data: ONNXFile, ONNXVersion: m.ONNX.Version, Providers: ONNXProviders}
		doc.Flavors.PythonFunction = pyfuncFlavor{Data: ONNXFile, Env: "none", LoaderModule: "mlflow.onnx"}
	}
	if withExample {
		doc.SavedInputExampleInfo = &exampleInfo{ArtifactPath: InputExampleFile, PandasOrient: "split", ServingInputPath: ServingExampleFile, Type: "dataframe"}
	}
	if b, ok := appendMLmodel(append(make([]byte, 0, 2048), header...), &doc); ok {
		return b, nil
	}
	b, err := yaml.MarshalWithOptions(doc, yaml.UseSingleQuote(true))
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", MLmodelFile, err)
	}
	return append([]byte(header), b...), nil
}

// mlflowJSON re-spaces compact JSON the way Python's json.dumps does
// (", " and ": "), as MLflow writes signature strings.
func mlflowJSON(compact []byte) string {
	var out []byte
	inString, escaped := false, false
	for _, c := range compact {
		out = append(out, c)
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && (c == ',' || c == ':'):
			out = append(out, ' ')
		}
	}
	return string(out)
}

// writeDirAtomically writes files into a temporary sibling of dir and
// renames it to dir.
func writeDirAtomically(dir string, files []namedFile) (err error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	if entries, err := os.ReadDir(dir); err == nil {
		if len(entries) > 0 {
			return errs.Errorf(errs.Conflict, "model directory %s already exists and is not empty", dir)
		}
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("save model %s: %w", dir, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	for _, f := range files {
		if err := writeFileSync(filepath.Join(tmp, f.name), f.data); err != nil {
			return fmt.Errorf("save model %s: %w", dir, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("save model %s: %w", dir, err)
	}
	return nil
}

// writeFileSync writes data to a new file and flushes it to disk.
func writeFileSync(path string, data []byte) error {
	// No fsync: the rename of the whole directory is what keeps a reader
	// from seeing half a model, and the tracking store itself trades
	// durability on power loss for speed (WAL, synchronous=NORMAL).
	return os.WriteFile(path, data, 0o644)
}

// invalid returns the Invalid error Load reports for a bad model file.
func invalid(path, format string, args ...any) error {
	return errs.Errorf(errs.Invalid, "model file %s "+format, append([]any{path}, args...)...)
}

// Load reads the model directory dir. specs looks up an estimator kind by
// name. A missing file, bad YAML or JSON, a format_version newer than this
// code reads, a checksum mismatch or an unknown estimator is an Invalid
// error naming the file and the problem.
func Load(dir string, specs func(name string) (ml.Spec, bool)) (*Model, error) {
	mlPath := filepath.Join(dir, MLmodelFile)
	text, err := os.ReadFile(mlPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Errorf(errs.Invalid, "%s is not a model directory: it has no %s file", dir, MLmodelFile)
	}
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	var meta mlmodel
	if err := yaml.Unmarshal(text, &meta); err != nil {
		return nil, invalid(mlPath, "is not valid YAML: %v", err)
	}
	fl := meta.Flavors.MLrun
	switch {
	case fl == nil:
		return nil, invalid(mlPath, "has no mlrun flavor, so it was not written by mlrun")
	case fl.FormatVersion > FormatVersion:
		return nil, invalid(mlPath, "has format_version %d, newer than the %d this mlrun reads; upgrade mlrun", fl.FormatVersion, FormatVersion)
	case fl.Data == "" || !filepath.IsLocal(fl.Data):
		return nil, invalid(mlPath, "names data file %q, which is not a file inside the model directory", fl.Data)
	}
	created, err := time.Parse(TimeLayout, meta.UTCTimeCreated)
	if err != nil {
		return nil, invalid(mlPath, "has utc_time_created %q, not in the form 'YYYY-MM-DD HH:MM:SS.ffffff'", meta.UTCTimeCreated)
	}

	dataPath := filepath.Join(dir, fl.Data)
	data, err := os.ReadFile(dataPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, invalid(dataPath, "is missing")
	}
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := decodeModelJSON(dataPath, data, specs)
	if err != nil {
		return nil, err
	}
	if m.EstimatorName != fl.Estimator || m.Task != fl.Task {
		return nil, invalid(mlPath, "says estimator %s for %s but %s holds %s for %s", fl.Estimator, fl.Task, fl.Data, m.EstimatorName, m.Task)
	}
	m.RunID = meta.RunID
	m.Created = created
	m.UUID = meta.ModelUUID
	m.ArtifactPath = meta.ArtifactPath
	m.MLrunVersion = meta.MLrunVersion
	m.SizeBytes = meta.ModelSizeBytes
	m.HasONNX = meta.Flavors.ONNX != nil
	return m, nil
}

// decodeModelJSON checks and decodes model.json.
func decodeModelJSON(path string, data []byte, specs func(string) (ml.Spec, bool)) (*Model, error) {
	var doc modelJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, invalid(path, "is not valid JSON (truncated or corrupted?): %v", err)
	}
	switch {
	case doc.Format != Format:
		return nil, invalid(path, "has format %q, not %q", doc.Format, Format)
	case doc.FormatVersion > FormatVersion:
		return nil, invalid(path, "has format_version %d, newer than the %d this mlrun reads; upgrade mlrun", doc.FormatVersion, FormatVersion)
	case doc.FormatVersion < 1:
		return nil, invalid(path, "has no valid format_version")
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"estimator", doc.Estimator}, {"task", doc.Task}, {"hyperparameters", doc.Hyperparameters}, {"target", doc.Target}, {"preprocess", doc.Preprocess}, {"state", doc.State}} {
		if len(f.raw) == 0 {
			return nil, invalid(path, "has no %q field", f.name)
		}
	}
	sum, err := doc.checksum()
	if err != nil {
		return nil, invalid(path, "is corrupted: %v", err)
	}
	if doc.SHA256 != sum {
		return nil, invalid(path, "is corrupted: its content does not match its sha256 checksum")
	}

	m := &Model{Preprocess: &preprocess.Pipeline{}}
	for _, part := range []struct {
		name string
		raw  json.RawMessage
		dst  any
	}{
		{"estimator", doc.Estimator, &m.EstimatorName},
		{"task", doc.Task, &m.Task},
		{"hyperparameters", doc.Hyperparameters, &m.Hyperparameters},
		{"target", doc.Target, &m.Target},
		{"preprocess", doc.Preprocess, m.Preprocess},
	} {
		if err := json.Unmarshal(part.raw, part.dst); err != nil {
			return nil, invalid(path, "has a bad %q field: %v", part.name, err)
		}
	}
	if err := m.Preprocess.Validate(); err != nil {
		return nil, invalid(path, "has a bad \"preprocess\" field: %v", err)
	}
	if m.Task != ml.Classification && m.Task != ml.Regression {
		return nil, invalid(path, "has unknown task %q", m.Task)
	}

	spec, ok := specs(m.EstimatorName)
	if !ok {
		return nil, invalid(path, "uses estimator %q, which this mlrun does not know", m.EstimatorName)
	}
	if !spec.Supports(m.Task) {
		return nil, invalid(path, "uses estimator %s for %s, which it does not support", m.EstimatorName, m.Task)
	}
	est, err := spec.New(m.Task, m.Hyperparameters)
	if err != nil {
		return nil, invalid(path, "has hyperparameters %s rejects: %v", m.EstimatorName, err)
	}
	if err := json.Unmarshal(doc.State, est); err != nil {
		return nil, invalid(path, "has a \"state\" that does not fit estimator %s: %v", m.EstimatorName, err)
	}
	m.Estimator = est
	if c, ok := est.(ml.Classifier); ok && m.Task == ml.Classification && c.NumClasses() != len(m.Target.Classes) {
		return nil, invalid(path, "lists %d classes but its estimator has %d", len(m.Target.Classes), c.NumClasses())
	}
	return m, nil
}
