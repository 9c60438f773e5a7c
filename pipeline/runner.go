// Package pipeline runs an MLproject entry point as one tracked run: it
// checks the parameters, captures the run's provenance, creates the run,
// executes the command or the steps in dependency order, and ends the run
// FINISHED, FAILED or KILLED.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// Runner executes entry points against a tracking store.
type Runner struct {
	Store       tracking.Store
	Kinds       *steps.Registry
	TrackingURI string    // handed to command steps as MLRUN_TRACKING_URI
	Version     string    // mlrun's version, recorded on every run
	Stdout      io.Writer // where steps stream their output
	Stderr      io.Writer // where the runner reports progress
	StoreDir    string    // the store's directory, kept out of the git dirty check
	// Observer, when set, hears about steps as they start, progress and end
	// (for a live display).
	Observer StepObserver
	// HeartbeatEvery is how often a running run says it is alive; zero means 10 s.
	HeartbeatEvery time.Duration

	// Cache, when set, lets a step reuse an identical earlier execution;
	// CacheDir keeps the data sets it stores. NoCache turns the cache off:
	// every step runs and nothing is recorded. ModelSpecs loads cached models.
	Cache      tracking.StepCache
	CacheDir   string
	NoCache    bool
	ModelSpecs func(name string) (ml.Spec, bool)
	// Artifacts opens the runs' artifact URIs; nil: those Store reaches
	// (artifact.SchemesFor). Runs whose repository is not a local directory
	// (an mlrun server's mlflow-artifacts:/) are written to a temporary
	// staging directory and uploaded after every step.
	Artifacts *artifact.Schemes
	// Provenance, when set, is the project's provenance captured ahead
	// (StartProvenance), used instead of capturing it again; it must have
	// been started with this Runner's Version and StoreDir.
	Provenance *Provenance

	flight  *flightGroup          // shared by the trials of a sweep
	capture *provenanceCapture    // the sweep's, reused by its trials
	bgSlots chan struct{}         // background work (plots) of all runs at once; nil: per run
	shared  *artifact.SharedFiles // artifact files the runs store once (a sweep's); nil: none

	onCreated   func(runID string)   // told the run id as soon as the run exists
	onStepsDone func()               // told when the steps succeeded and only background work is left
	unowned     bool                 // runs are created SCHEDULED, for another process (Submit)
	exp         *tracking.Experiment // the sweep's experiment, looked up once (SubmitSweep)
}

// StepObserver is told how a run's steps go. Its methods are called from
// the goroutine that runs the steps.
type StepObserver interface {
	StepStarted(step, kind string)
	StepProgress(step, key string, n int, value float64)
	StepFinished(o StepOutcome)
}

// Request names what to run.
type Request struct {
	Project     *project.Project
	EntryPoint  string // "" means "main"
	Params      []project.KV
	Experiment  string // "" means the Default experiment
	RunName     string
	ParentRunID string
	Seed        *int64            // nil: the param "seed" if declared, else a random seed
	Tags        map[string]string // extra tags
	// RunID, when set, names an existing SCHEDULED run (made by Submit) to
	// execute instead of creating a run; the other fields must describe it.
	// Claimed says this process has already claimed it (Store.ClaimRun).
	RunID   string
	Claimed bool
}

// StepOutcome is what happened to one step.
type StepOutcome struct {
	Name     string
	Status   string // "finished", "skipped" or "failed"
	Duration time.Duration
	Message  string
}

// Outcome is what a run did.
type Outcome struct {
	RunID   string
	Status  tracking.RunStatus
	Steps   []StepOutcome
	Outputs map[string]map[string]any // by step, then output name
}

// Run executes the request as one run. The returned error carries an errs
// code: errs.Failed when a step failed, errs.Killed when ctx was cancelled.
// An Outcome with the run id is returned whenever a run was created.
func (r *Runner) Run(ctx context.Context, req Request) (*Outcome, error) {
	plan, err := Prepare(req, r.Kinds)
	if err != nil {
		return nil, err
	}
	return r.RunPlan(ctx, req, plan)
}

// RunPlan executes a prepared plan.
func (r *Runner) RunPlan(ctx context.Context, req Request, plan *Plan) (*Outcome, error) {
	stderr := r.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	seed, params, tags, err := runRecord(req, plan)
	if err != nil {
		return nil, err
	}
	var info *tracking.RunInfo
	var exp *tracking.Experiment
	var capture *provenanceCapture
	if req.RunID != "" {
		info, exp, capture, err = r.claimRun(ctx, req.RunID, req.Claimed)
	} else {
		info, exp, capture, err = r.createRun(ctx, req, plan, seed, params, tags, true)
	}
	if err != nil {
		return nil, err
	}
	out := &Outcome{RunID: info.ID, Status: tracking.StatusRunning, Outputs: map[string]map[string]any{}}
	if r.onCreated != nil {
		r.onCreated(info.ID)
	}
	fmt.Fprintf(stderr, "mlrun: run %s (%s) started in experiment %q\n", info.ID, info.Name, exp.Name)

	stopBeat := r.heartbeat(ctx, info.ID)
	runErr := func() (err error) {
		defer recoverPanic(&err, "run "+info.ID)
		return r.execute(ctx, plan, info, seed, capture, out, req.RunID == "")
	}()
	stopBeat()

	// The run ends whatever ctx says: use a context that outlives it.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	status := tracking.StatusFinished
	var endTags []tracking.Tag
	switch {
	case runErr == nil:
	case asPanic(runErr) != nil:
		// A bug in mlrun: the run fails and the command exits 70.
		status = tracking.StatusFailed
		endTags = append(endTags, tracking.Tag{Key: "mlrun.error", Value: errs.Message(runErr)})
		r.recordPanic(info, asPanic(runErr), stderr)
	case ctx.Err() != nil:
		status = tracking.StatusKilled
		endTags = append(endTags, tracking.Tag{Key: "mlrun.error", Value: "interrupted: " + context.Cause(ctx).Error()})
		runErr = errs.Errorf(errs.Killed, "run %s was interrupted and is marked KILLED", info.ID)
	default:
		status = tracking.StatusFailed
		endTags = append(endTags, tracking.Tag{Key: "mlrun.error", Value: errs.Message(runErr)})
		if errs.Code(runErr) == errs.Internal {
			runErr = &errs.Error{Code: errs.Failed, Message: errs.Message(runErr), Err: runErr}
		}
	}
	if len(endTags) > 0 {
		if err := r.Store.LogBatch(endCtx, info.ID, nil, nil, endTags); err != nil {
			fmt.Fprintf(stderr, "mlrun: could not record the error on run %s: %v\n", info.ID, err)
		}
	}
	end := time.Now().UnixMilli()
	if err := r.Store.UpdateRun(endCtx, info.ID, tracking.RunUpdate{Status: &status, EndTime: &end}); err != nil {
		return out, fmt.Errorf("end run %s: %w", info.ID, err)
	}
	out.Status = status
	fmt.Fprintf(stderr, "mlrun: run %s %s\n", info.ID, status)
	return out, runErr
}

// runRecord returns what a new run records from the start: its seed,
// params and the tags that follow from the request.
func runRecord(req Request, plan *Plan) (int64, []tracking.Param, map[string]string, error) {
	seed, err := runSeed(req.Seed, plan.Params)
	if err != nil {
		return 0, nil, nil, err
	}
	params := make([]tracking.Param, 0, len(plan.Params.Strings)+len(plan.Params.Extra))
	for _, k := range slices.Sorted(maps.Keys(plan.Params.Strings)) {
		params = append(params, tracking.Param{Key: k, Value: plan.Params.Strings[k]})
	}
	for _, kv := range plan.Params.Extra {
		params = append(params, tracking.Param{Key: kv.Key, Value: kv.Value})
	}
	tags := map[string]string{}
	if req.ParentRunID != "" {
		tags["mlflow.parentRunId"] = req.ParentRunID
	}
	// Which parameters were undeclared -P values (appended to a command),
	// so that a reproduction passes exactly those again.
	// Always written, empty when there are none.
	extra := make([]string, len(plan.Params.Extra))
	for i, kv := range plan.Params.Extra {
		extra[i] = kv.Key
	}
	tags[ExtraParamsTag] = strings.Join(extra, ",")
	// Parameters that are seeds are recorded as seeds too.
	for _, name := range []string{"seed", "random_state"} {
		if v, ok := plan.Params.Strings[name]; ok {
			tags["mlrun.seed.params."+name] = v
		}
	}
	return seed, params, tags, nil
}

// recordPanic writes the panic's message and stack to the run's artifacts
// as panic.txt, for a bug report, and says so on stderr.
func (r *Runner) recordPanic(info *tracking.RunInfo, p *PanicError, stderr io.Writer) {
	ctx := context.Background()
	staging, err := r.stage(info)
	if err == nil {
		err = os.WriteFile(filepath.Join(staging.Dir, PanicArtifact), fmt.Appendf(nil, "mlrun %s: %v\n\n%s", r.Version, p, p.Stack), 0o644)
		if err == nil {
			err = staging.Sync(ctx)
		}
		staging.Close()
	}
	if err != nil {
		fmt.Fprintf(stderr, "mlrun: could not save the stack of the panic: %v\n", err)
		return
	}
	fmt.Fprintf(stderr, "mlrun: %v: this is a bug in mlrun; the stack is in the run's artifact %s\n", p, PanicArtifact)
}

// PanicArtifact is the artifact that holds the stack of a panic that ended a run.
const PanicArtifact = "panic.txt"

// schemes returns Artifacts, or those the store reaches.
func (r *Runner) schemes() *artifact.Schemes {
	if r.Artifacts != nil {
		return r.Artifacts
	}
	return artifact.SchemesFor(r.Store)
}

// stage opens the run's artifact repository and returns the local
// directory its artifacts are written to (see artifact.Stage); Close it
// after the last Sync.
func (r *Runner) stage(info *tracking.RunInfo) (*artifact.Staging, error) {
	repo, err := r.schemes().Open(info.ArtifactURI)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", info.ID, err)
	}
	return artifact.Stage(repo)
}

// createRun captures the project's provenance (or reuses the sweep's) and
// creates the run with its params and tags, in one transaction.
//
// With late, a run whose provenance the command is still capturing
// (Runner.Provenance) is created at once, without the provenance's tags:
// the returned capture is pending, and execute records them before the
// first step (see provenanceCapture.resolve).
func (r *Runner) createRun(ctx context.Context, req Request, plan *Plan, seed int64, params []tracking.Param, extra map[string]string, late bool) (*tracking.RunInfo, *tracking.Experiment, *provenanceCapture, error) {
	capture := r.capture
	if capture == nil {
		var err error
		switch {
		case r.Provenance != nil && r.Provenance.dir == plan.Project.Dir && late && !r.Provenance.done():
			capture = &provenanceCapture{tags: map[string]string{}, user: provenance.CurrentSystem(r.Version).User,
				pending: r.Provenance}
		case r.Provenance != nil && r.Provenance.dir == plan.Project.Dir:
			capture, err = r.Provenance.wait()
		default:
			capture, err = captureProvenance(ctx, plan.Project.Dir, r.Version, r.StoreDir)
		}
		if err != nil {
			return nil, nil, nil, err
		}
	}
	expName := req.Experiment
	if expName == "" {
		expName = "Default"
	}
	exp := r.exp
	if exp == nil || exp.Name != expName {
		var err error
		if exp, err = r.Store.EnsureExperiment(ctx, expName); err != nil {
			return nil, nil, nil, err
		}
	}
	tags := map[string]string{}
	for k, v := range capture.tags {
		tags[k] = v
	}
	tags["mlflow.source.type"] = "PROJECT"
	tags["mlflow.project.entryPoint"] = plan.EntryPoint.Name
	tags["mlrun.project"] = plan.Project.Name
	tags["mlrun.seed"] = strconv.FormatInt(seed, 10)
	for k, v := range extra {
		tags[k] = v
	}
	for k, v := range req.Tags {
		tags[k] = v
	}
	if capture.pending != nil {
		capture = &provenanceCapture{tags: capture.tags, user: capture.user, pending: capture.pending, set: tags}
	}
	tagList := make([]tracking.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		tagList = append(tagList, tracking.Tag{Key: k, Value: tags[k]})
	}
	host, _ := os.Hostname()
	pid := os.Getpid()
	var status tracking.RunStatus
	if r.unowned {
		host, pid = "", 0 // the process that will execute it claims it
		status = tracking.StatusScheduled
	}
	info, err := r.Store.CreateRun(ctx, tracking.NewRun{
		ExperimentID: exp.ID,
		Name:         req.RunName,
		UserID:       capture.user,
		Params:       params,
		Tags:         tagList,
		Host:         host,
		PID:          pid,
		Status:       status,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return info, exp, capture, nil
}

// heartbeat records liveness until the returned function is called.
func (r *Runner) heartbeat(ctx context.Context, runID string) (stop func()) {
	every := r.HeartbeatEvery
	if every == 0 {
		every = 10 * time.Second
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_ = r.Store.Heartbeat(ctx, runID)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// ExtraParamsTag names, comma-separated, the params of a run that were
// given with -P without being declared by the entry point.
const ExtraParamsTag = "mlrun.params.extra"

// DefaultSeed is the run's seed when neither --seed nor a "seed" parameter
// gives one. mlrun never draws a seed at random: the same inputs give the
// same results (and reuse the step cache) unless a seed is changed on purpose.
const DefaultSeed = 0

// runSeed picks the run's seed: the one asked for, the "seed" parameter,
// or DefaultSeed. It is recorded on the run as mlrun.seed.
func runSeed(asked *int64, p *project.Params) (int64, error) {
	if asked != nil {
		return *asked, nil
	}
	switch v := p.Values["seed"].(type) {
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	}
	return DefaultSeed, nil
}

// relTo returns path relative to dir when it lies inside it.
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return path
}
