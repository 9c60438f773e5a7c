package main

import (
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/executor"
	"github.com/mlrun/mlrun/schedule"
)

func (a *app) schedulerCommand() *cobra.Command {
	var tick, grace, missedAfter time.Duration
	c := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the jobs of the store's schedules until stopped (a long-running process)",
		Long: `Run the jobs of the store's schedules until stopped with SIGINT or SIGTERM.

Every --tick the scheduler starts a job for each due schedule: a child
'mlrun run DIR -e EP -P k=v ... --tag mlrun.trigger=schedule:NAME' on the same
store, whose output goes to <store dir>/schedules/NAME/<fire time>.log. It
prints a line per fire started, skipped, queued or ended to stderr; 'mlrun
schedule show NAME' shows the same history.

Several schedulers may run on one store (on one host, or sharing the file):
each fire is claimed in the database by exactly one of them, so no job starts
twice.

A fire later than --missed-after (or several fires due at once), after the
scheduler was down, is missed: the schedule's missed policy runs one catch-up
job (run_once) or none (skip).

On SIGINT or SIGTERM the scheduler starts no new job and sends SIGTERM to its
running jobs, which end their runs KILLED; it waits up to --grace for them,
then kills the rest (SIGKILL; their runs are marked FAILED). It exits 0 once
every job it started has ended and been recorded. Queued fires stay queued for
the next scheduler. See docs/scheduling.md to run it under systemd or cron.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if tick < 10*time.Millisecond {
				return errs.Errorf(errs.Invalid, "--tick must be at least 10ms, not %s", tick)
			}
			if grace <= 0 {
				return errs.Errorf(errs.Invalid, "--grace must be positive, not %s", grace)
			}
			if missedAfter <= 0 {
				return errs.Errorf(errs.Invalid, "--missed-after must be positive, not %s", missedAfter)
			}
			st, loc, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if a.artifacts != "" {
				// Jobs inherit the environment: they put new experiments'
				// artifacts where the scheduler was told to.
				os.Setenv("MLRUN_ARTIFACTS_DESTINATION", a.artifacts)
			}
			s := &schedule.Scheduler{
				Store:       st,
				TrackingURI: loc.URI,
				LogDir:      filepath.Join(loc.Dir, "schedules"),
				Tick:        tick,
				Grace:       grace,
				MissedAfter: missedAfter,
				Out:         a.stderr,
				Executor:    &executor.Local{},
			}
			return s.Run(c.Context())
		},
	}
	f := c.Flags()
	f.DurationVar(&tick, "tick", schedule.DefaultTick, "how often schedules are checked")
	f.DurationVar(&grace, "grace", schedule.DefaultGrace, "on stop, how long running jobs get to end after SIGTERM before SIGKILL")
	f.DurationVar(&missedAfter, "missed-after", schedule.DefaultMissedAfter, "a fire noticed later than this is a missed fire")
	return c
}
