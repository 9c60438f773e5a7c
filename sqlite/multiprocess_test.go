package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// Environment of the helper processes started by TestMultiProcessWriters.
const (
	envHelperDB     = "MLRUN_SQLITE_HELPER_DB"
	envHelperWorker = "MLRUN_SQLITE_HELPER_WORKER"
	envHelperStart  = "MLRUN_SQLITE_HELPER_START" // Unix ms at which to start
)

const (
	helperProcesses = 8
	helperBatches   = 10
	helperBatchSize = 100 // points per batch: 1,000 points per process
)

// TestHelperProcess is not a test: TestMultiProcessWriters runs the test
// binary as several processes that each execute it against one database.
func TestHelperProcess(t *testing.T) {
	dbPath := os.Getenv(envHelperDB)
	if dbPath == "" {
		t.Skip("helper process of TestMultiProcessWriters")
	}
	worker := os.Getenv(envHelperWorker)
	startMs, _ := strconv.ParseInt(os.Getenv(envHelperStart), 10, 64)
	time.Sleep(time.Until(time.UnixMilli(startMs))) // all processes open the new file at once

	ctx := context.Background()
	s, err := sqlite.Open(ctx, dbPath, filepath.Join(filepath.Dir(dbPath), "artifacts"))
	if err != nil {
		t.Fatalf("worker %s: Open: %v", worker, err)
	}
	defer s.Close()
	exp, err := s.EnsureExperiment(ctx, "multi")
	if err != nil {
		t.Fatalf("worker %s: EnsureExperiment: %v", worker, err)
	}
	run, err := s.CreateRun(ctx, tracking.NewRun{
		ExperimentID: exp.ID,
		Name:         "worker-" + worker,
		Params:       []tracking.Param{{Key: "worker", Value: worker}},
		PID:          os.Getpid(),
		Host:         "test",
	})
	if err != nil {
		t.Fatalf("worker %s: CreateRun: %v", worker, err)
	}
	for b := 0; b < helperBatches; b++ {
		metrics := make([]tracking.Metric, helperBatchSize)
		for i := range metrics {
			step := int64(b*helperBatchSize + i)
			metrics[i] = tracking.Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: time.Now().UnixMilli(), Step: step}
		}
		params := []tracking.Param{{Key: fmt.Sprintf("p%d", b), Value: strconv.Itoa(b)}, {Key: "worker", Value: worker}}
		tags := []tracking.Tag{{Key: "batch", Value: strconv.Itoa(b)}}
		if err := s.LogBatch(ctx, run.ID, metrics, params, tags); err != nil {
			t.Fatalf("worker %s: LogBatch %d: %v", worker, b, err)
		}
		if err := s.Heartbeat(ctx, run.ID); err != nil {
			t.Fatalf("worker %s: Heartbeat: %v", worker, err)
		}
		if _, _, err := s.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp.ID}, Filter: "metrics.loss >= 0"}); err != nil {
			t.Fatalf("worker %s: SearchRuns: %v", worker, err)
		}
	}
	fin := tracking.StatusFinished
	if err := s.UpdateRun(ctx, run.ID, tracking.RunUpdate{Status: &fin}); err != nil {
		t.Fatalf("worker %s: UpdateRun: %v", worker, err)
	}
}

// TestMultiProcessWriters runs 8 processes that create one brand-new
// database file at the same moment and write to it concurrently; none may
// fail, and every write must be there afterwards.
func TestMultiProcessWriters(t *testing.T) {
	if os.Getenv(envHelperDB) != "" {
		t.Skip("inside a helper process")
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "shared.db")
	start := time.Now().Add(1500 * time.Millisecond).UnixMilli()

	runHelpers(t, "TestHelperProcess", helperProcesses, func(i int) []string {
		return []string{envHelperDB + "=" + dbPath, envHelperWorker + "=" + strconv.Itoa(i),
			envHelperStart + "=" + strconv.FormatInt(start, 10)}
	})

	ctx := context.Background()
	s, err := sqlite.Open(ctx, dbPath, filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exps, err := s.ListExperiments(ctx, tracking.All)
	if err != nil || len(exps) != 2 || exps[1].Name != "multi" {
		t.Fatalf("experiments = %+v, %v; want Default and one \"multi\"", exps, err)
	}
	runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exps[1].ID}, OrderBy: []string{"run_name"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != helperProcesses {
		t.Fatalf("found %d runs, want %d", len(runs), helperProcesses)
	}
	for i, r := range runs {
		if want := fmt.Sprintf("worker-%d", i); r.Info.Name != want || r.Info.Status != tracking.StatusFinished {
			t.Fatalf("run %d = %s (%s), want %s FINISHED", i, r.Info.Name, r.Info.Status, want)
		}
		if len(r.Params) != helperBatches+1 {
			t.Fatalf("run %s has %d params, want %d", r.Info.Name, len(r.Params), helperBatches+1)
		}
		if v, _ := r.Tag("batch"); v != strconv.Itoa(helperBatches-1) {
			t.Fatalf("run %s tag batch = %q", r.Info.Name, v)
		}
		hist, err := s.MetricHistory(ctx, r.Info.ID, "loss")
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != helperBatches*helperBatchSize {
			t.Fatalf("run %s has %d points, want %d", r.Info.Name, len(hist), helperBatches*helperBatchSize)
		}
		for j, m := range hist {
			if m.Step != int64(j) {
				t.Fatalf("run %s point %d has step %d", r.Info.Name, j, m.Step)
			}
		}
		if m, _ := r.Metric("loss"); m != 1.0/float64(helperBatches*helperBatchSize) {
			t.Fatalf("run %s latest loss = %v", r.Info.Name, m)
		}
	}
}

// runHelpers starts n copies of this test binary running the test named
// helperTest, each with the extra environment env(i), all at once, and
// fails t unless every one of them succeeds.
func runHelpers(t *testing.T, helperTest string, n int, env func(i int) []string) {
	t.Helper()
	type proc struct {
		cmd *exec.Cmd
		out *lockedBuffer
	}
	procs := make([]proc, n)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^"+helperTest+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), env(i)...)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start helper %d: %v", i, err)
		}
		procs[i] = proc{cmd, out}
	}
	for i, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("helper %d failed: %v\n%s", i, err, p.out.String())
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}
