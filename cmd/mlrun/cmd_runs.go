package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

func (a *app) runsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "runs",
		Short: "List, show, delete and restore runs",
	}
	c.AddCommand(a.runsListCommand(), a.runsShowCommand(), a.runsHistoryCommand(), a.runsCompareCommand(), a.runsDeleteCommand(true), a.runsDeleteCommand(false))
	return c
}

type listOptions struct {
	experiment string
	filter     string
	orderBy    []string
	limit      int
	view       string
}

func (a *app) runsListCommand() *cobra.Command {
	var o listOptions
	c := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first, filtered and ordered in the database",
		Long: `List runs. --filter takes MLflow's search syntax: comparisons joined by AND on
metrics.<key>, params.<key>, tags.<key> and attributes (status, run_name,
start_time, ...). Metrics compare numbers (= != < <= > >=); params and tags
compare quoted strings (= != LIKE ILIKE).`,
		Example: `  mlrun runs list
  mlrun runs list --filter "metrics.accuracy > 0.9 and params.model = 'svc'" --order-by "metrics.accuracy DESC"
  mlrun runs list --filter "tags.mlflow.source.git.dirty = 'true'" -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return a.listRuns(c, o) },
	}
	f := c.Flags()
	f.StringVar(&o.experiment, "experiment", "", "only runs of this experiment")
	f.StringVar(&o.filter, "filter", "", "MLflow search filter")
	f.StringArrayVar(&o.orderBy, "order-by", nil, "order, e.g. \"metrics.accuracy DESC\" (repeatable)")
	f.IntVar(&o.limit, "limit", 100, "at most this many runs (max 50000)")
	f.StringVar(&o.view, "view", "active", "active, deleted or all")
	a.addOutputFlag(c)
	return c
}

func (a *app) listRuns(c *cobra.Command, o listOptions) error {
	if err := a.checkOutput(); err != nil {
		return err
	}
	if o.limit < 1 || o.limit > 50000 {
		return errs.Errorf(errs.Invalid, "--limit must be between 1 and 50000, not %d", o.limit)
	}
	view, err := parseView(o.view)
	if err != nil {
		return err
	}
	if _, err := tracking.ParseFilter(o.filter); err != nil {
		return err
	}
	ctx := c.Context()
	st, loc, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a.catchUpSlurm(ctx, st)
	q := tracking.SearchRuns{Filter: o.filter, OrderBy: o.orderBy, MaxResults: o.limit, ViewType: view}
	if o.experiment != "" {
		exp, err := st.GetExperimentByName(ctx, o.experiment)
		if err != nil {
			return err
		}
		q.ExperimentIDs = []string{exp.ID}
	}
	runs, _, err := st.SearchRuns(ctx, q)
	if err != nil {
		return err
	}
	if a.output == "json" {
		if runs == nil {
			runs = []*tracking.Run{}
		}
		return a.printJSON(map[string]any{"runs": runs})
	}
	exps := map[string]string{}
	if list, err := st.ListExperiments(ctx, tracking.All); err == nil {
		for _, e := range list {
			exps[e.ID] = e.Name
		}
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN ID\tNAME\tEXPERIMENT\tSTATUS\tSTARTED\tDURATION\tMETRICS")
	for _, row := range groupBySweep(runs) {
		r := row.run
		name := termSafe(r.Info.Name)
		if row.child {
			name = "  └ " + name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Info.ID[:12], name, termSafe(exps[r.Info.ExperimentID]),
			r.Info.Status, formatTime(r.Info.StartTime), duration(r.Info), metricSummary(r, 3))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	total, err := st.CountRuns(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%d run(s) shown; store %s holds %d\n", len(runs), loc, total)
	return nil
}

func (a *app) runsShowCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run's params, latest metrics, tags and artifacts (RUN may be a unique id prefix)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				ctx := c.Context()
				a.catchUpSlurm(ctx, st)
				run, err := resolveRun(ctx, st, args[0])
				if err != nil {
					return err
				}
				var files []artifact.File
				if repo, err := artifact.SchemesFor(st).Open(run.Info.ArtifactURI); err == nil {
					if files, err = repo.List(ctx, ""); err != nil {
						return err
					}
				}
				if a.output == "json" {
					if files == nil {
						files = []artifact.File{}
					}
					return a.printJSON(map[string]any{"run": run, "artifacts": files})
				}
				return a.printRun(run, files)
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) printRun(r *tracking.Run, files []artifact.File) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	i := r.Info
	fmt.Fprintf(tw, "Run\t%s\n", i.ID)
	fmt.Fprintf(tw, "Name\t%s\n", termSafe(i.Name))
	fmt.Fprintf(tw, "Experiment\t%s\n", i.ExperimentID)
	fmt.Fprintf(tw, "Status\t%s\n", i.Status)
	if msg, ok := r.Tag("mlrun.error"); ok {
		fmt.Fprintf(tw, "Error\t%s\n", termSafe(msg))
	}
	fmt.Fprintf(tw, "Started\t%s\n", formatTime(i.StartTime))
	fmt.Fprintf(tw, "Duration\t%s\n", duration(i))
	fmt.Fprintf(tw, "Artifacts\t%s\n", termSafe(i.ArtifactURI))
	if i.LifecycleStage != tracking.LifecycleActive {
		fmt.Fprintf(tw, "Lifecycle\t%s\n", i.LifecycleStage)
	}
	section := func(title string, rows [][2]string) {
		fmt.Fprintf(tw, "\n%s (%d)\t\n", title, len(rows))
		for _, row := range rows {
			fmt.Fprintf(tw, "  %s\t%s\n", termSafe(row[0]), termSafe(row[1]))
		}
	}
	var rows [][2]string
	for _, p := range r.Params {
		rows = append(rows, [2]string{p.Key, p.Value})
	}
	section("Params", rows)
	rows = nil
	for _, m := range r.Metrics {
		rows = append(rows, [2]string{m.Key, fmt.Sprintf("%.6g (step %d)", m.Value, m.Step)})
	}
	section("Metrics", rows)
	rows = nil
	for _, t := range r.Tags {
		rows = append(rows, [2]string{t.Key, oneLine(t.Value, 100)})
	}
	section("Tags", rows)
	rows = nil
	for _, f := range files {
		if f.IsDir {
			continue
		}
		rows = append(rows, [2]string{f.Path, fmt.Sprintf("%d bytes", f.Size)})
	}
	section("Artifact files", rows)
	return tw.Flush()
}

func (a *app) runsHistoryCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "history RUN METRIC",
		Short: "Print every point of a metric's history",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				ctx := c.Context()
				id, err := st.ResolveRunID(ctx, args[0])
				if err != nil {
					return err
				}
				points, err := st.MetricHistory(ctx, id, args[1])
				if err != nil {
					return err
				}
				if a.output == "json" {
					if points == nil {
						points = []tracking.Metric{}
					}
					return a.printJSON(map[string]any{"metrics": points})
				}
				if len(points) == 0 {
					return errs.Errorf(errs.NotFound, "run %s has no metric %q", id, args[1])
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "STEP\tVALUE\tTIME")
				for _, p := range points {
					fmt.Fprintf(tw, "%d\t%g\t%s\n", p.Step, p.Value, formatTime(p.Timestamp))
				}
				return tw.Flush()
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) runsDeleteCommand(del bool) *cobra.Command {
	use, short := "delete RUN...", "Mark runs deleted (they can be restored)"
	if !del {
		use, short = "restore RUN...", "Restore deleted runs"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			st, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			// Every id is checked before anything changes; then all change
			// in one transaction, or none does.
			var ids []string
			seen := map[string]bool{}
			for _, arg := range args {
				id, err := st.ResolveRunID(ctx, arg)
				if err != nil {
					return err
				}
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
			if err := st.SetRunsDeleted(ctx, ids, del); err != nil {
				return err
			}
			verb := "deleted"
			if !del {
				verb = "restored"
			}
			for _, id := range ids {
				fmt.Fprintf(a.stdout, "%s %s\n", verb, id)
			}
			return nil
		},
	}
}

type listRow struct {
	run   *tracking.Run
	child bool
}

// groupBySweep places each sweep trial right under its parent when the
// parent is listed too, keeping the order of everything else.
func groupBySweep(runs []*tracking.Run) []listRow {
	listed := map[string]bool{}
	for _, r := range runs {
		listed[r.Info.ID] = true
	}
	children := map[string][]*tracking.Run{}
	for _, r := range runs {
		if p := tagOf(r, "mlflow.parentRunId"); p != "" && listed[p] {
			children[p] = append(children[p], r)
		}
	}
	rows := make([]listRow, 0, len(runs))
	for _, r := range runs {
		if p := tagOf(r, "mlflow.parentRunId"); p != "" && listed[p] {
			continue
		}
		rows = append(rows, listRow{run: r})
		kids := children[r.Info.ID]
		sort.SliceStable(kids, func(i, j int) bool { return trialNumber(kids[i]) < trialNumber(kids[j]) })
		for _, c := range kids {
			rows = append(rows, listRow{run: c, child: true})
		}
	}
	return rows
}

func parseView(s string) (tracking.ViewType, error) {
	switch s {
	case "active":
		return tracking.ActiveOnly, nil
	case "deleted":
		return tracking.DeletedOnly, nil
	case "all":
		return tracking.All, nil
	}
	return 0, errs.Errorf(errs.Invalid, "--view must be active, deleted or all, not %q", s)
}

func duration(i tracking.RunInfo) string {
	end := i.EndTime
	if end == 0 {
		if i.Status != tracking.StatusRunning {
			return "-"
		}
		end = time.Now().UnixMilli()
	}
	d := time.Duration(end-i.StartTime) * time.Millisecond
	if d < time.Second {
		return d.String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func metricSummary(r *tracking.Run, n int) string {
	ms := append([]tracking.Metric(nil), r.Metrics...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
	var parts []string
	for _, m := range ms {
		if len(parts) == n {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%.4g", termSafe(m.Key), m.Value))
	}
	return strings.Join(parts, " ")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
