package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/schedule"
	"github.com/mlrun/mlrun/tracking"
)

// The tests in this file drive mlrun as a client of a running `mlrun
// server` (--tracking-uri http://…): on runs the real MLflow client
// logged, and with schedules kept and fired through the server.

// twoClientRuns is a tiny MLflow client script: two runs of experiment
// client-cmp, each with params, a metric history and a pyfunc model, then
// their ids as a JSON list on the last line.
const twoClientRuns = `import json
import mlflow, mlflow.pyfunc

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input

ids = []
mlflow.set_experiment("client-cmp")
for i, lr in enumerate([0.1, 0.2]):
    with mlflow.start_run(run_name="client-%d" % i) as r:
        mlflow.log_params({"lr": lr, "opt": "sgd"})
        for s in range(3):
            mlflow.log_metric("loss", 1.0 / (s + 1 + i), step=s)
        mlflow.log_metric("acc", 0.5 + i / 10)
        mlflow.pyfunc.log_model("model", python_model=Echo())
        ids.append(r.info.run_id)
print(json.dumps(ids))
`

// Two runs logged by the MLflow client into `mlrun server` are compared,
// registered as model versions (by run id and by runs:/ URI) and listed
// with their alias through mlrun over http://; `mlrun reproduce` refuses
// a client run in one sentence, with exit 2, creating nothing.
func TestMLflowClientRunsThroughMlrunCLIOverHTTP(t *testing.T) {
	t.Parallel() // seconds of Python: overlap with the package's other tests
	client := findMLflow(t)
	e, backend, srv := newHTTPEnv(t)
	work := t.TempDir()
	script := filepath.Join(work, "log_two.py")
	if err := os.WriteFile(script, []byte(twoClientRuns), 0o644); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if out := client.run(t, work, srv.url, script); json.Unmarshal([]byte(lastLine(out)), &ids) != nil || len(ids) != 2 {
		t.Fatalf("client script did not print two run ids:\n%s", out)
	}
	a, b := ids[0], ids[1]
	at := func(args ...string) []string { return append([]string{"--tracking-uri", srv.url}, args...) }
	dir := t.TempDir()

	// runs compare: the differing params and metrics of the two runs.
	text := e.ok(dir, at("runs", "compare", a, b)...).stdout
	for _, want := range []string{"client-0", "client-1", "* params.lr", "  params.opt", "* metrics.acc", "* metrics.loss"} {
		if !strings.Contains(text, want) {
			t.Errorf("runs compare does not show %q:\n%s", want, text)
		}
	}
	var cmp struct {
		Runs []struct {
			RunID   string             `json:"run_id"`
			Status  string             `json:"status"`
			Params  map[string]string  `json:"params"`
			Metrics map[string]float64 `json:"metrics"`
		}
		Differing []string
	}
	out := e.ok(dir, at("runs", "compare", a[:8], b[:8], "-o", "json")...).stdout
	if err := json.Unmarshal([]byte(out), &cmp); err != nil || len(cmp.Runs) != 2 {
		t.Fatalf("runs compare -o json: %v\n%s", err, out)
	}
	if r := cmp.Runs[1]; r.RunID != b || r.Status != "FINISHED" || r.Params["lr"] != "0.2" || r.Metrics["loss"] != 0.25 || r.Metrics["acc"] != 0.6 {
		t.Errorf("runs compare -o json, second run: %+v", r)
	}
	if got := strings.Join(cmp.Differing, ","); got != "params.lr,metrics.acc,metrics.loss" {
		t.Errorf("runs compare differing = %s, want params.lr,metrics.acc,metrics.loss", got)
	}

	// models register: by run id with an alias, and by runs:/ URI.
	reg := e.ok(dir, at("models", "register", a, "--name", "client-model", "--alias", "champion")...).stdout
	if !strings.Contains(reg, "registered client-model version 1") || !strings.Contains(reg, "runs:/"+a+"/model") {
		t.Errorf("models register %s:\n%s", a, reg)
	}
	reg = e.ok(dir, at("models", "register", "runs:/"+b+"/model", "--name", "client-model")...).stdout
	if !strings.Contains(reg, "registered client-model version 2") {
		t.Errorf("models register runs:/%s/model:\n%s", b, reg)
	}
	list := e.ok(dir, at("models", "list")...).stdout
	if !strings.Contains(list, "client-model") || !strings.Contains(list, "champion=1") {
		t.Errorf("models list:\n%s", list)
	}
	// The server's own store holds the versions, pointing at the runs' models.
	versions := backend.ok(dir, "models", "versions", "client-model", "-o", "json").stdout
	for _, id := range ids {
		if !strings.Contains(versions, id+"/artifacts/model") {
			t.Errorf("the server's store has no version from run %s:\n%s", id, versions)
		}
	}
	if v := e.ok(dir, at("models", "versions", "client-model")...).stdout; !strings.Contains(v, "champion") {
		t.Errorf("models versions:\n%s", v)
	}

	// reproduce: one sentence, exit 2, no run or file created.
	before := len(backend.runs())
	r := e.run(dir, at("reproduce", a[:8])...)
	msg := strings.TrimSpace(r.stderr)
	if r.code != 2 || strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "run "+a+" was logged by") ||
		!strings.Contains(msg, "which mlrun did not launch and cannot re-run") || r.stdout != "" {
		t.Errorf("reproduce of a client run: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if after := len(backend.runs()); after != before {
		t.Errorf("the refused reproduce left %d runs, want %d", after, before)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the refused reproduce left %d entries in its directory", len(left))
	}
}

// `mlrun --tracking-uri http://… schedule add` keeps the schedule on the
// server; two `mlrun scheduler`s against the server fire each fire time
// once, and each fire's run is recorded FINISHED in the server's store.
func TestScheduleOverHTTPTwoSchedulersFireOnce(t *testing.T) {
	t.Parallel()
	e, backend, srv := newHTTPEnv(t)
	cache := t.TempDir()
	e.vars = append(e.vars, "XDG_CACHE_HOME="+cache) // fire logs of an http:// store
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	e.ok(dir, "--tracking-uri", srv.url, "schedule", "add", "remote", "--cron", "@every 1s", ".", "-P", "msg=tick", "--overlap", "allow")
	if list := backend.ok(dir, "schedule", "list").stdout; !strings.Contains(list, "remote") {
		t.Fatalf("the server's store does not hold the schedule:\n%s", list)
	}
	added := time.Now()
	p1 := startScheduler(t, e, "--tracking-uri", srv.url)
	p2 := startScheduler(t, e, "--tracking-uri", srv.url)
	time.Sleep(time.Until(added.Add(4 * time.Second)))
	for _, p := range []*schedProc{p1, p2} {
		if code, _ := p.stop(t); code != 0 {
			t.Fatalf("scheduler exit %d\n%s", code, p.out.String())
		}
	}

	runs := scheduledRuns(t, backend, "remote")
	if len(runs) < 2 {
		t.Fatalf("%d runs in the server's store, want at least 2\n%s\n%s", len(runs), p1.out.String(), p2.out.String())
	}
	seen := map[string]string{}
	for _, r := range runs {
		fire := tagOf(r, schedule.FireTag)
		if other, dup := seen[fire]; dup {
			t.Errorf("runs %s and %s share the fire %s", other, r.Info.ID, fire)
		}
		seen[fire] = r.Info.ID
		if r.Info.Status != tracking.StatusFinished {
			t.Errorf("scheduled run %s is %s on the server", r.Info.ID, r.Info.Status)
		}
		if v, _ := r.Param("msg"); v != "tick" {
			t.Errorf("scheduled run %s: param msg = %q", r.Info.ID, v)
		}
	}
	started := strings.Count(p1.out.String(), " started, pid ") + strings.Count(p2.out.String(), " started, pid ")
	if started != len(runs) {
		t.Errorf("the two schedulers started %d jobs for %d runs\n%s\n%s", started, len(runs), p1.out.String(), p2.out.String())
	}
	_, fires := showSchedule(t, backend, "remote")
	if len(fires) != len(runs) {
		t.Fatalf("the server records %d fires for %d runs", len(fires), len(runs))
	}
	for _, f := range fires {
		if f.Status != schedule.FireFinished || seen[schedule.FireTagValue(f.Schedule, f.FireTime)] != f.RunID {
			t.Errorf("fire %+v: want FINISHED with its one run", f)
		}
		log, err := os.ReadFile(f.LogPath)
		if err != nil || !strings.HasPrefix(f.LogPath, cache+"/") || !strings.Contains(string(log), "tick") {
			t.Errorf("fire log %s: %v\n%s", f.LogPath, err, log)
		}
	}
}

// A scheduler against `mlrun server` killed with SIGKILL leaves nothing
// RUNNING on the server: its job's run ends KILLED, and the next scheduler
// records the orphaned fire's end; `schedule run` over http:// then
// triggers a FINISHED manual run of the paused schedule.
func TestScheduleOverHTTPKilledSchedulerLeavesNothingRunning(t *testing.T) {
	t.Parallel()
	e, backend, srv := newHTTPEnv(t)
	e.vars = append(e.vars, "XDG_CACHE_HOME="+t.TempDir())
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	e.ok(dir, "--tracking-uri", srv.url, "schedule", "add", "stuck", "--cron", "@every 1s", ".", "-e", "stuck")
	p := startScheduler(t, e, "--tracking-uri", srv.url)
	waitFor(t, "the job's run on the server", 20*time.Second, func() bool { return len(scheduledRuns(t, backend, "stuck")) == 1 })
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	waitFor(t, "the orphaned job to end its run", 15*time.Second, func() bool {
		runs := scheduledRuns(t, backend, "stuck")
		return len(runs) == 1 && runs[0].Info.Status == tracking.StatusKilled
	})
	e.ok(dir, "--tracking-uri", srv.url, "schedule", "pause", "stuck")
	p2 := startScheduler(t, e, "--tracking-uri", srv.url)
	waitFor(t, "the next scheduler to reap the fire", 15*time.Second, func() bool {
		return strings.Contains(p2.out.String(), "ended KILLED: the scheduler that started it")
	})
	p2.stop(t)
	run := scheduledRuns(t, backend, "stuck")[0]
	_, fires := showSchedule(t, backend, "stuck")
	if len(fires) != 1 || fires[0].Status != schedule.FireKilled || fires[0].RunID != run.Info.ID {
		t.Errorf("fires on the server = %+v, want one KILLED fire of run %s", fires, run.Info.ID)
	}
	if left := sleepsIn(dir); len(left) > 0 {
		t.Errorf("the job's sleep is still running: pids %v", left)
	}

	e.ok(dir, "--tracking-uri", srv.url, "schedule", "add", "now", ".", "--cron", "@hourly", "-P", "msg=manual")
	r := e.ok(dir, "--tracking-uri", srv.url, "schedule", "run", "now", "-o", "json")
	var ran struct {
		RunID  string `json:"run_id"`
		Status string
	}
	if err := json.Unmarshal([]byte(r.stdout), &ran); err != nil || ran.Status != "FINISHED" {
		t.Fatalf("schedule run -o json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	for _, run := range backend.runs() {
		if run.Info.Status == tracking.StatusRunning {
			t.Errorf("run %s is still RUNNING on the server", run.Info.ID)
		}
		if run.Info.ID == ran.RunID && tagOf(run, schedule.TriggerTag) != "manual:now" {
			t.Errorf("manual run %s has trigger %q", run.Info.ID, tagOf(run, schedule.TriggerTag))
		}
	}
}
