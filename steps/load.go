package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
)

// Load is the step kind that reads a CSV data file into a data set, and
// records the file's content hash as the run's dataset version.
type Load struct{}

// Name implements Kind.
func (Load) Name() string { return "load" }

// Doc implements Kind.
func (Load) Doc() string {
	return "read a CSV file with a header into a data set; records its sha256 as the dataset version"
}

// Inputs implements Kind.
func (Load) Inputs() []Input {
	return []Input{
		{Name: "path", Type: Path, Required: true, Doc: "CSV file, relative to the project directory"},
		{Name: "target", Type: String, Required: true, Doc: "label column"},
		{Name: "delimiter", Type: String, Default: ",", Doc: "field separator (one character)"},
		{Name: "features", Type: List, Doc: "keep only these feature columns"},
		{Name: "drop", Type: List, Doc: "drop these columns"},
		{Name: "types", Type: Map, Doc: "column: numeric|categorical, overriding the inferred kind"},
		{Name: "task", Type: String, Default: "auto", Doc: "classification, regression, or auto (text or few whole-number labels: classification)"},
		{Name: "missing", Type: String, Default: "error", Doc: "missing values: error, drop, mean or most_frequent"},
		{Name: "class_names", Type: List, Doc: "names for the classes, in sorted label order (e.g. [setosa, versicolor, virginica])"},
	}
}

// Outputs implements Kind.
func (Load) Outputs() []Output {
	return []Output{
		{Name: "dataset", Type: Dataset, Doc: "the data set"},
		{Name: "sha256", Type: String, Doc: "sha256 of the file's content"},
		{Name: "rows", Type: Int, Doc: "rows kept"},
	}
}

// Check implements Kind. A path known to be absolute (a path parameter
// is) must not be a directory.
func (Load) Check(in Values) error {
	if p, ok := in["path"].(string); ok && filepath.IsAbs(p) {
		if err := notADirectory(p); err != nil {
			return err
		}
	}
	_, err := loadOptions(in)
	return err
}

// notADirectory returns an error when path is a directory: load reads
// one CSV file.
func notADirectory(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("input \"path\": %s is a directory; load reads one CSV file", path)
	}
	return nil
}

func loadOptions(in Values) (dataset.LoadOptions, error) {
	var o dataset.LoadOptions
	o.Target, _ = in["target"].(string)
	if d, ok := in["delimiter"].(string); ok {
		if utf8.RuneCountInString(d) != 1 {
			return o, fmt.Errorf("input \"delimiter\" must be one character, not %q", d)
		}
		o.Delimiter, _ = utf8.DecodeRuneInString(d)
	}
	var err error
	if o.Features, err = stringList(in, "features"); err != nil {
		return o, err
	}
	if o.Drop, err = stringList(in, "drop"); err != nil {
		return o, err
	}
	if m, ok := in["types"].(map[string]any); ok {
		o.Types = map[string]dataset.ColumnKind{}
		for col, v := range m {
			k := dataset.ColumnKind(fmt.Sprint(v))
			if k != dataset.Numeric && k != dataset.Categorical {
				return o, fmt.Errorf("input \"types\": column %q must be numeric or categorical, not %v", col, v)
			}
			o.Types[col] = k
		}
	}
	switch t, _ := in["task"].(string); t {
	case "", "auto":
	case string(ml.Classification), string(ml.Regression):
		o.Task = ml.Task(t)
	default:
		return o, fmt.Errorf("input \"task\" must be classification, regression or auto, not %q", t)
	}
	switch m, _ := in["missing"].(string); m {
	case "", "error":
		o.Missing = dataset.MissingReject
	case "drop":
		o.Missing = dataset.MissingDrop
	case "mean":
		o.Missing = dataset.MissingMean
	case "most_frequent":
		o.Missing = dataset.MissingMostFrequent
	default:
		return o, fmt.Errorf("input \"missing\" must be error, drop, mean or most_frequent, not %q", m)
	}
	if _, err := stringList(in, "class_names"); err != nil {
		return o, err
	}
	return o, nil
}

// Run implements Kind.
func (Load) Run(ctx context.Context, env *Env, in Values) (*Result, error) {
	o, err := loadOptions(in)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %v", env.Step, err)
	}
	rel, _ := in["path"].(string)
	path := rel
	if !filepath.IsAbs(path) {
		path = filepath.Join(env.ProjectDir, rel)
	}
	if err := notADirectory(path); err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %v", env.Step, err)
	}
	ds, err := dataset.Load(path, o)
	if err != nil {
		return nil, err
	}
	if names, _ := stringList(in, "class_names"); names != nil {
		if ds.Target.Task != ml.Classification {
			return nil, errs.Errorf(errs.Invalid, "step %s: class_names given, but %s is a regression target", env.Step, ds.Target.Name)
		}
		if len(names) != len(ds.Target.Classes) {
			return nil, errs.Errorf(errs.Invalid, "step %s: %d class_names given for %d classes (%v)", env.Step, len(names), len(ds.Target.Classes), ds.Target.Classes)
		}
		ds.Target.Classes = names
	}
	if env.DatasetVersion != nil {
		shown := rel
		if r, err := filepath.Rel(env.ProjectDir, path); err == nil && filepath.IsLocal(r) {
			shown = filepath.ToSlash(r)
		}
		env.DatasetVersion(shown, ds.SHA256)
	}
	// The shape, beside the version the runner records from DatasetVersion.
	shape := fmt.Sprintf("%d rows x %d features", ds.Rows, len(ds.Features.Columns))
	if err := env.Log.SetTags(ctx, map[string]string{"mlrun.dataset_shape." + env.Step: shape}); err != nil {
		return nil, err
	}
	return &Result{Outputs: map[string]any{"dataset": ds, "sha256": ds.SHA256, "rows": ds.Rows}}, nil
}

// stringList reads a list input whose items must be strings.
func stringList(in Values, name string) ([]string, error) {
	raw, ok := in[name].([]any)
	if !ok {
		return nil, nil
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("input %q[%d] must be a string, not %v", name, i, v)
		}
		out[i] = s
	}
	return out, nil
}

// CacheFiles implements Cacheable; the data file is a path input, hashed already.
func (Load) CacheFiles(string, Values) []string { return nil }
