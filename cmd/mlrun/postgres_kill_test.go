package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// killProject's command step logs points 1..n of metric loss, one `mlrun
// log metric` process each, and appends a point's step to the acks file
// only after its writer exited 0 (the write was acknowledged). It first
// writes its process group's id next to the acks file.
const killProject = `name: writers
entry_points:
  main:
    parameters: {worker: {type: int, default: 0}, n: {type: int, default: 10}, acks: {type: string, default: ""}}
    steps:
      - name: points
        uses: command
        with:
          run: |
            echo $$ > ${{ params.acks }}.pgid
            for i in $(seq 1 ${{ params.n }}); do
              mlrun log metric loss $i --step $i || exit 1
              echo $i >> ${{ params.acks }}
            done
`

// kill -9 of writers on one PostgreSQL store loses nothing they had been
// told was committed: four `mlrun run` processes log points through
// `mlrun log metric`; two are killed with SIGKILL mid-way, together with
// their step's processes (a writer may be in the middle of a transaction).
// Afterwards every acknowledged point of the killed runs is stored, the
// killed runs end FAILED with the reason (the next command reaps them,
// tracking.DeadOwner), and the two others finished with every point.
func TestPostgresKilledWritersLoseNothingCommitted(t *testing.T) {
	e, _ := newPGEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": killProject})
	acksDir := t.TempDir()
	const workers, killed, n = 4, 2, 40
	type writer struct {
		cmd  *exec.Cmd
		out  bytes.Buffer
		acks string
		done chan error
	}
	ws := make([]*writer, workers)
	for i := range ws {
		w := &writer{acks: filepath.Join(acksDir, fmt.Sprintf("acks-%d", i)), done: make(chan error, 1)}
		w.cmd = e.command(dir, "run", ".", "-P", fmt.Sprintf("worker=%d", i), "-P", fmt.Sprintf("n=%d", n), "-P", "acks="+w.acks)
		w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { w.done <- w.cmd.Wait() }()
		ws[i] = w
	}
	defer func() {
		for _, w := range ws {
			w.cmd.Process.Kill()
		}
	}()
	acked := func(w *writer) []int64 {
		data, _ := os.ReadFile(w.acks)
		var steps []int64
		for _, line := range strings.Fields(string(data)) {
			s, err := strconv.ParseInt(line, 10, 64)
			if err != nil {
				t.Fatalf("acks file %s: %q", w.acks, line)
			}
			steps = append(steps, s)
		}
		return steps
	}

	// Kill the first writers once each has a few acknowledged points: the
	// mlrun process, and its step's process group (the shell and any
	// `mlrun log` under way).
	for _, w := range ws[:killed] {
		waitFor(t, "acknowledged points", 120*time.Second, func() bool { return len(acked(w)) >= 5 })
		data, err := os.ReadFile(w.acks + ".pgid")
		if err != nil {
			t.Fatal(err)
		}
		pgid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			t.Fatalf("pgid file: %q", data)
		}
		if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-w.done
	}
	for i, w := range ws[killed:] {
		select {
		case err := <-w.done:
			if err != nil {
				t.Fatalf("writer %d: %v\n%s", killed+i, err, w.out.String())
			}
		case <-time.After(5 * time.Minute):
			t.Fatalf("writer %d did not finish", killed+i)
		}
	}

	runs := e.runs() // the first command after the kill reaps the dead runs
	if len(runs) != workers {
		t.Fatalf("%d runs, want %d", len(runs), workers)
	}
	for _, r := range runs {
		worker, _ := r.Param("worker")
		i, err := strconv.Atoi(worker)
		if err != nil || i < 0 || i >= workers {
			t.Fatalf("run %s has worker param %q", r.Info.ID, worker)
		}
		w := ws[i]
		var history struct{ Metrics []tracking.Metric }
		out := e.ok(t.TempDir(), "runs", "history", r.Info.ID, "loss", "-o", "json").stdout
		if err := json.Unmarshal([]byte(out), &history); err != nil {
			t.Fatalf("runs history -o json: %v\n%s", err, out)
		}
		stored := map[int64]bool{}
		for _, m := range history.Metrics {
			if m.Value != float64(m.Step) {
				t.Errorf("worker %d: point at step %d has value %v", i, m.Step, m.Value)
			}
			stored[m.Step] = true
		}
		acks := acked(w)
		for _, s := range acks {
			if !stored[s] {
				t.Errorf("worker %d: acknowledged point %d is not stored (stored: %d points)", i, s, len(stored))
			}
		}
		if i < killed {
			if r.Info.Status != tracking.StatusFailed {
				t.Errorf("killed worker %d: run is %s, want FAILED", i, r.Info.Status)
			}
			if msg := tagOf(r, "mlrun.error"); !strings.Contains(msg, "died") {
				t.Errorf("killed worker %d: mlrun.error = %q", i, msg)
			}
			if len(acks) >= n {
				t.Errorf("killed worker %d had acknowledged all %d points before the kill", i, n)
			}
			t.Logf("killed worker %d: %d points acknowledged, %d stored", i, len(acks), len(stored))
			continue
		}
		if r.Info.Status != tracking.StatusFinished || len(acks) != n || len(stored) != n {
			t.Errorf("worker %d: %s, %d points acknowledged, %d stored; want FINISHED and %d\n%s", i, r.Info.Status, len(acks), len(stored), n, w.out.String())
		}
	}
}
