package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/executor"
	"github.com/mlrun/mlrun/project"
	"github.com/mlrun/mlrun/schedule"
	"github.com/mlrun/mlrun/tracking"
)

// scheduleManualTag marks the run of one `mlrun schedule run`, so that -o json can
// find it afterwards.
const scheduleManualTag = "mlrun.schedule.manual"

func (a *app) scheduleCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "schedule",
		Short: "Run entry points on cron schedules (started by 'mlrun scheduler')",
		Long: `Schedules run an entry point of a project on a cron schedule. They live in
the tracking store; 'mlrun scheduler' is the process that starts their jobs.

A schedule gets into the store with 'mlrun schedule add', or, when it is
declared in the top-level schedules: list of an MLproject, with
'mlrun schedule apply DIR'. apply makes the store hold exactly the schedules
that MLproject declares: it creates new ones, updates changed ones (keeping
their history and paused state) and removes the ones no longer declared.
Nothing reads an MLproject's schedules until apply runs.

Cron expressions have 5 fields (minute hour day-of-month month day-of-week),
or are @hourly, @daily, @weekly, @monthly, @yearly or @every DURATION (whole
seconds, e.g. @every 30s, @every 1h30m). They are read in --timezone (an
IANA name), else in the scheduler's local time.`,
	}
	c.AddCommand(
		a.scheduleAddCommand(),
		a.scheduleListCommand(),
		a.scheduleShowCommand(),
		a.scheduleRemoveCommand(),
		a.schedulePauseCommand("pause", true),
		a.schedulePauseCommand("resume", false),
		a.scheduleRunCommand(),
		a.scheduleApplyCommand(),
	)
	return c
}

// scheduleAddOptions are the flags of `schedule add`.
type scheduleAddOptions struct {
	cron       string
	entryPoint string
	params     []string
	timezone   string
	overlap    string
	missed     string
	experiment string
	executor   string
	res        executor.Resources
}

func (a *app) scheduleAddCommand() *cobra.Command {
	var o scheduleAddOptions
	c := &cobra.Command{
		Use:   "add NAME DIR --cron EXPR",
		Short: "Add a schedule running an entry point of the MLproject in DIR",
		Long: `Add a schedule running an entry point of the MLproject in DIR.

Everything is checked before the schedule is saved: the name, the cron
expression and time zone, the policies, the MLproject, the entry point and
its parameters (-P name=value, as for 'mlrun run').

--overlap says what a fire does while the previous job of the schedule still
runs: skip (record it SKIPPED), queue (start it when the previous job ends; at
most one waits) or allow (start it anyway). --missed says what happens to
fires that came due while no scheduler ran: run_once (one catch-up job) or
skip.`,
		Example: `  mlrun schedule add nightly --cron "0 3 * * *" examples/iris -P C=0.5
  mlrun schedule add often --cron "@every 30s" . -e quick --overlap queue
  mlrun schedule add paris --cron "30 6 * * MON-FRI" --timezone Europe/Paris .`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return a.scheduleAdd(c, args[0], args[1], o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.cron, "cron", "", `cron expression: "MIN HOUR DOM MON DOW", @hourly, @daily, @every 30s, ... (required)`)
	f.StringVarP(&o.entryPoint, "entry-point", "e", "main", "entry point to run")
	f.StringArrayVarP(&o.params, "param", "P", nil, "parameter name=value (repeatable)")
	f.StringVar(&o.timezone, "timezone", "", "IANA time zone the cron fields are read in (default: the scheduler's local time)")
	f.StringVar(&o.overlap, "overlap", schedule.OverlapSkip, "while the previous job runs: skip, queue or allow")
	f.StringVar(&o.missed, "missed", schedule.MissedRunOnce, "fires missed while no scheduler ran: run_once or skip")
	f.StringVar(&o.experiment, "experiment", "", "experiment of the runs, created if missing (default: Default)")
	f.StringVar(&o.executor, "executor", schedule.ExecutorLocal, "where each fire's run executes: local (a child process of the scheduler) or slurm (a Slurm job)")
	addResourceFlags(f, &o.res)
	a.addOutputFlag(c)
	return c
}

func (a *app) scheduleAdd(c *cobra.Command, name, dir string, o scheduleAddOptions) error {
	ctx := c.Context()
	if err := a.checkOutput(); err != nil {
		return err
	}
	if strings.TrimSpace(o.cron) == "" {
		return errs.Errorf(errs.Invalid, `--cron is required: give a cron expression such as "0 3 * * *", @daily or "@every 30s"`)
	}
	kvs, err := parseParams(o.params)
	if err != nil {
		return err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", dir, err)
	}
	sc := &schedule.Schedule{
		Name:       name,
		Cron:       o.cron,
		Timezone:   o.timezone,
		ProjectDir: absDir,
		EntryPoint: o.entryPoint,
		Experiment: o.experiment,
		Overlap:    o.overlap,
		Missed:     o.missed,
		Resources:  o.res,
	}
	if o.executor != schedule.ExecutorLocal {
		sc.Executor = o.executor
	}
	for _, kv := range kvs {
		sc.Params = append(sc.Params, schedule.KV{Key: kv.Key, Value: kv.Value})
	}
	sc.SetDefaults()
	if err := schedule.Validate(sc); err != nil {
		return err
	}
	proj, err := project.Load(dir, a.kinds())
	if err != nil {
		return err
	}
	if err := schedule.CheckProject(sc, proj); err != nil {
		return err
	}
	spec, err := schedule.Parse(sc.Cron, sc.Timezone)
	if err != nil {
		return err
	}
	if sc.Executor == schedule.ExecutorSlurm {
		loc, err := a.storeLocation()
		if err != nil {
			return err
		}
		if err := checkSharedStore(loc); err != nil {
			return err
		}
	}
	st, _, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	sc.CreatedAt, sc.UpdatedAt, sc.NextRun = now, now, spec.Next(now)
	if err := st.CreateSchedule(ctx, sc); err != nil {
		return err
	}
	if a.output == "json" {
		saved, err := st.GetSchedule(ctx, name)
		if err != nil {
			return err
		}
		return a.printJSON(saved)
	}
	fmt.Fprintf(a.stdout, "added schedule %s (%s), next run %s\n", sc.Name, sc.Cron, scheduleTime(sc.NextRun))
	return nil
}

func (a *app) scheduleListCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List schedules with their next run and last outcome",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				list, err := st.ListSchedules(c.Context())
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(map[string]any{"schedules": list})
				}
				if len(list) == 0 {
					fmt.Fprintln(a.stdout, "no schedules (add one with 'mlrun schedule add' or 'mlrun schedule apply')")
					return nil
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tCRON\tNEXT RUN\tLAST RUN\tLAST OUTCOME\tPAUSED\tPROJECT")
				for _, sc := range list {
					outcome := sc.LastOutcome
					if outcome == "" {
						outcome = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termSafe(sc.Name), termSafe(scheduleCronText(sc)), scheduleTime(sc.NextRun),
						scheduleTime(sc.LastRun), termSafe(outcome), scheduleYesNo(sc.Paused), termSafe(scheduleProjectText(sc)))
				}
				return tw.Flush()
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) scheduleShowCommand() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a schedule and its latest fires",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			if err := a.checkOutput(); err != nil {
				return err
			}
			if limit <= 0 {
				return errs.Errorf(errs.Invalid, "--limit must be at least 1, not %d", limit)
			}
			st, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			sc, err := st.GetSchedule(ctx, args[0])
			if err != nil {
				return err
			}
			fires, err := st.Fires(ctx, sc.Name, limit)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.printJSON(map[string]any{"schedule": sc, "fires": fires})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
			params := make([]string, len(sc.Params))
			for i, p := range sc.Params {
				params[i] = p.Key + "=" + p.Value
			}
			source := sc.Source
			if source == "" {
				source = "mlrun schedule add"
			}
			for _, row := range [][2]string{
				{"name", sc.Name},
				{"cron", scheduleCronText(sc)},
				{"project", sc.ProjectDir},
				{"entry point", sc.EntryPoint},
				{"parameters", scheduleOrDash(strings.Join(params, " "))},
				{"experiment", scheduleOrDash(sc.Experiment)},
				{"executor", scheduleExecutorText(sc)},
				{"overlap", sc.Overlap},
				{"missed", sc.Missed},
				{"paused", scheduleYesNo(sc.Paused)},
				{"next run", scheduleTime(sc.NextRun)},
				{"running", strconv.Itoa(sc.Running)},
				{"queued", strconv.Itoa(sc.Queued)},
				{"source", source},
			} {
				fmt.Fprintf(tw, "%s:\t%s\n", row[0], termSafe(row[1]))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(fires) == 0 {
				fmt.Fprintln(a.stdout, "\nno fires yet")
				return nil
			}
			fmt.Fprintln(a.stdout)
			tw = tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "FIRE TIME\tOUTCOME\tSTARTED\tDURATION\tRUN ID\tNOTE")
			for _, f := range fires {
				dur := "-"
				if !f.Started.IsZero() && !f.Ended.IsZero() {
					dur = f.Ended.Sub(f.Started).Round(10 * time.Millisecond).String()
				}
				note := f.Message
				if note == "" && f.LogPath != "" {
					note = "log " + f.LogPath
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", scheduleTime(f.FireTime), f.Status, scheduleTime(f.Started), dur, scheduleOrDash(f.RunID), termSafe(scheduleOrDash(note)))
			}
			return tw.Flush()
		},
	}
	c.Flags().IntVar(&limit, "limit", 20, "how many of the latest fires to show")
	a.addOutputFlag(c)
	return c
}

func (a *app) scheduleRemoveCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a schedule and its fire history (its runs stay)",
		Long: `Remove a schedule and its fire history. The runs its jobs created stay in
the store, and a job that is running goes on to its end.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				if err := st.DeleteSchedule(c.Context(), args[0]); err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(map[string]any{"removed": args[0]})
				}
				fmt.Fprintf(a.stdout, "removed schedule %s\n", args[0])
				return nil
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

// schedulePauseCommand builds `pause NAME` (pause true) or `resume NAME`.
func (a *app) schedulePauseCommand(verb string, pause bool) *cobra.Command {
	short := "Pause a schedule: its fires stop until it is resumed (a running job goes on)"
	if !pause {
		short = "Resume a paused schedule from now on (fires due while it was paused are not run)"
	}
	c := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			if err := a.checkOutput(); err != nil {
				return err
			}
			st, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			sc, err := st.GetSchedule(ctx, args[0])
			if err != nil {
				return err
			}
			var next time.Time
			if !pause {
				spec, err := schedule.Parse(sc.Cron, sc.Timezone)
				if err != nil {
					return err
				}
				next = spec.Next(time.Now())
			}
			if err := st.SetPaused(ctx, sc.Name, pause, next); err != nil {
				return err
			}
			if sc, err = st.GetSchedule(ctx, sc.Name); err != nil {
				return err
			}
			if a.output == "json" {
				return a.printJSON(sc)
			}
			if pause {
				fmt.Fprintf(a.stdout, "paused schedule %s\n", sc.Name)
			} else {
				fmt.Fprintf(a.stdout, "resumed schedule %s, next run %s\n", sc.Name, scheduleTime(sc.NextRun))
			}
			return nil
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) scheduleRunCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a schedule's job now, in the foreground, like 'mlrun run'",
		Long: `Run a schedule's job now, in the foreground, exactly as 'mlrun run' would,
with the schedule's project, entry point, parameters and experiment. The run
is tagged mlrun.trigger=manual:NAME (scheduled fires are tagged
schedule:NAME). It is not a fire: it is not in the schedule's history, the
overlap policy does not apply, and it runs even when the schedule is paused.
The exit status is that of 'mlrun run'. With -o json, the job's output goes
to stderr and stdout holds {"schedule", "run_id", "status"}.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.scheduleRunNow(c, args[0])
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) scheduleRunNow(c *cobra.Command, name string) error {
	ctx := c.Context()
	if err := a.checkOutput(); err != nil {
		return err
	}
	st, _, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	sc, err := st.GetSchedule(ctx, name)
	st.Close()
	if err != nil {
		return err
	}
	marker := strconv.FormatInt(time.Now().UnixNano(), 36)
	o := runOptions{
		entryPoint: sc.EntryPoint,
		experiment: sc.Experiment,
		tags:       []string{schedule.TriggerTag + "=manual:" + sc.Name, scheduleManualTag + "=" + marker},
	}
	if o.experiment == "" {
		o.experiment = "Default" // as the scheduler does, whatever $MLRUN_EXPERIMENT_NAME says
	}
	for _, p := range sc.Params {
		o.params = append(o.params, p.Key+"="+p.Value)
	}
	if a.output != "json" {
		return a.runProject(c, sc.ProjectDir, o)
	}
	stdout := a.stdout
	a.stdout = a.stderr // keep stdout for the JSON
	runErr := a.runProject(c, sc.ProjectDir, o)
	a.stdout = stdout
	st, _, err = a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	id, status, err := st.RunByTag(ctx, scheduleManualTag, marker)
	if err != nil {
		if runErr != nil {
			return runErr
		}
		return err
	}
	if err := a.printJSON(map[string]any{"schedule": sc.Name, "run_id": id, "status": status}); err != nil {
		return err
	}
	return runErr
}

func (a *app) scheduleApplyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "apply [DIR]",
		Short: "Make the store hold exactly the schedules declared in DIR's MLproject (default .)",
		Long: `Read the top-level schedules: list of the MLproject in DIR (default: the
current directory) and make the store hold exactly those schedules for that
MLproject, in one transaction: new names are created, changed ones updated
(keeping their fire history and paused state; the next run is recomputed only
when the cron expression or time zone changed), and schedules applied from
this MLproject before but no longer declared are removed. Everything is
checked first; on any error nothing changes. A name taken by a schedule from
'mlrun schedule add' or from another MLproject is an error.

  schedules:
    - name: nightly             # required
      cron: "0 3 * * *"         # required; or @hourly, @daily, @every 30s
      entry_point: main         # default main
      parameters: {C: 0.5}
      timezone: Europe/Paris    # default: the scheduler's local time
      overlap: skip             # skip (default), queue or allow
      missed: run_once          # run_once (default) or skip
      experiment: nightly       # default Default`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.scheduleApply(c, dir)
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) scheduleApply(c *cobra.Command, dir string) error {
	ctx := c.Context()
	if err := a.checkOutput(); err != nil {
		return err
	}
	proj, err := project.Load(dir, a.kinds())
	if err != nil {
		return err
	}
	list, err := schedule.FromProject(proj)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, sc := range list {
		spec, err := schedule.Parse(sc.Cron, sc.Timezone)
		if err != nil {
			return err
		}
		sc.CreatedAt, sc.UpdatedAt, sc.NextRun = now, now, spec.Next(now)
	}
	st, _, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	source := schedule.ProjectSource(proj)
	changes, err := st.ApplySchedules(ctx, source, list)
	if err != nil {
		return err
	}
	if a.output == "json" {
		if changes == nil {
			changes = []schedule.Change{}
		}
		return a.printJSON(map[string]any{"source": source, "changes": changes})
	}
	if len(changes) == 0 {
		fmt.Fprintf(a.stdout, "%s declares no schedules; nothing to apply\n", proj.File)
		return nil
	}
	for _, ch := range changes {
		fmt.Fprintf(a.stdout, "%s schedule %s\n", ch.Action, ch.Name)
	}
	return nil
}

// scheduleCronText shows a schedule's expression with its time zone.
func scheduleCronText(sc *schedule.Schedule) string {
	if sc.Timezone == "" {
		return sc.Cron
	}
	return sc.Cron + " (" + sc.Timezone + ")"
}

// scheduleProjectText shows the project and entry point of a schedule.
func scheduleProjectText(sc *schedule.Schedule) string {
	return sc.ProjectDir + " -e " + sc.EntryPoint
}

// scheduleTime renders a time for tables, "-" for the zero time.
func scheduleTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func scheduleYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func scheduleOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// scheduleExecutorText describes where a schedule's fires execute.
func scheduleExecutorText(sc *schedule.Schedule) string {
	if sc.Executor != schedule.ExecutorSlurm {
		return schedule.ExecutorLocal
	}
	if flags := schedule.ResourceFlags(sc.Resources); len(flags) > 0 {
		return sc.Executor + " " + strings.Join(flags, " ")
	}
	return sc.Executor
}
