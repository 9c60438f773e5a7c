package storetest

import (
	"context"
	"encoding/base64"
	"math"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

func testExperiments(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)

	def, err := s.GetExperiment(ctx, "0")
	if err != nil {
		t.Fatalf("GetExperiment(0): %v", err)
	}
	if def.Name != "Default" || def.ArtifactLocation != strings.TrimSuffix(s.ArtifactRoot(), "/")+"/0" || def.LifecycleStage != "active" {
		t.Fatalf("Default experiment = %+v", def)
	}

	e1, err := s.CreateExperiment(ctx, "first", map[string]string{"team": "ml"})
	if err != nil {
		t.Fatalf("CreateExperiment: %v", err)
	}
	if e1.ID != "1" || e1.ArtifactLocation != strings.TrimSuffix(s.ArtifactRoot(), "/")+"/1" || e1.Tags["team"] != "ml" || e1.CreationTime == 0 {
		t.Fatalf("created experiment = %+v", e1)
	}
	_, err = s.CreateExperiment(ctx, "first", nil)
	wantCode(t, "duplicate CreateExperiment", err, errs.Conflict, `"first"`)
	_, err = s.CreateExperiment(ctx, "", nil)
	wantCode(t, "empty name", err, errs.Invalid)
	_, err = s.CreateExperiment(ctx, "x", map[string]string{"bad/../key": "v"})
	wantCode(t, "bad tag key", err, errs.Invalid, "bad/../key")

	got, err := s.GetExperimentByName(ctx, "first")
	if err != nil || !reflect.DeepEqual(got, e1) {
		t.Fatalf("GetExperimentByName = %+v, %v; want %+v", got, err, e1)
	}
	_, err = s.GetExperimentByName(ctx, "nope")
	wantCode(t, "GetExperimentByName(nope)", err, errs.NotFound, `"nope"`)
	_, err = s.GetExperiment(ctx, "42")
	wantCode(t, "GetExperiment(42)", err, errs.NotFound, `"42"`)
	_, err = s.GetExperiment(ctx, "abc")
	wantCode(t, "GetExperiment(abc)", err, errs.NotFound, `"abc"`)

	// EnsureExperiment from many goroutines yields one experiment.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := s.EnsureExperiment(ctx, "shared")
			if err != nil {
				t.Errorf("EnsureExperiment: %v", err)
				return
			}
			ids[i] = e.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("EnsureExperiment returned different ids: %v", ids)
		}
	}
	again, err := s.EnsureExperiment(ctx, "first")
	if err != nil || again.ID != "1" {
		t.Fatalf("EnsureExperiment(first) = %+v, %v; want id 1", again, err)
	}

	list, err := s.ListExperiments(ctx, tracking.ActiveOnly)
	if err != nil {
		t.Fatalf("ListExperiments: %v", err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.ID+":"+e.Name)
	}
	if want := []string{"0:Default", "1:first", "2:shared"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("ListExperiments = %v, want %v", names, want)
	}
	if list[1].Tags["team"] != "ml" {
		t.Fatalf("ListExperiments lost tags: %+v", list[1])
	}
	if del, _ := s.ListExperiments(ctx, tracking.DeletedOnly); len(del) != 0 {
		t.Fatalf("ListExperiments(DeletedOnly) = %v, want none", del)
	}
	_, err = s.ListExperiments(ctx, 7)
	wantCode(t, "ListExperiments(7)", err, errs.Invalid)

	// A deleted experiment (the interface cannot delete one yet) takes no
	// runs and is not silently reused.
	h.exec(t, s, `UPDATE experiments SET lifecycle_stage = 'deleted' WHERE name = 'shared'`)
	_, err = s.EnsureExperiment(ctx, "shared")
	wantCode(t, "EnsureExperiment(deleted)", err, errs.Invalid, "deleted")
	_, err = s.CreateRun(ctx, tracking.NewRun{ExperimentID: ids[0]})
	wantCode(t, "CreateRun in deleted experiment", err, errs.Invalid, "deleted")
	if del, _ := s.ListExperiments(ctx, tracking.DeletedOnly); len(del) != 1 || del[0].Name != "shared" {
		t.Fatalf("ListExperiments(DeletedOnly) = %+v, want shared", del)
	}

	// Many goroutines creating a few names at once, with EnsureExperiment
	// and CreateExperiment, leave no gap in the ids: the new experiments
	// are 1 to 4, after Default.
	s = h.Open(t)
	racing := []string{"a", "b", "c", "d"}
	var racers sync.WaitGroup
	for i := range 32 {
		racers.Add(1)
		go func() {
			defer racers.Done()
			name := racing[i%len(racing)]
			if i%8 == 7 {
				if _, err := s.CreateExperiment(ctx, name, nil); err != nil && errs.Code(err) != errs.Conflict {
					t.Errorf("CreateExperiment(%s): %v", name, err)
				}
				return
			}
			if _, err := s.EnsureExperiment(ctx, name); err != nil {
				t.Errorf("EnsureExperiment(%s): %v", name, err)
			}
		}()
	}
	racers.Wait()
	list, err = s.ListExperiments(ctx, tracking.ActiveOnly)
	if err != nil {
		t.Fatalf("ListExperiments: %v", err)
	}
	var gotIDs []string
	for _, e := range list {
		gotIDs = append(gotIDs, e.ID)
	}
	if want := []string{"0", "1", "2", "3", "4"}; !reflect.DeepEqual(gotIDs, want) {
		t.Fatalf("after racing creations, the experiment ids are %v; want %v", gotIDs, want)
	}
}

func testRunCRUD(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	exp, err := s.CreateExperiment(ctx, "exp", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixMilli()
	info := mustCreateRun(t, s, tracking.NewRun{
		ExperimentID: exp.ID,
		UserID:       "alice",
		Params:       []tracking.Param{{Key: "lr", Value: "0.1"}, {Key: "alpha", Value: "1"}},
		Tags:         []tracking.Tag{{Key: "team", Value: "ml"}},
		Host:         "h",
		PID:          42,
	})
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(info.ID) {
		t.Fatalf("run id %q is not 32 hex characters", info.ID)
	}
	if !regexp.MustCompile(`^[a-z]+-[a-z]+-\d{1,3}$`).MatchString(info.Name) {
		t.Fatalf("random run name %q is not adjective-noun-NNN", info.Name)
	}
	wantURI := strings.TrimSuffix(s.ArtifactRoot(), "/") + "/" + exp.ID + "/" + info.ID + "/artifacts"
	if info.ArtifactURI != wantURI {
		t.Fatalf("ArtifactURI = %q, want %q", info.ArtifactURI, wantURI)
	}
	if info.StartTime < before || info.Status != tracking.StatusRunning || info.ExperimentID != exp.ID {
		t.Fatalf("created run info = %+v", info)
	}

	run := mustGetRun(t, s, info.ID)
	if !reflect.DeepEqual(run.Info, *info) {
		t.Fatalf("GetRun info = %+v\nwant %+v", run.Info, *info)
	}
	wantParams := []tracking.Param{{Key: "alpha", Value: "1"}, {Key: "lr", Value: "0.1"}}
	if !reflect.DeepEqual(run.Params, wantParams) {
		t.Fatalf("params = %+v, want %+v (ordered by key)", run.Params, wantParams)
	}
	wantTags := []tracking.Tag{{Key: "mlflow.runName", Value: info.Name}, {Key: "team", Value: "ml"}}
	if !reflect.DeepEqual(run.Tags, wantTags) {
		t.Fatalf("tags = %+v, want %+v", run.Tags, wantTags)
	}

	// A named run; the name is mirrored in the tag. A tag alone names it.
	named := mustCreateRun(t, s, tracking.NewRun{Name: "my run"})
	if named.Name != "my run" || named.ExperimentID != "0" {
		t.Fatalf("named run = %+v", named)
	}
	byTag := mustCreateRun(t, s, tracking.NewRun{Tags: []tracking.Tag{{Key: "mlflow.runName", Value: "from-tag"}}})
	if byTag.Name != "from-tag" {
		t.Fatalf("run named by tag = %q", byTag.Name)
	}
	_, err = s.CreateRun(ctx, tracking.NewRun{Name: "a", Tags: []tracking.Tag{{Key: "mlflow.runName", Value: "b"}}})
	wantCode(t, "conflicting names", err, errs.Invalid)
	_, err = s.CreateRun(ctx, tracking.NewRun{ExperimentID: "99"})
	wantCode(t, "CreateRun in missing experiment", err, errs.NotFound, `"99"`)

	// Update status, end time and name.
	fin, end, name := tracking.StatusFinished, int64(12345), "renamed"
	if err := s.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &fin, EndTime: &end, Name: &name}); err != nil {
		t.Fatalf("UpdateRun: %v", err)
	}
	run = mustGetRun(t, s, info.ID)
	if run.Info.Status != fin || run.Info.EndTime != end || run.Info.Name != name {
		t.Fatalf("after UpdateRun: %+v", run.Info)
	}
	if v, _ := run.Tag("mlflow.runName"); v != name {
		t.Fatalf("mlflow.runName tag = %q after rename, want %q", v, name)
	}
	bad := tracking.RunStatus("DONE")
	wantCode(t, "bad status", s.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &bad}), errs.Invalid, "DONE")
	// Setting the tag renames the run too.
	mustLog(t, s, info.ID, nil, nil, []tracking.Tag{{Key: "mlflow.runName", Value: "via-tag"}})
	if got := mustGetRun(t, s, info.ID).Info.Name; got != "via-tag" {
		t.Fatalf("name after setting mlflow.runName = %q", got)
	}

	// Tags are mutable and deletable.
	mustLog(t, s, info.ID, nil, nil, []tracking.Tag{{Key: "team", Value: "ops"}})
	if v, _ := mustGetRun(t, s, info.ID).Tag("team"); v != "ops" {
		t.Fatalf("tag team = %q after overwrite", v)
	}
	if err := s.DeleteTag(ctx, info.ID, "team"); err != nil {
		t.Fatalf("DeleteTag: %v", err)
	}
	if _, ok := mustGetRun(t, s, info.ID).Tag("team"); ok {
		t.Fatal("tag team still set after DeleteTag")
	}
	wantCode(t, "DeleteTag twice", s.DeleteTag(ctx, info.ID, "team"), errs.NotFound, `"team"`)

	// Missing runs.
	const missing = "0123456789abcdef0123456789abcdef"
	_, err = s.GetRun(ctx, missing)
	wantCode(t, "GetRun(missing)", err, errs.NotFound, missing)
	wantCode(t, "LogBatch(missing)", s.LogBatch(ctx, missing, nil, []tracking.Param{{Key: "a", Value: "b"}}, nil), errs.NotFound, missing)
	wantCode(t, "UpdateRun(missing)", s.UpdateRun(ctx, missing, tracking.RunUpdate{Name: &name}), errs.NotFound, missing)
	wantCode(t, "DeleteRun(missing)", s.DeleteRun(ctx, missing), errs.NotFound, missing)
	wantCode(t, "RestoreRun(missing)", s.RestoreRun(ctx, missing), errs.NotFound, missing)
	wantCode(t, "DeleteTag(missing)", s.DeleteTag(ctx, missing, "x"), errs.NotFound, missing)
	wantCode(t, "Heartbeat(missing)", s.Heartbeat(ctx, missing), errs.NotFound, missing)
	_, err = s.MetricHistory(ctx, missing, "x")
	wantCode(t, "MetricHistory(missing)", err, errs.NotFound, missing)
}

func testParamsAreImmutable(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	r := mustCreateRun(t, s, tracking.NewRun{Params: []tracking.Param{{Key: "lr", Value: "0.1"}}})
	mustLog(t, s, r.ID, nil, []tracking.Param{{Key: "lr", Value: "0.1"}, {Key: "depth", Value: "3"}}, nil)
	err := s.LogBatch(ctx, r.ID, nil, []tracking.Param{{Key: "lr", Value: "0.2"}}, nil)
	wantCode(t, "changing a param", err, errs.Invalid, `"lr"`, `"0.1"`, `"0.2"`)
	// The failed batch changed nothing, including its other parts.
	err = s.LogBatch(ctx, r.ID, []tracking.Metric{{Key: "m", Value: 1}}, []tracking.Param{{Key: "new", Value: "x"}, {Key: "depth", Value: "4"}}, nil)
	wantCode(t, "changing depth", err, errs.Invalid, `"depth"`, `"3"`, `"4"`)
	run := mustGetRun(t, s, r.ID)
	if _, ok := run.Param("new"); ok || len(run.Metrics) != 0 {
		t.Fatalf("a failed batch left data behind: %+v", run)
	}
	if v, _ := run.Param("lr"); v != "0.1" {
		t.Fatalf("lr = %q, want 0.1", v)
	}
}

func testValidation(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	r := mustCreateRun(t, s, tracking.NewRun{})
	good := []string{"a", "a/b", "a b", "a-b.c_d", "a..b", "ünï", strings.Repeat("k", 250)}
	for _, k := range good {
		if err := s.LogBatch(ctx, r.ID, []tracking.Metric{{Key: k, Value: 1}}, []tracking.Param{{Key: k, Value: "v"}}, []tracking.Tag{{Key: k, Value: "v"}}); err != nil {
			t.Errorf("key %q refused: %v", k, err)
		}
	}
	badKeys := []string{"", "../x", "/x", "x/", "a//b", "a/./b", "..", ".", "$x", "a\tb", "a:b", strings.Repeat("k", 251)}
	for _, k := range badKeys {
		wantCode(t, "metric key "+k, s.LogBatch(ctx, r.ID, []tracking.Metric{{Key: k}}, nil, nil), errs.Invalid)
		wantCode(t, "param key "+k, s.LogBatch(ctx, r.ID, nil, []tracking.Param{{Key: k}}, nil), errs.Invalid)
		wantCode(t, "tag key "+k, s.LogBatch(ctx, r.ID, nil, nil, []tracking.Tag{{Key: k}}), errs.Invalid)
	}
	wantCode(t, "long param", s.LogBatch(ctx, r.ID, nil, []tracking.Param{{Key: "p", Value: strings.Repeat("v", 6001)}}, nil), errs.Invalid, `"p"`, "6000")
	mustLog(t, s, r.ID, nil, []tracking.Param{{Key: "p", Value: strings.Repeat("v", 6000)}}, []tracking.Tag{{Key: "t", Value: strings.Repeat("v", 8000)}})
	wantCode(t, "long tag", s.LogBatch(ctx, r.ID, nil, nil, []tracking.Tag{{Key: "t", Value: strings.Repeat("v", 8001)}}), errs.Invalid, `"t"`, "8000")
}

func testLatestMetricRuleAndNaN(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	r := mustCreateRun(t, s, tracking.NewRun{})
	latest := func() tracking.Metric {
		t.Helper()
		for _, m := range mustGetRun(t, s, r.ID).Metrics {
			if m.Key == "m" {
				return m
			}
		}
		t.Fatal("metric m missing")
		return tracking.Metric{}
	}
	pt := func(step, ts int64, v float64) tracking.Metric {
		return tracking.Metric{Key: "m", Step: step, Timestamp: ts, Value: v}
	}
	// Within one batch: the greatest (step, timestamp, value) wins.
	mustLog(t, s, r.ID, []tracking.Metric{pt(0, 100, 1), pt(2, 50, 5), pt(2, 50, 3), pt(1, 999, 7)}, nil, nil)
	if got, want := latest(), pt(2, 50, 5); got != want {
		t.Fatalf("latest = %+v, want %+v", got, want)
	}
	// Across batches, against the stored latest point.
	steps := []struct {
		add  tracking.Metric
		want tracking.Metric
	}{
		{pt(2, 50, 4), pt(2, 50, 5)},     // same step and time, smaller value
		{pt(1, 5000, 9), pt(2, 50, 5)},   // older step, later time
		{pt(2, 60, 0), pt(2, 60, 0)},     // same step, later time
		{pt(2, 60, 0.5), pt(2, 60, 0.5)}, // same step and time, greater value
		{pt(3, 0, math.Inf(-1)), pt(3, 0, math.Inf(-1))},
	}
	for _, st := range steps {
		mustLog(t, s, r.ID, []tracking.Metric{st.add}, nil, nil)
		if got := latest(); got != st.want {
			t.Fatalf("after logging %+v: latest = %+v, want %+v", st.add, got, st.want)
		}
	}
	// NaN round-trips, becomes latest at a greater step, and is not
	// displaced by a value at the same step and time.
	mustLog(t, s, r.ID, []tracking.Metric{pt(4, 0, math.NaN())}, nil, nil)
	if got := latest(); !math.IsNaN(got.Value) || got.Step != 4 {
		t.Fatalf("latest after NaN = %+v, want NaN at step 4", got)
	}
	mustLog(t, s, r.ID, []tracking.Metric{pt(4, 0, 1), pt(5, 0, math.Inf(1))}, nil, nil)
	if got := latest(); got != pt(5, 0, math.Inf(1)) {
		t.Fatalf("latest = %+v, want +Inf at step 5", got)
	}
	// Logging an identical point twice keeps one.
	mustLog(t, s, r.ID, []tracking.Metric{pt(5, 0, math.Inf(1)), pt(4, 0, math.NaN())}, nil, nil)

	// Points at the same step and time come in stored order (NaN is stored as 0).
	hist, err := s.MetricHistory(ctx, r.ID, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range hist {
		got = append(got, formatPoint(m))
	}
	want := []string{"0@100=1", "1@999=7", "1@5000=9", "2@50=3", "2@50=4", "2@50=5", "2@60=0", "2@60=0.5",
		"3@0=-Inf", "4@0=NaN", "4@0=1", "5@0=+Inf"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("history =\n%v\nwant\n%v", got, want)
	}
	if h, err := s.MetricHistory(ctx, r.ID, "none"); err != nil || len(h) != 0 {
		t.Fatalf("history of an unlogged metric = %v, %v", h, err)
	}
}

func formatPoint(m tracking.Metric) string {
	return strconv.FormatInt(m.Step, 10) + "@" + strconv.FormatInt(m.Timestamp, 10) + "=" + strconv.FormatFloat(m.Value, 'g', -1, 64)
}

func testLoggingToDeletedRun(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	r := mustCreateRun(t, s, tracking.NewRun{})
	if err := s.DeleteRun(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	run := mustGetRun(t, s, r.ID)
	if run.Info.LifecycleStage != "deleted" {
		t.Fatalf("lifecycle after delete = %q", run.Info.LifecycleStage)
	}
	wantCode(t, "LogBatch to deleted run", s.LogBatch(ctx, r.ID, []tracking.Metric{{Key: "m", Value: 1}}, nil, nil), errs.Invalid, r.ID, "deleted")
	name := "x"
	wantCode(t, "UpdateRun of deleted run", s.UpdateRun(ctx, r.ID, tracking.RunUpdate{Name: &name}), errs.Invalid, "deleted")
	if err := s.RestoreRun(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	mustLog(t, s, r.ID, []tracking.Metric{{Key: "m", Value: 1}}, nil, nil)
	if got := mustGetRun(t, s, r.ID).Info.LifecycleStage; got != "active" {
		t.Fatalf("lifecycle after restore = %q", got)
	}
}

func testResolveRunID(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	real := mustCreateRun(t, s, tracking.NewRun{})
	ids := []string{
		"abcd0000000000000000000000000000",
		"abcd1111111111111111111111111111",
		"abce0000000000000000000000000000",
	}
	for i := 0; i < 7; i++ {
		ids = append(ids, "dddd"+strings.Repeat(string(rune('0'+i)), 28))
	}
	for _, id := range ids {
		h.exec(t, s, `INSERT INTO runs (run_id, name, experiment_id, status, start_time, artifact_uri)
			VALUES (?, ?, 0, 'FINISHED', 1, 'file:///x')`, id, "n"+id[:6])
	}
	ok := []struct{ prefix, want string }{
		{"abce", ids[2]},
		{"ABCE", ids[2]},
		{"abcd1", ids[1]},
		{ids[0], ids[0]},
		{real.ID[:8], real.ID},
	}
	for _, tt := range ok {
		got, err := s.ResolveRunID(ctx, tt.prefix)
		if err != nil || got != tt.want {
			t.Errorf("ResolveRunID(%q) = %q, %v; want %q", tt.prefix, got, err, tt.want)
		}
	}
	_, err := s.ResolveRunID(ctx, "abcd")
	wantCode(t, "ambiguous abcd", err, errs.Invalid, "ambiguous", ids[0], ids[1])
	_, err = s.ResolveRunID(ctx, "dddd")
	wantCode(t, "ambiguous dddd", err, errs.Invalid, ids[3], ids[7], "and more")
	if strings.Contains(errs.Message(err), ids[8]) {
		t.Fatalf("message lists more than 5 candidates: %s", errs.Message(err))
	}
	_, err = s.ResolveRunID(ctx, "abc")
	wantCode(t, "short prefix", err, errs.Invalid, "at least 4")
	for _, p := range []string{"ffff", "zzzz", "abc%", "abcd_", ids[0] + "0"} {
		_, err = s.ResolveRunID(ctx, p)
		wantCode(t, "ResolveRunID("+p+")", err, errs.NotFound, "no run matches id prefix")
	}
}

func testReapDeadRuns(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)

	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	deadPID := cmd.Process.Pid
	alive := func(pid int) bool { return syscall.Kill(pid, 0) == nil }

	deadLocal := mustCreateRun(t, s, tracking.NewRun{Name: "dead", Host: "h1", PID: deadPID})
	liveLocal := mustCreateRun(t, s, tracking.NewRun{Name: "live", Host: "h1", PID: os.Getpid()})
	remoteStale := mustCreateRun(t, s, tracking.NewRun{Name: "stale", Host: "h2", PID: deadPID})
	remoteFresh := mustCreateRun(t, s, tracking.NewRun{Name: "fresh", Host: "h2", PID: deadPID})
	finished := mustCreateRun(t, s, tracking.NewRun{Name: "done", Host: "h1", PID: deadPID})
	// A run created over the MLflow REST API has no owning process and
	// sends no heartbeats: staleness must not reap it.
	ownerless := mustCreateRun(t, s, tracking.NewRun{Name: "rest"})
	fin := tracking.StatusFinished
	if err := s.UpdateRun(ctx, finished.ID, tracking.RunUpdate{Status: &fin}); err != nil {
		t.Fatal(err)
	}
	// Age the heartbeats of two remote runs by an hour, then revive one.
	old := time.Now().Add(-time.Hour).UnixMilli()
	h.exec(t, s, `UPDATE runs SET heartbeat = ?, start_time = ? WHERE run_id IN (?, ?, ?)`, old, old, remoteStale.ID, remoteFresh.ID, ownerless.ID)
	if err := s.Heartbeat(ctx, remoteFresh.ID); err != nil {
		t.Fatal(err)
	}

	before := time.Now().UnixMilli()
	reaped, err := s.ReapDeadRuns(ctx, "h1", alive, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, id := range reaped {
		got[id] = true
	}
	if len(reaped) != 2 || !got[deadLocal.ID] || !got[remoteStale.ID] {
		t.Fatalf("reaped %v, want %s (dead pid) and %s (stale)", reaped, deadLocal.ID, remoteStale.ID)
	}
	for _, c := range []struct {
		id, msg string
	}{
		{deadLocal.ID, "the process running it (pid " + strconv.Itoa(deadPID) + " on host h1) died"},
		{remoteStale.ID, "no heartbeat for 1h0m0s"},
	} {
		run := mustGetRun(t, s, c.id)
		tag, _ := run.Tag("mlrun.error")
		if run.Info.Status != tracking.StatusFailed || run.Info.EndTime < before || !strings.Contains(tag, c.msg) {
			t.Fatalf("reaped run %s: status %s end %d tag %q; want FAILED, end ≥ %d, tag containing %q",
				run.Info.Name, run.Info.Status, run.Info.EndTime, tag, before, c.msg)
		}
	}
	for _, id := range []string{liveLocal.ID, remoteFresh.ID, ownerless.ID} {
		if st := mustGetRun(t, s, id).Info.Status; st != tracking.StatusRunning {
			t.Fatalf("run %s was reaped (status %s) though alive", id, st)
		}
	}
	if st := mustGetRun(t, s, finished.ID).Info.Status; st != tracking.StatusFinished {
		t.Fatalf("finished run changed to %s", st)
	}
	if again, err := s.ReapDeadRuns(ctx, "h1", alive, 10*time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("second reap = %v, %v; want nothing", again, err)
	}
}

func testPageTokenFormat(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	for i := 0; i < 3; i++ {
		mustCreateRun(t, s, tracking.NewRun{})
	}
	_, tok, err := s.SearchRuns(ctx, tracking.SearchRuns{MaxResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil || string(raw) != `{"offset":2}` {
		t.Fatalf("page token %q decodes to %q, %v", tok, raw, err)
	}
	// MLflow's own spelling (with a space) is accepted too.
	mlflowTok := base64.StdEncoding.EncodeToString([]byte(`{"offset": 2}`))
	runs, next, err := s.SearchRuns(ctx, tracking.SearchRuns{MaxResults: 2, PageToken: mlflowTok})
	if err != nil || len(runs) != 1 || next != "" {
		t.Fatalf("second page = %d runs, token %q, %v; want 1 run and no token", len(runs), next, err)
	}
}

func testCountRuns(t *testing.T, h *Harness) {
	s := h.Open(t)
	ctx := context.Background()
	if n, err := s.CountRuns(ctx); err != nil || n != 0 {
		t.Fatalf("empty store: %d, %v", n, err)
	}
	for i := 0; i < 3; i++ {
		mustCreateRun(t, s, tracking.NewRun{ExperimentID: tracking.DefaultExperimentID})
	}
	if n, err := s.CountRuns(ctx); err != nil || n != 3 {
		t.Fatalf("CountRuns = %d, %v; want 3", n, err)
	}
}
