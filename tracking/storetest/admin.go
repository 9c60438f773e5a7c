package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// testExperimentAdmin checks deleting, restoring, renaming and tagging
// experiments, and that runs follow their experiment's lifecycle.
func testExperimentAdmin(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)

	exp, err := s.CreateExperiment(ctx, "alpha", nil)
	if err != nil {
		t.Fatal(err)
	}
	run := mustCreateRun(t, s, tracking.NewRun{ExperimentID: exp.ID})
	if _, err := s.CreateExperiment(ctx, "beta", nil); err != nil {
		t.Fatal(err)
	}

	// Tags: set, overwrite, bad key, too long a value.
	if err := s.SetExperimentTag(ctx, exp.ID, "owner", "ann"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetExperimentTag(ctx, exp.ID, "owner", "bob"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetExperiment(ctx, exp.ID)
	if err != nil || got.Tags["owner"] != "bob" {
		t.Fatalf("after tagging: %+v, %v", got, err)
	}
	wantCode(t, "tag with a bad key", s.SetExperimentTag(ctx, exp.ID, "../k", "v"), errs.Invalid, "../k")
	wantCode(t, "tag a missing experiment", s.SetExperimentTag(ctx, "987654", "k", "v"), errs.NotFound, "987654")

	// Rename: to a free name, to a taken one, to an empty one, of a missing experiment.
	if err := s.RenameExperiment(ctx, exp.ID, "gamma"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetExperimentByName(ctx, "gamma"); err != nil || got.ID != exp.ID || got.Tags["owner"] != "bob" {
		t.Fatalf("GetExperimentByName(gamma) = %+v, %v", got, err)
	}
	_, err = s.GetExperimentByName(ctx, "alpha")
	wantCode(t, "old name", err, errs.NotFound, "alpha")
	wantCode(t, "rename to a taken name", s.RenameExperiment(ctx, exp.ID, "beta"), errs.Conflict, "beta")
	wantCode(t, "rename to an empty name", s.RenameExperiment(ctx, exp.ID, ""), errs.Invalid)
	wantCode(t, "rename a missing experiment", s.RenameExperiment(ctx, "987654", "delta"), errs.NotFound, "987654")
	if err := s.RenameExperiment(ctx, exp.ID, "gamma"); err != nil {
		t.Fatalf("renaming to its own name: %v", err)
	}

	// Delete: the experiment and its runs are deleted; it cannot be renamed or tagged.
	wantCode(t, "delete Default", s.DeleteExperiment(ctx, tracking.DefaultExperimentID), errs.Invalid, "Default")
	wantCode(t, "delete a missing experiment", s.DeleteExperiment(ctx, "987654"), errs.NotFound, "987654")
	if err := s.DeleteExperiment(ctx, exp.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetExperiment(ctx, exp.ID); err != nil || got.LifecycleStage != tracking.LifecycleDeleted {
		t.Fatalf("deleted experiment = %+v, %v", got, err)
	}
	if r := mustGetRun(t, s, run.ID); r.Info.LifecycleStage != tracking.LifecycleDeleted {
		t.Fatalf("run of a deleted experiment is %s", r.Info.LifecycleStage)
	}
	if ids := experimentNames(t, s, tracking.ActiveOnly); !reflect.DeepEqual(ids, []string{"Default", "beta"}) {
		t.Fatalf("active experiments = %v", ids)
	}
	if ids := experimentNames(t, s, tracking.DeletedOnly); !reflect.DeepEqual(ids, []string{"gamma"}) {
		t.Fatalf("deleted experiments = %v", ids)
	}
	wantCode(t, "rename a deleted experiment", s.RenameExperiment(ctx, exp.ID, "delta"), errs.Invalid, "deleted")
	wantCode(t, "tag a deleted experiment", s.SetExperimentTag(ctx, exp.ID, "k", "v"), errs.Invalid, "deleted")

	// Restore: active again, with its runs.
	if err := s.RestoreExperiment(ctx, exp.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetExperiment(ctx, exp.ID); err != nil || got.LifecycleStage != tracking.LifecycleActive {
		t.Fatalf("restored experiment = %+v, %v", got, err)
	}
	if r := mustGetRun(t, s, run.ID); r.Info.LifecycleStage != tracking.LifecycleActive {
		t.Fatalf("run of a restored experiment is %s", r.Info.LifecycleStage)
	}
	wantCode(t, "restore a missing experiment", s.RestoreExperiment(ctx, "987654"), errs.NotFound, "987654")
}

// experimentNames lists the names of the experiments in view, by id.
func experimentNames(tb testing.TB, s tracking.Store, view tracking.ViewType) []string {
	tb.Helper()
	list, err := s.ListExperiments(context.Background(), view)
	if err != nil {
		tb.Fatal(err)
	}
	out := []string{}
	for _, e := range list {
		out = append(out, e.Name)
	}
	return out
}

// testRegistryAdmin checks renaming and describing models and versions and
// their tags.
func testRegistryAdmin(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)

	if _, err := s.CreateRegisteredModel(ctx, "iris", "", map[string]string{"team": "flowers"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRegisteredModel(ctx, "taken", "", nil); err != nil {
		t.Fatal(err)
	}
	run := mustCreateRun(t, s, tracking.NewRun{})
	source := run.ArtifactURI + "/model"
	mustVersion(t, s, "iris", source, run.ID, map[string]string{"v": "1"})
	mustVersion(t, s, "iris", source, run.ID, nil)
	if err := s.SetAlias(ctx, "iris", "champion", 1); err != nil {
		t.Fatal(err)
	}

	// Descriptions.
	m, err := s.UpdateRegisteredModel(ctx, "iris", "classifies irises")
	if err != nil || m.Description != "classifies irises" {
		t.Fatalf("UpdateRegisteredModel = %+v, %v", m, err)
	}
	_, err = s.UpdateRegisteredModel(ctx, "nope", "x")
	wantCode(t, "describe a missing model", err, errs.NotFound, "nope")
	mv, err := s.UpdateModelVersion(ctx, "iris", 2, "second try")
	if err != nil || mv.Description != "second try" || mv.Version != 2 {
		t.Fatalf("UpdateModelVersion = %+v, %v", mv, err)
	}
	_, err = s.UpdateModelVersion(ctx, "iris", 9, "x")
	wantCode(t, "describe a missing version", err, errs.NotFound, "9")
	_, err = s.UpdateModelVersion(ctx, "nope", 1, "x")
	wantCode(t, "describe a version of a missing model", err, errs.NotFound, "nope")

	// Model tags.
	if err := s.SetRegisteredModelTag(ctx, "iris", "stage", "beta"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRegisteredModelTag(ctx, "iris", "stage", "ga"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "tag a missing model", s.SetRegisteredModelTag(ctx, "nope", "k", "v"), errs.NotFound, "nope")
	wantCode(t, "bad model tag key", s.SetRegisteredModelTag(ctx, "iris", "../k", "v"), errs.Invalid, "../k")
	if err := s.DeleteRegisteredModelTag(ctx, "iris", "team"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete an unset model tag", s.DeleteRegisteredModelTag(ctx, "iris", "team"), errs.NotFound, "team")
	m, err = s.GetRegisteredModel(ctx, "iris")
	if err != nil || !reflect.DeepEqual(m.Tags, map[string]string{"stage": "ga"}) {
		t.Fatalf("model tags = %+v, %v", m, err)
	}

	// Version tags.
	if err := s.SetModelVersionTag(ctx, "iris", 2, "ok", "yes"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "tag a missing version", s.SetModelVersionTag(ctx, "iris", 9, "k", "v"), errs.NotFound, "9")
	if err := s.DeleteModelVersionTag(ctx, "iris", 1, "v"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete an unset version tag", s.DeleteModelVersionTag(ctx, "iris", 1, "v"), errs.NotFound, "v")
	if mv, err := s.GetModelVersion(ctx, "iris", 2); err != nil || mv.Tags["ok"] != "yes" {
		t.Fatalf("version 2 = %+v, %v", mv, err)
	}
	if mv, err := s.GetModelVersion(ctx, "iris", 1); err != nil || len(mv.Tags) != 0 {
		t.Fatalf("version 1 = %+v, %v", mv, err)
	}

	// Rename: versions, tags, descriptions and aliases follow; the old name is gone.
	_, err = s.RenameRegisteredModel(ctx, "iris", "taken")
	wantCode(t, "rename to a taken name", err, errs.Conflict, "taken")
	_, err = s.RenameRegisteredModel(ctx, "nope", "other")
	wantCode(t, "rename a missing model", err, errs.NotFound, "nope")
	_, err = s.RenameRegisteredModel(ctx, "iris", "a/b")
	wantCode(t, "rename to a bad name", err, errs.Invalid, "a/b")
	m, err = s.RenameRegisteredModel(ctx, "iris", "flowers")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "flowers" || m.Description != "classifies irises" || m.Tags["stage"] != "ga" || m.Aliases["champion"] != 1 {
		t.Fatalf("renamed model = %+v", m)
	}
	if got := versionNumbers(t, s, "flowers"); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Fatalf("versions after rename = %v", got)
	}
	mv, err = s.GetModelVersion(ctx, "flowers", 2)
	if err != nil || mv.Name != "flowers" || mv.Description != "second try" || mv.Tags["ok"] != "yes" || mv.Source != source {
		t.Fatalf("version 2 after rename = %+v, %v", mv, err)
	}
	if mv, err := s.GetVersionByAlias(ctx, "flowers", "champion"); err != nil || mv.Version != 1 {
		t.Fatalf("alias after rename = %+v, %v", mv, err)
	}
	_, err = s.GetRegisteredModel(ctx, "iris")
	wantCode(t, "old name after rename", err, errs.NotFound, "iris")
	// The next version continues the numbering.
	if mv := mustVersion(t, s, "flowers", source, run.ID, nil); mv.Version != 3 {
		t.Fatalf("next version after rename = %d, want 3", mv.Version)
	}
}
