package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// registryJSON is what `mlrun models ... -o json` prints.
type registryJSON struct {
	RegisteredModels []*tracking.RegisteredModel `json:"registered_models"`
	RegisteredModel  *tracking.RegisteredModel   `json:"registered_model"`
	ModelVersions    []*tracking.ModelVersion    `json:"model_versions"`
	ModelVersion     *tracking.ModelVersion      `json:"model_version"`
	Deleted          map[string]any              `json:"deleted"`
}

func (e *env) modelsJSON(dir string, args ...string) registryJSON {
	e.t.Helper()
	r := e.ok(dir, append(args, "-o", "json")...)
	var out registryJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		e.t.Fatalf("mlrun %s -o json: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
	return out
}

// fails runs mlrun, wanting exit status code and a message on stderr.
func (e *env) fails(dir string, code int, contains string, args ...string) {
	e.t.Helper()
	r := e.run(dir, args...)
	if r.code != code || !strings.Contains(r.stderr, contains) {
		e.t.Fatalf("mlrun %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, contains)
	}
}

func TestModelsCommands(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".")
	run := e.onlyRun()
	id := run.Info.ID

	// Register by id prefix, with an alias.
	r := e.ok(dir, "models", "register", id[:8], "--name", "iris", "--alias", "champion")
	if !strings.Contains(r.stdout, "registered iris version 1 (models:/iris/1) from runs:/"+id+"/model") ||
		!strings.Contains(r.stdout, "alias champion now points to version 1") {
		t.Fatalf("register printed:\n%s", r.stdout)
	}
	// Without --name the project's name is used; JSON output.
	out := e.modelsJSON(dir, "models", "register", id, "--stage", "staging", "--description", "again")
	mv := out.ModelVersion
	if mv == nil || mv.Name != "iris" || mv.Version != 2 || mv.Stage != tracking.StageStaging || mv.RunID != id ||
		mv.Source != run.Info.ArtifactURI+"/model" || mv.Description != "again" || mv.Status != "READY" {
		t.Fatalf("second registration = %+v", mv)
	}
	// A model URI works too.
	out = e.modelsJSON(dir, "models", "register", "runs:/"+id+"/model", "--name", "iris-copy")
	if out.ModelVersion == nil || out.ModelVersion.Name != "iris-copy" || out.ModelVersion.Version != 1 {
		t.Fatalf("register by URI = %+v", out.ModelVersion)
	}

	out = e.modelsJSON(dir, "models", "list")
	if len(out.RegisteredModels) != 2 || out.RegisteredModels[0].Name != "iris" || out.RegisteredModels[0].Aliases["champion"] != 1 {
		t.Fatalf("models list = %+v", out.RegisteredModels)
	}
	r = e.ok(dir, "models", "list")
	if !strings.Contains(r.stdout, "NAME") || !strings.Contains(r.stdout, "champion=1") || !strings.Contains(r.stdout, "Staging=2") {
		t.Fatalf("models list table:\n%s", r.stdout)
	}
	r = e.ok(dir, "models", "versions", "iris")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "1 ") || !strings.Contains(lines[1], "champion") || !strings.Contains(lines[2], "Staging") {
		t.Fatalf("models versions table:\n%s", r.stdout)
	}
	out = e.modelsJSON(dir, "models", "show", "iris")
	if out.RegisteredModel == nil || len(out.ModelVersions) != 2 || out.ModelVersions[1].Version != 2 {
		t.Fatalf("models show = %+v", out)
	}

	// Move the alias.
	r = e.ok(dir, "models", "alias", "set", "iris", "champion", "2")
	if !strings.Contains(r.stdout, "alias champion of iris moved from version 1 to version 2") {
		t.Fatalf("alias set printed %q", r.stdout)
	}
	out = e.modelsJSON(dir, "models", "alias", "set", "iris", "challenger", "1")
	if out.ModelVersion.Version != 1 || strings.Join(out.ModelVersion.Aliases, ",") != "challenger" {
		t.Fatalf("alias set -o json = %+v", out.ModelVersion)
	}

	// Stages: version 1 to Production, then 2 with --archive-existing.
	e.ok(dir, "models", "stage", "iris", "1", "Production")
	r = e.ok(dir, "models", "stage", "iris", "2", "production", "--archive-existing")
	if !strings.Contains(r.stdout, "iris version 2 is now in stage Production") || !strings.Contains(r.stdout, "iris version 1 moved from Production to Archived") {
		t.Fatalf("stage printed:\n%s", r.stdout)
	}
	out = e.modelsJSON(dir, "models", "versions", "iris")
	if out.ModelVersions[0].Stage != tracking.StageArchived || out.ModelVersions[1].Stage != tracking.StageProduction {
		t.Fatalf("stages after archive = %s, %s", out.ModelVersions[0].Stage, out.ModelVersions[1].Stage)
	}

	// Bad input is exit 2, missing things exit 3, with one clear sentence.
	e.fails(dir, 3, `registered model "nope" does not exist`, "models", "show", "nope")
	e.fails(dir, 3, `version 9 of registered model "iris" does not exist`, "models", "alias", "set", "iris", "x", "9")
	e.fails(dir, 2, `alias "latest" is reserved`, "models", "alias", "set", "iris", "latest", "1")
	e.fails(dir, 2, `model version "two" is not a positive whole number`, "models", "alias", "set", "iris", "x", "two")
	e.fails(dir, 2, `stage "prod" is not valid`, "models", "stage", "iris", "1", "prod")
	e.fails(dir, 2, "archive-existing only applies to Staging and Production", "models", "stage", "iris", "1", "None", "--archive-existing")
	e.fails(dir, 3, "learning_curve.png is a file, not a model directory", "models", "register", id, "--name", "iris", "--path", "learning_curve.png")
	e.fails(dir, 3, "does not exist", "models", "register", id, "--name", "iris", "--path", "nothing/here")
	e.fails(dir, 2, "must be relative and stay inside", "models", "register", id, "--name", "iris", "--path", "../../x")
	e.fails(dir, 2, `model URI "models:/iris" names no version, stage, alias or latest; use runs:/<run-id>/<path>`, "models", "register", "models:/iris", "--name", "x")
	e.fails(dir, 3, "no run matches id prefix", "models", "register", "ffffffff", "--name", "iris")
	e.fails(dir, 2, "accepts 1 arg(s)", "models", "show")
	e.fails(dir, 3, `registered model "iris" has no alias "nobody"`, "models", "alias", "delete", "iris", "nobody")
	// None of the failures registered anything.
	if got := e.modelsJSON(dir, "models", "versions", "iris").ModelVersions; len(got) != 2 {
		t.Fatalf("failed commands left %d versions", len(got))
	}

	// Delete an alias, a version, a model.
	r = e.ok(dir, "models", "alias", "delete", "iris", "challenger")
	if !strings.Contains(r.stdout, "deleted alias challenger of iris") {
		t.Fatalf("alias delete printed %q", r.stdout)
	}
	out = e.modelsJSON(dir, "models", "delete", "iris", "1")
	if out.Deleted["name"] != "iris" || out.Deleted["version"] != 1.0 {
		t.Fatalf("delete version -o json = %v", out.Deleted)
	}
	if got := e.modelsJSON(dir, "models", "versions", "iris").ModelVersions; len(got) != 1 || got[0].Version != 2 {
		t.Fatalf("versions after deleting 1 = %+v", got)
	}
	r = e.ok(dir, "models", "delete", "iris")
	if !strings.Contains(r.stdout, "deleted registered model iris") {
		t.Fatalf("delete printed %q", r.stdout)
	}
	e.fails(dir, 3, `registered model "iris" does not exist`, "models", "versions", "iris")
	if got := e.modelsJSON(dir, "models", "list").RegisteredModels; len(got) != 1 || got[0].Name != "iris-copy" {
		t.Fatalf("models after delete = %+v", got)
	}
	// The model directory stays in the run's artifacts.
	if _, err := os.Stat(filepath.Join(artifactDir(run), "model", "MLmodel")); err != nil {
		t.Fatalf("deleting the registered model touched the run's artifacts: %v", err)
	}
}

// TestRegisterStepInPipeline gates registration on the evaluation's
// accuracy with when:, as a pipeline author would.
func TestRegisterStepInPipeline(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	mlproject, err := os.ReadFile(filepath.Join(dir, "MLproject"))
	if err != nil {
		t.Fatal(err)
	}
	steps := `      - name: register_good
        uses: register
        when: "metrics.accuracy >= 0.95"
        needs: [evaluate]
        with:
          name: iris
          alias: champion
          tags: {accuracy: "${{ metrics.accuracy }}"}
      - name: register_perfect
        uses: register
        when: "metrics.accuracy > 1.5"
        needs: [evaluate]
        with: {name: iris-perfect}

  svc:`
	text := strings.Replace(string(mlproject), "\n  svc:", "\n"+steps, 1)
	if text == string(mlproject) {
		t.Fatal("could not add the register steps to the example MLproject")
	}
	writeFiles(t, dir, map[string]string{"MLproject": text})
	e.ok(dir, "run", ".")
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFinished {
		t.Fatalf("run %s: %s", run.Info.Status, tagOf(run, "mlrun.error"))
	}
	if got := tagOf(run, "mlrun.registered_model"); got != "iris/1" {
		t.Errorf("mlrun.registered_model = %q", got)
	}
	if got := tagOf(run, "mlrun.register.register_good"); got != "registered iris version 1" {
		t.Errorf("mlrun.register.register_good = %q", got)
	}
	if got := tagOf(run, "mlrun.step.register_perfect"); !strings.Contains(got, "skipped") || !strings.Contains(got, "metrics.accuracy > 1.5") {
		t.Errorf("the gated step's decision = %q", got)
	}
	out := e.modelsJSON(dir, "models", "list")
	if len(out.RegisteredModels) != 1 || out.RegisteredModels[0].Aliases["champion"] != 1 {
		t.Fatalf("registered models = %+v", out.RegisteredModels)
	}
	mv := e.modelsJSON(dir, "models", "versions", "iris").ModelVersions[0]
	if mv.RunID != run.Info.ID || mv.Tags["accuracy"] != "1" {
		t.Fatalf("registered version = %+v", mv)
	}
}
