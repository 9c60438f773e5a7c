package steps_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// runLog is a steps.Logger that writes straight to the store and the run's
// artifact directory.
type runLog struct {
	st    *sqlite.Store
	runID string
	dir   string
}

func (l *runLog) LogParams(ctx context.Context, params map[string]string) error {
	var ps []tracking.Param
	for k, v := range params {
		ps = append(ps, tracking.Param{Key: k, Value: v})
	}
	return l.st.LogBatch(ctx, l.runID, nil, ps, nil)
}

func (l *runLog) LogMetrics(ctx context.Context, metrics []tracking.Metric) error {
	return l.st.LogBatch(ctx, l.runID, metrics, nil, nil)
}

func (l *runLog) SetTags(ctx context.Context, tags map[string]string) error {
	var ts []tracking.Tag
	for k, v := range tags {
		ts = append(ts, tracking.Tag{Key: k, Value: v})
	}
	return l.st.LogBatch(ctx, l.runID, nil, nil, ts)
}

func (l *runLog) LogArtifact(ctx context.Context, src, dst string) error {
	p, err := artifact.Join(l.dir, dst)
	if err != nil {
		return err
	}
	return artifact.Copy(src, p)
}

func (l *runLog) WriteArtifact(ctx context.Context, dst string, data []byte) error {
	p, err := l.ArtifactPath(dst)
	if err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func (l *runLog) ArtifactPath(dst string) (string, error) {
	p, err := artifact.Join(l.dir, dst)
	if err != nil {
		return "", err
	}
	return p, os.MkdirAll(filepath.Dir(p), 0o755)
}

// newRegisterEnv returns a store and the Env of a new run whose artifacts
// hold a model directory at "model".
func newRegisterEnv(t *testing.T) (*sqlite.Store, *steps.Env) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	run, err := st.CreateRun(ctx, tracking.NewRun{})
	if err != nil {
		t.Fatal(err)
	}
	artifacts, err := artifact.DirFromURI(run.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(artifacts, "model")
	if err := os.MkdirAll(model, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(model, "MLmodel"), []byte("flavors: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return st, &steps.Env{
		RunID: run.ID, ExperimentID: run.ExperimentID, Step: "publish", Store: st,
		Log: &runLog{st: st, runID: run.ID, dir: artifacts},
	}
}

// newIrisEnv is newRegisterEnv with examples/iris's CSV copied as iris.csv
// into a fresh project directory.
func newIrisEnv(t *testing.T) (*sqlite.Store, *steps.Env) {
	t.Helper()
	st, env := newRegisterEnv(t)
	data, err := os.ReadFile(filepath.Join("..", "examples", "iris", "data", "iris.csv"))
	if err != nil {
		t.Fatal(err)
	}
	env.ProjectDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(env.ProjectDir, "iris.csv"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	env.DatasetVersion = func(string, string) {}
	return st, env
}

// runRegister resolves with like the pipeline does and runs the step.
func runRegister(t *testing.T, env *steps.Env, with map[string]any) (*steps.Result, error) {
	t.Helper()
	k := steps.Register{}
	in, err := steps.Resolve(k, with)
	if err != nil {
		return nil, err
	}
	if err := k.Check(in); err != nil {
		return nil, err
	}
	return k.Run(context.Background(), env, in)
}

func TestRegisterStep(t *testing.T) {
	ctx := context.Background()
	st, env := newRegisterEnv(t)

	res, err := runRegister(t, env, map[string]any{"name": "iris", "alias": "champion", "stage": "production",
		"description": "the first", "tags": map[string]any{"accuracy": 0.97, "owner": "me"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outputs["version"] != 1 || res.Outputs["model_uri"] != "models:/iris/1" {
		t.Fatalf("outputs = %v", res.Outputs)
	}
	mv, err := st.GetVersionByAlias(ctx, "iris", "champion")
	if err != nil {
		t.Fatal(err)
	}
	run, _ := st.GetRun(ctx, env.RunID)
	if mv.Version != 1 || mv.RunID != env.RunID || mv.Source != run.Info.ArtifactURI+"/model" ||
		mv.Stage != tracking.StageProduction || mv.Description != "the first" ||
		mv.Tags["accuracy"] != "0.97" || mv.Tags["owner"] != "me" {
		t.Fatalf("registered version = %+v", mv)
	}
	for key, want := range map[string]string{
		"mlrun.register.publish": "registered iris version 1",
		"mlrun.registered_model": "iris/1",
	} {
		if got, _ := run.Tag(key); got != want {
			t.Errorf("tag %s = %q, want %q", key, got, want)
		}
	}
	// Nothing but those tags (and the run name) was logged.
	if len(run.Params) != 0 || len(run.Metrics) != 0 || len(run.Tags) != 3 {
		t.Errorf("the run holds params %v, metrics %v, tags %v", run.Params, run.Metrics, run.Tags)
	}

	// Again, with an explicit URI: version 2, and the tags follow.
	res, err = runRegister(t, env, map[string]any{"name": "iris", "model_uri": "runs:/" + env.RunID + "/model"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outputs["version"] != 2 || res.Outputs["model_uri"] != "models:/iris/2" {
		t.Fatalf("second outputs = %v", res.Outputs)
	}
	run, _ = st.GetRun(ctx, env.RunID)
	if got, _ := run.Tag("mlrun.registered_model"); got != "iris/2" {
		t.Errorf("mlrun.registered_model = %q after the second registration", got)
	}
	if mv, _ := st.GetVersionByAlias(ctx, "iris", "champion"); mv.Version != 1 {
		t.Errorf("champion moved to %d without being asked", mv.Version)
	}
}

func TestRegisterStepErrors(t *testing.T) {
	st, env := newRegisterEnv(t)
	cases := []struct {
		name     string
		with     map[string]any
		contains string
	}{
		{"no name", map[string]any{}, `input "name" is required`},
		{"bad name", map[string]any{"name": "a/b"}, `"a/b"`},
		{"reserved alias", map[string]any{"name": "m", "alias": "latest"}, "reserved"},
		{"bad stage", map[string]any{"name": "m", "stage": "live"}, `stage "live"`},
		{"bad uri", map[string]any{"name": "m", "model_uri": "model"}, `model URI "model"`},
		{"bad tag", map[string]any{"name": "m", "tags": map[string]any{"k": []any{1}}}, `tag "k"`},
		{"missing model", map[string]any{"name": "m", "model_uri": "runs:/" + env.RunID + "/nothing"}, "step publish: model runs:/"},
	}
	for _, tc := range cases {
		_, err := runRegister(t, env, tc.with)
		if err == nil || !strings.Contains(errs.Message(err), tc.contains) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.contains)
		}
	}
	if list, _ := st.ListRegisteredModels(context.Background()); len(list) != 0 {
		t.Fatalf("failed steps registered %d models", len(list))
	}
}
