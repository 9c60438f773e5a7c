package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/pipeline"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/sweep"
	"github.com/mlrun/mlrun/tracking"
)

type runOptions struct {
	entryPoint string
	params     []string
	experiment string
	runName    string
	seed       int64
	tags       []string
	noCache    bool

	// Sweeps.
	jobs       int
	failFast   bool
	dryRun     bool
	maxTrials  int
	sweepSeed  uint64
	useSection bool
	objective  string
	maximize   bool
	minimize   bool

	slurm slurmOptions // --executor and --slurm-* (cmd_slurm.go)
}

func (a *app) runCommand() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [DIR]",
		Short: "Run an entry point of the MLproject in DIR (default .) as a tracked run, or a sweep",
		Long: `Run an entry point of the MLproject in DIR (default: the current directory).

Parameters are given with -P name=value (repeatable). Declared parameters are
typed and checked before the run is created; undeclared ones are appended to a
command entry point as --name value, and refused by a steps entry point. Every run records its params, metrics,
tags (git state, dataset versions, seeds, lockfile, versions) and artifacts.

A -P value with commas is a list, and lists make a sweep: one child run per
combination (a grid), -j at a time, under one parent run. Lists can also be
generated: logspace(a,b,n), linspace(a,b,n), range(start,stop[,step]); and
uniform(a,b), loguniform(a,b), randint(a,b) or choice(x,y,...) make a random
search of --max-trials trials. A literal comma is written \,. --sweep uses the
entry point's sweep: section of the MLproject.

Steps reuse the outputs of an identical earlier execution (same kind, inputs,
data and scripts) unless --no-cache is given.`,
		Example: `  mlrun run examples/iris
  mlrun run examples/iris -P C=0.5 --run-name tuned
  mlrun run examples/iris -P C=0.1,1,10 -P max_iter=100,200 -j 4 --objective metrics.accuracy --maximize
  mlrun run examples/iris -P C=logspace(-3,1,5) --dry-run
  mlrun run examples/iris -P C=loguniform(0.001,10) --max-trials 20 --sweep-seed 7
  mlrun --tracking-uri postgresql://mlrun@db/mlrun run examples/iris -P C=0.1,1,10 --executor slurm -j 2 --slurm-time 10`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.runProject(c, dir, o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.entryPoint, "entry-point", "e", "main", "entry point to run")
	// StringArray, not StringSlice: a value such as C=0.1,1,10 keeps its commas.
	f.StringArrayVarP(&o.params, "param", "P", nil, "parameter name=value (repeatable; a list makes a sweep)")
	f.StringVar(&o.experiment, "experiment", "", "experiment name, created if missing (default: Default, or $MLRUN_EXPERIMENT_NAME)")
	f.StringVar(&o.runName, "run-name", "", "run name (default: a random adjective-noun-NNN)")
	f.StringArrayVar(&o.tags, "tag", nil, "extra run tag key=value (repeatable)")
	f.Int64Var(&o.seed, "seed", 0, "the run's seed, for steps given no random_state (default: the seed parameter, else 0; always recorded)")
	f.BoolVar(&o.noCache, "no-cache", false, "run every step, reusing nothing")
	f.IntVarP(&o.jobs, "jobs", "j", 0, "sweep trials run at once (default: the sweep section's parallel, else the number of CPUs)")
	f.BoolVar(&o.failFast, "fail-fast", false, "stop a sweep at its first failed trial")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the sweep's trials without running anything")
	f.IntVar(&o.maxTrials, "max-trials", 0, "trials of a random search")
	f.Uint64Var(&o.sweepSeed, "sweep-seed", 0, "seed of a random search's draws")
	f.BoolVar(&o.useSection, "sweep", false, "sweep as the entry point's sweep: section says")
	f.StringVar(&o.objective, "objective", "", "metric that ranks a sweep's trials, e.g. metrics.accuracy")
	f.BoolVar(&o.maximize, "maximize", false, "the best trial has the highest objective")
	f.BoolVar(&o.minimize, "minimize", false, "the best trial has the lowest objective (default)")
	addExecutorFlags(f, &o.slurm)
	return c
}

func (a *app) runProject(c *cobra.Command, dir string, o runOptions) error {
	ctx := c.Context()
	kinds := a.kinds()
	// An existing store is opened while the project loads, for a run or
	// a sweep in this process, and the project's provenance is captured
	// once the store is open (startProvenance, called once the runner
	// has the store): capturing it walks the project's tree for a few
	// milliseconds of processor time, which, started at once, a
	// two-processor machine took from the store's opening and the
	// project's loading that the run waits for, while the run's first
	// steps leave a processor idle. Started after them, an iris run took
	// 0.97-1.00x the time (three comparisons of 150 to 200 rounds).
	var early *storeOpening
	startProvenance := func() *pipeline.Provenance { return nil }
	if abs, err := filepath.Abs(dir); err == nil && !o.slurm.remote() && !o.dryRun {
		storeDir := ""
		if loc, err := a.storeLocation(); err == nil {
			storeDir = loc.Dir
		}
		early = a.openStoreEarly(ctx)
		defer early.discard()
		startProvenance = func() *pipeline.Provenance {
			return pipeline.StartProvenance(ctx, abs, a.version, storeDir)
		}
	}
	proj, err := project.Load(dir, kinds)
	if err != nil {
		return err
	}
	kvs, err := parseParams(o.params)
	if err != nil {
		return err
	}
	req := pipeline.Request{
		Project:    proj,
		EntryPoint: o.entryPoint,
		Params:     kvs,
		Experiment: o.experiment,
		RunName:    o.runName,
	}
	for _, t := range o.tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return errs.Errorf(errs.Invalid, "--tag %q must be written key=value", t)
		}
		if req.Tags == nil {
			req.Tags = map[string]string{}
		}
		req.Tags[k] = v
	}
	if req.Experiment == "" {
		req.Experiment = envOr("MLRUN_EXPERIMENT_NAME", "")
	}
	if c.Flags().Changed("seed") {
		req.Seed = &o.seed
	}
	ep, err := proj.EntryPoint(o.entryPoint)
	if err != nil {
		return err
	}
	if !o.slurm.remote() && o.slurm.detach {
		return errs.Errorf(errs.Invalid, "--detach is for --executor slurm; a local run runs in this process")
	}
	// Everything that can be checked is checked before the store is touched.
	sw, err := sweep.Parse(ep, kvs, sweep.Options{MaxTrials: o.maxTrials, Seed: o.sweepSeed,
		SeedSet: c.Flags().Changed("sweep-seed"), UseSection: o.useSection})
	if err != nil {
		return err
	}
	if sw == nil {
		switch {
		case o.dryRun:
			return errs.Errorf(errs.Invalid, "--dry-run lists a sweep's trials, and no -P value is a list")
		case o.maxTrials > 0:
			return errs.Errorf(errs.Invalid, "--max-trials is for a random search, and no -P value is a distribution")
		}
		// A single run: \, in a value is a literal comma, as in a sweep.
		req.Params = sweep.Unescape(kvs)
		plan, err := pipeline.Prepare(req, kinds)
		if err != nil {
			return err
		}
		if o.slurm.remote() {
			return a.runOnSlurm(c, req, plan, o, o.slurm)
		}
		r, st, err := a.runnerFrom(c, o, early)
		if err != nil {
			return err
		}
		r.Provenance = startProvenance()
		defer st.Close()
		out, err := r.RunPlan(ctx, req, plan)
		return runFailed(out, err)
	}
	return a.runSweep(c, kinds, req, sw, o, startProvenance, early)
}

// runFailed gives the error of a run that was created and ended FAILED the
// code errs.Failed (exit status 1), whatever its step reported: bad data
// found while running (a CSV row, a file outside the project) is the run
// failing, not the command line being wrong, which is found before a run
// exists (exit status 2). Internal errors and interruptions keep theirs.
func runFailed(out *pipeline.Outcome, err error) error {
	if err == nil || out == nil || out.Status != tracking.StatusFailed {
		return err
	}
	switch errs.Code(err) {
	case errs.Invalid, errs.NotFound, errs.Conflict:
		return &errs.Error{Code: errs.Failed, Message: errs.Message(err), Err: err}
	}
	return err
}

// runner opens the store and builds a Runner writing to it.
func (a *app) runner(c *cobra.Command, o runOptions) (*pipeline.Runner, tracking.Store, error) {
	return a.runnerFrom(c, o, nil)
}

// runnerFrom is runner on the store early is opening, when not nil.
func (a *app) runnerFrom(c *cobra.Command, o runOptions, early *storeOpening) (*pipeline.Runner, tracking.Store, error) {
	st, loc, err := a.openStoreFrom(c.Context(), early)
	if err != nil {
		return nil, nil, err
	}
	storeDir := loc.Dir
	return &pipeline.Runner{
		Store:       st,
		Kinds:       a.kinds(),
		TrackingURI: loc.URI,
		Version:     a.version,
		Stdout:      a.stdout,
		Stderr:      a.stderr,
		StoreDir:    storeDir,
		Cache:       st,
		CacheDir:    filepath.Join(storeDir, "cache"),
		NoCache:     o.noCache,
		ModelSpecs:  catalog.Builtin().Lookup,
		Observer:    a.stepObserver(),
	}, st, nil
}

// stepObserver shows long steps on a terminal; elsewhere the step lines
// the runner prints are enough.
func (a *app) stepObserver() pipeline.StepObserver {
	if !isTerminal(a.stderr) {
		return nil
	}
	return newStepSpinner(a.stderr)
}

// parseParams splits each -P name=value on its first '='; a name given
// twice is an error.
func parseParams(raw []string) ([]project.KV, error) {
	seen := map[string]bool{}
	out := make([]project.KV, 0, len(raw))
	for _, p := range raw {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errs.Errorf(errs.Invalid, "parameter %q must be written name=value", p)
		}
		if seen[k] {
			return nil, errs.Errorf(errs.Invalid, "parameter %q is given more than once", k)
		}
		seen[k] = true
		out = append(out, project.KV{Key: k, Value: v})
	}
	return out, nil
}

// printTrials writes a sweep's trials as a table.
func printTrials(a *app, sw *sweep.Sweep, trials []sweep.Trial) error {
	fmt.Fprintf(a.stderr, "%s\n", sw.Describe())
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	var names []string
	for _, ax := range sw.Axes {
		names = append(names, ax.Name)
	}
	fmt.Fprintf(tw, "TRIAL\t%s\n", strings.ToUpper(strings.Join(names, "\t")))
	for _, t := range trials {
		row := make([]string, len(names))
		for i, n := range names {
			row[i] = termSafe(t.Values[n])
		}
		fmt.Fprintf(tw, "%d\t%s\n", t.Index+1, strings.Join(row, "\t"))
	}
	return tw.Flush()
}
