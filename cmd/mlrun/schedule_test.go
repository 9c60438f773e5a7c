package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/schedule"
	"github.com/mlrun/mlrun/tracking"
)

// schedProject is a tiny MLproject of command entry points for schedules.
var schedProject = map[string]string{"MLproject": `name: sched
entry_points:
  main:
    parameters: {msg: {type: string, default: hello}}
    command: echo {msg}
  slow:
    command: sleep 3
  stuck:
    command: sleep 30
`}

// schedLog is an io.Writer safe for a process's output and the test.
type schedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *schedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *schedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// schedProc is a running `mlrun scheduler`.
type schedProc struct {
	cmd *exec.Cmd
	out *schedLog
}

// startScheduler starts `mlrun scheduler` on e's store.
func startScheduler(t *testing.T, e *env, args ...string) *schedProc {
	t.Helper()
	p := &schedProc{out: &schedLog{}}
	p.cmd = e.command(t.TempDir(), append([]string{"scheduler", "--tick", "100ms"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// stop sends SIGTERM and waits; it returns the exit code and how long the
// scheduler took to stop.
func (p *schedProc) stop(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	if out := p.out.String(); strings.Contains(out, "panic:") || strings.Contains(out, "error:") {
		t.Errorf("scheduler output:\n%s", out)
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

// scheduledRuns returns the runs a schedule's fires created, by fire time.
func scheduledRuns(t *testing.T, e *env, name string) []*tracking.Run {
	t.Helper()
	var out []*tracking.Run
	for _, r := range e.runs() {
		if tagOf(r, schedule.TriggerTag) == "schedule:"+name {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return tagOf(out[i], schedule.FireTag) < tagOf(out[j], schedule.FireTag) })
	return out
}

// fireTimeOf reads the fire time from a run's mlrun.schedule.fire tag.
func fireTimeOf(t *testing.T, r *tracking.Run) time.Time {
	t.Helper()
	v := tagOf(r, schedule.FireTag)
	_, ts, ok := strings.Cut(v, "@")
	ft, err := time.Parse(time.RFC3339, ts)
	if !ok || err != nil {
		t.Fatalf("run %s: bad %s tag %q", r.Info.ID, schedule.FireTag, v)
	}
	return ft
}

// showSchedule returns `schedule show NAME -o json`.
func showSchedule(t *testing.T, e *env, name string) (schedule.Schedule, []schedule.Fire) {
	t.Helper()
	r := e.ok(t.TempDir(), "schedule", "show", name, "--limit", "100", "-o", "json")
	var out struct {
		Schedule schedule.Schedule
		Fires    []schedule.Fire
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("schedule show -o json: %v\n%s", err, r.stdout)
	}
	return out.Schedule, out.Fires
}

// An @every 2s schedule under a scheduler running ~5 s makes 2 or 3 runs,
// tagged with their trigger and fire, fired 2 s apart and started at their
// fire times, each with its log file and history row.
func TestScheduleEvery2sMakesRunsOnTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	e.ok(dir, "schedule", "add", "every2", "--cron", "@every 2s", ".", "-P", "msg=tick")
	added := time.Now()
	p := startScheduler(t, e)
	time.Sleep(time.Until(added.Add(5 * time.Second)))
	if code, _ := p.stop(t); code != 0 {
		t.Fatalf("scheduler exit %d\n%s", code, p.out.String())
	}

	runs := scheduledRuns(t, e, "every2")
	if len(runs) < 2 || len(runs) > 3 {
		t.Fatalf("%d scheduled runs in 5 s, want 2 or 3\n%s", len(runs), p.out.String())
	}
	for i, r := range runs {
		fire := fireTimeOf(t, r)
		if r.Info.Status != tracking.StatusFinished {
			t.Errorf("run %s is %s", r.Info.ID, r.Info.Status)
		}
		if v, _ := r.Param("msg"); v != "tick" {
			t.Errorf("run %s: param msg = %q", r.Info.ID, v)
		}
		start := time.UnixMilli(r.Info.StartTime)
		if late := start.Sub(fire); late < 0 || late > 2*time.Second {
			t.Errorf("run %s started %s after its fire time %s", r.Info.ID, late, fire)
		}
		if i > 0 {
			if gap := fire.Sub(fireTimeOf(t, runs[i-1])); gap != 2*time.Second {
				t.Errorf("fires %s apart, want 2s", gap)
			}
		}
	}
	sc, fires := showSchedule(t, e, "every2")
	if len(fires) != len(runs) {
		t.Fatalf("%d fires in the history for %d runs", len(fires), len(runs))
	}
	byID := map[string]bool{}
	for _, r := range runs {
		byID[r.Info.ID] = true
	}
	for _, f := range fires {
		if f.Status != schedule.FireFinished || !byID[f.RunID] {
			t.Errorf("fire %+v: want FINISHED with one of the runs", f)
		}
		log, err := os.ReadFile(f.LogPath)
		if err != nil || !strings.Contains(string(log), "tick") || !strings.Contains(string(log), "FINISHED") {
			t.Errorf("log %s: %v\n%s", f.LogPath, err, log)
		}
		if !strings.HasPrefix(f.LogPath, e.store+"/schedules/every2/") {
			t.Errorf("log path %s is not under the store", f.LogPath)
		}
	}
	if sc.LastOutcome != schedule.FireFinished || !sc.NextRun.After(fires[0].FireTime) {
		t.Errorf("schedule after its runs: %+v", sc)
	}
}

// A skip schedule whose job (sleep 3) is slower than its interval (1 s)
// never runs two jobs at once, and records the skipped fires.
func TestScheduleSkipNeverOverlaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	e.ok(dir, "schedule", "add", "slow", "--cron", "@every 1s", ".", "-e", "slow", "--overlap", "skip")
	added := time.Now()
	p := startScheduler(t, e)
	time.Sleep(time.Until(added.Add(6500 * time.Millisecond)))
	if code, _ := p.stop(t); code != 0 {
		t.Fatalf("scheduler exit %d\n%s", code, p.out.String())
	}

	runs := scheduledRuns(t, e, "slow")
	if len(runs) < 2 {
		t.Fatalf("%d runs, want at least 2\n%s", len(runs), p.out.String())
	}
	for i, r := range runs {
		if r.Info.EndTime == 0 || r.Info.Status == tracking.StatusRunning {
			t.Fatalf("run %s is %s with no end", r.Info.ID, r.Info.Status)
		}
		if i > 0 && r.Info.StartTime < runs[i-1].Info.EndTime {
			t.Errorf("run %s started at %d, before run %s ended at %d", r.Info.ID, r.Info.StartTime, runs[i-1].Info.ID, runs[i-1].Info.EndTime)
		}
	}
	if runs[0].Info.Status != tracking.StatusFinished {
		t.Errorf("first run %s, want FINISHED", runs[0].Info.Status)
	}
	_, fires := showSchedule(t, e, "slow")
	skipped := 0
	for _, f := range fires {
		if f.Status == schedule.FireSkipped {
			skipped++
			if !strings.Contains(f.Message, "still running") {
				t.Errorf("skipped fire says %q", f.Message)
			}
		}
	}
	if skipped < 2 {
		t.Errorf("%d skipped fires recorded, want at least 2", skipped)
	}
	if strings.Count(p.out.String(), " skipped: ") != skipped {
		t.Errorf("the scheduler printed %d skipped lines for %d skipped fires", strings.Count(p.out.String(), " skipped: "), skipped)
	}
}

// Two schedulers on one store: each fire makes one run.
func TestTwoSchedulersOneStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	e.ok(dir, "schedule", "add", "twice", "--cron", "@every 1s", ".", "--overlap", "allow")
	added := time.Now()
	p1, p2 := startScheduler(t, e), startScheduler(t, e)
	time.Sleep(time.Until(added.Add(4 * time.Second)))
	p1.stop(t)
	p2.stop(t)

	runs := scheduledRuns(t, e, "twice")
	if len(runs) < 2 {
		t.Fatalf("%d runs, want at least 2\n%s\n%s", len(runs), p1.out.String(), p2.out.String())
	}
	seen := map[string]string{}
	for _, r := range runs {
		fire := tagOf(r, schedule.FireTag)
		if other, dup := seen[fire]; dup {
			t.Errorf("runs %s and %s share the fire %s", other, r.Info.ID, fire)
		}
		seen[fire] = r.Info.ID
	}
	_, fires := showSchedule(t, e, "twice")
	if len(fires) != len(runs) {
		t.Errorf("%d fires for %d runs", len(fires), len(runs))
	}
	started := strings.Count(p1.out.String(), " started, pid ") + strings.Count(p2.out.String(), " started, pid ")
	if started != len(runs) {
		t.Errorf("the two schedulers started %d jobs for %d runs", started, len(runs))
	}
}

// SIGTERM to the scheduler while a job runs: the job gets SIGTERM, its run
// ends KILLED, the fire is recorded KILLED, the scheduler exits 0 well
// within its grace period, and nothing stays RUNNING.
func TestSchedulerSIGTERMEndsTheJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	e.ok(dir, "schedule", "add", "stuck", "--cron", "@every 1s", ".", "-e", "stuck")
	p := startScheduler(t, e, "--grace", "10s")
	waitFor(t, "the job to start", 15*time.Second, func() bool { return strings.Contains(p.out.String(), " started, pid ") })
	waitFor(t, "its run to exist", 15*time.Second, func() bool { return len(scheduledRuns(t, e, "stuck")) == 1 })
	code, took := p.stop(t)
	if code != 0 {
		t.Errorf("scheduler exit %d, want 0\n%s", code, p.out.String())
	}
	if took > 8*time.Second {
		t.Errorf("the scheduler took %s to stop", took)
	}
	for _, r := range e.runs() {
		if r.Info.Status != tracking.StatusKilled || r.Info.EndTime == 0 {
			t.Errorf("run %s is %s (end %d), want KILLED with an end", r.Info.ID, r.Info.Status, r.Info.EndTime)
		}
	}
	_, fires := showSchedule(t, e, "stuck")
	for _, f := range fires {
		if f.Status == schedule.FireRunning || f.Status == schedule.FireQueued {
			t.Errorf("fire %s is still %s", f.FireTime, f.Status)
		}
	}
	if fires[len(fires)-1].Status != schedule.FireKilled {
		t.Errorf("the first fire ended %s, want KILLED", fires[len(fires)-1].Status)
	}
	if !strings.Contains(p.out.String(), "ended KILLED") {
		t.Errorf("the scheduler did not report the kill:\n%s", p.out.String())
	}
	if left := sleepsIn(dir); len(left) > 0 {
		t.Errorf("the job's sleep is still running: pids %v", left)
	}
}

// A scheduler killed with SIGKILL leaves nothing running: the kernel sends
// its job SIGTERM (the run ends KILLED), and the next scheduler records the
// orphaned fire's end with that run.
func TestSchedulerKilledHardLeavesNothingRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	e.ok(dir, "schedule", "add", "stuck", "--cron", "@every 1s", ".", "-e", "stuck")
	p := startScheduler(t, e)
	waitFor(t, "the job's run", 15*time.Second, func() bool { return len(scheduledRuns(t, e, "stuck")) == 1 })
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	waitFor(t, "the orphaned job to end its run", 10*time.Second, func() bool {
		runs := scheduledRuns(t, e, "stuck")
		return len(runs) == 1 && runs[0].Info.Status == tracking.StatusKilled
	})
	e.ok(dir, "schedule", "pause", "stuck")
	p2 := startScheduler(t, e)
	waitFor(t, "the next scheduler to reap the fire", 10*time.Second, func() bool {
		return strings.Contains(p2.out.String(), "ended KILLED: the scheduler that started it")
	})
	p2.stop(t)
	run := scheduledRuns(t, e, "stuck")[0]
	_, fires := showSchedule(t, e, "stuck")
	if len(fires) != 1 || fires[0].Status != schedule.FireKilled || fires[0].RunID != run.Info.ID {
		t.Errorf("fires = %+v, want one KILLED fire of run %s", fires, run.Info.ID)
	}
	if left := sleepsIn(dir); len(left) > 0 {
		t.Errorf("the job's sleep is still running: pids %v", left)
	}
}

// sleepsIn lists the "sleep 30" processes running in dir.
func sleepsIn(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, d := range entries {
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil || string(cmd) != "sleep\x0030\x00" {
			continue
		}
		if cwd, err := os.Readlink("/proc/" + d.Name() + "/cwd"); err == nil && cwd == dir {
			out = append(out, d.Name())
		}
	}
	return out
}

// Bad input is one clear sentence, a non-zero exit, and nothing saved.
func TestScheduleBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	empty := t.TempDir()
	e.ok(dir, "schedule", "add", "taken", "--cron", "@daily", ".")
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"bad cron", []string{"schedule", "add", "x", "--cron", "61 * * * *", dir}, 2, []string{`"61 * * * *"`, "59"}},
		{"too few fields", []string{"schedule", "add", "x", "--cron", "0 3 * *", dir}, 2, []string{`"0 3 * *"`, "5 fields"}},
		{"sub-second every", []string{"schedule", "add", "x", "--cron", "@every 100ms", dir}, 2, []string{"whole number of seconds"}},
		{"no cron", []string{"schedule", "add", "x", dir}, 2, []string{"--cron is required"}},
		{"bad time zone", []string{"schedule", "add", "x", "--cron", "@daily", "--timezone", "Moon/Base", dir}, 2, []string{"Moon/Base"}},
		{"bad overlap", []string{"schedule", "add", "x", "--cron", "@daily", "--overlap", "maybe", dir}, 2, []string{"skip, queue or allow"}},
		{"bad name", []string{"schedule", "add", "a/b", "--cron", "@daily", dir}, 2, []string{`"a/b"`}},
		{"missing project", []string{"schedule", "add", "x", "--cron", "@daily", empty}, 3, []string{"no MLproject"}},
		{"missing directory", []string{"schedule", "add", "x", "--cron", "@daily", empty + "/nope"}, 3, []string{"does not exist"}},
		{"unknown entry point", []string{"schedule", "add", "x", "--cron", "@daily", dir, "-e", "nope"}, 3, []string{`"nope"`, "main"}},
		{"bad parameter", []string{"schedule", "add", "x", "--cron", "@daily", dir, "-P", "msg"}, 2, []string{"name=value"}},
		{"duplicate name", []string{"schedule", "add", "taken", "--cron", "@hourly", dir}, 2, []string{`"taken"`, "already exists"}},
		{"show unknown", []string{"schedule", "show", "nope"}, 3, []string{`"nope"`, "does not exist"}},
		{"remove unknown", []string{"schedule", "remove", "nope"}, 3, []string{`"nope"`}},
		{"pause unknown", []string{"schedule", "pause", "nope"}, 3, []string{`"nope"`}},
		{"resume unknown", []string{"schedule", "resume", "nope"}, 3, []string{`"nope"`}},
		{"run unknown", []string{"schedule", "run", "nope"}, 3, []string{`"nope"`}},
		{"apply without MLproject", []string{"schedule", "apply", empty}, 3, []string{"no MLproject"}},
		{"bad tick", []string{"scheduler", "--tick", "1ms"}, 2, []string{"--tick"}},
	}
	for _, tc := range cases {
		r := e.run(dir, tc.args...)
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, r.code, tc.code, r.stderr)
			continue
		}
		msg := strings.TrimSpace(r.stderr)
		if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "mlrun: ") || strings.Contains(msg, "internal error") {
			t.Errorf("%s: want one clear line, got:\n%s", tc.name, r.stderr)
		}
		for _, c := range tc.contains {
			if !strings.Contains(msg, c) {
				t.Errorf("%s: %q lacks %q", tc.name, msg, c)
			}
		}
	}
	r := e.ok(dir, "schedule", "list", "-o", "json")
	var list struct{ Schedules []schedule.Schedule }
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Schedules) != 1 || list.Schedules[0].Name != "taken" || list.Schedules[0].Cron != "@daily" {
		t.Errorf("schedules after the bad input: %+v", list.Schedules)
	}
}

// apply brings an MLproject's schedules into the store and keeps them in
// step with it; run triggers one now; pause and resume.
func TestScheduleApplyRunPauseResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	declared := schedProject["MLproject"] + `schedules:
  - name: nightly
    cron: "0 3 * * *"
    timezone: UTC
    parameters: {msg: from-schedule}
    experiment: nightly
  - name: hourly
    cron: "@hourly"
    entry_point: slow
`
	writeFiles(t, dir, map[string]string{"MLproject": declared})
	type applied struct {
		Changes []schedule.Change
	}
	apply := func() applied {
		var out applied
		r := e.ok(dir, "schedule", "apply", ".", "-o", "json")
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("apply -o json: %v\n%s", err, r.stdout)
		}
		return out
	}
	if got := apply(); len(got.Changes) != 2 || got.Changes[0] != (schedule.Change{Name: "nightly", Action: "created"}) ||
		got.Changes[1] != (schedule.Change{Name: "hourly", Action: "created"}) {
		t.Fatalf("first apply: %+v", got)
	}
	sc, _ := showSchedule(t, e, "nightly")
	if sc.NextRun.UTC().Hour() != 3 || sc.NextRun.Minute() != 0 || sc.Experiment != "nightly" || len(sc.Params) != 1 {
		t.Errorf("applied schedule: %+v", sc)
	}
	if got := apply(); got.Changes[0].Action != "unchanged" || got.Changes[1].Action != "unchanged" {
		t.Errorf("second apply: %+v", got)
	}
	// A bad schedule in the file changes nothing.
	writeFiles(t, dir, map[string]string{"MLproject": strings.Replace(declared, `"@hourly"`, `"@every 0s"`, 1)})
	r := e.run(dir, "schedule", "apply", ".")
	if r.code != 2 || !strings.Contains(r.stderr, "MLproject:") || !strings.Contains(r.stderr, "schedules[1].cron") {
		t.Errorf("apply of a bad schedule: exit %d, %s", r.code, r.stderr)
	}
	// Dropping a schedule from the file removes it.
	writeFiles(t, dir, map[string]string{"MLproject": declared[:strings.Index(declared, "  - name: hourly")]})
	if got := apply(); len(got.Changes) != 2 || got.Changes[1] != (schedule.Change{Name: "hourly", Action: "removed"}) {
		t.Errorf("apply after dropping hourly: %+v", got)
	}

	// Trigger it now: a foreground run tagged manual:nightly.
	r = e.ok(dir, "schedule", "run", "nightly", "-o", "json")
	var ran struct {
		Schedule string
		RunID    string `json:"run_id"`
		Status   string
	}
	if err := json.Unmarshal([]byte(r.stdout), &ran); err != nil {
		t.Fatalf("schedule run -o json: %v\n%s", err, r.stdout)
	}
	run := e.onlyRun()
	if run.Info.ID != ran.RunID || ran.Schedule != "nightly" || ran.Status != "FINISHED" || tagOf(run, schedule.TriggerTag) != "manual:nightly" {
		t.Errorf("manual run: %+v, tags %v", ran, run.Tags)
	}
	if v, _ := run.Param("msg"); v != "from-schedule" {
		t.Errorf("manual run param msg = %q", v)
	}
	if !strings.Contains(r.stderr, "from-schedule") {
		t.Errorf("the job's output should go to stderr with -o json:\n%s", r.stderr)
	}

	e.ok(dir, "schedule", "pause", "nightly")
	if sc, _ := showSchedule(t, e, "nightly"); !sc.Paused {
		t.Errorf("not paused: %+v", sc)
	}
	r = e.ok(dir, "schedule", "resume", "nightly")
	if !strings.Contains(r.stdout, "resumed schedule nightly, next run") {
		t.Errorf("resume said %q", r.stdout)
	}
	r = e.ok(dir, "schedule", "list")
	for _, want := range []string{"NAME", "NEXT RUN", "LAST OUTCOME", "nightly", "0 3 * * * (UTC)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("schedule list lacks %q:\n%s", want, r.stdout)
		}
	}
	e.ok(dir, "schedule", "remove", "nightly")
	if r := e.run(dir, "schedule", "show", "nightly"); r.code != 3 {
		t.Errorf("show after remove: exit %d", r.code)
	}
}
