package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// Issue 9, item 3, for the goroutines estimators start: a panic in one of
// random_forest's tree-growing workers used to kill the process (exit 2,
// the run left RUNNING). Now it comes back to the step's goroutine
// (ml/internal/parallel) and ends the run FAILED with the panic's message,
// exit 70. The binary is built with -tags mlrun_testpanic, in which the
// environment variable MLRUN_TEST_WORKER_PANIC makes every estimator worker
// goroutine panic; release builds ignore it.
func TestAPanicInAnEstimatorsGoroutineFailsTheRunAndExits70(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mlrun-testpanic")
	build := exec.Command("go", "build", "-tags", "mlrun_testpanic", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build with -tags mlrun_testpanic: %v\n%s", err, out)
	}
	e := newEnv(t)
	dir := irisDir(t)
	writeFiles(t, dir, map[string]string{"MLproject": `name: forest
entry_points:
  main:
    steps:
      - {name: load, uses: load, with: {path: data/iris.csv, target: target}}
      - name: train
        uses: train
        with:
          data: "${{ steps.load.outputs.dataset }}"
          estimator: random_forest
          hyperparameters: {n_estimators: 8, n_jobs: 2, random_state: 1}
`})
	c := exec.Command(bin, "run", ".")
	c.Dir = dir
	c.Env = append(e.environ(), "MLRUN_TEST_WORKER_PANIC=boom in a tree worker")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 70 || strings.Contains(stderr.String(), "goroutine ") {
		t.Errorf("exit %d, want 70 without a stack on the terminal:\n%s", code, stderr.String())
	}
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFailed || run.Info.EndTime == 0 {
		t.Fatalf("run %s (end %d), want FAILED and ended", run.Info.Status, run.Info.EndTime)
	}
	if got := tagOf(run, "mlrun.error"); !strings.Contains(got, "step train panicked: boom in a tree worker") {
		t.Errorf("mlrun.error = %q, want the worker's panic message", got)
	}
	stack, err := os.ReadFile(filepath.Join(artifactDir(run), "panic.txt"))
	if err != nil || !bytes.Contains(stack, []byte("ml/tree.(*RandomForest).Fit")) {
		t.Errorf("panic.txt %v does not show where the forest's workers were waited for:\n%s", err, stack)
	}
	if !bytes.Contains(stack, []byte("ml/internal/parallel.testPanic")) {
		t.Errorf("panic.txt does not show the worker's own stack, where the panic began:\n%s", stack)
	}

	// Without the variable, the same binary trains the forest.
	c = exec.Command(bin, "run", ".")
	c.Dir, c.Env = dir, e.environ()
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("run without MLRUN_TEST_WORKER_PANIC: %v\n%s", err, out)
	}
}
