package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/executor"
	"github.com/mlrun/mlrun/pipeline"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/reproduce"
	"github.com/mlrun/mlrun/storeuri"
	"github.com/mlrun/mlrun/sweep"
	"github.com/mlrun/mlrun/tracking"
)

// slurmOptions are mlrun run's flags for --executor slurm.
type slurmOptions struct {
	executor  string
	res       executor.Resources
	dir       string
	sharedFS  bool
	detach    bool
	pollEvery time.Duration
}

// remote reports whether runs go to an executor other than this process
// ("" is local, for callers that build runOptions themselves).
func (o slurmOptions) remote() bool { return o.executor != "" && o.executor != "local" }

// addExecutorFlags adds --executor and the --slurm-* flags.
func addExecutorFlags(f *pflag.FlagSet, o *slurmOptions) {
	f.StringVar(&o.executor, "executor", "local", "where the run executes: local (this process) or slurm (a Slurm job; a sweep is one job array)")
	addResourceFlags(f, &o.res)
	f.StringVar(&o.dir, "slurm-dir", "", "directory for the job script and its logs, visible to the nodes (default $HOME/.mlrun/slurm/<job>)")
	f.BoolVar(&o.sharedFS, "slurm-shared-fs", false, "the project directory is on a filesystem the nodes share: run there instead of checking the recorded commit out per run")
	f.BoolVar(&o.detach, "detach", false, "submit and return at once; mlrun runs list/show bring the state up to date later")
	f.DurationVar(&o.pollEvery, "slurm-poll", 2*time.Second, "how often squeue/sacct are asked while waiting")
	f.Lookup("slurm-poll").Hidden = true
}

// addResourceFlags adds the --slurm-* flags that ask for resources.
func addResourceFlags(f *pflag.FlagSet, r *executor.Resources) {
	f.StringVar(&r.Partition, "slurm-partition", "", "Slurm partition (sbatch --partition)")
	f.StringVar(&r.Time, "slurm-time", "", "time limit per run, e.g. 30 or 2:00:00 (sbatch --time)")
	f.StringVar(&r.Mem, "slurm-mem", "", "memory per run, e.g. 4G (sbatch --mem)")
	f.IntVar(&r.CPUs, "slurm-cpus", 0, "CPUs per run (sbatch --cpus-per-task)")
	f.StringVar(&r.GPUs, "slurm-gpus", "", "GPUs per run, e.g. 1 or a100:2 (sbatch --gpus)")
	f.StringVar(&r.Account, "slurm-account", "", "Slurm account (sbatch --account)")
	f.StringArrayVar(&r.Args, "slurm-arg", nil, "raw sbatch argument, e.g. --slurm-arg=--qos=high (repeatable)")
}

// checkSharedStore refuses a store the nodes cannot share.
func checkSharedStore(loc *storeuri.Location) error {
	if loc.Scheme == "sqlite" || loc.Path != "" {
		return errs.Errorf(errs.Invalid, "--executor slurm needs a tracking store every node can reach (postgresql://... or http://...); %s is a SQLite file, which several nodes cannot write at once (set --tracking-uri or MLRUN_TRACKING_URI)", loc.URI)
	}
	return nil
}

// slurmSubmission is what submitting to Slurm needs beyond the runner.
type slurmSubmission struct {
	o      slurmOptions
	runner *pipeline.Runner
	st     tracking.Store
	loc    *storeuri.Location
}

// openSlurm opens the store, refuses a local one and builds the runner.
func (a *app) openSlurm(c *cobra.Command, ro runOptions, so slurmOptions) (*slurmSubmission, error) {
	if so.executor != "slurm" {
		return nil, errs.Errorf(errs.Invalid, "--executor must be local or slurm, not %q", so.executor)
	}
	loc, err := a.storeLocation()
	if err != nil {
		return nil, err
	}
	if err := checkSharedStore(loc); err != nil {
		return nil, err
	}
	r, st, err := a.runner(c, ro)
	if err != nil {
		return nil, err
	}
	return &slurmSubmission{o: so, runner: r, st: st, loc: loc}, nil
}

// batch describes the job that executes runs.
func (s *slurmSubmission) batch(a *app, name string, ids []string, parallel int, res executor.Resources) (executor.Batch, error) {
	self, err := os.Executable()
	if err != nil {
		return executor.Batch{}, fmt.Errorf("locate the mlrun binary: %w", err)
	}
	dir := s.o.dir
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return executor.Batch{}, errs.Errorf(errs.Invalid, "no home directory for the job files; give --slurm-dir")
		}
		dir = filepath.Join(home, ".mlrun", "slurm")
	}
	dir, err = filepath.Abs(filepath.Join(dir, name+"-"+ids[0][:12]))
	if err != nil {
		return executor.Batch{}, err
	}
	cmd := []string{self, "--tracking-uri", s.loc.URI}
	if a.artifacts != "" {
		cmd = append(cmd, "--artifacts-destination", a.artifacts)
	}
	cmd = append(cmd, "exec-run", "--work-dir", filepath.Join(dir, "work"))
	if s.o.sharedFS {
		cmd = append(cmd, "--shared-fs")
	}
	return executor.Batch{Name: name, Command: cmd, RunIDs: ids, Parallel: parallel, Dir: dir, Resources: res}, nil
}

// submit hands the runs to Slurm and tags them with the job.
func (s *slurmSubmission) submit(ctx context.Context, b executor.Batch) ([]executor.Task, error) {
	ex := &executor.Slurm{}
	tasks, err := ex.Submit(ctx, b)
	if err != nil {
		for _, id := range b.RunIDs {
			failRun(s.st, id, "submission to Slurm failed: "+errs.Message(err))
		}
		return nil, err
	}
	// One write per run, a few at once (each is a round trip to the store).
	errsOf := make([]error, len(tasks))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(8, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := tasks[i]
				tags := []tracking.Tag{{Key: executor.TagJobID, Value: t.JobID}, {Key: executor.TagJobDir, Value: b.Dir}}
				if t.Index >= 0 {
					tags = append(tags, tracking.Tag{Key: executor.TagArrayIndex, Value: fmt.Sprint(t.Index)})
				}
				if err := s.st.LogBatch(context.WithoutCancel(ctx), t.RunID, nil, nil, tags); err != nil {
					errsOf[i] = fmt.Errorf("tag run %s with its Slurm job: %w", t.RunID, err)
				}
			}
		}()
	}
	for i := range tasks {
		next <- i
	}
	close(next)
	wg.Wait()
	return tasks, errors.Join(errsOf...)
}

func failRun(st tracking.Store, id, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = st.LogBatch(ctx, id, nil, nil, []tracking.Tag{{Key: "mlrun.error", Value: msg}})
	status, end := tracking.StatusFailed, time.Now().UnixMilli()
	_ = st.UpdateRun(ctx, id, tracking.RunUpdate{Status: &status, EndTime: &end})
}

// wait follows the tasks until they end, cancelling them (scancel) when
// ctx ends, and records their ends on the runs.
func (s *slurmSubmission) wait(ctx context.Context, a *app, tasks []executor.Task) ([]tracking.RunStatus, error) {
	ex := &executor.Slurm{}
	prog := newCountProgress(a.stderr, len(tasks), tasks[0].JobID)
	states, err := executor.Wait(ctx, ex, tasks, s.o.pollEvery, prog.show)
	prog.done()
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	interrupted := ctx.Err() != nil
	if interrupted {
		fmt.Fprintf(a.stderr, "mlrun: interrupted: cancelling Slurm job %s\n", tasks[0].JobID)
		if cerr := ex.Cancel(bg, tasks); cerr != nil {
			return nil, cerr
		}
		states, err = executor.Wait(bg, ex, tasks, s.o.pollEvery, nil)
	}
	if err != nil {
		return nil, err
	}
	return executor.Reconcile(bg, s.st, tasks, states)
}

// runOnSlurm submits one run as a Slurm job, then waits unless detached.
func (a *app) runOnSlurm(c *cobra.Command, req pipeline.Request, plan *pipeline.Plan, ro runOptions, so slurmOptions) error {
	res, err := entryResources(plan.EntryPoint, so)
	if err != nil {
		return err
	}
	s, err := a.openSlurm(c, ro, so)
	if err != nil {
		return err
	}
	defer s.st.Close()
	ctx := c.Context()
	info, err := s.runner.Submit(ctx, req, plan, map[string]string{executor.TagExecutor: "slurm"})
	if err != nil {
		return err
	}
	b, err := s.batch(a, "mlrun-"+plan.EntryPoint.Name, []string{info.ID}, 0, res)
	if err != nil {
		failRun(s.st, info.ID, errs.Message(err))
		return err
	}
	tasks, err := s.submit(ctx, b)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "mlrun: run %s (%s) submitted as Slurm job %s; logs in %s\n", info.ID, info.Name, tasks[0].JobID, b.Dir)
	fmt.Fprintln(a.stdout, info.ID)
	if so.detach {
		return nil
	}
	statuses, err := s.wait(ctx, a, tasks)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "mlrun: run %s %s\n", info.ID, statuses[0])
	return runStatusErr(info.ID, statuses[0], ctx)
}

func runStatusErr(id string, st tracking.RunStatus, ctx context.Context) error {
	switch st {
	case tracking.StatusFinished:
		return nil
	case tracking.StatusKilled:
		if ctx.Err() != nil {
			return errs.Errorf(errs.Killed, "run %s was interrupted: its Slurm job was cancelled and the run is marked KILLED", id)
		}
		return errs.Errorf(errs.Failed, "run %s ended KILLED", id)
	}
	return errs.Errorf(errs.Failed, "run %s ended %s (see mlrun runs show %s)", id, st, id)
}

// sweepOnSlurm submits a sweep as one job array, -j at a time.
func (a *app) sweepOnSlurm(c *cobra.Command, sreq pipeline.SweepRequest, ro runOptions, so slurmOptions) error {
	ep, err := sreq.Project.EntryPoint(sreq.EntryPoint)
	if err != nil {
		return err
	}
	res, err := entryResources(ep, so)
	if err != nil {
		return err
	}
	s, err := a.openSlurm(c, ro, so)
	if err != nil {
		return err
	}
	defer s.st.Close()
	parallel := ro.jobs
	if parallel <= 0 {
		parallel = sreq.Sweep.Parallel
	}
	ctx := c.Context()
	parent, children, err := s.runner.SubmitSweep(ctx, sreq, map[string]string{executor.TagExecutor: "slurm"})
	if err != nil {
		return err
	}
	ids := make([]string, len(children))
	for i, ch := range children {
		ids[i] = ch.ID
	}
	b, err := s.batch(a, "mlrun-sweep-"+ep.Name, ids, parallel, res)
	if err != nil {
		return err
	}
	tasks, err := s.submit(ctx, b)
	if err != nil {
		failRun(s.st, parent.ID, errs.Message(err))
		return err
	}
	// The parent is tagged too, so that a later catch-up finds and ends it.
	if err := s.st.LogBatch(ctx, parent.ID, nil, nil, []tracking.Tag{{Key: executor.TagJobID, Value: tasks[0].JobID}, {Key: executor.TagJobDir, Value: b.Dir}}); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "mlrun: sweep %s (%s): %d trials submitted as Slurm job array %s (%%%d at once); logs in %s\n",
		parent.ID, parent.Name, len(tasks), tasks[0].JobID, parallel, b.Dir)
	fmt.Fprintln(a.stdout, parent.ID)
	if so.detach {
		return nil
	}
	statuses, err := s.wait(ctx, a, tasks)
	if err != nil {
		return err
	}
	results := make([]pipeline.TrialResult, len(tasks))
	for i, t := range tasks {
		results[i] = pipeline.TrialResult{Trial: sreq.Trials[i], RunID: t.RunID, Status: statuses[i], Objective: math.NaN()}
		if run, err := s.st.GetRun(context.WithoutCancel(ctx), t.RunID); err == nil {
			if sreq.Objective != "" {
				if v, ok := run.Metric(sreq.Objective); ok {
					results[i].Objective = v
				}
			}
			results[i].Error, _ = run.Tag("mlrun.error")
			results[i].Duration = time.Duration(run.Info.EndTime-run.Info.StartTime) * time.Millisecond
		}
	}
	out, runErr := s.runner.EndSweepParent(ctx, sreq, parent, results)
	if out != nil {
		a.printSweepSummary(sreq.Sweep, out, sreq.Objective, sreq.Maximize)
	}
	return runErr
}

// entryResources merges the flags over the entry point's resources: section.
func entryResources(ep *project.EntryPoint, so slurmOptions) (executor.Resources, error) {
	def, err := executor.EntryPointResources(ep)
	if err != nil {
		return executor.Resources{}, err
	}
	return so.res.Merge(def), nil
}

// countProgress shows a Slurm job's pending/running/ended counts: redrawn
// in place on a terminal, a line per change elsewhere.
type countProgress struct {
	out   io.Writer
	tty   bool
	total int
	job   string
	last  string
}

func newCountProgress(out io.Writer, total int, job string) *countProgress {
	return &countProgress{out: out, tty: isTerminal(out), total: total, job: job}
}

func (p *countProgress) show(states []executor.State) {
	c := executor.Count(states)
	line := fmt.Sprintf("slurm job %s: %d pending, %d running, %d/%d ended (%d finished, %d failed, %d killed)",
		p.job, c.Pending, c.Running, c.Ended(), p.total, c.Finished, c.Failed, c.Killed)
	if line == p.last {
		return
	}
	p.last = line
	if p.tty {
		fmt.Fprintf(p.out, "\r\033[K%s", line)
		return
	}
	fmt.Fprintf(p.out, "mlrun: %s\n", line)
}

func (p *countProgress) done() {
	if p.tty && p.last != "" {
		fmt.Fprintln(p.out)
	}
}

// catchUpSlurm brings runs handed to Slurm up to date from squeue/sacct:
// what the nodes could not record (over the time limit, cancelled,
// vanished) and sweep parents whose trials have all ended.
func (a *app) catchUpSlurm(ctx context.Context, st tracking.Store) {
	runs, _, err := st.SearchRuns(ctx, tracking.SearchRuns{Filter: "tags.mlrun.executor = 'slurm'", MaxResults: 50000, ViewType: tracking.All})
	if err != nil {
		fmt.Fprintf(a.stderr, "mlrun: warning: could not look for Slurm runs: %v\n", err)
		return
	}
	var open []*tracking.Run
	var parents []*tracking.Run
	for _, r := range runs {
		if _, ok := r.Tag("mlrun.sweep.trials"); ok {
			if !r.Info.Status.Terminal() {
				parents = append(parents, r)
			}
			continue
		}
		// A run that ended itself may still have been stopped by Slurm
		// (time limit, cancel): ask until Slurm's verdict is recorded.
		if _, done := r.Tag(executor.TagJobState); !done {
			open = append(open, r)
		}
	}
	if tasks := executor.TasksOf(open, "slurm"); len(tasks) > 0 {
		ex := &executor.Slurm{}
		states, err := ex.States(ctx, tasks)
		if err != nil {
			fmt.Fprintf(a.stderr, "mlrun: warning: could not ask Slurm about %d run(s): %v\n", len(tasks), err)
			return
		}
		if _, err := executor.Reconcile(ctx, st, tasks, states); err != nil {
			fmt.Fprintf(a.stderr, "mlrun: warning: %v\n", err)
			return
		}
	}
	for _, p := range parents {
		if err := endSweepIfDone(ctx, a, st, p); err != nil {
			fmt.Fprintf(a.stderr, "mlrun: warning: sweep %s: %v\n", p.Info.ID, err)
		}
	}
}

// endSweepIfDone ends a Slurm sweep's parent once all its trials ended.
func endSweepIfDone(ctx context.Context, a *app, st tracking.Store, p *tracking.Run) error {
	kids, _, err := st.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{p.Info.ExperimentID},
		Filter: "tags.mlflow.parentRunId = '" + p.Info.ID + "'", MaxResults: 50000, ViewType: tracking.All})
	if err != nil {
		return err
	}
	results := make([]pipeline.TrialResult, 0, len(kids))
	for _, k := range kids {
		if !k.Info.Status.Terminal() {
			return nil
		}
		results = append(results, pipeline.TrialResult{RunID: k.Info.ID, Status: k.Info.Status, Objective: math.NaN()})
	}
	r := &pipeline.Runner{Store: st}
	_, err = r.EndSweepParent(ctx, pipeline.SweepRequest{}, &p.Info, results)
	if errs.Code(err) == errs.Failed {
		return nil // a failed trial fails the sweep: recorded, not an error here
	}
	return err
}

// execRunCommand is the hidden `mlrun exec-run RUN`, which a Slurm job
// runs on its node: it executes an existing SCHEDULED run.
func (a *app) execRunCommand() *cobra.Command {
	var workDir string
	var sharedFS bool
	c := &cobra.Command{
		Use:    "exec-run RUN",
		Short:  "Execute a SCHEDULED run (what a Slurm job runs on its node)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.execRun(c, args[0], workDir, sharedFS)
		},
	}
	c.Flags().StringVar(&workDir, "work-dir", "", "where per-run checkouts are made (default: the temporary directory)")
	c.Flags().BoolVar(&sharedFS, "shared-fs", false, "run in the recorded project directory when it is at the recorded commit")
	return c
}

func (a *app) execRun(c *cobra.Command, runID, workDir string, sharedFS bool) (err error) {
	ctx := c.Context()
	st, loc, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// Until this process claims the run, a failure ends it FAILED only if
	// it is still SCHEDULED: claimed in the same conditional update, so
	// that a second exec-run of a run another one executes changes nothing.
	claimed := false
	fail := func(err error) error {
		if !claimed && st.ClaimRun(context.WithoutCancel(ctx), runID, hostname(), os.Getpid()) != nil {
			return err
		}
		failRun(st, runID, "on "+hostname()+": "+errs.Message(err))
		return err
	}
	if workDir != "" {
		if err := os.MkdirAll(workDir, 0o755); err != nil {
			return fail(fmt.Errorf("create the work directory: %w", err))
		}
	}
	kinds := a.kinds()
	rp, err := reproduce.NewPlan(ctx, st, runID, reproduce.Options{Kinds: kinds, StoreDir: loc.Dir,
		Scheduled: true, AlwaysWorktree: !sharedFS, TempDir: workDir})
	if err != nil {
		return fail(err)
	}
	defer func() {
		if cerr := rp.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if len(rp.Drift) > 0 {
		var parts []string
		for _, d := range rp.Drift {
			parts = append(parts, fmt.Sprintf("%s %s (submitted %s, here %s)", d.Kind, d.Name, short12(d.Recorded), short12(d.Current)))
		}
		return fail(errs.Errorf(errs.Invalid, "what the run reads differs from what was submitted: %s", strings.Join(parts, "; ")))
	}
	proj, err := project.Load(rp.Dir, kinds)
	if err != nil {
		return fail(err)
	}
	req := pipeline.Request{Project: proj, EntryPoint: rp.EntryPoint, Params: rp.Params,
		Experiment: rp.Experiment, Seed: rp.Seed, RunID: runID, Claimed: true}
	plan, err := pipeline.Prepare(req, kinds)
	if err != nil {
		return fail(err)
	}
	// Claim the run before touching its logs: of two processes given the
	// same run, the one that loses stops here.
	if err := st.ClaimRun(ctx, runID, hostname(), os.Getpid()); err != nil {
		return err
	}
	claimed = true
	// stdout and stderr are the run's artifacts logs/stdout.txt and
	// logs/stderr.txt, written as they come (a job killed at its time
	// limit keeps what it printed). They go through the run's artifact
	// repository: written in place for a file:// one, uploaded every few
	// seconds and at the end for an mlrun server's mlflow-artifacts:/.
	repo, err := artifact.SchemesFor(st).Open(rp.Original.Info.ArtifactURI)
	if err != nil {
		return fail(err)
	}
	staging, err := artifact.Stage(repo)
	if err != nil {
		return fail(err)
	}
	defer staging.Close()
	if err := os.MkdirAll(filepath.Join(staging.Dir, "logs"), 0o755); err != nil {
		return fail(fmt.Errorf("create the logs artifact directory: %w", err))
	}
	outF, err := os.Create(filepath.Join(staging.Dir, "logs", "stdout.txt"))
	if err != nil {
		return fail(err)
	}
	defer outF.Close()
	errF, err := os.Create(filepath.Join(staging.Dir, "logs", "stderr.txt"))
	if err != nil {
		return fail(err)
	}
	defer errF.Close()
	if staging.Remote() {
		stop := syncEvery(ctx, staging, 5*time.Second)
		defer func() {
			stop()
			if serr := staging.Sync(context.WithoutCancel(ctx)); serr != nil && err == nil {
				err = fmt.Errorf("upload the run's logs: %w", serr)
			}
		}()
	}
	a.stdout = io.MultiWriter(a.stdout, outF)
	a.stderr = io.MultiWriter(a.stderr, errF)
	r, st2, err := a.runner(c, runOptions{})
	if err != nil {
		return fail(err)
	}
	defer st2.Close()
	fmt.Fprintf(a.stderr, "mlrun: executing run %s on %s in %s (%s)\n", runID, hostname(), rp.Dir, rp.Mode)
	_, err = r.RunPlan(ctx, req, plan)
	return err
}

// syncEvery uploads staging's new files every period until the returned
// stop is called.
func syncEvery(ctx context.Context, staging *artifact.Staging, period time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = staging.Sync(ctx) // the final Sync reports errors
			}
		}
	}()
	return func() { cancel(); <-done }
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// sweepRequestFor builds the sweep request as runSweep does.
func sweepRequestFor(req pipeline.Request, sw *sweep.Sweep, trials []sweep.Trial, objective string, maximize bool) pipeline.SweepRequest {
	return pipeline.SweepRequest{Request: req, Sweep: sw, Trials: trials, Objective: objective, Maximize: maximize}
}
