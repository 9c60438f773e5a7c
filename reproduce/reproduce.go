// Package reproduce re-runs a recorded run exactly and says whether it
// came out the same.
//
// NewPlan reads the original run and decides where and how to re-run it:
// in place when the project's checkout is still at the recorded commit with
// the recorded changes (if any); otherwise in a temporary worktree holding
// the recorded commit (a one-commit local clone made with go-git), with the
// run's recorded code.diff applied when it ran on a dirty tree. A run
// recorded outside git re-runs in its recorded project directory, where its
// code cannot be checked. Before anything runs, the plan lists the drift
// between what the run recorded and what a re-run would use now: data files,
// lockfiles, the mlrun build and parameters (see Drift). Plan.Run then executes the same entry
// point with every recorded parameter, the same seed and the same
// experiment, as a new run tagged mlrun.reproducedFrom, and compares the two
// runs (see Compare).
package reproduce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/pipeline"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// Tags read from the original run and written on the reproduction.
const (
	TagProjectDir     = "mlrun.project.dir"
	TagGitSubdir      = "mlrun.git.subdir"
	TagEntryPoint     = "mlflow.project.entryPoint"
	TagSeed           = "mlrun.seed"
	TagDatasetPrefix  = "mlrun.dataset."
	TagDatasetSummary = "mlrun.dataset.sha256"
	TagSourceName     = "mlflow.source.name"
	TagSweepTrials    = "mlrun.sweep.trials" // set on a sweep's parent run only

	// TagReproducedFrom is set on the new run: the id of the original.
	TagReproducedFrom = "mlrun.reproducedFrom"
	// TagReproduceMode is set on the new run: how it was re-run (a Mode).
	TagReproduceMode = "mlrun.reproduce.mode"
	// TagDrift is set on the new run when drift was allowed: a summary.
	TagDrift = "mlrun.drift"
	// TagDriftPrefix starts one tag per drift: mlrun.drift.<kind>.<name>.
	TagDriftPrefix = "mlrun.drift."
)

// Mode is where the reproduction runs.
type Mode string

// Modes.
const (
	// InPlace: the checkout is at the recorded commit with exactly the
	// recorded changes, so the run repeats in the recorded project directory.
	InPlace Mode = "in place"
	// Worktree: a temporary worktree at the recorded commit.
	Worktree Mode = "worktree"
	// WorktreeWithDiff: a temporary worktree at the recorded commit with the
	// run's recorded code.diff applied.
	WorktreeWithDiff Mode = "worktree with diff"
	// OutsideGit: the run was not recorded at a git commit; it repeats in
	// its recorded project directory and its code cannot be checked.
	OutsideGit Mode = "outside git"
)

// Options tune NewPlan and Plan.Run.
type Options struct {
	// Kinds are the step kinds the project is loaded against (required; the
	// same registry as the Runner's).
	Kinds *steps.Registry
	// StoreDir is the tracking store's directory, left out of the git dirty
	// check as pipeline.Runner.StoreDir is.
	StoreDir string
	// AllowDrift re-runs despite drift and records it on the new run.
	AllowDrift bool
	// Tolerance is how far apart two metric values may be and still be the
	// same; 0 means exactly equal.
	Tolerance float64
	// TempDir is where the temporary worktree is made; "" is os.TempDir().
	TempDir string
	// Scheduled plans the first execution of a SCHEDULED run (one that an
	// executor such as Slurm runs on another machine) instead of the
	// re-run of a FINISHED one: the same checkout and drift checks apply.
	Scheduled bool
	// AlwaysWorktree checks the recorded commit out in a temporary
	// worktree even when the recorded checkout matches it, so that later
	// edits there cannot change the run.
	AlwaysWorktree bool
	// Artifacts opens the recorded run's artifacts (code.diff, saved
	// lockfiles); nil: those the store reaches (artifact.SchemesFor).
	Artifacts *artifact.Schemes
}

// Plan is how a run will be reproduced. Close it to remove its temporary
// worktree.
type Plan struct {
	Original   *tracking.Run
	Experiment string       // the original's experiment, by name
	EntryPoint string       // the original's entry point
	Params     []project.KV // every parameter to pass, as recorded
	Seed       *int64       // the recorded seed; nil when none was recorded
	Mode       Mode
	Commit     string // the recorded commit; "" outside git
	// RecordedDir is the project directory the original ran in (and, in a
	// git repository, the checkout that drift is measured against).
	RecordedDir string
	// Dir is the project directory the reproduction runs in: RecordedDir,
	// or the project's directory inside the temporary worktree.
	Dir string
	// Drift lists what differs between the recorded run and a re-run now.
	Drift []Drift

	opts     Options
	repo     artifact.Repository // the original's artifacts
	project  *project.Project    // loaded from Dir
	tempRoot string              // the temporary worktree, removed by Close
}

// NewPlan reads run runID (a full id or a unique prefix) from st and
// prepares its reproduction: the checkout (a temporary worktree when the
// recorded commit or changes are not what is checked out now), the
// parameters, the seed and the drift report. It creates no run. On error
// nothing is left behind; otherwise the caller must Close the plan.
func NewPlan(ctx context.Context, st tracking.Store, runID string, opts Options) (*Plan, error) {
	if opts.Kinds == nil {
		return nil, fmt.Errorf("reproduce: Options.Kinds is required")
	}
	id, err := st.ResolveRunID(ctx, runID)
	if err != nil {
		return nil, err
	}
	run, err := st.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &Plan{Original: run, opts: opts}
	schemes := opts.Artifacts
	if schemes == nil {
		schemes = artifact.SchemesFor(st)
	}
	if p.repo, err = schemes.Open(run.Info.ArtifactURI); err != nil {
		return nil, fmt.Errorf("run %s: %w", run.Info.ID, err)
	}
	if err := p.prepare(ctx, st); err != nil {
		p.Close() // nothing is left behind
		return nil, err
	}
	return p, nil
}

// prepare fills the plan in; NewPlan removes the worktree if it fails.
func (p *Plan) prepare(ctx context.Context, st tracking.Store) error {
	if err := p.readRecord(ctx, st); err != nil {
		return err
	}
	if err := p.checkout(ctx); err != nil {
		return err
	}
	id := p.Original.Info.ID
	var err error
	if p.project, err = project.Load(p.Dir, p.opts.Kinds); err != nil {
		return fmt.Errorf("load the project of run %s from %s: %w", id, p.Dir, err)
	}
	ep, err := p.project.EntryPoint(p.EntryPoint)
	if err != nil {
		return fmt.Errorf("run %s: %w", id, err)
	}
	p.Params = recordedParams(p.Original, ep)
	return p.findDrift(ctx)
}

// readRecord reads what the run recorded about itself.
func (p *Plan) readRecord(ctx context.Context, st tracking.Store) error {
	run := p.Original
	id := run.Info.ID
	switch {
	case p.opts.Scheduled && run.Info.Status != tracking.StatusScheduled:
		return errs.Errorf(errs.Invalid, "run %s is %s; only a SCHEDULED run can be executed", id, run.Info.Status)
	case !p.opts.Scheduled && run.Info.Status != tracking.StatusFinished:
		return errs.Errorf(errs.Invalid, "run %s is %s; only a FINISHED run can be reproduced", id, run.Info.Status)
	}
	if _, ok := run.Tag(TagSweepTrials); ok {
		return errs.Errorf(errs.Invalid, "run %s is the parent of a sweep and trained nothing itself; reproduce one of its trials (child runs)", id)
	}
	exp, err := st.GetExperiment(ctx, run.Info.ExperimentID)
	if err != nil {
		return fmt.Errorf("experiment of run %s: %w", id, err)
	}
	p.Experiment = exp.Name
	p.RecordedDir, _ = run.Tag(TagProjectDir)
	p.Commit, _ = run.Tag(provenance.TagGitCommit)
	ep, hasEP := run.Tag(TagEntryPoint)
	source, _ := run.Tag(TagSourceName)
	switch {
	case p.RecordedDir == "" && !hasEP && source != "":
		// Logged by a program of its own (the MLflow client, a notebook):
		// mlrun did not launch it and cannot launch it again.
		return errs.Errorf(errs.Invalid, "run %s was logged by %q, which mlrun did not launch and cannot re-run; only runs started with mlrun run can be reproduced", id, source)
	case p.RecordedDir == "" && p.Commit == "":
		return errs.Errorf(errs.Invalid, "run %s recorded neither its project directory (tag %s) nor a git commit (tag %s), so there is no code to re-run; only runs started with mlrun run can be reproduced", id, TagProjectDir, provenance.TagGitCommit)
	case p.RecordedDir == "":
		return errs.Errorf(errs.Invalid, "run %s recorded commit %s but not its project directory (tag %s), so the repository to check it out from is unknown", id, short(p.Commit), TagProjectDir)
	case !hasEP || ep == "":
		return errs.Errorf(errs.Invalid, "run %s recorded no entry point (tag %s); only runs started with mlrun run can be reproduced", id, TagEntryPoint)
	}
	p.EntryPoint = ep
	if s, ok := run.Tag(TagSeed); ok {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errs.Errorf(errs.Invalid, "run %s recorded seed %q (tag %s), which is not an integer", id, s, TagSeed)
		}
		p.Seed = &seed
	}
	if fi, err := os.Stat(p.RecordedDir); err != nil || !fi.IsDir() {
		return errs.Errorf(errs.NotFound, "the project directory %s recorded by run %s does not exist any more", p.RecordedDir, id)
	}
	return nil
}

// Summary is one line saying how the run will be re-run, e.g. "re-running
// <id> at commit abc1234 in a temporary worktree (with its recorded diff)".
func (p *Plan) Summary() string {
	id := p.Original.Info.ID
	switch p.Mode {
	case InPlace:
		if p.dirty() {
			return fmt.Sprintf("re-running %s at commit %s with its recorded changes in %s (the checkout matches them)", id, short(p.Commit), p.RecordedDir)
		}
		return fmt.Sprintf("re-running %s at commit %s in %s (the checkout is at that commit)", id, short(p.Commit), p.RecordedDir)
	case Worktree:
		return fmt.Sprintf("re-running %s at commit %s in a temporary worktree", id, short(p.Commit))
	case WorktreeWithDiff:
		return fmt.Sprintf("re-running %s at commit %s in a temporary worktree (with its recorded diff)", id, short(p.Commit))
	}
	return fmt.Sprintf("re-running %s in %s, which was not at a git commit when it ran: its code cannot be checked", id, p.RecordedDir)
}

// dirty reports whether the original ran on a tree with uncommitted changes.
func (p *Plan) dirty() bool {
	v, _ := p.Original.Tag(provenance.TagGitDirty)
	return v == "true"
}

// Close removes the temporary worktree, if any. It is safe to call twice.
func (p *Plan) Close() error {
	if p == nil || p.tempRoot == "" {
		return nil
	}
	root := p.tempRoot
	p.tempRoot = ""
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("remove the temporary worktree %s: %w", root, err)
	}
	return nil
}

// Result is a finished reproduction.
type Result struct {
	Summary string   `json:"plan"`
	Drift   []Drift  `json:"drift"`
	Verdict *Verdict `json:"verdict"`
}

// Run re-runs the plan with r (configured with the same store and kinds)
// and compares the new run with the original. Drift makes it refuse with
// errs.Invalid unless Options.AllowDrift is set; then the drift is recorded
// on the new run. A reproduction that fails returns its run's error
// (errs.Failed). A run that differs is not an error: see Verdict.Reproduced.
// Every step really runs: r's step cache may record the new run's steps but
// is never replayed (a replay would prove nothing).
func (p *Plan) Run(ctx context.Context, r *pipeline.Runner) (*Result, error) {
	id := p.Original.Info.ID
	if len(p.Drift) > 0 && !p.opts.AllowDrift {
		return nil, errs.Errorf(errs.Invalid, "run %s cannot be re-run as recorded: %s; pass --allow-drift to re-run anyway and record the drift on the new run", id, driftSummary(p.Drift))
	}
	tags := map[string]string{
		TagReproducedFrom: id,
		TagReproduceMode:  string(p.Mode),
	}
	if p.tempRoot != "" {
		// Record where the code really lives, not the temporary copy.
		tags[TagProjectDir] = p.RecordedDir
		if v, ok := p.Original.Tag(TagSourceName); ok {
			tags[TagSourceName] = v
		}
	}
	for k, v := range driftTags(p.Drift) {
		tags[k] = v
	}
	req := pipeline.Request{
		Project:    p.project,
		EntryPoint: p.EntryPoint,
		Params:     p.Params,
		Experiment: p.Experiment,
		Seed:       p.Seed,
		Tags:       tags,
	}
	plan, err := pipeline.Prepare(req, r.Kinds)
	if err != nil {
		return nil, fmt.Errorf("prepare the re-run of %s: %w", id, err)
	}
	runner := *r
	runner.NoCache = true
	out, err := runner.RunPlan(ctx, req, plan)
	if err != nil {
		// Once the new run exists, its failure is a failed run (exit 1),
		// even when a step found bad input (a broken data file, say); an
		// interruption and a panic (a bug, exit 70) keep their codes.
		var panicked *pipeline.PanicError
		if out != nil && out.RunID != "" && errs.Code(err) != errs.Killed && !errors.As(err, &panicked) {
			return nil, errs.Errorf(errs.Failed, "the re-run %s of run %s failed: %w", out.RunID, id, err)
		}
		return nil, err
	}
	v, err := Compare(ctx, r.Store, id, out.RunID, p.opts.Tolerance)
	if err != nil {
		return nil, err
	}
	return &Result{Summary: p.Summary(), Drift: p.Drift, Verdict: v}, nil
}

// recordedParams returns the parameters to pass: every parameter the entry
// point declares, with its recorded value (defaults included, so that a
// default changed since does not change the run), and the undeclared
// parameters that were given with -P, as the run's mlrun.params.extra tag
// names them. For runs without that tag, every other recorded param is
// taken as given, except those whose key starts with the name of one of the
// entry point's steps and a dot ("train.C"), which that step logged.
func recordedParams(run *tracking.Run, ep *project.EntryPoint) []project.KV {
	declared := map[string]bool{}
	for _, d := range ep.Params {
		declared[d.Name] = true
	}
	stepNames := []string{ep.Name}
	for _, s := range ep.Steps {
		stepNames = append(stepNames, s.Name)
	}
	var out []project.KV
	for _, d := range ep.Params {
		if v, ok := run.Param(d.Name); ok {
			out = append(out, project.KV{Key: d.Name, Value: v})
		}
	}
	// Runs record which undeclared params were given; older runs are guessed.
	if extra, ok := run.Tag(pipeline.ExtraParamsTag); ok {
		for _, key := range strings.Split(extra, ",") {
			if v, ok := run.Param(key); ok && key != "" {
				out = append(out, project.KV{Key: key, Value: v})
			}
		}
		return out
	}
	for _, prm := range run.Params {
		if declared[prm.Key] || loggedByStep(prm.Key, stepNames) {
			continue
		}
		out = append(out, project.KV{Key: prm.Key, Value: prm.Value})
	}
	return out
}

// loggedByStep reports whether key is "<step>.<something>" for one of steps.
func loggedByStep(key string, stepNames []string) bool {
	for _, s := range stepNames {
		if strings.HasPrefix(key, s+".") {
			return true
		}
	}
	return false
}

// short abbreviates a commit hash as git does.
func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
