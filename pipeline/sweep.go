package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/executor"
	"github.com/mlrun/mlrun/sweep"
	"github.com/mlrun/mlrun/tracking"
)

// SweepRequest is a sweep: one parent run and a child run per trial.
type SweepRequest struct {
	Request               // the entry point, experiment, run name (for the parent) and tags
	Sweep   *sweep.Sweep  // what to try
	Trials  []sweep.Trial // Sweep.Trials(), already checked
	Workers int           // trials at once; 0 means the sweep's parallel setting, else the CPU count
	// FailFast stops the sweep at the first failed trial; the trials still
	// running end KILLED and the ones not started are not created.
	FailFast bool
	// Objective ("accuracy") and Maximize choose the best trial; "" means none.
	Objective string
	Maximize  bool
	// Observer hears about trials as they start and end; it may be nil.
	Observer SweepObserver
}

// SweepObserver is told how a sweep progresses (for a progress display).
// Its methods are called from several goroutines.
type SweepObserver interface {
	TrialStarted(t sweep.Trial)
	TrialFinished(t TrialResult)
}

// TrialResult is how one trial ended.
type TrialResult struct {
	Trial     sweep.Trial
	RunID     string
	Status    tracking.RunStatus // "" when the trial never started
	Error     string
	Duration  time.Duration
	Objective float64 // NaN when the objective metric is missing
}

// SweepOutcome is what a sweep did.
type SweepOutcome struct {
	ParentRunID string
	Status      tracking.RunStatus
	Results     []TrialResult // in trial order
	Best        int           // index into Results of the best trial, -1 if none
}

// RunSweep runs every trial as a child run of a new parent run, Workers at
// a time. A trial that fails, or panics, fails alone unless FailFast is set;
// cancelling ctx ends running trials KILLED. The parent ends FINISHED when
// every trial finished, FAILED when any failed (its mlrun.error says how
// many), KILLED when interrupted; the error returned carries the same code.
func (r *Runner) RunSweep(ctx context.Context, req SweepRequest) (*SweepOutcome, error) {
	if len(req.Trials) == 0 {
		return nil, errs.Errorf(errs.Invalid, "the sweep has no trials")
	}
	// Check every trial before anything is created.
	plans := make([]*Plan, len(req.Trials))
	for i, t := range req.Trials {
		tr := req.Request
		tr.Params = t.Params
		plan, err := Prepare(tr, r.Kinds)
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		plans[i] = plan
	}
	workers := req.Workers
	if workers <= 0 {
		workers = req.Sweep.Parallel
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = min(workers, len(req.Trials))
	// Trials share one seed (so they differ only in what is swept) and one
	// flight group (so a step they share runs once and the others reuse it).
	if req.Seed == nil {
		seed, err := runSeed(nil, plans[0].Params)
		if err != nil {
			return nil, err
		}
		req.Seed = &seed
	}
	if r.flight == nil {
		r.flight = newFlightGroup()
	}
	if r.bgSlots == nil {
		r.bgSlots = newBackgroundSlots()
		defer func() { r.bgSlots = nil }()
	}
	if r.shared == nil {
		r.shared = &artifact.SharedFiles{}
		defer func() { r.shared = nil }()
	}

	parent, err := r.createSweepParent(ctx, req, plans[0])
	if err != nil {
		return nil, err
	}
	defer func() { r.capture = nil }()
	out := &SweepOutcome{ParentRunID: parent.ID, Results: make([]TrialResult, len(req.Trials)), Best: -1}
	for i, t := range req.Trials {
		out.Results[i] = TrialResult{Trial: t, Objective: math.NaN()}
	}

	// The trials are the tasks of one batch on the local executor, which
	// runs them in this process, in order. Workers trials run their steps
	// at a time; a trial whose steps succeeded gives its place to the next
	// while its plots are still being drawn (and its run ended), so the
	// executor runs up to twice as many tasks. With FailFast a trial keeps
	// its place until its run has ended: no trial starts after a failure.
	trialCtx, stopTrials := context.WithCancelCause(ctx)
	defer stopTrials(nil)
	stepSlots := make(chan struct{}, workers)
	tasksAtOnce := min(2*workers, len(req.Trials))
	if req.FailFast {
		tasksAtOnce = workers
	}
	local := &executor.Local{}
	tasks, err := local.Submit(trialCtx, executor.Batch{
		Name:     "sweep",
		RunIDs:   make([]string, len(req.Trials)),
		Parallel: tasksAtOnce,
		Func: func(_ context.Context, i int) executor.State {
			select {
			case stepSlots <- struct{}{}:
			case <-trialCtx.Done():
				// Stopped before its steps began: dropped, as a trial the
				// executor had not started.
				return executor.State{Status: tracking.StatusKilled, Raw: "CANCELLED", Reason: "cancelled"}
			}
			var release sync.Once
			stepsDone := func() { release.Do(func() { <-stepSlots }) }
			defer stepsDone()
			res := r.runTrial(trialCtx, req, plans[i], parent.ID, req.Trials[i], stepsDone)
			out.Results[i] = res
			if req.Observer != nil {
				req.Observer.TrialFinished(res)
			}
			if req.FailFast && res.Status == tracking.StatusFailed {
				stopTrials(errors.New("--fail-fast: trial " + fmt.Sprint(i+1) + " failed"))
			}
			st := executor.State{Status: res.Status, Reason: res.Error}
			if !st.Status.Terminal() {
				st.Status = tracking.StatusFailed // never left pending: Wait would not return
			}
			return st
		},
	})
	if err != nil {
		return nil, err
	}
	// Interrupted or stopped by --fail-fast: the trials not started are
	// dropped (the running ones see trialCtx end).
	stop := context.AfterFunc(trialCtx, func() { _ = local.Cancel(context.WithoutCancel(ctx), tasks) })
	defer stop()
	if _, err := local.Wait(context.WithoutCancel(ctx), tasks); err != nil {
		return nil, err
	}

	return out, r.endSweep(ctx, req, parent, out, context.Cause(trialCtx))
}

// runTrial runs one trial as a child run. A panic in the trial's steps
// ends its run FAILED (RunPlan); one outside them fails the run here.
// stepsDone is called once the trial's steps are done (or never, if it
// fails before).
func (r *Runner) runTrial(ctx context.Context, req SweepRequest, plan *Plan, parentID string, t sweep.Trial, stepsDone func()) (res TrialResult) {
	res = TrialResult{Trial: t, Objective: math.NaN()}
	if req.Observer != nil {
		req.Observer.TrialStarted(t)
	}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	err := func() (err error) {
		defer recoverPanic(&err, fmt.Sprintf("trial %d", t.Index+1))
		return r.runTrialPlan(ctx, req, plan, parentID, t, stepsDone, &res)
	}()
	if err == nil {
		return res
	}
	res.Error = errs.Message(err)
	if res.Status == "" || res.Status == tracking.StatusRunning {
		res.Status = tracking.StatusFailed
		if res.RunID != "" && asPanic(err) != nil {
			r.failRun(res.RunID, res.Error)
		}
	}
	return res
}

// runTrialPlan runs the trial's plan and fills res with what happened.
func (r *Runner) runTrialPlan(ctx context.Context, req SweepRequest, plan *Plan, parentID string, t sweep.Trial, stepsDone func(), res *TrialResult) error {
	tr := req.Request
	tr.Params = t.Params
	tr.ParentRunID = parentID
	tr.RunName = ""
	if req.RunName != "" {
		tr.RunName = fmt.Sprintf("%s-%d", req.RunName, t.Index+1)
	}
	tags := map[string]string{"mlrun.sweep.trial": fmt.Sprint(t.Index + 1)}
	for k, v := range req.Tags {
		tags[k] = v
	}
	tr.Tags = tags
	quiet := *r
	quiet.Stdout, quiet.Stderr, quiet.Observer = nil, nil, nil // many trials at once: their output goes to their logs
	quiet.onCreated = func(id string) { res.RunID = id }
	quiet.onStepsDone = stepsDone
	outcome, runErr := quiet.RunPlan(ctx, tr, plan)
	if outcome != nil {
		res.RunID, res.Status = outcome.RunID, outcome.Status
	}
	if req.Objective != "" && res.RunID != "" {
		if run, err := r.Store.GetRun(context.WithoutCancel(ctx), res.RunID); err == nil {
			if v, ok := run.Metric(req.Objective); ok {
				res.Objective = v
			}
		}
	}
	return runErr
}

// failRun ends a run FAILED with its error, whatever state it is in.
func (r *Runner) failRun(runID, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.Store.LogBatch(ctx, runID, nil, nil, []tracking.Tag{{Key: "mlrun.error", Value: msg}})
	st, end := tracking.StatusFailed, time.Now().UnixMilli()
	_ = r.Store.UpdateRun(ctx, runID, tracking.RunUpdate{Status: &st, EndTime: &end})
}

// createSweepParent creates the parent run with the sweep's description,
// and keeps the provenance it captured for the trials.
func (r *Runner) createSweepParent(ctx context.Context, req SweepRequest, plan *Plan) (*tracking.RunInfo, error) {
	tags := map[string]string{
		"mlrun.sweep":        req.Sweep.Describe(),
		"mlrun.sweep.trials": fmt.Sprint(len(req.Trials)),
	}
	if req.Objective != "" {
		goal := "minimize"
		if req.Maximize {
			goal = "maximize"
		}
		tags["mlrun.sweep.objective"] = "metrics." + req.Objective + " (" + goal + ")"
	}
	var params []tracking.Param
	for _, kv := range req.Sweep.Fixed {
		params = append(params, tracking.Param{Key: kv.Key, Value: kv.Value})
	}
	info, _, capture, err := r.createRun(ctx, req.Request, plan, *req.Seed, params, tags, false)
	if err != nil {
		return nil, err
	}
	r.capture = capture
	staging, err := r.stage(info)
	if err != nil {
		return nil, err
	}
	defer staging.Close()
	log := newRunLogger(r.Store, info.ID, staging, nil)
	spec, _ := json.MarshalIndent(map[string]any{"sweep": req.Sweep, "trials": req.Trials}, "", "  ")
	if err := log.WriteArtifact(ctx, "sweep.json", spec); err != nil {
		return nil, err
	}
	if err := staging.Sync(ctx); err != nil {
		return nil, err
	}
	if r.Stderr != nil {
		fmt.Fprintf(r.Stderr, "mlrun: sweep %s (%s): %s\n", info.ID, info.Name, req.Sweep.Describe())
	}
	return info, nil
}

// endSweep picks the best trial, records the summary on the parent and
// ends it.
func (r *Runner) endSweep(ctx context.Context, req SweepRequest, parent *tracking.RunInfo, out *SweepOutcome, stopCause error) error {
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	failed, killed, finished := 0, 0, 0
	for i, res := range out.Results {
		switch res.Status {
		case tracking.StatusFinished:
			finished++
			if req.Objective != "" && !math.IsNaN(res.Objective) {
				if out.Best < 0 || better(res.Objective, out.Results[out.Best].Objective, req.Maximize) {
					out.Best = i
				}
			}
		case tracking.StatusFailed:
			failed++
		case tracking.StatusKilled:
			killed++
		}
	}
	var tags []tracking.Tag
	var metrics []tracking.Metric
	if out.Best >= 0 {
		best := out.Results[out.Best]
		tags = append(tags, tracking.Tag{Key: "mlrun.sweep.best_run", Value: best.RunID},
			tracking.Tag{Key: "mlrun.sweep.best_trial", Value: fmt.Sprint(best.Trial.Index + 1)})
		if run, err := r.Store.GetRun(endCtx, best.RunID); err == nil {
			now := time.Now().UnixMilli()
			for _, m := range run.Metrics {
				metrics = append(metrics, tracking.Metric{Key: m.Key, Value: m.Value, Step: m.Step, Timestamp: now})
			}
		}
	}
	summary := fmt.Sprintf("%d finished, %d failed, %d killed, %d not run", finished, failed, killed, len(out.Results)-finished-failed-killed)
	tags = append(tags, tracking.Tag{Key: "mlrun.sweep.summary", Value: summary})
	status := tracking.StatusFinished
	var err error
	switch {
	case ctx.Err() != nil:
		status = tracking.StatusKilled
		tags = append(tags, tracking.Tag{Key: "mlrun.error", Value: "interrupted: " + summary})
		err = errs.Errorf(errs.Killed, "sweep %s was interrupted (%s) and is marked KILLED", parent.ID, summary)
	case failed > 0 || stopCause != nil:
		status = tracking.StatusFailed
		msg := summary
		if stopCause != nil {
			msg = stopCause.Error() + "; " + summary
		}
		tags = append(tags, tracking.Tag{Key: "mlrun.error", Value: msg})
		err = errs.Errorf(errs.Failed, "sweep %s: %s", parent.ID, msg)
	}
	if lerr := r.Store.LogBatch(endCtx, parent.ID, metrics, nil, tags); lerr != nil {
		return fmt.Errorf("record the sweep summary: %w", lerr)
	}
	end := time.Now().UnixMilli()
	if uerr := r.Store.UpdateRun(endCtx, parent.ID, tracking.RunUpdate{Status: &status, EndTime: &end}); uerr != nil {
		return fmt.Errorf("end sweep %s: %w", parent.ID, uerr)
	}
	out.Status = status
	return err
}

func better(a, b float64, maximize bool) bool {
	if maximize {
		return a > b
	}
	return a < b
}

// SortedByObjective returns the indices of results, best first; results
// without the objective come last, in trial order.
func (o *SweepOutcome) SortedByObjective(maximize bool) []int {
	idx := make([]int, len(o.Results))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := o.Results[idx[i]].Objective, o.Results[idx[j]].Objective
		switch {
		case math.IsNaN(a):
			return false
		case math.IsNaN(b):
			return true
		}
		return better(a, b, maximize)
	})
	return idx
}

// FormatTrial renders a trial's swept values as "C=0.1 max_iter=100".
func FormatTrial(t sweep.Trial) string {
	keys := slices.Sorted(maps.Keys(t.Values))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + t.Values[k]
	}
	return strings.Join(parts, " ")
}
