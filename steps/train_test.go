package steps_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/steps"
)

// The train step writes the whole model directory, and leaves no
// temporary directory behind when it succeeds, when the fit is cancelled
// and when the model directory is taken.
func TestTrainStepModelDirectory(t *testing.T) {
	_, env := newIrisEnv(t)
	ctx := context.Background()
	loaded := runStep(t, ctx, steps.Load{}, env, map[string]any{"path": "iris.csv", "target": "target",
		"class_names": []any{"setosa", "versicolor", "virginica"}})
	artifacts := env.Log.(*runLog).dir
	entries := func() []string {
		des, err := os.ReadDir(artifacts)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		return names
	}

	train := steps.Train{Estimators: catalog.Builtin()}
	res := runStep(t, ctx, train, env, map[string]any{"data": loaded.Outputs["dataset"], "artifact_path": "iris_model", "plots": false})
	dir, _ := artifact.Join(artifacts, "iris_model")
	if res.Outputs["model_dir"] != dir {
		t.Errorf("model_dir %v, want %s", res.Outputs["model_dir"], dir)
	}
	var files []string
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		files = append(files, de.Name())
	}
	want := []string{modelfile.MLmodelFile, modelfile.InputExampleFile, modelfile.DataFile, modelfile.ONNXFile, modelfile.ServingExampleFile}
	if !slices.Equal(files, want) {
		t.Errorf("the model directory holds %v, want %v", files, want)
	}
	if _, err := modelfile.Load(dir, catalog.Builtin().Lookup); err != nil {
		t.Errorf("the saved model does not load: %v", err)
	}

	run := func(ctx context.Context, path string) error {
		in, err := steps.Resolve(train, map[string]any{"data": loaded.Outputs["dataset"], "artifact_path": path, "plots": false})
		if err != nil {
			t.Fatal(err)
		}
		_, err = train.Run(ctx, env, in)
		return err
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := run(cancelled, "cancelled_model"); err == nil {
		t.Error("a cancelled fit succeeded")
	}
	if err := run(ctx, "model"); errs.Code(err) != errs.Conflict {
		t.Errorf("training into the existing model directory: %v, want a Conflict error", err)
	}
	for _, name := range entries() {
		if strings.HasPrefix(name, ".") || name == "cancelled_model" {
			t.Errorf("the artifacts hold %s after the failed steps", name)
		}
	}
}

// The train step logs its params before it fits, as an MLflow user calls
// log_params before fit(): a fit that fails (here, on training data of a
// single class) leaves on the run what it was given.
func TestTrainLogsItsParamsBeforeItFits(t *testing.T) {
	st, env := newIrisEnv(t)
	ctx := context.Background()
	loaded := loadSetosa(t, env)
	train := steps.Train{Estimators: catalog.Builtin()}
	in, err := steps.Resolve(train, map[string]any{"data": loaded.Outputs["dataset"], "plots": false,
		"hyperparameters": map[string]any{"C": 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	env.Step = "train"
	if _, err := train.Run(ctx, env, in); err == nil || !strings.Contains(err.Error(), "only one class") {
		t.Fatalf("a fit on one class: %v, want its error", err)
	}
	run, err := st.GetRun(ctx, env.RunID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range run.Params {
		got[p.Key] = p.Value
	}
	for k, want := range map[string]string{"train.C": "0.5", "train.estimator": "logistic_regression", "train.rows": "50"} {
		if got[k] != want {
			t.Errorf("param %s = %q after the failed fit, want %q (params %v)", k, got[k], want, got)
		}
	}
}

// A fit's error names the estimator once: every estimator's errors name
// it, and the train step does not add its name again. Each fits the 50
// setosa rows of iris, a single class, which these two refuse (as
// scikit-learn's do).
func TestTrainFitErrorsNameTheEstimatorOnce(t *testing.T) {
	_, env := newIrisEnv(t)
	ctx := context.Background()
	loaded := loadSetosa(t, env)
	train := steps.Train{Estimators: catalog.Builtin()}
	for i, name := range []string{"logistic_regression", "svc"} {
		env.Step = "fit" + strconv.Itoa(i) // a step of its own: a run's params cannot change
		in, err := steps.Resolve(train, map[string]any{"data": loaded.Outputs["dataset"], "plots": false, "estimator": name})
		if err != nil {
			t.Fatal(err)
		}
		_, err = train.Run(ctx, env, in)
		if err == nil {
			t.Errorf("%s fitted a single class", name)
			continue
		}
		if msg := err.Error(); strings.Count(msg, name) != 1 || !strings.HasPrefix(msg, "step "+env.Step+": ") {
			t.Errorf("%s: the error %q should start with \"step %s: \" and name the estimator once", name, msg, env.Step)
		}
	}
}

// loadSetosa writes setosa.csv, the header and the 50 setosa rows of the
// iris.csv of env's project (a single class), and runs the load step on it.
func loadSetosa(t *testing.T, env *steps.Env) *steps.Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.ProjectDir, "iris.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(filepath.Join(env.ProjectDir, "setosa.csv"), []byte(strings.Join(lines[:51], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return runStep(t, context.Background(), steps.Load{}, env, map[string]any{"path": "setosa.csv", "target": "target"})
}
