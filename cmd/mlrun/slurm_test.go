package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/executor"
	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/internal/slurmtest"
	"github.com/mlrun/mlrun/tracking"
)

// slurmProject is a git project whose trial 3 fails; pause makes a job last.
var slurmProject = map[string]string{
	"MLproject": `name: onslurm
entry_points:
  main:
    parameters: {x: {type: int, default: 1}, pause: {type: float, default: 0}, data: {type: path, default: big.csv}}
    command: "sleep {pause}; echo trial {x}; cat note.txt; mlrun log metric y {x}; if [ {x} = 3 ]; then echo broken >&2; exit 7; fi"
    resources: {mem: 150M, cpus: 1, args: ["--comment=from-mlproject"]}
`,
	"big.csv":    "a,b\n1,2\n", // data kept out of git
	".gitignore": "big.csv\n",
	"note.txt":   "committed\n",
}

// slurmEnv is a test environment whose store is a fresh PostgreSQL schema
// (what Slurm jobs share) and whose project is a git repository with an
// uncommitted change (so that jobs apply the recorded diff).
func slurmEnv(t *testing.T) (*env, string, string) {
	t.Helper()
	slurmtest.Start(t)
	dsn := pgtest.NewDatabase(t)
	e := newEnv(t)
	arts := filepath.Join(t.TempDir(), "artifacts")
	e.vars = append(e.vars, "MLRUN_TRACKING_URI="+dsn, "MLRUN_ARTIFACTS_DESTINATION="+arts)
	dir := t.TempDir()
	writeFiles(t, dir, slurmProject)
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
	writeFiles(t, dir, map[string]string{"note.txt": "uncommitted change\n"})
	return e, dir, filepath.Join(t.TempDir(), "jobs")
}

func runByID(t *testing.T, runs []*tracking.Run, id string) *tracking.Run {
	t.Helper()
	for _, r := range runs {
		if r.Info.ID == id {
			return r
		}
	}
	t.Fatalf("run %s is not in the store", id)
	return nil
}

func artifactText(t *testing.T, r *tracking.Run, rel string) string {
	t.Helper()
	dir := strings.TrimPrefix(r.Info.ArtifactURI, "file://")
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatalf("artifact %s of run %s: %v", rel, r.Info.ID, err)
	}
	return string(b)
}

// A SQLite store cannot be shared by nodes: refused before anything is submitted.
func TestSlurmRefusesALocalStore(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, slurmProject)
	r := e.run(dir, "run", ".", "--executor", "slurm")
	if r.code != 2 || !strings.Contains(r.stderr, "SQLite file, which several nodes cannot write at once") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if n := len(e.runs()); n != 0 {
		t.Fatalf("%d runs were created", n)
	}
	writeFiles(t, dir, map[string]string{"MLproject": strings.Replace(slurmProject["MLproject"], "cpus: 1", "cpus: many", 1)})
	r = e.run(dir, "run", ".", "--executor", "slurm")
	if r.code != 2 || !strings.Contains(r.stderr, "MLproject:6:5: entry_points.main.resources.cpus: must be a whole number of at least 1") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestSlurm(t *testing.T) {
	e, dir, jobs := slurmEnv(t)

	// Detached, over its time limit: ends FAILED with TIMEOUT once a
	// later `runs show` catches up. Submitted first: it takes a minute.
	r := e.ok(dir, "run", ".", "-P", "pause=300", "--executor", "slurm", "--slurm-time", "1", "--slurm-dir", jobs, "--detach")
	slowID := strings.TrimSpace(r.stdout)
	if got := runByID(t, e.runs(), slowID).Info.Status; got != tracking.StatusScheduled && got != tracking.StatusRunning {
		t.Fatalf("detached run is %s", got)
	}

	t.Run("run", func(t *testing.T) {
		r := e.ok(dir, "run", ".", "-P", "x=2", "--executor", "slurm", "--slurm-dir", jobs, "--slurm-mem", "200M")
		id := strings.TrimSpace(r.stdout)
		run := runByID(t, e.runs(), id)
		if run.Info.Status != tracking.StatusFinished {
			t.Fatalf("status %s\n%s", run.Info.Status, r.stderr)
		}
		if v, _ := run.Metric("y"); v != 2 {
			t.Errorf("metric y = %v, want 2", v)
		}
		if tagOf(run, "mlrun.executor") != "slurm" || tagOf(run, "mlrun.slurm.job_id") == "" {
			t.Errorf("tags: executor %q job %q", tagOf(run, "mlrun.executor"), tagOf(run, "mlrun.slurm.job_id"))
		}
		out := artifactText(t, run, "logs/stdout.txt")
		// The job ran the recorded commit with the recorded diff applied.
		if !strings.Contains(out, "trial 2") || !strings.Contains(out, "uncommitted change") {
			t.Errorf("stdout artifact:\n%s", out)
		}
		if errText := artifactText(t, run, "logs/stderr.txt"); !strings.Contains(errText, "worktree with diff") {
			t.Errorf("stderr artifact:\n%s", errText)
		}
		job := tagOf(run, "mlrun.slurm.job_id")
		// resources: from the MLproject, --slurm-mem over its mem.
		show, err := exec.Command("scontrol", "show", "job", job).Output()
		if err != nil || !strings.Contains(string(show), "Comment=from-mlproject") || !strings.Contains(string(show), "mem=200M") {
			t.Errorf("scontrol show job %s: %v\n%s", job, err, show)
		}
		acct, err := exec.Command("sacct", "-n", "-P", "-X", "-j", job, "-o", "State").Output()
		if err != nil || strings.TrimSpace(string(acct)) != "COMPLETED" {
			t.Errorf("sacct says %q (%v)", acct, err)
		}

		t.Run("reproduce", func(t *testing.T) {
			r := e.ok(dir, "reproduce", id)
			if !strings.Contains(r.stdout, "reproduced: run ") || !strings.Contains(r.stdout, " matches run "+id) {
				t.Fatalf("reproduce:\n%s\n%s", r.stdout, r.stderr)
			}
		})
	})

	// Jobs that log to an mlrun server: the tracking URI the node gets is
	// http://, and the logs reach the server's artifact store through its
	// proxy (mlflow-artifacts:/), not a path of the submitting machine.
	t.Run("run logging to mlrun server", func(t *testing.T) {
		rs := newRemoteSetup(t)
		r := rs.client.ok(dir, "run", ".", "-P", "x=4", "--executor", "slurm", "--slurm-dir", jobs)
		id := strings.TrimSpace(r.stdout)
		run, files := runJSON(t, rs.client, dir, id)
		if run.Info.Status != tracking.StatusFinished || !strings.HasPrefix(run.Info.ArtifactURI, "mlflow-artifacts:/") {
			t.Fatalf("status %s, artifact URI %s\n%s", run.Info.Status, run.Info.ArtifactURI, r.stderr)
		}
		if v, _ := run.Metric("y"); v != 4 {
			t.Errorf("metric y = %v, want 4", v)
		}
		if !slices.Contains(files, "logs/stdout.txt") || !slices.Contains(files, "logs/stderr.txt") {
			t.Errorf("artifacts %v lack the job's logs", files)
		}
		var onServer []string
		for _, f := range filesUnder(t, filepath.Join(rs.serverDir, "artifacts")) {
			if strings.Contains(f, id) && strings.HasSuffix(f, "logs/stdout.txt") {
				onServer = append(onServer, f)
			}
		}
		if len(onServer) != 1 {
			t.Errorf("the server's artifacts hold %d stdout.txt of run %s", len(onServer), id)
		}
	})

	t.Run("sweep as an array, -j 2, a failing trial", func(t *testing.T) {
		r := e.run(dir, "run", ".", "-P", "x=1,2,3,4", "-P", "pause=1", "-j", "2", "--executor", "slurm", "--slurm-dir", jobs)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1 (trial 3 fails)\n%s", r.code, r.stderr)
		}
		parent := runByID(t, e.runs(), strings.Fields(r.stdout)[0])
		if parent.Info.Status != tracking.StatusFailed {
			t.Errorf("parent %s", parent.Info.Status)
		}
		job := tagOf(parent, "mlrun.slurm.job_id")
		var kids []*tracking.Run
		for _, k := range e.runs() {
			if tagOf(k, "mlflow.parentRunId") == parent.Info.ID {
				kids = append(kids, k)
			}
		}
		if len(kids) != 4 {
			t.Fatalf("%d trials", len(kids))
		}
		indexes := map[string]bool{}
		for _, k := range kids {
			if tagOf(k, "mlrun.slurm.job_id") != job {
				t.Errorf("trial %s in job %s, want %s", k.Info.ID, tagOf(k, "mlrun.slurm.job_id"), job)
			}
			indexes[tagOf(k, "mlrun.slurm.array_index")] = true
			want := tracking.StatusFinished
			if tagOf(k, "mlrun.sweep.trial") == "3" {
				want = tracking.StatusFailed
				if !strings.Contains(tagOf(k, "mlrun.error"), "exit") {
					t.Errorf("failed trial's error: %q", tagOf(k, "mlrun.error"))
				}
			}
			if k.Info.Status != want {
				t.Errorf("trial %s is %s, want %s", tagOf(k, "mlrun.sweep.trial"), k.Info.Status, want)
			}
		}
		if len(indexes) != 4 || !indexes["0"] || !indexes["3"] {
			t.Errorf("array indexes %v", indexes)
		}
		show, err := exec.Command("scontrol", "show", "job", job).Output()
		if err != nil || !strings.Contains(string(show), "ArrayTaskThrottle=2") {
			t.Errorf("scontrol show job %s: %v\n%s", job, err, show)
		}
		if !strings.Contains(r.stderr, "4/4 ended (3 finished, 1 failed, 0 killed)") {
			t.Errorf("progress:\n%s", r.stderr)
		}
	})

	t.Run("cancelled sweep", func(t *testing.T) {
		cmd := e.command(dir, "run", ".", "-P", "x=5,6,7", "-P", "pause=120", "-j", "2", "--executor", "slurm", "--slurm-dir", jobs)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitSlow(t, "a trial to run", 60*time.Second, func() bool {
			for _, k := range e.runs() {
				if tagOf(k, "mlrun.sweep.trial") != "" && k.Info.Status == tracking.StatusRunning {
					return true
				}
			}
			return false
		})
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Fatalf("exit %v, want 130\n%s", err, errb.String())
		}
		parent := runByID(t, e.runs(), strings.Fields(out.String())[0])
		if parent.Info.Status != tracking.StatusKilled {
			t.Errorf("parent %s", parent.Info.Status)
		}
		for _, k := range e.runs() {
			if tagOf(k, "mlflow.parentRunId") == parent.Info.ID && k.Info.Status != tracking.StatusKilled {
				t.Errorf("trial %s is %s, want KILLED", tagOf(k, "mlrun.sweep.trial"), k.Info.Status)
			}
		}
		job := tagOf(parent, "mlrun.slurm.job_id")
		if q, _ := exec.Command("squeue", "-h", "-j", job).Output(); strings.TrimSpace(string(q)) != "" {
			t.Errorf("job %s still queued:\n%s", job, q)
		}
	})

	// The node checks the data against the hashes recorded at submission.
	t.Run("data changed before the job started", func(t *testing.T) {
		r := e.ok(dir, "run", ".", "-P", "x=9", "--executor", "slurm", "--slurm-dir", jobs, "--detach", "--slurm-arg=--hold")
		id := strings.TrimSpace(r.stdout)
		job := tagOf(runByID(t, e.runs(), id), "mlrun.slurm.job_id")
		writeFiles(t, dir, map[string]string{"big.csv": "a,b\n1,3\n"})
		defer writeFiles(t, dir, map[string]string{"big.csv": slurmProject["big.csv"]})
		if out, err := exec.Command("scontrol", "release", job).CombinedOutput(); err != nil {
			t.Fatalf("scontrol release: %v\n%s", err, out)
		}
		var run *tracking.Run
		waitSlow(t, "the held job to run", 120*time.Second, func() bool {
			run = runByID(t, e.runs(), id)
			return run.Info.Status.Terminal()
		})
		if run.Info.Status != tracking.StatusFailed || !strings.Contains(tagOf(run, "mlrun.error"), "dataset big.csv") {
			t.Fatalf("status %s, error %q", run.Info.Status, tagOf(run, "mlrun.error"))
		}
	})

	t.Run("detach then catch up", func(t *testing.T) {
		var run *tracking.Run
		// Until Slurm's accounting says TIMEOUT, the run may show the
		// KILLED it recorded on the time limit's SIGTERM: wait for the
		// catch-up to have recorded the job's end (mlrun.executor.state).
		waitSlow(t, "the detached run to time out", 180*time.Second, func() bool {
			e.ok(dir, "runs", "show", slowID, "-o", "json")
			run = runByID(t, e.runs(), slowID)
			_, reconciled := run.Tag(executor.TagJobState)
			return run.Info.Status.Terminal() && reconciled
		})
		if run.Info.Status != tracking.StatusFailed || !strings.Contains(tagOf(run, "mlrun.error"), "TIMEOUT") {
			t.Fatalf("status %s, error %q", run.Info.Status, tagOf(run, "mlrun.error"))
		}
	})
}

// waitSlow polls cond every second (each poll runs mlrun).
func waitSlow(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Second)
	}
}
