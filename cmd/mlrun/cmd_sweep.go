package main

import (
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/pipeline"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/sweep"
)

// runSweep runs (or, with --dry-run, lists) a sweep: a parent run and one
// child run per trial. early is the store being opened, and
// startProvenance starts capturing the project's provenance (or returns
// nil), once the store is open.
func (a *app) runSweep(c *cobra.Command, kinds *steps.Registry, req pipeline.Request, sw *sweep.Sweep, o runOptions, startProvenance func() *pipeline.Provenance, early *storeOpening) error {
	trials, err := sw.Trials()
	if err != nil {
		return err
	}
	objective, maximize, err := sweepObjective(sw, o)
	if err != nil {
		return err
	}
	if o.dryRun {
		return printTrials(a, sw, trials)
	}
	if o.jobs < 0 {
		return errs.Errorf(errs.Invalid, "-j must be at least 1, not %d", o.jobs)
	}
	if o.slurm.remote() {
		return a.sweepOnSlurm(c, sweepRequestFor(req, sw, trials, objective, maximize), o, o.slurm)
	}
	r, st, err := a.runnerFrom(c, o, early)
	if err != nil {
		return err
	}
	r.Provenance = startProvenance()
	defer st.Close()
	progress := newSweepProgress(a.stderr, len(trials))
	out, runErr := r.RunSweep(c.Context(), pipeline.SweepRequest{
		Request:   req,
		Sweep:     sw,
		Trials:    trials,
		Workers:   o.jobs,
		FailFast:  o.failFast,
		Objective: objective,
		Maximize:  maximize,
		Observer:  progress,
	})
	progress.Wait()
	if out != nil {
		a.printSweepSummary(sw, out, objective, maximize)
	}
	return runErr
}

// sweepObjective picks the objective from the flags, else the sweep section.
func sweepObjective(sw *sweep.Sweep, o runOptions) (key string, maximize bool, err error) {
	if o.maximize && o.minimize {
		return "", false, errs.Errorf(errs.Invalid, "--maximize and --minimize cannot both be given")
	}
	spec, goal := o.objective, ""
	if spec == "" {
		spec, goal = sw.Objective, sw.Goal
	}
	if spec == "" {
		if o.maximize || o.minimize {
			return "", false, errs.Errorf(errs.Invalid, "--maximize and --minimize need --objective metrics.<name>")
		}
		return "", false, nil
	}
	if key, err = sweep.ParseObjective(spec); err != nil {
		return "", false, err
	}
	switch {
	case o.maximize:
		maximize = true
	case o.minimize:
	default:
		maximize = goal == "maximize"
	}
	return key, maximize, nil
}

// printSweepSummary prints every trial, the best first when there is an
// objective, with the error of each failed trial.
func (a *app) printSweepSummary(sw *sweep.Sweep, out *pipeline.SweepOutcome, objective string, maximize bool) {
	order := make([]int, len(out.Results))
	for i := range order {
		order[i] = i
	}
	if objective != "" {
		order = out.SortedByObjective(maximize)
	}
	var names []string
	for _, ax := range sw.Axes {
		names = append(names, ax.Name)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	header := "TRIAL\tRUN ID\t" + strings.ToUpper(strings.Join(names, "\t"))
	if objective != "" {
		header += "\t" + strings.ToUpper(objective)
	}
	fmt.Fprintln(tw, header+"\tSTATUS\tDURATION\tERROR")
	for _, i := range order {
		res := out.Results[i]
		id := res.RunID
		if len(id) > 12 {
			id = id[:12]
		}
		if id == "" {
			id = "-"
		}
		row := []string{fmt.Sprint(res.Trial.Index + 1), id}
		for _, n := range names {
			row = append(row, termSafe(res.Trial.Values[n]))
		}
		if objective != "" {
			v := "-"
			if !math.IsNaN(res.Objective) {
				v = fmt.Sprintf("%.6g", res.Objective)
			}
			if i == out.Best {
				v += " *"
			}
			row = append(row, v)
		}
		status := string(res.Status)
		if status == "" {
			status = "NOT RUN"
		}
		row = append(row, status, res.Duration.Round(1e6).String(), oneLine(res.Error, 80))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	msg := fmt.Sprintf("sweep %s %s", out.ParentRunID, out.Status)
	if out.Best >= 0 {
		msg += fmt.Sprintf("; best: trial %d (run %s)", out.Results[out.Best].Trial.Index+1, out.Results[out.Best].RunID)
	}
	fmt.Fprintln(a.stderr, msg)
}
