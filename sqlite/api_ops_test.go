package sqlite_test

import (
	"context"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// The operations MLflow's REST API needs beyond mlrun's CLI: experiment
// lifecycle, rename and tags; registered model rename, description and
// tags; model version description and tags.

func TestExperimentLifecycleRenameAndTags(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	exp, err := s.CreateExperiment(ctx, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	run := mustCreateRun(t, s, tracking.NewRun{ExperimentID: exp.ID})
	if err := s.DeleteExperiment(ctx, exp.ID); err != nil {
		t.Fatal(err)
	}
	if got := mustGetRun(t, s, run.ID).Info.LifecycleStage; got != tracking.LifecycleDeleted {
		t.Errorf("run of a deleted experiment is %s, want deleted", got)
	}
	wantCode(t, "tag a deleted experiment", s.SetExperimentTag(ctx, exp.ID, "k", "v"), errs.Invalid)
	if err := s.RestoreExperiment(ctx, exp.ID); err != nil {
		t.Fatal(err)
	}
	if got := mustGetRun(t, s, run.ID).Info.LifecycleStage; got != tracking.LifecycleActive {
		t.Errorf("run of a restored experiment is %s, want active", got)
	}
	wantCode(t, "delete Default", s.DeleteExperiment(ctx, tracking.DefaultExperimentID), errs.Invalid)
	wantCode(t, "delete missing", s.DeleteExperiment(ctx, "999"), errs.NotFound)
	wantCode(t, "rename onto Default", s.RenameExperiment(ctx, exp.ID, "Default"), errs.Conflict)
	if err := s.RenameExperiment(ctx, exp.ID, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetExperimentTag(ctx, exp.ID, "team", "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetExperimentTag(ctx, exp.ID, "team", "y"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetExperimentByName(ctx, "b")
	if err != nil || got.ID != exp.ID || got.Tags["team"] != "y" {
		t.Fatalf("renamed experiment = %+v, %v", got, err)
	}
	wantCode(t, "bad tag key", s.SetExperimentTag(ctx, exp.ID, "../k", "v"), errs.Invalid)
}

func TestRegistryRenameAndTags(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	run := mustCreateRun(t, s, tracking.NewRun{})
	src := run.ArtifactURI + "/model"
	if _, err := s.CreateRegisteredModel(ctx, "m", "", map[string]string{"owner": "a"}); err != nil {
		t.Fatal(err)
	}
	mustVersion(t, s, "m", src, run.ID, map[string]string{"v": "1"})
	mustVersion(t, s, "m", src, run.ID, nil)
	if err := s.SetAlias(ctx, "m", "champion", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRegisteredModel(ctx, "taken", "", nil); err != nil {
		t.Fatal(err)
	}
	_, err := s.RenameRegisteredModel(ctx, "m", "taken")
	wantCode(t, "rename onto a taken name", err, errs.Conflict)
	m, err := s.RenameRegisteredModel(ctx, "m", "n")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "n" || m.Tags["owner"] != "a" || m.Aliases["champion"] != 2 {
		t.Fatalf("renamed model = %+v", m)
	}
	if v, err := s.GetVersionByAlias(ctx, "n", "champion"); err != nil || v.Version != 2 {
		t.Fatalf("alias after rename = %+v, %v", v, err)
	}
	if v, err := s.GetModelVersion(ctx, "n", 1); err != nil || v.Tags["v"] != "1" {
		t.Fatalf("version 1 after rename = %+v, %v", v, err)
	}
	_, err = s.GetRegisteredModel(ctx, "m")
	wantCode(t, "old name", err, errs.NotFound)
	if v := mustVersion(t, s, "n", src, run.ID, nil); v.Version != 3 {
		t.Errorf("next version after rename = %d, want 3", v.Version)
	}

	if m, err := s.UpdateRegisteredModel(ctx, "n", "desc"); err != nil || m.Description != "desc" {
		t.Fatalf("update description = %+v, %v", m, err)
	}
	if err := s.SetRegisteredModelTag(ctx, "n", "team", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRegisteredModelTag(ctx, "n", "owner"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete a missing model tag", s.DeleteRegisteredModelTag(ctx, "n", "owner"), errs.NotFound)
	if m, _ := s.GetRegisteredModel(ctx, "n"); len(m.Tags) != 1 || m.Tags["team"] != "b" {
		t.Errorf("model tags = %v", m.Tags)
	}
	if v, err := s.UpdateModelVersion(ctx, "n", 1, "first"); err != nil || v.Description != "first" {
		t.Fatalf("update version = %+v, %v", v, err)
	}
	_, err = s.UpdateModelVersion(ctx, "n", 9, "x")
	wantCode(t, "update a missing version", err, errs.NotFound)
	if err := s.SetModelVersionTag(ctx, "n", 2, "ok", "yes"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteModelVersionTag(ctx, "n", 1, "v"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete a missing version tag", s.DeleteModelVersionTag(ctx, "n", 1, "v"), errs.NotFound)
	wantCode(t, "tag a missing model", s.SetRegisteredModelTag(ctx, "nope", "k", "v"), errs.NotFound)
	if v, _ := s.GetModelVersion(ctx, "n", 2); v.Tags["ok"] != "yes" {
		t.Errorf("version 2 tags = %v", v.Tags)
	}
}
