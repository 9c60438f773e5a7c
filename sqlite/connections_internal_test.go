package sqlite

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// TestARunOpensOneConnection goes through what `mlrun run` does with an
// existing store (open it, reap dead runs, find the experiment, create a
// run, log to it, end it) and checks that all of it happens on the
// writer's connection: opening the reading pool's first connection would
// load the schema a second time.
func TestARunOpensOneConnection(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, artifacts := filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts")
	s, err := Open(ctx, path, artifacts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateExperiment(ctx, "iris", map[string]string{"team": "ml", "note": "a \"quoted\"\nvalue é"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path, artifacts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ReapDeadRuns(ctx, "host", func(int) bool { return true }, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	exp, err := s.EnsureExperiment(ctx, "iris")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, tracking.NewRun{ExperimentID: exp.ID, Host: "host", PID: 1,
		Params: []tracking.Param{{Key: "p", Value: "1"}}, Tags: []tracking.Tag{{Key: "t", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LogBatch(ctx, r.ID, []tracking.Metric{{Key: "m", Value: 1}}, nil, []tracking.Tag{{Key: "u", Value: "w"}}); err != nil {
		t.Fatal(err)
	}
	status, end := tracking.StatusFinished, nowMillis()
	if err := s.UpdateRun(ctx, r.ID, tracking.RunUpdate{Status: &status, EndTime: &end}); err != nil {
		t.Fatal(err)
	}
	if n := s.rdb.Stats().OpenConnections; n != 0 {
		t.Errorf("a run opened %d reading connections; want none", n)
	}

	// The experiment it found is the one the reading connections see.
	want, err := s.GetExperiment(ctx, exp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(exp, want) {
		t.Errorf("EnsureExperiment found %+v; GetExperiment reads %+v", exp, want)
	}
}

// TestEnsureExperimentReadsTags checks the tags EnsureExperiment returns for
// an existing experiment: none (nil, as GetExperiment), and some.
func TestEnsureExperimentReadsTags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tags := map[string]string{"a": "1", "b": `{"json": [1]}`, "c": ""}
	for name, tags := range map[string]map[string]string{"bare": nil, "tagged": tags} {
		created, err := s.CreateExperiment(ctx, name, tags)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.EnsureExperiment(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.GetExperiment(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got.Tags, tags) {
			t.Errorf("EnsureExperiment(%q) = %+v; want %+v with tags %v", name, got, want, tags)
		}
	}
}
