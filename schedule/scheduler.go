package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/executor"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/tracking"
)

// Defaults of the Scheduler's settings.
const (
	DefaultTick        = 250 * time.Millisecond
	DefaultGrace       = 30 * time.Second
	DefaultMissedAfter = time.Minute
)

// staleRun is how long a run may go without a heartbeat before
// ReapDeadRuns marks it FAILED regardless of its pid.
const staleRun = 2 * time.Minute

// Scheduler starts the jobs of due schedules; see the package doc.
type Scheduler struct {
	Store       Store
	TrackingURI string // given to jobs as MLRUN_TRACKING_URI
	LogDir      string // job logs go to LogDir/NAME/FIRETIME.log; <store dir>/schedules

	Executable  string        // the mlrun binary to run jobs with; default os.Executable()
	Env         []string      // the jobs' base environment; default os.Environ()
	Tick        time.Duration // how often schedules are checked; default DefaultTick
	Grace       time.Duration // how long stopping waits for jobs after SIGTERM; default DefaultGrace
	MissedAfter time.Duration // a fire later than this is missed; default DefaultMissedAfter
	Out         io.Writer     // one line per fire started, skipped, queued or ended; default io.Discard
	Now         func() time.Time
	// Executor runs each fire's job (`mlrun run ...`, which itself submits
	// to Slurm when the schedule says so) as a child process in its own
	// process group, its output in the fire's log; default a new
	// executor.Local.
	Executor *executor.Local

	host string
	pid  int
	jobs map[jobKey]*job
	done chan *job
}

// jobKey identifies a fire.
type jobKey struct {
	name string
	fire int64 // Unix ms
}

// job is a fire's running child process.
type job struct {
	fire    *Fire
	task    executor.Task
	pid     int
	log     *os.File
	end     executor.State // how the process ended, once it has
	stopped bool           // the scheduler cancelled it (SIGTERM, then SIGKILL after Grace)
}

// Run checks the schedules every Tick and starts the jobs of due ones
// until ctx is cancelled; then it stops its jobs as the package doc says
// and returns nil. Errors of the store while running are reported on Out
// and retried at the next tick; Run returns an error only when it cannot
// start at all. A Scheduler runs once: call Run on one Scheduler value at a
// time.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.init(); err != nil {
		return err
	}
	s.printf("mlrun scheduler: started (pid %d, tick %s, grace %s)", s.pid, s.Tick, s.Grace)
	ticker := time.NewTicker(s.Tick)
	defer ticker.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			s.stop()
			s.printf("mlrun scheduler: stopped")
			return nil
		case j := <-s.done:
			s.finish(ctx, j)
			s.startQueued(ctx, j.fire.Schedule)
		case <-ticker.C:
		}
	}
}

// init fills in defaults.
func (s *Scheduler) init() error {
	if s.Store == nil {
		return errors.New("scheduler: no store")
	}
	if s.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("scheduler: find the mlrun executable: %w", err)
		}
		s.Executable = exe
	}
	if s.Env == nil {
		s.Env = os.Environ()
	}
	if s.Tick <= 0 {
		s.Tick = DefaultTick
	}
	if s.Grace <= 0 {
		s.Grace = DefaultGrace
	}
	if s.MissedAfter <= 0 {
		s.MissedAfter = DefaultMissedAfter
	}
	if s.Out == nil {
		s.Out = io.Discard
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Executor == nil {
		s.Executor = &executor.Local{}
	}
	s.host, _ = os.Hostname()
	s.pid = os.Getpid()
	s.jobs = map[jobKey]*job{}
	s.done = make(chan *job, 16)
	return nil
}

// tick reaps fires of dead schedulers, claims due fires and starts queued
// ones.
func (s *Scheduler) tick(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	reaped, err := s.Store.ReapFires(ctx, s.host, provenance.ProcessAlive, s.Now())
	if err != nil {
		s.report(ctx, err)
		return
	}
	for _, f := range reaped {
		// The dead scheduler's job got SIGTERM from the kernel (see
		// executor.Batch.Group) and may have ended its run: record that run.
		if id, status, err := s.Store.RunByTag(ctx, FireTag, FireTagValue(f.Schedule, f.FireTime)); err == nil {
			f.RunID = id
			if status.Terminal() {
				f.Status = string(status)
			}
			if err := s.Store.EndFire(ctx, f); err != nil {
				s.report(ctx, err)
			}
		}
		s.printf("mlrun scheduler: %s: fire %s ended %s: %s", f.Schedule, describeTime(f.FireTime), f.Status, f.Message)
	}
	list, err := s.Store.ListSchedules(ctx)
	if err != nil {
		s.report(ctx, err)
		return
	}
	now := s.Now()
	for _, sc := range list {
		if ctx.Err() != nil {
			return
		}
		if sc.Queued > 0 && sc.Running == 0 {
			s.startQueued(ctx, sc.Name)
		}
		if sc.Paused || sc.NextRun.IsZero() || sc.NextRun.After(now) {
			continue
		}
		s.claim(ctx, sc.Name, now)
	}
}

// claim claims the due fire of one schedule and acts on it.
func (s *Scheduler) claim(ctx context.Context, name string, now time.Time) {
	var sched *Schedule
	var parseErr error
	f, err := s.Store.ClaimFire(ctx, name, func(sc *Schedule) *Decision {
		sched = sc
		spec, err := Parse(sc.Cron, sc.Timezone)
		if err != nil {
			// Saved schedules are validated; this one may name a time
			// zone this machine lacks. Skip the fire, keep the schedule.
			parseErr = err
			return &Decision{
				Fire:    Fire{Schedule: sc.Name, FireTime: sc.NextRun, Status: FireSkipped, Message: errs.Message(err)},
				NextRun: time.Time{},
			}
		}
		d := Decide(sc, spec, now, s.MissedAfter)
		if d == nil {
			return nil
		}
		d.Fire.Host, d.Fire.PID = s.host, s.pid
		if d.Fire.Status == FireRunning || d.Fire.Status == FireQueued {
			d.Fire.LogPath = LogPath(s.LogDir, sc.Name, d.Fire.FireTime)
		}
		if d.Fire.Status == FireRunning {
			d.Fire.Started = now
		}
		return d
	})
	if err != nil {
		s.report(ctx, err)
		return
	}
	if f == nil {
		return
	}
	if parseErr != nil {
		s.printf("mlrun scheduler: %s: cannot read its schedule, so it stops firing: %s", name, errs.Message(parseErr))
		return
	}
	switch f.Status {
	case FireSkipped:
		s.printf("mlrun scheduler: %s: fire %s skipped: %s", name, describeTime(f.FireTime), f.Message)
	case FireQueued:
		s.printf("mlrun scheduler: %s: fire %s queued: %s", name, describeTime(f.FireTime), f.Message)
	case FireRunning:
		s.start(ctx, sched, f)
	}
}

// startQueued starts the queued fire of a schedule if its previous job is over.
func (s *Scheduler) startQueued(ctx context.Context, name string) {
	if ctx.Err() != nil {
		return
	}
	f, err := s.Store.StartQueued(ctx, name, s.host, s.pid, s.Now())
	if err != nil {
		s.report(ctx, err)
		return
	}
	if f == nil {
		return
	}
	sc, err := s.Store.GetSchedule(ctx, name)
	if err != nil {
		f.Status, f.Ended, f.Message = FireFailed, s.Now(), "its schedule could not be read: "+errs.Message(err)
		s.end(ctx, f)
		return
	}
	s.start(ctx, sc, f)
}

// Args returns the command line (after the executable) that runs a fire
// of sc: mlrun run DIR -e EP -P k=v ... [--experiment X] [--executor slurm
// --slurm-...] --tag ... --tag ...
func Args(sc *Schedule, fireTime time.Time) []string {
	args := []string{"run", sc.ProjectDir, "-e", sc.EntryPoint}
	for _, p := range sc.Params {
		args = append(args, "-P", p.Key+"="+p.Value)
	}
	if sc.Experiment != "" {
		args = append(args, "--experiment", sc.Experiment)
	}
	if sc.Executor == ExecutorSlurm {
		args = append(args, "--executor", ExecutorSlurm)
		args = append(args, ResourceFlags(sc.Resources)...)
	}
	return append(args,
		"--tag", TriggerTag+"=schedule:"+sc.Name,
		"--tag", FireTag+"="+FireTagValue(sc.Name, fireTime))
}

// start starts the job of a RUNNING fire that this scheduler owns.
func (s *Scheduler) start(ctx context.Context, sc *Schedule, f *Fire) {
	fail := func(format string, args ...any) {
		f.Status, f.Ended, f.Message = FireFailed, s.Now(), fmt.Sprintf(format, args...)
		s.end(ctx, f)
	}
	if f.LogPath == "" {
		f.LogPath = LogPath(s.LogDir, sc.Name, f.FireTime)
	}
	if err := os.MkdirAll(filepath.Dir(f.LogPath), 0o755); err != nil {
		fail("cannot create the log directory: %v", err)
		return
	}
	logFile, err := os.OpenFile(f.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fail("cannot open the log file: %v", err)
		return
	}
	args := Args(sc, f.FireTime)
	fmt.Fprintf(logFile, "# mlrun scheduler (pid %d): schedule %s, fire %s: %s %s\n",
		s.pid, sc.Name, describeTime(f.FireTime), s.Executable, strings.Join(args, " "))
	tasks, err := s.Executor.Submit(ctx, executor.Batch{
		Name:    sc.Name,
		Command: append([]string{s.Executable}, args...),
		RunIDs:  []string{""}, // the job creates its run
		Dir:     sc.ProjectDir,
		BaseEnv: s.jobEnv(),
		Output:  logFile,
		Group:   true,
		Grace:   s.Grace,
	})
	if err != nil {
		logFile.Close()
		fail("cannot start %s: %v", s.Executable, err)
		return
	}
	pid := s.Executor.PID(context.WithoutCancel(ctx), tasks[0])
	if pid == 0 {
		states, _ := s.Executor.States(ctx, tasks)
		s.Executor.Forget(tasks)
		logFile.Close()
		fail("%s", states[0].Reason)
		return
	}
	j := &job{fire: f, task: tasks[0], pid: pid, log: logFile}
	s.jobs[jobKey{f.Schedule, f.FireTime.UnixMilli()}] = j
	note := ""
	if f.Message != "" {
		note = " (" + f.Message + ")"
	}
	s.printf("mlrun scheduler: %s: fire %s started, pid %d, log %s%s", sc.Name, describeTime(f.FireTime), pid, f.LogPath, note)
	go func() {
		states, _ := s.Executor.Wait(context.Background(), tasks)
		j.end = states[0]
		s.done <- j
	}()
}

// jobEnv is the base environment with MLRUN_TRACKING_URI naming the store
// and no MLRUN_EXPERIMENT_NAME (a schedule names its own experiment).
func (s *Scheduler) jobEnv() []string {
	env := make([]string, 0, len(s.Env)+1)
	for _, kv := range s.Env {
		if strings.HasPrefix(kv, "MLRUN_TRACKING_URI=") || strings.HasPrefix(kv, "MLRUN_EXPERIMENT_NAME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "MLRUN_TRACKING_URI="+s.TrackingURI)
}

// finish records the outcome of a job that exited.
func (s *Scheduler) finish(ctx context.Context, j *job) {
	delete(s.jobs, jobKey{j.fire.Schedule, j.fire.FireTime.UnixMilli()})
	s.Executor.Forget([]executor.Task{j.task})
	j.log.Close()
	// Record the end even while stopping.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	f := j.fire
	f.Ended = s.Now()
	note := f.Message // a catch-up note stays
	id, status, err := s.Store.RunByTag(ctx, FireTag, FireTagValue(f.Schedule, f.FireTime))
	switch {
	case err == nil:
		f.RunID = id
		if status == tracking.StatusRunning && !provenance.ProcessAlive(j.pid) {
			// The job was killed before it could end its run.
			if _, err := s.Store.ReapDeadRuns(ctx, s.host, provenance.ProcessAlive, staleRun); err != nil {
				s.report(ctx, err)
			}
			if _, st, err := s.Store.RunByTag(ctx, FireTag, FireTagValue(f.Schedule, f.FireTime)); err == nil {
				status = st
			}
		}
		f.Status = string(status)
		if !status.Terminal() {
			f.Status = FireFailed
		}
	case errs.Code(err) == errs.NotFound:
		f.Status = FireFailed
		f.Message = join(note, fmt.Sprintf("the job ended (%s) without creating a run; see %s", exitText(j.end), f.LogPath))
		if j.stopped {
			f.Status = FireKilled
		}
	default:
		f.Status = FireFailed
		f.Message = join(note, "cannot read the job's run: "+errs.Message(err))
	}
	if j.end.Raw == "KILLED" { // SIGKILL after the grace period
		f.Message = join(f.Message, j.end.Reason)
	}
	s.end(ctx, f)
}

// end records a fire's outcome and reports it.
func (s *Scheduler) end(ctx context.Context, f *Fire) {
	if err := s.Store.EndFire(context.WithoutCancel(ctx), f); err != nil {
		s.report(ctx, err)
	}
	took := ""
	if !f.Started.IsZero() {
		took = " after " + f.Ended.Sub(f.Started).Round(10*time.Millisecond).String()
	}
	run := ""
	if f.RunID != "" {
		run = ", run " + f.RunID
	}
	msg := ""
	if f.Message != "" {
		msg = ": " + f.Message
	}
	s.printf("mlrun scheduler: %s: fire %s ended %s%s%s%s", f.Schedule, describeTime(f.FireTime), f.Status, took, run, msg)
}

// stop cancels every job (SIGTERM, then SIGKILL after Grace: see
// executor.Local) and records every outcome.
func (s *Scheduler) stop() {
	if len(s.jobs) == 0 {
		return
	}
	s.printf("mlrun scheduler: stopping: SIGTERM to %s, waiting up to %s", plural(len(s.jobs), "job"), s.Grace)
	ctx := context.Background()
	tasks := make([]executor.Task, 0, len(s.jobs))
	for _, j := range s.jobs {
		j.stopped = true
		tasks = append(tasks, j.task)
	}
	s.Executor.Cancel(ctx, tasks)
	for len(s.jobs) > 0 {
		s.finish(ctx, <-s.done)
	}
}

// exitText describes how a job's process ended.
func exitText(st executor.State) string {
	if st.Reason == "" {
		return "exit status 0"
	}
	return st.Reason
}

// report prints a store error, unless it comes from stopping.
func (s *Scheduler) report(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	s.printf("mlrun scheduler: error: %s", errs.Message(err))
}

// printf writes one line to Out.
func (s *Scheduler) printf(format string, args ...any) {
	fmt.Fprintf(s.Out, format+"\n", args...)
}

// ResourceFlags returns the --slurm-* flags of `mlrun run` that ask for r.
func ResourceFlags(r tracking.Resources) []string {
	var out []string
	add := func(flag, v string) {
		if v != "" {
			out = append(out, "--slurm-"+flag+"="+v)
		}
	}
	add("partition", r.Partition)
	add("time", r.Time)
	add("mem", r.Mem)
	if r.CPUs > 0 {
		add("cpus", strconv.Itoa(r.CPUs))
	}
	add("gpus", r.GPUs)
	add("account", r.Account)
	for _, a := range r.Args {
		add("arg", a)
	}
	return out
}
