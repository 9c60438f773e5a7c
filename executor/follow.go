package executor

import (
	"context"
	"fmt"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// Tags written on runs handed to an executor.
const (
	TagExecutor   = "mlrun.executor"
	TagJobID      = "mlrun.slurm.job_id"
	TagArrayIndex = "mlrun.slurm.array_index"
	TagJobDir     = "mlrun.executor.dir" // the batch's directory (scripts and logs)
	// TagJobState is the executor's last word on an ended task (e.g.
	// COMPLETED, TIMEOUT), written by Reconcile: a run without it has not
	// been reconciled yet.
	TagJobState = "mlrun.executor.state"
)

// Counts is how many tasks are in each state.
type Counts struct {
	Pending, Running, Finished, Failed, Killed int
}

// Ended is how many tasks have ended.
func (c Counts) Ended() int { return c.Finished + c.Failed + c.Killed }

// Count tallies states.
func Count(states []State) Counts {
	var c Counts
	for _, s := range states {
		switch s.Status {
		case tracking.StatusScheduled:
			c.Pending++
		case tracking.StatusRunning:
			c.Running++
		case tracking.StatusFinished:
			c.Finished++
		case tracking.StatusFailed:
			c.Failed++
		default:
			c.Killed++
		}
	}
	return c
}

// Wait polls the tasks every `every` until all have ended, calling onPoll
// (when set) with each poll's states. It returns the last states, or ctx's
// error when ctx ends first.
func Wait(ctx context.Context, ex Executor, tasks []Task, every time.Duration, onPoll func([]State)) ([]State, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		states, err := ex.States(ctx, tasks)
		if err != nil {
			return nil, err
		}
		if onPoll != nil {
			onPoll(states)
		}
		if c := Count(states); c.Ended() == len(tasks) {
			return states, nil
		}
		select {
		case <-ctx.Done():
			return states, ctx.Err()
		case <-t.C:
		}
	}
}

// Reconcile records what the executor knows on runs that did not record it
// themselves. A run the executor says is pending or running is left alone
// (the node moves it to RUNNING). A task that ended abnormally (over its
// time limit, out of memory, cancelled, its node lost, vanished) ends its
// run with the mapped status and the reason in mlrun.error, even when the
// run, interrupted, recorded KILLED itself; a task that exited on its own
// leaves a run that recorded its end alone. It returns the runs' statuses.
func Reconcile(ctx context.Context, st tracking.RunStore, tasks []Task, states []State) ([]tracking.RunStatus, error) {
	out := make([]tracking.RunStatus, len(tasks))
	for i, t := range tasks {
		run, err := st.GetRun(ctx, t.RunID)
		if err != nil {
			return nil, fmt.Errorf("read run %s: %w", t.RunID, err)
		}
		s := states[i]
		status := run.Info.Status
		out[i] = status
		if !s.Status.Terminal() {
			continue
		}
		if v, _ := run.Tag(TagJobState); v != s.Raw {
			if err := st.LogBatch(ctx, t.RunID, nil, nil, []tracking.Tag{{Key: TagJobState, Value: s.Raw}}); err != nil {
				return nil, fmt.Errorf("record the job state of run %s: %w", t.RunID, err)
			}
		}
		abnormal := s.Raw != "COMPLETED" && s.Raw != "FAILED"
		switch {
		case status == tracking.StatusFinished:
			continue // the run finished what it had to do
		case status.Terminal() && !abnormal:
			continue // the run recorded how it ended
		case status == s.Status:
			if r, _ := run.Tag("mlrun.error"); r == s.Reason {
				continue
			}
		}
		var tags []tracking.Tag
		if s.Reason != "" {
			tags = append(tags, tracking.Tag{Key: "mlrun.error", Value: s.Reason})
		}
		if len(tags) > 0 {
			if err := st.LogBatch(ctx, t.RunID, nil, nil, tags); err != nil {
				return nil, fmt.Errorf("record the end of run %s: %w", t.RunID, err)
			}
		}
		end := run.Info.EndTime
		if end == 0 {
			end = time.Now().UnixMilli()
		}
		status = s.Status
		if err := st.UpdateRun(ctx, t.RunID, tracking.RunUpdate{Status: &status, EndTime: &end}); err != nil {
			return nil, fmt.Errorf("end run %s: %w", t.RunID, err)
		}
		out[i] = status
	}
	return out, nil
}

// TasksOf rebuilds the tasks of runs from their executor tags; runs not
// handed to executor name are left out.
func TasksOf(runs []*tracking.Run, name string) []Task {
	var out []Task
	for _, r := range runs {
		if v, _ := r.Tag(TagExecutor); v != name {
			continue
		}
		job, ok := r.Tag(TagJobID)
		if !ok {
			continue
		}
		t := Task{RunID: r.Info.ID, JobID: job, Index: -1}
		if v, ok := r.Tag(TagArrayIndex); ok {
			fmt.Sscan(v, &t.Index)
		}
		out = append(out, t)
	}
	return out
}
