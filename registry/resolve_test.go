package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/registry"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newRunWithModel creates a run whose artifacts hold a model directory at
// path (an MLmodel file whose content is marker), and returns the run and
// the directory.
func newRunWithModel(t *testing.T, s *sqlite.Store, path, marker string) (*tracking.RunInfo, string) {
	t.Helper()
	run, err := s.CreateRun(context.Background(), tracking.NewRun{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := artifact.DirFromURI(run.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, filepath.FromSlash(path))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "MLmodel"), []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}
	return run, dir
}

func wantCode(t *testing.T, what string, err error, code string, contains ...string) {
	t.Helper()
	if errs.Code(err) != code {
		t.Fatalf("%s: error %v (code %q), want %q", what, err, errs.Code(err), code)
	}
	for _, c := range contains {
		if !strings.Contains(errs.Message(err), c) {
			t.Fatalf("%s: message %q does not contain %q", what, errs.Message(err), c)
		}
	}
}

// resolve calls registry.Resolve with file:// artifacts and returns the
// model's directory and version.
func resolve(ctx context.Context, s tracking.Store, uri string) (string, *tracking.ModelVersion, error) {
	m, err := registry.Resolve(ctx, s, nil, uri)
	if err != nil {
		return "", nil, err
	}
	m.Close()
	return m.Dir, m.Version, nil
}

func TestResolveRunURIs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	run, dir := newRunWithModel(t, s, "model", "m1")
	nestedRun, nested := newRunWithModel(t, s, "models/best", "m2")
	if got, _, err := resolve(ctx, s, "runs:/"+nestedRun.ID+"/models/best"); err != nil || got != nested {
		t.Fatalf("nested path: %q, %v; want %q", got, err, nested)
	}

	for _, uri := range []string{"runs:/" + run.ID + "/model", "runs:/" + run.ID[:8] + "/model", "runs:/" + run.ID + "/model/"} {
		got, mv, err := resolve(ctx, s, uri)
		if err != nil || got != dir || mv != nil {
			t.Fatalf("Resolve(%s) = %q, %v, %v; want %q", uri, got, mv, err, dir)
		}
	}
	_, _, err := resolve(ctx, s, "runs:/"+run.ID+"/../../x")
	wantCode(t, "escaping path", err, errs.Invalid, "'..'")
	_, _, err = resolve(ctx, s, "runs:/"+run.ID+"/nothing")
	wantCode(t, "missing directory", err, errs.NotFound, "does not exist")
	if err := os.MkdirAll(filepath.Join(dir, "..", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err = resolve(ctx, s, "runs:/"+run.ID+"/empty")
	wantCode(t, "directory without MLmodel", err, errs.NotFound, "has no MLmodel file")
	_, _, err = resolve(ctx, s, "runs:/ffffffffffff/model")
	wantCode(t, "unknown run", err, errs.NotFound, "ffffffffffff")
	_, _, err = resolve(ctx, s, "model")
	wantCode(t, "not a URI", err, errs.Invalid, `"model"`, "runs:/<run-id>/<path>")
}

func TestResolveModelURIs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	var dirs []string
	for i, marker := range []string{"v1", "v2", "v3"} {
		run, dir := newRunWithModel(t, s, "model", marker)
		mv, err := registry.Register(ctx, s, nil, registry.Request{Name: "iris", ModelURI: "runs:/" + run.ID + "/model"})
		if err != nil {
			t.Fatal(err)
		}
		if mv.Version != i+1 || mv.RunID != run.ID || mv.Source != run.ArtifactURI+"/model" {
			t.Fatalf("registered %+v", mv)
		}
		dirs = append(dirs, dir)
	}
	if err := s.SetAlias(ctx, "iris", "champion", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionStage(ctx, "iris", 1, tracking.StageProduction, false); err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]int{
		"models:/iris/1":          1,
		"models:/iris/3":          3,
		"models:/iris@champion":   2,
		"models:/iris/Production": 1,
		"models:/iris/production": 1,
		"models:/iris/None":       3,
		"models:/iris/latest":     3,
	} {
		dir, mv, err := resolve(ctx, s, uri)
		if err != nil || mv == nil || mv.Version != want || dir != dirs[want-1] {
			t.Fatalf("Resolve(%s) = %q, %+v, %v; want version %d in %s", uri, dir, mv, err, want, dirs[want-1])
		}
	}
	for uri, want := range map[string]string{
		"models:/iris/7":        "version 7",
		"models:/iris@nobody":   `no alias "nobody"`,
		"models:/iris/Staging":  "no version in stage Staging",
		"models:/other/latest":  `registered model "other" does not exist`,
		"models:/other@a":       `registered model "other" does not exist`,
		"models:/other/Staging": `registered model "other" does not exist`,
	} {
		_, _, err := resolve(ctx, s, uri)
		wantCode(t, uri, err, errs.NotFound, want)
	}
	// A version whose directory was removed is reported, not served.
	if err := os.RemoveAll(dirs[2]); err != nil {
		t.Fatal(err)
	}
	_, _, err := resolve(ctx, s, "models:/iris/3")
	wantCode(t, "removed directory", err, errs.NotFound, "models:/iris/3", "version 3", "does not exist")
}

// TestSourceFollowsAlias is what `mlrun serve models:/iris@champion` relies
// on: each Resolve looks the alias up again.
func TestSourceFollowsAlias(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	var dirs []string
	for range 2 {
		run, dir := newRunWithModel(t, s, "model", "m")
		if _, err := registry.Register(ctx, s, nil, registry.Request{Name: "iris", ModelURI: "runs:/" + run.ID + "/model", Alias: "champion"}); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	if err := s.SetAlias(ctx, "iris", "champion", 1); err != nil {
		t.Fatal(err)
	}
	src, err := registry.NewSource(s, nil, "models:/iris@champion")
	if err != nil {
		t.Fatal(err)
	}
	if src.String() != "models:/iris@champion" {
		t.Fatalf("String() = %q", src.String())
	}
	dir, token, err := src.Resolve(ctx)
	if err != nil || dir != dirs[0] || token != "iris/1" {
		t.Fatalf("Resolve = %q, %q, %v", dir, token, err)
	}
	if err := s.SetAlias(ctx, "iris", "champion", 2); err != nil {
		t.Fatal(err)
	}
	dir, token, err = src.Resolve(ctx)
	if err != nil || dir != dirs[1] || token != "iris/2" {
		t.Fatalf("after moving the alias: Resolve = %q, %q, %v", dir, token, err)
	}

	// runs:/ sources: the token is the model's artifact location.
	run, runDir := newRunWithModel(t, s, "model", "m")
	rs, err := registry.NewSource(s, nil, "runs:/"+run.ID+"/model")
	if err != nil {
		t.Fatal(err)
	}
	dir, token, err = rs.Resolve(ctx)
	if err != nil || dir != runDir || token != run.ArtifactURI+"/model" {
		t.Fatalf("runs:/ Resolve = %q, %q, %v", dir, token, err)
	}
	_, err = registry.NewSource(s, nil, "models:/iris")
	wantCode(t, "bad source URI", err, errs.Invalid, "models:/iris")
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	run, _ := newRunWithModel(t, s, "model", "m")
	uri := "runs:/" + run.ID + "/model"

	// Bad requests write nothing.
	for _, tc := range []struct {
		req      registry.Request
		code     string
		contains string
	}{
		{registry.Request{Name: "", ModelURI: uri}, errs.Invalid, "name is empty"},
		{registry.Request{Name: "iris", ModelURI: uri, Alias: "latest"}, errs.Invalid, "reserved"},
		{registry.Request{Name: "iris", ModelURI: uri, Stage: "prod"}, errs.Invalid, `stage "prod"`},
		{registry.Request{Name: "iris", ModelURI: uri, Stage: "Archived", ArchiveExisting: true}, errs.Invalid, "Staging or Production"},
		{registry.Request{Name: "iris", ModelURI: "runs:/" + run.ID + "/other"}, errs.NotFound, "does not exist"},
		{registry.Request{Name: "iris", ModelURI: "file:///tmp/model"}, errs.Invalid, "is not a model URI"},
	} {
		_, err := registry.Register(ctx, s, nil, tc.req)
		wantCode(t, "register "+tc.req.Name+" "+tc.req.ModelURI, err, tc.code, tc.contains)
	}
	if list, _ := s.ListRegisteredModels(ctx); len(list) != 0 {
		t.Fatalf("failed registrations left %d models", len(list))
	}

	mv, err := registry.Register(ctx, s, nil, registry.Request{Name: "iris", ModelURI: uri, Alias: "champion", Stage: "staging",
		Description: "first", Tags: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if mv.Version != 1 || mv.Stage != tracking.StageStaging || len(mv.Aliases) != 1 || mv.Aliases[0] != "champion" ||
		mv.Description != "first" || mv.Tags["k"] != "v" {
		t.Fatalf("registered %+v", mv)
	}
	// Registering a registered version under another name copies its
	// source and run.
	copyMV, err := registry.Register(ctx, s, nil, registry.Request{Name: "iris-prod", ModelURI: "models:/iris@champion", Stage: "Production", ArchiveExisting: true})
	if err != nil {
		t.Fatal(err)
	}
	if copyMV.Version != 1 || copyMV.Source != mv.Source || copyMV.RunID != run.ID || copyMV.Stage != tracking.StageProduction {
		t.Fatalf("copied version = %+v, from %+v", copyMV, mv)
	}
}
