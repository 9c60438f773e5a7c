package steps

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/metrics"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/onnx"
	"github.com/mlrun/mlrun/ml/preprocess"
	"github.com/mlrun/mlrun/ml/report"
	"github.com/mlrun/mlrun/steps/schema"
	"github.com/mlrun/mlrun/tracking"
)

// Estimators names the estimator kinds that train can build.
type Estimators interface {
	Lookup(name string) (ml.Spec, bool)
	Names() []string
}

// Train is the step kind that fits a Go-native estimator (scikit-learn's
// names and defaults) with its preprocessing, and writes the model
// directory (MLmodel, model.json, input example) as an artifact.
type Train struct {
	Estimators Estimators
	Version    string // mlrun's version, written into the model
	// Plots draws the learning curve; nil draws with fresh buffers.
	Plots *report.Renderer
}

// Name implements Kind.
func (Train) Name() string { return "train" }

// Doc implements Kind.
func (Train) Doc() string {
	return "fit an estimator on a data set; writes the model directory with its signature and input example"
}

// Inputs implements Kind.
func (t Train) Inputs() []Input {
	return []Input{
		{Name: "data", Type: Dataset, Required: true, Doc: "training set (an output of load or split)"},
		{Name: "estimator", Type: String, Default: "logistic_regression", Doc: "one of: " + strings.Join(t.Estimators.Names(), ", ")},
		{Name: "hyperparameters", Type: Map, Doc: "scikit-learn's parameter names and values, e.g. {C: 1.0, max_iter: 200}"},
		{Name: "random_state", Type: Int, Doc: "seed for estimators that take one, unless hyperparameters set it (default: the run's seed)"},
		{Name: "scale", Type: Bool, Default: false, Doc: "standardise numeric columns (part of the model)"},
		{Name: "handle_unknown", Type: String, Default: "error", Doc: "unseen categories when predicting: error or ignore"},
		{Name: "artifact_path", Type: String, Default: "model", Doc: "where the model directory goes in the run's artifacts"},
		{Name: "plots", Type: Bool, Default: true, Doc: "draw learning_curve.png from the training history"},
		{Name: "onnx", Type: Bool, Default: true, Doc: "also write the model as model.onnx (MLflow's onnx flavor), preprocessing included"},
	}
}

// Outputs implements Kind.
func (Train) Outputs() []Output {
	return []Output{
		{Name: "model", Type: Model, Doc: "the fitted model"},
		{Name: "model_uri", Type: String, Doc: "runs:/<run id>/<artifact_path>"},
		{Name: "model_dir", Type: Path, Doc: "the model directory on disk"},
	}
}

// Check implements Kind: the estimator exists and its hyperparameters are
// valid, before anything trains.
func (t Train) Check(in Values) error {
	_, _, err := t.estimator(in, "")
	if hu, ok := in["handle_unknown"].(string); ok && hu != preprocess.UnknownError && hu != preprocess.UnknownIgnore {
		return fmt.Errorf("input \"handle_unknown\" must be error or ignore, not %q", hu)
	}
	return err
}

// estimator builds the unfitted estimator for task ("" checks against the
// spec's first task).
func (t Train) estimator(in Values, task ml.Task) (ml.Spec, ml.Estimator, error) {
	name, _ := in["estimator"].(string)
	if name == "" {
		name = "logistic_regression"
	}
	spec, ok := t.Estimators.Lookup(name)
	if !ok {
		return spec, nil, fmt.Errorf("unknown estimator %q (known: %s)", name, strings.Join(t.Estimators.Names(), ", "))
	}
	if task == "" {
		task = spec.Tasks[0]
	}
	if !spec.Supports(task) {
		return spec, nil, fmt.Errorf("estimator %s does not do %s", name, task)
	}
	hp := ml.Params{}
	if m, ok := in["hyperparameters"].(map[string]any); ok {
		for k, v := range m {
			hp[k] = normaliseNumber(v)
		}
	}
	if rs, ok := in["random_state"].(int); ok {
		for _, p := range spec.Params {
			if _, set := hp["random_state"]; p.Name == "random_state" && !set {
				hp["random_state"] = rs
			}
		}
	}
	est, err := spec.New(task, hp)
	if err != nil {
		return spec, nil, fmt.Errorf("estimator %s: %v", name, errs.Message(err))
	}
	return spec, est, nil
}

// UsedSeed reports the seed the estimator really uses for the seed input
// random_state: hyperparameters.random_state when given (it wins), else the
// input's value; none when the estimator takes no random_state.
func (t Train) UsedSeed(in Values, input string) (string, bool) {
	if input != "random_state" {
		return "", false
	}
	if v, set := paramsOf(in)["random_state"]; set {
		return formatParam(v), true
	}
	name, _ := in["estimator"].(string)
	if name == "" {
		name = "logistic_regression"
	}
	spec, ok := t.Estimators.Lookup(name)
	if !ok || !slices.ContainsFunc(spec.Params, func(p ml.Param) bool { return p.Name == "random_state" }) {
		return "", false
	}
	rs, ok := in["random_state"]
	return fmt.Sprint(rs), ok
}

// normaliseNumber turns YAML's integer types into int.
func normaliseNumber(v any) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case uint64:
		return int(x)
	}
	return v
}

// Run implements Kind.
func (t Train) Run(ctx context.Context, env *Env, in Values) (*Result, error) {
	ds, ok := in["data"].(*dataset.Dataset)
	if !ok {
		return nil, errs.Errorf(errs.Invalid, "step %s: input \"data\" must be a data set (an output of load or split), not %T", env.Step, in["data"])
	}
	task := ds.Target.Task
	spec, est, err := t.estimator(in, task)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %v", env.Step, err)
	}
	// The params first, as an MLflow user logs them before fit(): a fit
	// that fails leaves them on the run.
	hp, err := spec.WithDefaults(paramsOf(in))
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %v", env.Step, err)
	}
	if rs, ok := in["random_state"].(int); ok {
		if _, declared := hp["random_state"]; declared && hp["random_state"] == nil {
			hp["random_state"] = rs
		}
	}
	params := map[string]string{env.Step + ".estimator": spec.Name, env.Step + ".rows": fmt.Sprint(ds.Rows)}
	for k, v := range hp {
		params[env.Step+"."+k] = formatParam(v)
	}
	if err := env.Log.LogParams(ctx, params); err != nil {
		return nil, err
	}
	opts := preprocess.DefaultOptions()
	opts.Scale, _ = in["scale"].(bool)
	if hu, ok := in["handle_unknown"].(string); ok {
		opts.HandleUnknown = hu
	}
	pipe, err := preprocess.Fit(ds.Features, opts)
	if err != nil {
		return nil, err
	}
	X, err := pipe.Transform(ds.Features)
	if err != nil {
		return nil, err
	}
	y, classes := ds.Target.Y, ds.Target.Classes
	if task == ml.Classification {
		y, classes = seenClasses(ds.Target)
	}

	var history []tracking.Metric
	now := time.Now().UnixMilli()
	progress := func(key string, step int, value float64) {
		history = append(history, tracking.Metric{Key: key, Value: value, Step: int64(step), Timestamp: now})
		if env.Progress != nil {
			env.Progress(key, step, value)
		}
	}
	if err := est.Fit(ctx, X, y, progress); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// Every estimator's fit errors name it.
		return nil, errs.Errorf(errs.Failed, "step %s: %v", env.Step, errs.Message(err))
	}

	// The training score, and what a person wants to see: the history.
	// Its plot is drawn while the model is saved.
	pred := est.Predict(X)
	scoreKey, score := "train_r2", 0.0
	if task == ml.Classification {
		scoreKey, score = "train_accuracy", metrics.Accuracy(y, pred)
	} else {
		score = metrics.R2(y, pred)
	}
	history = append(history, tracking.Metric{Key: scoreKey, Value: score, Timestamp: now})
	if plots, _ := in["plots"].(bool); plots {
		if err := learningCurve(env, t.Plots, history, spec.Name); err != nil {
			return nil, err
		}
	}

	path, _ := in["artifact_path"].(string)
	if path == "" {
		path = "model"
	}
	dir, err := env.Log.ArtifactPath(path)
	if err != nil {
		return nil, err
	}
	model := &modelfile.Model{
		Estimator:       est,
		EstimatorName:   spec.Name,
		Task:            task,
		Hyperparameters: hp,
		Preprocess:      pipe,
		Target:          modelfile.TargetInfo{Name: ds.Target.Name, Classes: classes},
		RunID:           env.RunID,
		ArtifactPath:    path,
		MLrunVersion:    t.Version,
	}
	if withONNX, _ := in["onnx"].(bool); withONNX {
		if err := addONNX(env, model); err != nil {
			return nil, err
		}
	}
	if err := modelfile.Save(dir, model, ds.Features); err != nil {
		return nil, err
	}

	if err := env.Log.LogMetrics(ctx, history); err != nil {
		return nil, err
	}
	return &Result{
		Outputs: map[string]any{"model": model, "model_uri": "runs:/" + env.RunID + "/" + path, "model_dir": dir},
		Metrics: map[string]float64{scoreKey: score},
	}, nil
}

// seenClasses returns the class indices of t renumbered to the classes
// that occur in it, and those classes' names: a model knows the classes it
// was trained on, as scikit-learn's classes_ (a split can leave a class of
// the whole data set out of the training rows).
func seenClasses(t *dataset.Target) ([]float64, []string) {
	seen := make([]bool, len(t.Classes))
	for _, v := range t.Y {
		seen[int(v)] = true
	}
	if !slices.Contains(seen, false) {
		return t.Y, t.Classes
	}
	renum := make([]float64, len(t.Classes))
	var names []string
	for i, ok := range seen {
		if ok {
			renum[i] = float64(len(names))
			names = append(names, t.Classes[i])
		}
	}
	y := make([]float64, len(t.Y))
	for i, v := range t.Y {
		y[i] = renum[int(v)]
	}
	return y, names
}

// addONNX exports model to ONNX for model.onnx. A model ONNX cannot
// express (see ml/onnx) is saved without it, with a warning.
func addONNX(env *Env, model *modelfile.Model) error {
	data, err := onnx.Export(model)
	if errs.Code(err) == errs.Invalid {
		if env.Stderr != nil {
			fmt.Fprintf(env.Stderr, "warning: step %s: no model.onnx: %s\n", env.Step, errs.Message(err))
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("step %s: %w", env.Step, err)
	}
	model.ONNX = &modelfile.ONNXModel{Data: data, Version: onnx.SpecVersion}
	return nil
}

// paramsOf returns the hyperparameters given in `with:`.
func paramsOf(in Values) ml.Params {
	hp := ml.Params{}
	if m, ok := in["hyperparameters"].(map[string]any); ok {
		for k, v := range m {
			hp[k] = normaliseNumber(v)
		}
	}
	return hp
}

// formatParam renders a hyperparameter as MLflow logs it: None for nil, a
// float as Python's repr (schema.FormatFloat), the rest as Go prints it.
func formatParam(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case float64:
		return schema.FormatFloat(x)
	}
	return fmt.Sprint(v)
}

// learningCurve draws the training history (loss per iteration, ...) as
// learning_curve.png, in the background, when there is a curve to draw.
func learningCurve(env *Env, plots *report.Renderer, history []tracking.Metric, estimator string) error {
	byKey := map[string]*report.Series{}
	for _, m := range history {
		s := byKey[m.Key]
		if s == nil {
			s = &report.Series{Name: m.Key}
			byKey[m.Key] = s
		}
		s.Steps = append(s.Steps, float64(m.Step))
		s.Values = append(s.Values, m.Value)
	}
	var series []report.Series
	for _, s := range byKey {
		if len(s.Steps) > 1 {
			series = append(series, *s)
		}
	}
	if len(series) == 0 {
		return nil
	}
	sort.Slice(series, func(i, j int) bool { return series[i].Name < series[j].Name })
	path, err := env.Log.ArtifactPath("learning_curve.png")
	if err != nil {
		return err
	}
	yLabel := "value"
	if len(series) == 1 {
		yLabel = series[0].Name
	}
	return env.Background("learning_curve.png", func() error {
		return plots.LearningCurvePNG(path, series, "Training history: "+estimator, yLabel)
	})
}

// CacheFiles implements Cacheable.
func (Train) CacheFiles(string, Values) []string { return nil }
