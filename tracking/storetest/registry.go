package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

func mustVersion(tb testing.TB, s tracking.Store, name, source, runID string, tags map[string]string) *tracking.ModelVersion {
	tb.Helper()
	mv, err := s.CreateModelVersion(context.Background(), name, source, runID, "", tags)
	if err != nil {
		tb.Fatalf("CreateModelVersion(%q, %q): %v", name, source, err)
	}
	return mv
}

// versionNumbers returns the version numbers of a model, in order.
func versionNumbers(tb testing.TB, s tracking.Store, name string) []int {
	tb.Helper()
	list, err := s.ListModelVersions(context.Background(), name)
	if err != nil {
		tb.Fatalf("ListModelVersions(%q): %v", name, err)
	}
	out := []int{}
	for _, v := range list {
		out = append(out, v.Version)
	}
	return out
}

func oneTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func testRegisteredModelsAndVersions(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)

	m, err := s.CreateRegisteredModel(ctx, "iris", "classifies irises", map[string]string{"team": "flowers"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "iris" || m.Description != "classifies irises" || m.Tags["team"] != "flowers" || m.CreationTime == 0 || len(m.LatestVersions) != 0 {
		t.Fatalf("created model = %+v", m)
	}
	_, err = s.CreateRegisteredModel(ctx, "iris", "", nil)
	wantCode(t, "create twice", err, errs.Conflict, `registered model "iris" already exists`)
	_, err = s.CreateRegisteredModel(ctx, "a/b", "", nil)
	wantCode(t, "bad name", err, errs.Invalid, "a/b")
	_, err = s.CreateRegisteredModel(ctx, "x", "", map[string]string{"../k": "v"})
	wantCode(t, "bad tag key", err, errs.Invalid, "../k")

	// Versions are numbered 1, 2, 3 with their source, run, tags and stage None.
	run := mustCreateRun(t, s, tracking.NewRun{})
	source := run.ArtifactURI + "/model"
	for i := 1; i <= 3; i++ {
		mv := mustVersion(t, s, "iris", source, run.ID, map[string]string{"i": strconv.Itoa(i)})
		if mv.Version != i || mv.Name != "iris" || mv.Source != source || mv.RunID != run.ID ||
			mv.Stage != tracking.StageNone || mv.Status != tracking.VersionReady || mv.Tags["i"] != strconv.Itoa(i) || mv.CreationTime == 0 {
			t.Fatalf("version %d = %+v", i, mv)
		}
	}
	mv, err := s.GetModelVersion(ctx, "iris", 2)
	if err != nil || mv.Version != 2 || mv.Tags["i"] != "2" {
		t.Fatalf("GetModelVersion(iris, 2) = %+v, %v", mv, err)
	}
	if got := versionNumbers(t, s, "iris"); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Fatalf("versions = %v", got)
	}

	// CreateModelVersion creates a missing model.
	mv = mustVersion(t, s, "wine", "file:///elsewhere/model", "", nil)
	if mv.Version != 1 {
		t.Fatalf("first version of a new model = %d", mv.Version)
	}
	list, err := s.ListRegisteredModels(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "iris" || list[1].Name != "wine" {
		t.Fatalf("ListRegisteredModels = %+v, %v", list, err)
	}
	if lv := list[0].LatestVersions; len(lv) != 1 || lv[0].Version != 3 || lv[0].Stage != tracking.StageNone {
		t.Fatalf("latest versions of iris = %+v", lv)
	}
	latest, err := s.LatestVersion(ctx, "iris", "")
	if err != nil || latest.Version != 3 {
		t.Fatalf("LatestVersion(iris) = %+v, %v", latest, err)
	}
}

func testModelVersionSourceChecks(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	run := mustCreateRun(t, s, tracking.NewRun{})
	other := mustCreateRun(t, s, tracking.NewRun{})
	cases := []struct {
		source, runID, code, contains string
	}{
		{"", "", errs.Invalid, "source is empty"},
		{run.ArtifactURI + "/../../x/model", run.ID, errs.Invalid, "'..'"},
		{"file:///tmp/%2e%2e/etc", "", errs.Invalid, "'..'"},
		{"file:///tmp/a\x00b", "", errs.Invalid, "NUL"},
		{run.ArtifactURI + "/model", "ffffffffffffffffffffffffffffffff", errs.NotFound, `run "ffffffffffffffffffffffffffffffff" does not exist`},
		{other.ArtifactURI + "/model", run.ID, errs.Invalid, "is not inside the artifacts of run " + run.ID},
		{run.ArtifactURI + "extra/model", run.ID, errs.Invalid, "is not inside"},
	}
	for _, tc := range cases {
		_, err := s.CreateModelVersion(ctx, "m", tc.source, tc.runID, "", nil)
		wantCode(t, "source "+tc.source, err, tc.code, tc.contains)
	}
	// None of them created the model.
	_, err := s.GetRegisteredModel(ctx, "m")
	wantCode(t, "model after failed registrations", err, errs.NotFound)
	// A source in the run, and a remote source with a run, are fine.
	mustVersion(t, s, "m", run.ArtifactURI+"/model", run.ID, nil)
	mustVersion(t, s, "m", "s3://bucket/model", run.ID, nil)
}

// TestConcurrentVersionNumbering registers one name from 10 goroutines:
// the versions are exactly 1..10, each given once.
func testConcurrentVersionNumbering(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	const n = 10
	got := make([]int, n)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			mv, err := s.CreateModelVersion(ctx, "race", fmt.Sprintf("file:///models/%d", i), "", "", nil)
			if err != nil {
				errc <- err
				return
			}
			got[i] = mv.Version
		}()
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	sort.Ints(got)
	if !reflect.DeepEqual(got, oneTo(n)) {
		t.Fatalf("versions handed out = %v, want 1..%d once each", got, n)
	}
	if stored := versionNumbers(t, s, "race"); !reflect.DeepEqual(stored, oneTo(n)) {
		t.Fatalf("stored versions = %v", stored)
	}
	// Each version kept its own source.
	list, _ := s.ListModelVersions(ctx, "race")
	sources := map[string]bool{}
	for _, v := range list {
		sources[v.Source] = true
	}
	if len(sources) != n {
		t.Fatalf("%d distinct sources among %d versions", len(sources), n)
	}
}

// Environment of the helper processes of TestMultiProcessVersionNumbering.
const (
	envRegistryDB     = "MLRUN_REGISTRY_HELPER_DB"
	envRegistryWorker = "MLRUN_REGISTRY_HELPER_WORKER"
	envRegistryStart  = "MLRUN_REGISTRY_HELPER_START"
)

const (
	registryProcesses   = 5
	registryPerProcess  = 2 // 10 versions in all
	registrySharedModel = "shared"
)

func testStages(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	for i := 0; i < 4; i++ {
		mustVersion(t, s, "m", "file:///m/"+strconv.Itoa(i), "", nil)
	}
	stageOf := func() map[int]tracking.Stage {
		list, err := s.ListModelVersions(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		out := map[int]tracking.Stage{}
		for _, v := range list {
			out[v.Version] = v.Stage
		}
		return out
	}
	for _, step := range []struct {
		version int
		stage   tracking.Stage
		archive bool
		want    map[int]tracking.Stage
	}{
		{1, "production", false, map[int]tracking.Stage{1: "Production", 2: "None", 3: "None", 4: "None"}},
		{2, "Production", false, map[int]tracking.Stage{1: "Production", 2: "Production", 3: "None", 4: "None"}},
		{3, "Staging", false, map[int]tracking.Stage{1: "Production", 2: "Production", 3: "Staging", 4: "None"}},
		// archive_existing moves every other Production version to Archived,
		// and leaves the Staging one alone.
		{4, "PRODUCTION", true, map[int]tracking.Stage{1: "Archived", 2: "Archived", 3: "Staging", 4: "Production"}},
		{4, "Production", true, map[int]tracking.Stage{1: "Archived", 2: "Archived", 3: "Staging", 4: "Production"}},
	} {
		mv, err := s.TransitionStage(ctx, "m", step.version, step.stage, step.archive)
		if err != nil {
			t.Fatalf("TransitionStage(%d, %s): %v", step.version, step.stage, err)
		}
		if mv.Stage != step.want[step.version] {
			t.Fatalf("TransitionStage returned stage %q", mv.Stage)
		}
		if got := stageOf(); !reflect.DeepEqual(got, step.want) {
			t.Fatalf("after moving %d to %s (archive %v): stages %v, want %v", step.version, step.stage, step.archive, got, step.want)
		}
	}
	for stage, want := range map[tracking.Stage]int{"Production": 4, "Staging": 3, "Archived": 2, "": 4} {
		mv, err := s.LatestVersion(ctx, "m", stage)
		if err != nil || mv.Version != want {
			t.Fatalf("LatestVersion(%q) = %+v, %v; want %d", stage, mv, err, want)
		}
	}
	_, err := s.LatestVersion(ctx, "m", "None")
	wantCode(t, "no version in None", err, errs.NotFound, `registered model "m" has no version in stage None`)
	m, err := s.GetRegisteredModel(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	var latest []string
	for _, v := range m.LatestVersions {
		latest = append(latest, fmt.Sprintf("%s=%d", v.Stage, v.Version))
	}
	if want := []string{"Staging=3", "Production=4", "Archived=2"}; !reflect.DeepEqual(latest, want) {
		t.Fatalf("latest versions = %v, want %v", latest, want)
	}

	_, err = s.TransitionStage(ctx, "m", 1, "None", true)
	wantCode(t, "archive with None", err, errs.Invalid, "Staging and Production")
	_, err = s.TransitionStage(ctx, "m", 1, "Deleted", false)
	wantCode(t, "unknown stage", err, errs.Invalid, `"Deleted"`)
	_, err = s.TransitionStage(ctx, "m", 9, "Staging", false)
	wantCode(t, "missing version", err, errs.NotFound, `version 9 of registered model "m" does not exist`)
	_, err = s.TransitionStage(ctx, "nope", 1, "Staging", false)
	wantCode(t, "missing model", err, errs.NotFound, `registered model "nope" does not exist`)
}

func testAliases(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	for i := 0; i < 3; i++ {
		mustVersion(t, s, "m", "file:///m/"+strconv.Itoa(i), "", nil)
	}
	aliasOf := func(alias string) int {
		t.Helper()
		mv, err := s.GetVersionByAlias(ctx, "m", alias)
		if err != nil {
			t.Fatalf("GetVersionByAlias(%s): %v", alias, err)
		}
		return mv.Version
	}
	if err := s.SetAlias(ctx, "m", "champion", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAlias(ctx, "m", "challenger", 2); err != nil {
		t.Fatal(err)
	}
	if aliasOf("champion") != 1 || aliasOf("challenger") != 2 {
		t.Fatal("aliases do not point where they were set")
	}
	// Moving the alias: one version loses it, the other gains it.
	if err := s.SetAlias(ctx, "m", "champion", 2); err != nil {
		t.Fatal(err)
	}
	if got := aliasOf("champion"); got != 2 {
		t.Fatalf("champion moved to %d, want 2", got)
	}
	v1, _ := s.GetModelVersion(ctx, "m", 1)
	v2, _ := s.GetModelVersion(ctx, "m", 2)
	if len(v1.Aliases) != 0 || !reflect.DeepEqual(v2.Aliases, []string{"challenger", "champion"}) {
		t.Fatalf("aliases of v1 %v, v2 %v", v1.Aliases, v2.Aliases)
	}
	m, _ := s.GetRegisteredModel(ctx, "m")
	if !reflect.DeepEqual(m.Aliases, map[string]int{"champion": 2, "challenger": 2}) {
		t.Fatalf("model aliases = %v", m.Aliases)
	}

	wantCode(t, "reserved alias", s.SetAlias(ctx, "m", "latest", 1), errs.Invalid, "reserved")
	wantCode(t, "reserved alias v3", s.SetAlias(ctx, "m", "v3", 1), errs.Invalid, "reserved")
	wantCode(t, "bad alias", s.SetAlias(ctx, "m", "my champ", 1), errs.Invalid, "my champ")
	wantCode(t, "alias to missing version", s.SetAlias(ctx, "m", "x", 7), errs.NotFound, `version 7 of registered model "m" does not exist`)
	wantCode(t, "alias on missing model", s.SetAlias(ctx, "nope", "x", 1), errs.NotFound, `registered model "nope" does not exist`)
	_, err := s.GetVersionByAlias(ctx, "m", "nobody")
	wantCode(t, "missing alias", err, errs.NotFound, `registered model "m" has no alias "nobody"`)
	_, err = s.GetVersionByAlias(ctx, "nope", "champion")
	wantCode(t, "alias of missing model", err, errs.NotFound, `registered model "nope" does not exist`)

	if err := s.DeleteAlias(ctx, "m", "challenger"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetVersionByAlias(ctx, "m", "challenger")
	wantCode(t, "deleted alias", err, errs.NotFound, `no alias "challenger"`)
	wantCode(t, "delete twice", s.DeleteAlias(ctx, "m", "challenger"), errs.NotFound, `no alias "challenger"`)
	wantCode(t, "delete on missing model", s.DeleteAlias(ctx, "nope", "a"), errs.NotFound, `registered model "nope" does not exist`)

	// Deleting a version deletes the aliases pointing to it.
	if err := s.DeleteModelVersion(ctx, "m", 2); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetVersionByAlias(ctx, "m", "champion")
	wantCode(t, "alias of deleted version", err, errs.NotFound, `no alias "champion"`)
}

// TestAliasMoveIsAtomic moves an alias back and forth while readers
// resolve it: every read sees one of the two versions, never none.
func testAliasMoveIsAtomic(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	mustVersion(t, s, "m", "file:///m/1", "", nil)
	mustVersion(t, s, "m", "file:///m/2", "", nil)
	if err := s.SetAlias(ctx, "m", "champion", 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errc := make(chan error, 1)
	var reads int
	go func() {
		defer close(errc)
		for {
			select {
			case <-done:
				return
			default:
			}
			mv, err := s.GetVersionByAlias(ctx, "m", "champion")
			if err != nil {
				errc <- err
				return
			}
			if mv.Version != 1 && mv.Version != 2 {
				errc <- fmt.Errorf("alias points to version %d", mv.Version)
				return
			}
			reads++
		}
	}()
	for i := 0; i < 200; i++ {
		if err := s.SetAlias(ctx, "m", "champion", 1+i%2); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-errc; err != nil {
		t.Fatalf("a reader failed while the alias moved: %v", err)
	}
	if reads == 0 {
		t.Fatal("the reader never read")
	}
}

func testDeleteVersionsAndModels(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	for i := 0; i < 3; i++ {
		mustVersion(t, s, "m", "file:///m/"+strconv.Itoa(i), "", map[string]string{"k": "v"})
	}
	if err := s.DeleteModelVersion(ctx, "m", 3); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetModelVersion(ctx, "m", 3)
	wantCode(t, "deleted version", err, errs.NotFound, `version 3 of registered model "m" does not exist`)
	wantCode(t, "delete twice", s.DeleteModelVersion(ctx, "m", 3), errs.NotFound, "version 3")
	// A deleted version's number is not given again.
	if mv := mustVersion(t, s, "m", "file:///m/new", "", nil); mv.Version != 4 {
		t.Fatalf("version after deleting 3 = %d, want 4", mv.Version)
	}
	if got := versionNumbers(t, s, "m"); !reflect.DeepEqual(got, []int{1, 2, 4}) {
		t.Fatalf("versions = %v", got)
	}

	if err := s.SetAlias(ctx, "m", "champion", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRegisteredModel(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"GetRegisteredModel":    func() error { _, err := s.GetRegisteredModel(ctx, "m"); return err }(),
		"GetModelVersion":       func() error { _, err := s.GetModelVersion(ctx, "m", 1); return err }(),
		"ListModelVersions":     func() error { _, err := s.ListModelVersions(ctx, "m"); return err }(),
		"LatestVersion":         func() error { _, err := s.LatestVersion(ctx, "m", ""); return err }(),
		"GetVersionByAlias":     func() error { _, err := s.GetVersionByAlias(ctx, "m", "champion"); return err }(),
		"DeleteRegisteredModel": s.DeleteRegisteredModel(ctx, "m"),
		"DeleteModelVersion":    s.DeleteModelVersion(ctx, "m", 1),
	} {
		wantCode(t, what+" after delete", err, errs.NotFound, `registered model "m" does not exist`)
	}
	// A model created again starts at 1.
	if mv := mustVersion(t, s, "m", "file:///m/again", "", nil); mv.Version != 1 {
		t.Fatalf("first version of a re-created model = %d", mv.Version)
	}
	_, err = s.LatestVersion(ctx, "empty", "")
	wantCode(t, "latest of missing model", err, errs.NotFound, `registered model "empty" does not exist`)
	if _, err := s.CreateRegisteredModel(ctx, "empty", "", nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.LatestVersion(ctx, "empty", "")
	wantCode(t, "latest of empty model", err, errs.NotFound, `registered model "empty" has no versions`)
}
