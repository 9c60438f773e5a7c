package pipeline

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/tracking"
)

// Submit creates the run of req as SCHEDULED, for an executor to execute
// later (maybe on another machine) with a Request whose RunID names it.
// Everything that describes the run is recorded now, as the submitter sees
// it: params, seed, provenance tags, the dirty tree's code.diff and the
// lockfiles as artifacts, and the hashes of path parameters' files (which
// the executing side checks before it starts). The run has no owning host
// or process until it is claimed. parentID, when set, makes it a sweep
// trial; tags are added to the run's.
func (r *Runner) Submit(ctx context.Context, req Request, plan *Plan, tags map[string]string) (*tracking.RunInfo, error) {
	seed, params, all, err := runRecord(req, plan)
	if err != nil {
		return nil, err
	}
	for k, v := range tags {
		all[k] = v
	}
	for _, p := range plan.EntryPoint.Params {
		if p.Type != "path" {
			continue
		}
		if v, ok := plan.Params.Values[p.Name].(string); ok {
			if sum, err := provenance.HashFile(v); err == nil {
				all["mlrun.dataset."+provenance.TagSafe(relTo(plan.Project.Dir, v))] = sum
			}
		}
	}
	sub := *r
	sub.unowned = true
	info, _, capture, err := sub.createRun(ctx, req, plan, seed, params, all, false)
	if err != nil {
		return nil, err
	}
	if r.capture == nil {
		r.capture = capture // a sweep's trials share it
	}
	fail := func(err error) (*tracking.RunInfo, error) {
		r.failRun(info.ID, "submission failed: "+errs.Message(err))
		return nil, err
	}
	staging, err := r.stage(info)
	if err != nil {
		return fail(err)
	}
	defer staging.Close()
	if err := capture.saveArtifacts(ctx, newRunLogger(r.Store, info.ID, staging, nil)); err != nil {
		return fail(err)
	}
	if err := staging.Sync(ctx); err != nil {
		return fail(err)
	}
	return info, nil // created SCHEDULED
}

// SubmitSweep creates a sweep's parent run and one SCHEDULED child run per
// trial (see Submit), for an executor to run; tags are added to every
// child. The parent stays SCHEDULED (no process owns it) until
// EndSweepParent ends it. Every trial is checked before anything is
// created.
func (r *Runner) SubmitSweep(ctx context.Context, req SweepRequest, tags map[string]string) (*tracking.RunInfo, []*tracking.RunInfo, error) {
	if len(req.Trials) == 0 {
		return nil, nil, errs.Errorf(errs.Invalid, "the sweep has no trials")
	}
	plans := make([]*Plan, len(req.Trials))
	for i, t := range req.Trials {
		tr := req.Request
		tr.Params = t.Params
		plan, err := Prepare(tr, r.Kinds)
		if err != nil {
			return nil, nil, fmt.Errorf("trial %d: %w", i+1, err)
		}
		plans[i] = plan
	}
	if req.Seed == nil {
		seed, err := runSeed(nil, plans[0].Params)
		if err != nil {
			return nil, nil, err
		}
		req.Seed = &seed
	}
	sub := *r
	sub.unowned = true
	sub.capture = nil
	parentReq := req
	parentReq.Tags = map[string]string{}
	for k, v := range req.Tags {
		parentReq.Tags[k] = v
	}
	for k, v := range tags {
		parentReq.Tags[k] = v
	}
	parent, err := sub.createSweepParent(ctx, parentReq, plans[0]) // created SCHEDULED
	if err != nil {
		return nil, nil, err
	}
	// The trials share the parent's provenance (sub.capture) and
	// experiment, and are created a few at a time: each is a few round
	// trips to a remote store.
	if sub.exp, err = r.Store.GetExperiment(ctx, parent.ExperimentID); err != nil {
		return nil, nil, fmt.Errorf("experiment of sweep %s: %w", parent.ID, err)
	}
	children := make([]*tracking.RunInfo, len(req.Trials))
	errsOf := make([]error, len(req.Trials))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(submitWorkers, len(req.Trials)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := req.Trials[i]
				tr := req.Request
				tr.Params = t.Params
				tr.ParentRunID = parent.ID
				tr.RunName = ""
				if req.RunName != "" {
					tr.RunName = fmt.Sprintf("%s-%d", req.RunName, t.Index+1)
				}
				ct := map[string]string{"mlrun.sweep.trial": fmt.Sprint(t.Index + 1)}
				for k, v := range tags {
					ct[k] = v
				}
				one := sub // Submit sets nothing on it: capture and exp are set
				children[i], errsOf[i] = one.Submit(ctx, tr, plans[i], ct)
			}
		}()
	}
	for i := range req.Trials {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errsOf {
		if err == nil {
			continue
		}
		for _, c := range children {
			if c != nil {
				r.failRun(c.ID, "submission of the sweep failed: "+errs.Message(err))
			}
		}
		r.failRun(parent.ID, "submission failed: "+errs.Message(err))
		return nil, nil, fmt.Errorf("trial %d: %w", i+1, err)
	}
	return parent, children, nil
}

// submitWorkers is how many trials of a sweep SubmitSweep creates at once.
const submitWorkers = 8

// EndSweepParent ends a sweep's parent once its trials have ended, as a
// local sweep's: results holds one entry per trial (RunID, Status,
// Objective). The error carries errs.Failed or errs.Killed as RunSweep's.
func (r *Runner) EndSweepParent(ctx context.Context, req SweepRequest, parent *tracking.RunInfo, results []TrialResult) (*SweepOutcome, error) {
	out := &SweepOutcome{ParentRunID: parent.ID, Results: results, Best: -1}
	return out, r.endSweep(ctx, req, parent, out, nil)
}

// claimRun takes a SCHEDULED run for this process: RUNNING, owned by this
// host and pid, with a heartbeat (Store.ClaimRun, so that of two processes
// given the same run only one executes it). Its provenance artifacts were
// saved at submission.
// When claimed is true, the caller has claimed it already.
func (r *Runner) claimRun(ctx context.Context, runID string, claimed bool) (*tracking.RunInfo, *tracking.Experiment, *provenanceCapture, error) {
	if !claimed {
		host, _ := os.Hostname()
		if err := r.Store.ClaimRun(ctx, runID, host, os.Getpid()); err != nil {
			return nil, nil, nil, err
		}
	}
	run, err := r.Store.GetRun(ctx, runID)
	if err != nil {
		return nil, nil, nil, err
	}
	exp, err := r.Store.GetExperiment(ctx, run.Info.ExperimentID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("experiment of run %s: %w", runID, err)
	}
	info := run.Info
	return &info, exp, &provenanceCapture{tags: map[string]string{}}, nil
}
