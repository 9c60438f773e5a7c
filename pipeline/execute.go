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

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// execute runs the plan's steps (or its command as one step) on the run;
// created says this process created the run, which nothing logged to yet.
func (r *Runner) execute(ctx context.Context, plan *Plan, info *tracking.RunInfo, seed int64, capture *provenanceCapture, out *Outcome, created bool) error {
	stderr := r.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	staging, err := r.stage(info)
	if err != nil {
		return err
	}
	defer staging.Close()
	log := newRunLogger(r.Store, info.ID, staging, r.bgSlots).sharing(r.shared)
	if !created {
		log.loggedElsewhere() // an earlier attempt may have logged to it
	}
	// The provenance is complete before any step that may write in the
	// project runs, so that what a step writes is not taken for a change
	// to the project; steps that write only the run's artifacts, outside
	// the project's repository, may run before (see provenanceCapture.pendingFor).
	resolved, resolveErr := false, error(nil)
	provenanceReady := func() error {
		if !resolved {
			resolved = true
			if capture, resolveErr = capture.resolve(ctx, log); resolveErr == nil {
				resolveErr = capture.saveArtifacts(ctx, log)
			}
		}
		return resolveErr
	}
	mayWait := capture.pendingFor(log.artifactDir, r.StoreDir)
	beforeStep := func(kind steps.Kind) error {
		if mayWait && writesOnlyItsRun(kind) {
			return nil
		}
		return provenanceReady()
	}
	if !mayWait {
		if err := provenanceReady(); err != nil {
			return err
		}
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
		if runErr = provenanceReady(); runErr == nil {
			runErr = r.runCommand(ctx, plan, env, out, log)
		}
	} else {
		runErr = r.runSteps(ctx, plan, info, env, out, log, beforeStep)
	}
	if err := provenanceReady(); err != nil && runErr == nil {
		runErr = err
	}
	if r.onStepsDone != nil && runErr == nil {
		r.onStepsDone()
	}
	// Record what was learnt along the way, even when a step failed, while
	// the plots are still drawing.
	tags := map[string]string{}
	first := ""
	for _, path := range slices.Sorted(maps.Keys(datasets)) {
		tags["mlrun.dataset."+provenance.TagSafe(path)] = datasets[path]
		if first == "" {
			first = datasets[path]
		}
	}
	if first != "" {
		tags["mlrun.dataset.sha256"] = first
	}
	for _, s := range out.Steps {
		tags["mlrun.step."+provenance.TagSafe(s.Name)] = stepSummary(s)
	}
	if err := log.SetTags(context.WithoutCancel(ctx), tags); err != nil && runErr == nil {
		runErr = err
	}
	if err := log.flush(context.WithoutCancel(ctx)); err != nil && runErr == nil {
		runErr = err
	}
	// The plots steps drew in the background are written before the run
	// ends (and published), and a failure among them fails it.
	if err := log.bg.wait(); err != nil && runErr == nil {
		runErr = err
	}
	if err := log.flush(context.WithoutCancel(ctx)); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// runCommand runs a command entry point as a single command step.
func (r *Runner) runCommand(ctx context.Context, plan *Plan, env *steps.Env, out *Outcome, log *runLogger) error {
	kind, ok := r.Kinds.Lookup("command")
	if !ok {
		return fmt.Errorf("the command step kind is not registered")
	}
	env.Step = plan.EntryPoint.Name
	start := time.Now()
	r.stepStarted(env, env.Step, kind.Name())
	res, err := runKind(ctx, kind, env, steps.Values{"run": plan.Command})
	if ferr := log.flush(context.WithoutCancel(ctx)); ferr != nil && err == nil {
		err = ferr
	}
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
//
// beforeStep is called before each step runs, with its kind; its error
// ends the run.
func (r *Runner) runSteps(ctx context.Context, plan *Plan, info *tracking.RunInfo, env *steps.Env, out *Outcome, log *runLogger, beforeStep func(steps.Kind) error) error {
	var cache *stepCache
	if r.Cache != nil && !r.NoCache {
		cache = &stepCache{store: r.Cache, dir: r.CacheDir, version: r.Version,
			modelSpecs: r.ModelSpecs, flight: r.flight, digests: map[any]string{},
			self:        strings.NewReplacer(info.ID, "{run}", log.artifactDir, "{artifacts}"),
			artifactURI: info.ArtifactURI, artifacts: r.schemes()}
		if cache.flight == nil {
			cache.flight = newFlightGroup()
		}
	}
	stepsEnv := map[string]any{}
	exprEnv := map[string]any{
		"params":  plan.Params.Values,
		"steps":   stepsEnv,
		"run":     map[string]any{"id": info.ID, "name": info.Name, "experiment_id": info.ExperimentID},
		"metrics": map[string]any{},
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
		if readsMetrics(st) {
			metrics, err := log.latestMetrics(context.WithoutCancel(ctx))
			if err != nil {
				return err
			}
			exprEnv["metrics"] = metrics
		}
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
		// The tag records the seed the step really uses.
		for _, decl := range kind.Inputs() {
			if decl.Name != "random_state" && decl.Name != "seed" {
				continue
			}
			if _, given := values[decl.Name]; !given {
				values[decl.Name] = int(env.Seed)
			}
			used, ok := fmt.Sprint(values[decl.Name]), true
			if sr, is := kind.(seedReporter); is {
				used, ok = sr.UsedSeed(values, decl.Name)
			}
			if ok {
				seeds["mlrun.seed."+provenance.TagSafe(st.Name)+"."+decl.Name] = used
			}
		}
		if err := kind.Check(values); err != nil {
			return errs.Errorf(errs.Invalid, "%s: step %s: %v", st.Pos, st.Name, err)
		}
		if err := beforeStep(kind); err != nil {
			return err
		}
		if runsLong(kind) {
			// What the steps before logged is in the store while it runs.
			if err := log.flush(context.WithoutCancel(ctx)); err != nil {
				return err
			}
		}
		if runsLong(kind) {
			log.loggedElsewhere() // its process, or its clients, may log to the run
		}
		env.Step = st.Name
		start := time.Now()
		r.stepStarted(env, st.Name, kind.Name())
		res, cachedFrom, err := r.runStep(ctx, kind, env, values, cache, log)
		// What the step logged is written now when it failed or was a
		// command; else with what the next steps log (see runLogger). The
		// artifacts it wrote are published now (to a remote repository).
		if err != nil || runsLong(kind) {
			if ferr := log.flush(context.WithoutCancel(ctx)); ferr != nil && err == nil {
				err = ferr
			}
		} else if serr := log.staging.Sync(context.WithoutCancel(ctx)); serr != nil {
			err = serr
		}
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
			if errs.Code(err) == errs.Internal && asPanic(err) == nil {
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
	defer func() { env.Log, env.ChildLog, env.DatasetVersion, env.Defer = log, "", outer, nil }()
	work := &stepWork{}
	env.Defer = work.deferTo(log.bg, env.Step)
	if key == "" {
		res, err := runKind(ctx, kind, env, values)
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
			if terr := log.SetTags(ctx, map[string]string{"mlrun.cache." + provenance.TagSafe(env.Step): e.RunID}); terr != nil {
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
	childLog := filepath.Join(os.TempDir(), "mlrun-step-"+env.RunID+"-"+provenance.TagSafe(env.Step)+".jsonl")
	defer os.Remove(childLog)
	env.ChildLog = childLog
	res, err := runKind(ctx, kind, env, values)
	if err != nil {
		return nil, "", err
	}
	rec.readChildLog(childLog)
	cache.remember(res, key)
	// The entry points at the files in the run's repository: they are
	// uploaded first (a no-op for a local one), else the step is not cached.
	if work.pending() {
		// The entry lists the step's artifacts: it is recorded once the
		// plots the step deferred are written, and not if one failed.
		step := env.Step
		log.bg.after(func() {
			ctx := context.WithoutCancel(ctx)
			if work.ok() && log.staging.Sync(ctx) == nil {
				cache.record(ctx, key, kind.Name(), step, env.RunID, log.artifactDir, res, rec)
			}
		})
	} else if err := log.staging.Sync(ctx); err == nil {
		cache.record(ctx, key, kind.Name(), env.Step, env.RunID, log.artifactDir, res, rec)
	}
	return res, "", nil
}

// seedReporter is a step kind whose seed input another input can override
// (train's hyperparameters.random_state): UsedSeed returns the seed it
// really uses for input, or false when it uses none.
type seedReporter interface {
	UsedSeed(in steps.Values, input string) (string, bool)
}

// runKind runs a step of kind, turning a panic in it into a *PanicError.
func runKind(ctx context.Context, kind steps.Kind, env *steps.Env, values steps.Values) (res *steps.Result, err error) {
	defer recoverPanic(&err, "step "+env.Step)
	return kind.Run(ctx, env, values)
}

// whyFalse lists the values a condition read, e.g.
// " (metrics.accuracy = 0.93)", so that a skip says why.
func whyFalse(e *project.Expr, env map[string]any) string {
	var parts []string
	for _, ref := range e.Refs() {
		v := lookupPath(env, strings.Split(ref, "."))
		if str, ok := v.(string); ok && str != "<missing>" {
			v = strconv.Quote(str)
		}
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

// writesOnlyItsRun reports whether steps of kind write nothing but the
// run's artifacts and the step cache's data sets: the built-in steps that
// read data and fit, score and log models.
func writesOnlyItsRun(kind steps.Kind) bool {
	switch kind.Name() {
	case "load", "split", "train", "evaluate", "log":
		return true
	}
	return false
}

// runsLong reports whether steps of kind may run for long, or be killed
// with the run: a command (an outside process) or a model server. The run
// flushes what was logged before and after them.
func runsLong(kind steps.Kind) bool {
	return kind.Name() == "command" || kind.Name() == "serve"
}

// readsMetrics reports whether a step's condition or inputs read the run's
// metrics (metrics.<key>), which then have to be read from the store.
func readsMetrics(st *project.Step) bool {
	var exprs []*project.Expr
	if st.When != nil {
		exprs = append(exprs, st.When)
	}
	for _, in := range st.With {
		exprs = append(exprs, in.Value.Exprs()...)
	}
	for _, e := range exprs {
		// Any mention: metrics["x"] names no member path, and a needless
		// read costs less than a missing value.
		if strings.Contains(e.Source, "metrics") {
			return true
		}
	}
	return false
}

// stepStarted tells the observer, and routes the step's progress to it.
func (r *Runner) stepStarted(env *steps.Env, step, kind string) {
	env.Progress = nil
	if r.Observer == nil {
		return
	}
	r.Observer.StepStarted(step, kind)
	env.Progress = func(key string, n int, value float64) { r.Observer.StepProgress(step, key, n, value) }
}

// reportStep tells the observer and prints how a step ended.
func (r *Runner) reportStep(s StepOutcome) {
	if r.Observer != nil {
		r.Observer.StepFinished(s)
	}
	if r.Stderr == nil {
		return
	}
	fmt.Fprintf(r.Stderr, "mlrun: step %-12s %s\n", s.Name, stepSummary(s))
}

// roundDuration keeps two or three significant digits: 300µs, 12.4ms, 2.99s.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d < time.Second:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(10 * time.Millisecond)
	}
}

// stepSummary is how a step ended, in a few words.
func stepSummary(s StepOutcome) string {
	switch s.Status {
	case "finished":
		return fmt.Sprintf("finished in %s", roundDuration(s.Duration))
	default:
		return s.Status + ": " + s.Message
	}
}
