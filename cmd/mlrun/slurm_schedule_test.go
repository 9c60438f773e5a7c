package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// A schedule declared in the MLproject with executor: slurm fires, and
// the fire's run executes as a Slurm job with the schedule's resources
// and ends FINISHED; a schedule added with --executor slurm keeps its
// resources.
func TestSlurmSchedule(t *testing.T) {
	e, dir, _ := slurmEnv(t)
	e.vars = append(e.vars, "HOME="+t.TempDir()) // the job files go to $HOME/.mlrun/slurm
	mlproject := slurmProject["MLproject"] + `schedules:
  - name: onslurm
    cron: "@every 2s"
    parameters: {x: 4}
    executor: slurm
    resources: {time: "3", args: ["--comment=from-schedule"]}
`
	writeFiles(t, dir, map[string]string{"MLproject": mlproject})
	e.ok(dir, "schedule", "apply", ".")
	sc, _ := showSchedule(t, e, "onslurm")
	if sc.Executor != "slurm" || sc.Resources.Time != "3" || len(sc.Resources.Args) != 1 {
		t.Fatalf("applied schedule: executor %q resources %+v", sc.Executor, sc.Resources)
	}

	p := startScheduler(t, e)
	var runs []*tracking.Run
	waitSlow(t, "a fire's run to end", 180*time.Second, func() bool {
		runs = scheduledRuns(t, e, "onslurm")
		return len(runs) > 0 && runs[0].Info.Status.Terminal()
	})
	e.ok(dir, "schedule", "pause", "onslurm")
	p.stop(t)
	run := runs[0]
	if run.Info.Status != tracking.StatusFinished {
		t.Fatalf("the fire's run is %s (%s)\n%s", run.Info.Status, tagOf(run, "mlrun.error"), p.out.String())
	}
	if v, _ := run.Metric("y"); v != 4 {
		t.Errorf("metric y = %v, want 4", v)
	}
	job := tagOf(run, "mlrun.slurm.job_id")
	if tagOf(run, "mlrun.executor") != "slurm" || job == "" {
		t.Fatalf("tags: executor %q job %q", tagOf(run, "mlrun.executor"), job)
	}
	// The schedule's resources over the entry point's: its time limit
	// and comment, the entry point's memory.
	show, err := exec.Command("scontrol", "show", "job", job).Output()
	if err != nil || !strings.Contains(string(show), "Comment=from-schedule") || !strings.Contains(string(show), "TimeLimit=00:03:00") ||
		!strings.Contains(string(show), "mem=150M") {
		t.Errorf("scontrol show job %s: %v\n%s", job, err, show)
	}
	acct, err := exec.Command("sacct", "-n", "-P", "-X", "-j", job, "-o", "State").Output()
	if err != nil || strings.TrimSpace(string(acct)) != "COMPLETED" {
		t.Errorf("sacct says %q (%v)", acct, err)
	}
	if _, fires := showSchedule(t, e, "onslurm"); len(fires) == 0 || fires[len(fires)-1].RunID != run.Info.ID && fires[0].RunID != run.Info.ID {
		t.Errorf("the fire history does not name run %s: %+v", run.Info.ID, fires)
	}

	t.Run("added with --executor slurm", func(t *testing.T) {
		e.ok(dir, "schedule", "add", "added", filepath.Clean(dir), "--cron", "@daily", "--executor", "slurm",
			"--slurm-time", "7", "--slurm-mem", "100M", "--slurm-arg=--qos=normal")
		sc, _ := showSchedule(t, e, "added")
		want := tracking.Resources{Time: "7", Mem: "100M", Args: []string{"--qos=normal"}}
		if sc.Executor != "slurm" || sc.Resources.Time != want.Time || sc.Resources.Mem != want.Mem || len(sc.Resources.Args) != 1 {
			t.Fatalf("added schedule: executor %q resources %+v", sc.Executor, sc.Resources)
		}
		r := e.ok(dir, "schedule", "show", "added")
		if !strings.Contains(r.stdout, "slurm --slurm-time=7 --slurm-mem=100M --slurm-arg=--qos=normal") {
			t.Errorf("schedule show:\n%s", r.stdout)
		}
	})
}

// A Slurm schedule needs a store every node can reach, and resources
// only make sense with executor slurm: refused when the schedule is added.
func TestScheduleExecutorBadInput(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, slurmProject)
	r := e.run(dir, "schedule", "add", "s", ".", "--cron", "@daily", "--executor", "slurm")
	if r.code != 2 || !strings.Contains(r.stderr, "SQLite file, which several nodes cannot write at once") {
		t.Errorf("sqlite store: exit %d\n%s", r.code, r.stderr)
	}
	r = e.run(dir, "schedule", "add", "s", ".", "--cron", "@daily", "--executor", "kubernetes")
	if r.code != 2 || !strings.Contains(r.stderr, `executor "kubernetes" is not valid; use local or slurm`) {
		t.Errorf("bad executor: exit %d\n%s", r.code, r.stderr)
	}
	r = e.run(dir, "schedule", "add", "s", ".", "--cron", "@daily", "--slurm-time", "5")
	if r.code != 2 || !strings.Contains(r.stderr, "they need executor slurm") {
		t.Errorf("resources without slurm: exit %d\n%s", r.code, r.stderr)
	}

	// A bad resources: section is reported by `schedule apply` in the
	// words, position and field `mlrun run --executor slurm` uses.
	bad := strings.Replace(slurmProject["MLproject"], "cpus: 1", "cpus: many", 1) +
		"schedules:\n  - {name: s, cron: '@daily', executor: slurm}\n"
	writeFiles(t, dir, map[string]string{"MLproject": bad})
	run := e.run(dir, "run", ".", "--executor", "slurm")
	apply := e.run(dir, "schedule", "apply", ".")
	want := "MLproject:6:5: entry_points.main.resources.cpus: must be a whole number of at least 1"
	if run.code != 2 || apply.code != 2 || !strings.Contains(run.stderr, want) || strings.TrimSpace(apply.stderr) != strings.TrimSpace(run.stderr) {
		t.Errorf("mlrun run: exit %d\n%s\nschedule apply: exit %d\n%s", run.code, run.stderr, apply.code, apply.stderr)
	}
	writeFiles(t, dir, map[string]string{"MLproject": slurmProject["MLproject"] +
		"schedules:\n  - name: s\n    cron: '@daily'\n    executor: slurm\n    resources: {cpus: many}\n"})
	apply = e.run(dir, "schedule", "apply", ".")
	if want := "MLproject:11:5: schedules[0].resources.cpus: must be a whole number of at least 1, not the string \"many\""; apply.code != 2 || !strings.Contains(apply.stderr, want) {
		t.Errorf("schedule apply: exit %d, want %q\n%s", apply.code, want, apply.stderr)
	}
}

// Two processes given the same SCHEDULED run (a job requeued, a retry
// started by hand): exactly one executes it; the other stops before
// touching the run or its logs.
func TestExecRunTwiceExecutesOnce(t *testing.T) {
	e, dir, jobs := slurmEnv(t)
	// Held: Slurm keeps the job pending, so only the two below compete.
	r := e.ok(dir, "run", ".", "-P", "x=6", "-P", "pause=1", "--executor", "slurm", "--slurm-dir", jobs, "--detach", "--slurm-arg=--hold")
	id := strings.TrimSpace(r.stdout)
	defer exec.Command("scancel", tagOf(runByID(t, e.runs(), id), "mlrun.slurm.job_id")).Run()
	type result struct {
		code   int
		stderr string
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			cmd := e.command(dir, "exec-run", "--work-dir", t.TempDir(), id)
			var errb strings.Builder
			cmd.Stderr = &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				code = -1
			}
			results <- result{code, errb.String()}
		}()
	}
	a, b := <-results, <-results
	if (a.code == 0) == (b.code == 0) {
		t.Fatalf("exit codes %d and %d: want exactly one success\n--- first:\n%s\n--- second:\n%s", a.code, b.code, a.stderr, b.stderr)
	}
	loser := a
	if a.code == 0 {
		loser = b
	}
	if !strings.Contains(loser.stderr, "not SCHEDULED") && !strings.Contains(loser.stderr, "only a SCHEDULED run can be executed") {
		t.Errorf("the second process says:\n%s", loser.stderr)
	}
	run := runByID(t, e.runs(), id)
	if run.Info.Status != tracking.StatusFinished {
		t.Fatalf("run is %s (%s)", run.Info.Status, tagOf(run, "mlrun.error"))
	}
	if out := artifactText(t, run, "logs/stdout.txt"); strings.Count(out, "trial 6") != 1 {
		t.Errorf("stdout artifact:\n%s", out)
	}
	if errText := artifactText(t, run, "logs/stderr.txt"); strings.Count(errText, "executing run") != 1 || strings.Contains(errText, "SCHEDULED") {
		t.Errorf("stderr artifact:\n%s", errText)
	}
}
