package main

import (
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// compared is the data `runs compare` shows.
type compared struct {
	Runs      []comparedRun `json:"runs"`
	Params    []string      `json:"params"`  // every param key, sorted
	Metrics   []string      `json:"metrics"` // every metric key, sorted
	Differing []string      `json:"differing"`
}

type comparedRun struct {
	ID      string             `json:"run_id"`
	Name    string             `json:"run_name"`
	Status  string             `json:"status"`
	Params  map[string]string  `json:"params"`
	Metrics map[string]float64 `json:"metrics"`
}

func (a *app) runsCompareCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "compare RUN [RUN...]",
		Short: "Compare runs' params and latest metrics side by side (one sweep parent: its trials)",
		Long: `Compare runs side by side: a row per param and per metric, a column per run.
Rows whose values differ between runs are marked. A single RUN that is a
sweep's parent compares the sweep's trials.`,
		Example: `  mlrun runs compare 3f9c 81a2 c07e
  mlrun runs compare <sweep-parent-id> -o csv > trials.csv`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if a.output != "table" && a.output != "json" && a.output != "csv" {
				return errs.Errorf(errs.Invalid, "--output must be table, json or csv, not %q", a.output)
			}
			ctx := c.Context()
			st, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var runs []*tracking.Run
			for _, arg := range args {
				r, err := resolveRun(ctx, st, arg)
				if err != nil {
					return err
				}
				runs = append(runs, r)
			}
			if len(runs) == 1 {
				if _, ok := runs[0].Tag("mlrun.sweep"); ok {
					children, _, err := st.SearchRuns(ctx, tracking.SearchRuns{
						Filter:     "tags.`mlflow.parentRunId` = '" + runs[0].Info.ID + "'",
						OrderBy:    []string{"attributes.start_time ASC"},
						MaxResults: 50000,
					})
					if err != nil {
						return err
					}
					sort.SliceStable(children, func(i, j int) bool { return trialNumber(children[i]) < trialNumber(children[j]) })
					runs = children
				}
			}
			if len(runs) == 0 {
				return errs.Errorf(errs.NotFound, "the sweep %s has no trials", args[0])
			}
			cmp := compareRuns(runs)
			switch a.output {
			case "json":
				return a.printJSON(cmp)
			case "csv":
				return a.printCompareCSV(cmp)
			}
			return a.printCompareTable(cmp)
		},
	}
	c.Flags().StringVarP(&a.output, "output", "o", "table", "output format: table, json or csv")
	return c
}

func trialNumber(r *tracking.Run) int {
	n, _ := strconv.Atoi(tagOf(r, "mlrun.sweep.trial"))
	return n
}

func tagOf(r *tracking.Run, key string) string {
	v, _ := r.Tag(key)
	return v
}

// compareRuns lines the runs up and finds the rows that differ.
func compareRuns(runs []*tracking.Run) *compared {
	cmp := &compared{Params: []string{}, Metrics: []string{}, Differing: []string{}}
	params, metrics := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		cr := comparedRun{ID: r.Info.ID, Name: r.Info.Name, Status: string(r.Info.Status), Params: map[string]string{}, Metrics: map[string]float64{}}
		for _, p := range r.Params {
			cr.Params[p.Key] = p.Value
			params[p.Key] = true
		}
		for _, m := range r.Metrics {
			cr.Metrics[m.Key] = m.Value
			metrics[m.Key] = true
		}
		cmp.Runs = append(cmp.Runs, cr)
	}
	for k := range params {
		cmp.Params = append(cmp.Params, k)
	}
	for k := range metrics {
		cmp.Metrics = append(cmp.Metrics, k)
	}
	sort.Strings(cmp.Params)
	sort.Strings(cmp.Metrics)
	for _, k := range cmp.Params {
		if differs(cmp.Runs, func(r comparedRun) string { v, ok := r.Params[k]; return present(v, ok) }) {
			cmp.Differing = append(cmp.Differing, "params."+k)
		}
	}
	for _, k := range cmp.Metrics {
		if differs(cmp.Runs, func(r comparedRun) string {
			v, ok := r.Metrics[k]
			return present(strconv.FormatFloat(v, 'g', -1, 64), ok)
		}) {
			cmp.Differing = append(cmp.Differing, "metrics."+k)
		}
	}
	return cmp
}

func present(v string, ok bool) string {
	if !ok {
		return "\x00missing"
	}
	return v
}

func differs(runs []comparedRun, value func(comparedRun) string) bool {
	for _, r := range runs[1:] {
		if value(r) != value(runs[0]) {
			return true
		}
	}
	return false
}

func (a *app) printCompareTable(cmp *compared) error {
	diff := map[string]bool{}
	for _, d := range cmp.Differing {
		diff[d] = true
	}
	color := isTerminal(a.stdout)
	mark := func(row string, cells []string) string {
		line := strings.Join(cells, "\t")
		if !diff[row] {
			return "  " + line
		}
		if color {
			return "\x1b[1;33m* " + line + "\x1b[0m"
		}
		return "* " + line
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	head := []string{"RUN"}
	names := []string{""}
	for _, r := range cmp.Runs {
		head = append(head, r.ID[:min(12, len(r.ID))])
		names = append(names, termSafe(r.Name))
	}
	fmt.Fprintln(tw, "  "+strings.Join(head, "\t"))
	fmt.Fprintln(tw, "  "+strings.Join(names, "\t"))
	for _, k := range cmp.Params {
		cells := []string{"params." + termSafe(k)}
		for _, r := range cmp.Runs {
			v, ok := r.Params[k]
			if !ok {
				v = "-"
			}
			cells = append(cells, oneLine(v, 40))
		}
		fmt.Fprintln(tw, mark("params."+k, cells))
	}
	for _, k := range cmp.Metrics {
		cells := []string{"metrics." + termSafe(k)}
		for _, r := range cmp.Runs {
			v, ok := r.Metrics[k]
			s := "-"
			if ok {
				s = fmt.Sprintf("%.6g", v)
			}
			cells = append(cells, s)
		}
		fmt.Fprintln(tw, mark("metrics."+k, cells))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%d run(s); %d of %d rows differ (marked *)\n", len(cmp.Runs), len(cmp.Differing), len(cmp.Params)+len(cmp.Metrics))
	return nil
}

func (a *app) printCompareCSV(cmp *compared) error {
	w := csv.NewWriter(a.stdout)
	head := []string{"run_id", "run_name", "status"}
	for _, k := range cmp.Params {
		head = append(head, "params."+k)
	}
	for _, k := range cmp.Metrics {
		head = append(head, "metrics."+k)
	}
	if err := w.Write(head); err != nil {
		return err
	}
	for _, r := range cmp.Runs {
		row := []string{r.ID, r.Name, r.Status}
		for _, k := range cmp.Params {
			row = append(row, r.Params[k])
		}
		for _, k := range cmp.Metrics {
			v, ok := r.Metrics[k]
			s := ""
			if ok {
				s = strconv.FormatFloat(v, 'g', -1, 64)
			}
			row = append(row, s)
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
