package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/pipeline"
	"github.com/mlrun/mlrun/reproduce"
)

type reproduceOptions struct {
	tolerance  float64
	allowDrift bool
}

// reproduceCommand is `mlrun reproduce RUN`.
func (a *app) reproduceCommand() *cobra.Command {
	var o reproduceOptions
	c := &cobra.Command{
		Use:   "reproduce RUN",
		Short: "Re-run a recorded run exactly and check that it comes out the same",
		Long: `Re-run RUN (an id or a unique prefix of at least 4 characters) with the same
code, entry point, parameters (every recorded value, defaults included), seed and
experiment, as a new run tagged mlrun.reproducedFrom (every step runs: the step
cache is not replayed), then compare the two runs:
every param, every metric's final value, every dataset hash and every model file
(except MLmodel, whose run id and time differ).

The code: when the project's checkout is no longer at the recorded commit (or
has other uncommitted changes), the run repeats in a temporary worktree at that
commit, with the run's recorded code.diff applied if it ran on a dirty tree;
the worktree is removed afterwards. Data files that are not in git are used from
the recorded project directory.

Before running, drift is checked: a data file, a lockfile, the mlrun build
(lockfile mlrun.buildinfo) or a parameter of the code to re-run that differs
from the record. Drift stops the reproduction unless --allow-drift
is given, which re-runs anyway and records each drift on the new run as
mlrun.drift.<kind>.<name> tags.

Exits 0 only when the run reproduced; 1 when it did not (or the re-run failed),
2 on drift or a run that cannot be re-run, 3 for an unknown run.`,
		Example: `  mlrun reproduce 3f2a
  mlrun reproduce 3f2a9c1d --tolerance 1e-9
  mlrun reproduce 3f2a --allow-drift -o json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errs.Errorf(errs.Invalid, "reproduce takes one run id, not %d arguments (see 'mlrun reproduce --help')", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.reproduceRun(c, args[0], o)
		},
	}
	f := c.Flags()
	f.Float64Var(&o.tolerance, "tolerance", 0, "largest difference between two metric values that still counts as the same (default: exactly equal)")
	f.BoolVar(&o.allowDrift, "allow-drift", false, "re-run even if data files, lockfiles, the mlrun build or parameters differ from the record, and record the drift on the new run")
	a.addOutputFlag(c)
	return c
}

func (a *app) reproduceRun(c *cobra.Command, runID string, o reproduceOptions) (err error) {
	if err := a.checkOutput(); err != nil {
		return err
	}
	if o.tolerance < 0 || math.IsNaN(o.tolerance) || math.IsInf(o.tolerance, 0) {
		return errs.Errorf(errs.Invalid, "--tolerance must be a finite number of at least 0, not %v", o.tolerance)
	}
	ctx := c.Context()
	st, loc, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	kinds := a.kinds()
	plan, err := reproduce.NewPlan(ctx, st, runID, reproduce.Options{
		Kinds:      kinds,
		StoreDir:   loc.Dir,
		AllowDrift: o.allowDrift,
		Tolerance:  o.tolerance,
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := plan.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	// In JSON mode stdout carries the JSON alone: step output goes to stderr.
	stepOut := a.stdout
	if a.output == "json" {
		stepOut = a.stderr
	} else {
		fmt.Fprintln(a.stdout, plan.Summary())
		if len(plan.Drift) > 0 {
			fmt.Fprintln(a.stdout, "\ndrift since the run was recorded:")
			if err := printDrift(a.stdout, plan.Drift); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout)
		}
	}
	r := &pipeline.Runner{
		Store:       st,
		Kinds:       kinds,
		TrackingURI: loc.URI,
		Version:     a.version,
		StoreDir:    loc.Dir,
		Stdout:      stepOut,
		Stderr:      a.stderr,
	}
	res, runErr := plan.Run(ctx, r)
	if a.output == "json" {
		out := res
		if out == nil {
			out = &reproduce.Result{Summary: plan.Summary(), Drift: plan.Drift}
		}
		if out.Drift == nil {
			out.Drift = []reproduce.Drift{}
		}
		if err := a.printJSON(out); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	v := res.Verdict
	if a.output == "table" {
		if err := printVerdict(a.stdout, v); err != nil {
			return err
		}
	}
	if !v.Reproduced {
		noun := "differences"
		if v.Differences == 1 {
			noun = "difference"
		}
		return errs.Errorf(errs.Failed, "run %s did not reproduce: %d %s (new run %s)", v.OriginalRunID, v.Differences, noun, v.ReproducedRunID)
	}
	if a.output == "table" {
		fmt.Fprintf(a.stdout, "\nreproduced: run %s matches run %s (%d values compared)\n", v.ReproducedRunID, v.OriginalRunID, len(v.Rows))
	}
	return nil
}

// printDrift writes the drift report as a table.
func printDrift(w io.Writer, drift []reproduce.Drift) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tRECORDED\tNOW")
	for _, d := range drift {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Kind, termSafe(d.Name), termSafe(reproShort(d.Recorded)), termSafe(reproShort(d.Current)))
	}
	return tw.Flush()
}

// printVerdict writes the verdict table.
func printVerdict(w io.Writer, v *reproduce.Verdict) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "WHAT\tNAME\tORIGINAL\tREPRODUCED\tSTATUS")
	for _, r := range v.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.What, termSafe(r.Name), termSafe(reproCell(reproShort(r.Original))), termSafe(reproCell(reproShort(r.Reproduced))), r.Status)
	}
	return tw.Flush()
}

// isHexSHA256 reports whether s is a full sha256 in lower-case hex (the
// regexp ^[0-9a-f]{64}$, written out because compiling it at package
// initialisation cost every mlrun process about 0.1 ms).
func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// reproShort abbreviates a sha256 to 12 hex digits for tables; JSON output
// keeps it whole.
func reproShort(s string) string {
	if isHexSHA256(s) {
		return s[:12]
	}
	return s
}

// reproCell shows an absent value as "-".
func reproCell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
