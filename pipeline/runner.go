// Package pipeline runs an MLproject entry point as one tracked run: it
// checks the parameters, captures the run's provenance, creates the run,
// executes the command or the steps in dependency order, and ends the run
// FINISHED, FAILED or KILLED.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
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
	// HeartbeatEvery is how often a running run says it is alive; zero means 10 s.
	HeartbeatEvery time.Duration

	// Cache, when set, lets a step reuse an identical earlier execution;
	// CacheDir keeps the data sets it stores. NoCache turns the cache off:
	// every step runs and nothing is recorded. ModelSpecs loads cached models.
	Cache      CacheStore
	CacheDir   string
	NoCache    bool
	ModelSpecs func(name string) (ml.Spec, bool)

	flight  *flightGroup       // shared by the trials of a sweep
	capture *provenanceCapture // the sweep's, reused by its trials

	onCreated func(runID string) // told the run id as soon as the run exists
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

// Plan is an entry point whose parameters have been checked: everything a
// run needs that can be known before the run exists.
type Plan struct {
	Project    *project.Project
	EntryPoint *project.EntryPoint
	Params     *project.Params
	Command    string // rendered command, for command entry points
}

// Prepare checks the request without creating anything: the entry point
// exists, the parameters are complete and well typed, and every step input
// that depends only on parameters passes its kind's checks (so that C=-1 or
// an unknown estimator is reported before a run exists).
func Prepare(req Request, kinds *steps.Registry) (*Plan, error) {
	name := req.EntryPoint
	if name == "" {
		name = "main"
	}
	ep, err := req.Project.EntryPoint(name)
	if err != nil {
		return nil, err
	}
	params, err := ep.ResolveParams(req.Params)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Project: req.Project, EntryPoint: ep, Params: params}
	if len(ep.Steps) == 0 {
		if plan.Command, err = ep.RenderCommand(params); err != nil {
			return nil, err
		}
	}
	if err := checkSteps(ep, params, kinds); err != nil {
		return nil, err
	}
	return plan, nil
}

// checkSteps evaluates the inputs that need nothing but parameters and
// hands them to each kind's Check.
func checkSteps(ep *project.EntryPoint, params *project.Params, kinds *steps.Registry) error {
	env := map[string]any{"params": params.Values, "steps": map[string]any{}, "metrics": map[string]any{},
		"run": map[string]any{"id": "", "name": "", "experiment_id": ""}}
	for _, st := range ep.Steps {
		kind, ok := kinds.Lookup(st.Uses)
		if !ok {
			return errs.Errorf(errs.Invalid, "%s: unknown step kind %q", st.Pos, st.Uses)
		}
		// A step whose condition is already false will not run: nothing to check.
		if st.When != nil {
			if run, err := st.When.EvalBool(env); err == nil && !run {
				continue
			}
		}
		decl := map[string]steps.Input{}
		for _, in := range kind.Inputs() {
			decl[in.Name] = in
		}
		values := steps.Values{}
		for _, in := range st.With {
			v, err := in.Value.Eval(env)
			if err != nil || v == nil {
				continue // needs an earlier step's output: checked when it runs
			}
			cv, err := steps.Convert(decl[in.Name].Type, v)
			if err != nil {
				return errs.Errorf(errs.Invalid, "%s: step %s: input %q: %v", in.Pos, st.Name, in.Name, err)
			}
			values[in.Name] = cv
		}
		if err := kind.Check(values); err != nil {
			return errs.Errorf(errs.Invalid, "%s: step %s: %v", st.Pos, st.Name, err)
		}
	}
	return nil
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
	seed, err := runSeed(req.Seed, plan.Params)
	if err != nil {
		return nil, err
	}
	params := make([]tracking.Param, 0, len(plan.Params.Strings)+len(plan.Params.Extra))
	for _, k := range sortedKeys(plan.Params.Strings) {
		params = append(params, tracking.Param{Key: k, Value: plan.Params.Strings[k]})
	}
	for _, kv := range plan.Params.Extra {
		params = append(params, tracking.Param{Key: kv.Key, Value: kv.Value})
	}
	tags := map[string]string{}
	if req.ParentRunID != "" {
		tags["mlflow.parentRunId"] = req.ParentRunID
	}
	// Parameters that are seeds are recorded as seeds too.
	for _, name := range []string{"seed", "random_state"} {
		if v, ok := plan.Params.Strings[name]; ok {
			tags["mlrun.seed.params."+name] = v
		}
	}
	info, exp, capture, err := r.createRun(ctx, req, plan, seed, params, tags)
	if err != nil {
		return nil, err
	}
	out := &Outcome{RunID: info.ID, Status: tracking.StatusRunning, Outputs: map[string]map[string]any{}}
	if r.onCreated != nil {
		r.onCreated(info.ID)
	}
	fmt.Fprintf(stderr, "mlrun: run %s (%s) started in experiment %q\n", info.ID, info.Name, exp.Name)

	stopBeat := r.heartbeat(ctx, info.ID)
	runErr := r.execute(ctx, plan, info, seed, capture, out)
	stopBeat()

	// The run ends whatever ctx says: use a context that outlives it.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	status := tracking.StatusFinished
	var endTags []tracking.Tag
	switch {
	case runErr == nil:
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

// artifactDirOf returns the run's artifact directory, created.
func artifactDirOf(info *tracking.RunInfo) (string, error) {
	dir, err := artifact.DirFromURI(info.ArtifactURI)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create artifact directory: %w", err)
	}
	return dir, nil
}

// createRun captures the project's provenance (or reuses the sweep's) and
// creates the run with its params and tags, in one transaction.
func (r *Runner) createRun(ctx context.Context, req Request, plan *Plan, seed int64, params []tracking.Param, extra map[string]string) (*tracking.RunInfo, *tracking.Experiment, *provenanceCapture, error) {
	capture := r.capture
	if capture == nil {
		var err error
		if capture, err = captureProvenance(ctx, plan, r.Version, r.StoreDir); err != nil {
			return nil, nil, nil, err
		}
	}
	expName := req.Experiment
	if expName == "" {
		expName = "Default"
	}
	exp, err := r.Store.EnsureExperiment(ctx, expName)
	if err != nil {
		return nil, nil, nil, err
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
	tagList := make([]tracking.Tag, 0, len(tags))
	for _, k := range sortedKeys(tags) {
		tagList = append(tagList, tracking.Tag{Key: k, Value: tags[k]})
	}
	host, _ := os.Hostname()
	info, err := r.Store.CreateRun(ctx, tracking.NewRun{
		ExperimentID: exp.ID,
		Name:         req.RunName,
		UserID:       capture.user,
		Params:       params,
		Tags:         tagList,
		Host:         host,
		PID:          os.Getpid(),
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

// execute runs the plan's steps (or its command as one step) on the run.
func (r *Runner) execute(ctx context.Context, plan *Plan, info *tracking.RunInfo, seed int64, capture *provenanceCapture, out *Outcome) error {
	stderr := r.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	artifactDir, err := artifactDirOf(info)
	if err != nil {
		return err
	}
	log := &runLogger{store: r.Store, runID: info.ID, artifactDir: artifactDir}
	if err := capture.saveArtifacts(ctx, log); err != nil {
		return err
	}

	datasets := map[string]string{}
	recordDataset := func(path, sum string) { datasets[path] = sum }
	// Files given as path parameters are datasets the run reads.
	for _, p := range plan.EntryPoint.Params {
		if p.Type != "path" {
			continue
		}
		if v, ok := plan.Params.Values[p.Name].(string); ok {
			if sum, err := provenance.HashFile(v); err == nil {
				recordDataset(relTo(plan.Project.Dir, v), sum)
			}
		}
	}

	env := &steps.Env{
		RunID:          info.ID,
		ExperimentID:   info.ExperimentID,
		TrackingURI:    r.TrackingURI,
		ProjectDir:     plan.Project.Dir,
		Seed:           seed,
		Params:         plan.Params.Values,
		Log:            log,
		Store:          r.Store,
		Stdout:         r.Stdout,
		Stderr:         stderr,
		DatasetVersion: recordDataset,
	}

	var runErr error
	if len(plan.EntryPoint.Steps) == 0 {
		runErr = r.runCommand(ctx, plan, env, out)
	} else {
		runErr = r.runSteps(ctx, plan, info, env, out, log)
	}

	// Record what was learnt along the way, even when a step failed.
	tags := map[string]string{}
	first := ""
	for _, path := range sortedKeys(datasets) {
		tags["mlrun.dataset."+tagSafe(path)] = datasets[path]
		if first == "" {
			first = datasets[path]
		}
	}
	if first != "" {
		tags["mlrun.dataset.sha256"] = first
	}
	for _, s := range out.Steps {
		tags["mlrun.step."+tagSafe(s.Name)] = stepSummary(s)
	}
	if err := log.SetTags(context.WithoutCancel(ctx), tags); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// runCommand runs a command entry point as a single command step.
func (r *Runner) runCommand(ctx context.Context, plan *Plan, env *steps.Env, out *Outcome) error {
	kind, ok := r.Kinds.Lookup("command")
	if !ok {
		return fmt.Errorf("the command step kind is not registered")
	}
	env.Step = plan.EntryPoint.Name
	start := time.Now()
	res, err := kind.Run(ctx, env, steps.Values{"run": plan.Command})
	so := StepOutcome{Name: env.Step, Status: "finished", Duration: time.Since(start)}
	if err != nil {
		so.Status, so.Message = "failed", errs.Message(err)
	} else {
		out.Outputs[env.Step] = res.Outputs
	}
	out.Steps = append(out.Steps, so)
	r.reportStep(so)
	return err
}

// runSteps runs a pipeline's steps in their topological order.
func (r *Runner) runSteps(ctx context.Context, plan *Plan, info *tracking.RunInfo, env *steps.Env, out *Outcome, log *runLogger) error {
	var cache *stepCache
	if r.Cache != nil && !r.NoCache {
		cache = &stepCache{store: r.Cache, dir: r.CacheDir, version: r.Version,
			modelSpecs: r.ModelSpecs, flight: r.flight, digests: map[any]string{},
			self: strings.NewReplacer(info.ID, "{run}", log.artifactDir, "{artifacts}")}
		if cache.flight == nil {
			cache.flight = newFlightGroup()
		}
	}
	stepsEnv := map[string]any{}
	exprEnv := map[string]any{
		"params": plan.Params.Values,
		"steps":  stepsEnv,
		"run":    map[string]any{"id": info.ID, "name": info.Name, "experiment_id": info.ExperimentID},
	}
	failed := map[string]bool{}
	seeds := map[string]string{}
	for _, st := range plan.EntryPoint.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A step whose dependency did not finish does not run.
		blocked := ""
		for _, n := range st.Needs {
			if failed[n] {
				blocked = n
			}
		}
		if blocked != "" {
			failed[st.Name] = true
			so := StepOutcome{Name: st.Name, Status: "skipped", Message: "needs " + blocked + ", which did not finish"}
			out.Steps = append(out.Steps, so)
			r.reportStep(so)
			continue
		}
		metrics, err := r.latestMetrics(ctx, info.ID)
		if err != nil {
			return err
		}
		exprEnv["metrics"] = metrics
		if st.When != nil {
			ok, err := st.When.EvalBool(exprEnv)
			if err != nil {
				return err
			}
			if !ok {
				failed[st.Name] = true // its dependants are skipped too
				so := StepOutcome{Name: st.Name, Status: "skipped", Message: "when: " + st.When.Source + " was false" + whyFalse(st.When, exprEnv)}
				out.Steps = append(out.Steps, so)
				r.reportStep(so)
				continue
			}
		}
		kind, ok := r.Kinds.Lookup(st.Uses)
		if !ok {
			return errs.Errorf(errs.Invalid, "%s: unknown step kind %q", st.Pos, st.Uses)
		}
		given := map[string]any{}
		for _, in := range st.With {
			v, err := in.Value.Eval(exprEnv)
			if err != nil {
				return err
			}
			given[in.Name] = v
		}
		values, err := steps.Resolve(kind, given)
		if err != nil {
			return errs.Errorf(errs.Invalid, "%s: step %s: %v", st.Pos, st.Name, err)
		}
		// Seeds: a step that takes one and was given none gets the run's.
		for _, decl := range kind.Inputs() {
			if decl.Name != "random_state" && decl.Name != "seed" {
				continue
			}
			if _, given := values[decl.Name]; !given {
				values[decl.Name] = int(env.Seed)
			}
			seeds["mlrun.seed."+tagSafe(st.Name)+"."+decl.Name] = fmt.Sprint(values[decl.Name])
		}
		if err := kind.Check(values); err != nil {
			return errs.Errorf(errs.Invalid, "%s: step %s: %v", st.Pos, st.Name, err)
		}
		env.Step = st.Name
		start := time.Now()
		res, cachedFrom, err := r.runStep(ctx, kind, env, values, cache, log)
		so := StepOutcome{Name: st.Name, Status: "finished", Duration: time.Since(start)}
		if cachedFrom != "" {
			so.Status, so.Message = "cached", "reused the outputs of run "+cachedFrom
		}
		if err != nil {
			so.Status, so.Message = "failed", errs.Message(err)
			out.Steps = append(out.Steps, so)
			r.reportStep(so)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errs.Code(err) == errs.Internal {
				return fmt.Errorf("step %s: %w", st.Name, err)
			}
			return err
		}
		out.Steps = append(out.Steps, so)
		r.reportStep(so)
		outputs := map[string]any{}
		metricsOut := map[string]any{}
		if res != nil {
			for k, v := range res.Outputs {
				outputs[k] = v
			}
			for k, v := range res.Metrics {
				metricsOut[k] = v
			}
		}
		out.Outputs[st.Name] = outputs
		stepsEnv[st.Name] = map[string]any{"outputs": outputs, "metrics": metricsOut}
	}
	if len(seeds) > 0 {
		// Recorded even when the last step (serve) ended with Ctrl-C.
		return env.Log.SetTags(context.WithoutCancel(ctx), seeds)
	}
	return nil
}

// runStep runs one step, or replays an identical earlier execution from
// the cache. It returns the id of the run replayed from, if any.
func (r *Runner) runStep(ctx context.Context, kind steps.Kind, env *steps.Env, values steps.Values, cache *stepCache, log *runLogger) (*steps.Result, string, error) {
	key := ""
	if cache != nil {
		key = cache.key(kind, values, env.ProjectDir)
	}
	outer := env.DatasetVersion
	defer func() { env.Log, env.ChildLog, env.DatasetVersion = log, "", outer }()
	if key == "" {
		res, err := kind.Run(ctx, env, values)
		if err == nil && cache != nil {
			cache.remember(res, "run:"+env.RunID+"/"+env.Step)
		}
		return res, "", err
	}
	if wait, first := cache.flight.enter(key); first {
		defer cache.flight.leave(key)
	} else {
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	if e := cache.lookup(ctx, key); e != nil {
		res, err := cache.replay(ctx, e, env, log.artifactDir)
		if err == nil {
			cache.remember(res, key)
			if terr := log.SetTags(ctx, map[string]string{"mlrun.cache." + tagSafe(env.Step): e.RunID}); terr != nil {
				return nil, "", terr
			}
		}
		return res, e.RunID, err
	}

	rec := newRecordingLogger(log)
	env.Log = rec
	env.DatasetVersion = func(path, sum string) {
		rec.mu.Lock()
		rec.datasets[path] = sum
		rec.mu.Unlock()
		if outer != nil {
			outer(path, sum)
		}
	}
	// A command's process appends what it logs here (it creates the file).
	childLog := filepath.Join(os.TempDir(), "mlrun-step-"+env.RunID+"-"+tagSafe(env.Step)+".jsonl")
	defer os.Remove(childLog)
	env.ChildLog = childLog
	res, err := kind.Run(ctx, env, values)
	if err != nil {
		return nil, "", err
	}
	rec.readChildLog(childLog)
	cache.record(ctx, key, kind.Name(), env.Step, env.RunID, log.artifactDir, res, rec)
	cache.remember(res, key)
	return res, "", nil
}

// whyFalse lists the values a condition read, e.g.
// " (metrics.accuracy = 0.93)", so that a skip says why.
func whyFalse(e *project.Expr, env map[string]any) string {
	var parts []string
	for _, ref := range e.Refs() {
		v := lookupPath(env, strings.Split(ref, "."))
		parts = append(parts, fmt.Sprintf("%s = %v", ref, v))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// lookupPath walks nested maps; a missing name gives "<missing>".
func lookupPath(env map[string]any, path []string) any {
	var cur any = env
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "<missing>"
		}
		if cur, ok = m[p]; !ok {
			return "<missing>"
		}
	}
	return cur
}

func (r *Runner) latestMetrics(ctx context.Context, runID string) (map[string]any, error) {
	run, err := r.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(run.Metrics))
	for _, x := range run.Metrics {
		m[x.Key] = x.Value
	}
	return m, nil
}

func (r *Runner) reportStep(s StepOutcome) {
	if r.Stderr == nil {
		return
	}
	fmt.Fprintf(r.Stderr, "mlrun: step %-12s %s\n", s.Name, stepSummary(s))
}

func stepSummary(s StepOutcome) string {
	switch s.Status {
	case "finished":
		return fmt.Sprintf("finished in %s", s.Duration.Round(time.Microsecond*100))
	default:
		return s.Status + ": " + s.Message
	}
}

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

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_\-./ ]`)

// tagSafe turns a path or name into something MLflow accepts in a key.
func tagSafe(s string) string {
	s = tagUnsafe.ReplaceAllString(filepath.ToSlash(s), "_")
	s = strings.TrimLeft(strings.ReplaceAll(s, "..", "_"), "/")
	if s == "" {
		return "_"
	}
	return s
}

func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return path
}
