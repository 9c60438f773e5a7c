package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// Eight mlrun processes on one store at once, each logging 1,000 metric
// points: every run, param and point is there afterwards.
func TestConcurrentRunsLoseNothing(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": `name: busy
entry_points:
  main:
    parameters: {worker: {type: int, default: 0}}
    steps:
      - name: points
        uses: command
        with:
          run: |
            f=m-${{ params.worker }}.json
            printf '{"loss": [' > $f; seq -s, 1 1000 | tr -d '\n' >> $f; printf ']}' >> $f
            mlrun log metric single ${{ params.worker }}
          metrics: ["m-${{ params.worker }}.json"]
      - name: more
        uses: log
        with: {params: {done: "yes"}, metrics: {final: "${{ params.worker }}"}}
`})
	const n = 8
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := e.command(dir, "run", ".", "-P", fmt.Sprintf("worker=%d", i))
			var out, errb bytes.Buffer
			c.Stdout, c.Stderr = &out, &errb
			err := c.Run()
			results[i] = result{out.String(), errb.String(), c.ProcessState.ExitCode()}
			if err != nil && results[i].code == 0 {
				results[i].code = -1
			}
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 || strings.Contains(r.stderr, "locked") {
			t.Errorf("worker %d: exit %d\n%s", i, r.code, r.stderr)
		}
	}
	runs := e.runs()
	if len(runs) != n {
		t.Fatalf("%d runs in the store, want %d", len(runs), n)
	}
	seen := map[string]bool{}
	for _, r := range runs {
		w, _ := r.Param("worker")
		seen[w] = true
		if r.Info.Status != tracking.StatusFinished {
			t.Errorf("run %s (worker %s) is %s: %s", r.Info.ID, w, r.Info.Status, tagOf(r, "mlrun.error"))
		}
		if v, _ := r.Param("done"); v != "yes" {
			t.Errorf("worker %s lost param done", w)
		}
		for _, key := range []string{"loss", "single", "final"} {
			if _, ok := r.Metric(key); !ok {
				t.Errorf("worker %s lost metric %s", w, key)
			}
		}
		if v, _ := r.Metric("loss"); v != 1000 {
			t.Errorf("worker %s: last loss point = %v, want 1000", w, v)
		}
	}
	if len(seen) != n {
		t.Errorf("workers seen: %v", seen)
	}
	// Every one of the 8,000 history points is stored.
	for _, r := range runs {
		got := countHistory(t, e, r.Info.ID, "loss")
		if got != 1000 {
			t.Errorf("run %s holds %d loss points, want 1000", r.Info.ID, got)
		}
	}
}

// countHistory reads a metric's history through `runs history`.
func countHistory(t *testing.T, e *env, runID, key string) int {
	t.Helper()
	r := e.ok(t.TempDir(), "runs", "history", runID, key, "-o", "json")
	return strings.Count(r.stdout, `"step"`)
}

// A run whose process is killed with SIGKILL is marked FAILED by the next
// command that reads the store.
func TestKilledProcessLeavesNoRunningRun(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, tinyProject)
	c := e.command(dir, "run", ".", "-e", "sleep")
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the run to start", 20*time.Second, func() bool { return strings.Contains(out.String(), "sleeping") })
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFailed {
		t.Fatalf("after kill -9 the run is %s, want FAILED", run.Info.Status)
	}
	if msg := tagOf(run, "mlrun.error"); !strings.Contains(msg, "died") {
		t.Errorf("mlrun.error = %q", msg)
	}
}

// Ctrl-C (SIGINT) and SIGTERM end the run KILLED and end its command.
func TestSignalsMarkTheRunKilled(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newEnv(t)
			dir := t.TempDir()
			writeFiles(t, dir, tinyProject)
			c := e.command(dir, "run", ".", "-e", "sleep")
			var out bytes.Buffer
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the run to start", 20*time.Second, func() bool { return strings.Contains(out.String(), "sleeping") })
			start := time.Now()
			c.Process.Signal(sig)
			c.Wait()
			if code := c.ProcessState.ExitCode(); code != 130 {
				t.Errorf("exit %d, want 130\n%s", code, out.String())
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("mlrun took %s to stop", time.Since(start))
			}
			run := e.onlyRun()
			if run.Info.Status != tracking.StatusKilled || run.Info.EndTime == 0 {
				t.Errorf("status %s end %d, want KILLED with an end time", run.Info.Status, run.Info.EndTime)
			}
			// No sleep of ours is left behind.
			if pids := sleepers(t); len(pids) > 0 {
				t.Errorf("sleep processes left: %v", pids)
			}
		})
	}
}

// sleepers lists the "sleep 61" processes still alive: tinyProject's
// sleep entry point's (no other test runs a sleep of 61 seconds: the
// executor's tests, which may run at the same time, sleep 60).
func sleepers(t *testing.T) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, d := range entries {
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err == nil && string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})) == "sleep 61 " {
			out = append(out, d.Name())
		}
	}
	return out
}
