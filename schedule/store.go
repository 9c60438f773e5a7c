package schedule

import (
	"context"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// Store keeps schedules and their fires. Package sqlite implements it on
// the tracking store, so schedules, fires and runs live in one file.
// Errors are *errs.Error values: errs.NotFound for a missing schedule,
// errs.Conflict for a duplicate name.
type Store interface {
	// CreateSchedule saves a new schedule (CreatedAt, UpdatedAt and
	// NextRun as given); errs.Conflict if the name is taken.
	CreateSchedule(ctx context.Context, s *Schedule) error
	// GetSchedule returns a schedule with its latest fire and counts.
	GetSchedule(ctx context.Context, name string) (*Schedule, error)
	// ListSchedules returns every schedule ordered by name.
	ListSchedules(ctx context.Context) ([]*Schedule, error)
	// DeleteSchedule removes a schedule and its fire history. Jobs it
	// started keep running; their runs stay in the store.
	DeleteSchedule(ctx context.Context, name string) error
	// SetPaused pauses or resumes a schedule. Resuming sets its next run
	// to nextRun.
	SetPaused(ctx context.Context, name string, paused bool, nextRun time.Time) error
	// ApplySchedules makes the schedules whose Source is source be exactly
	// list, in one transaction: new names are created, changed ones
	// updated (keeping their paused state and history; their next run is
	// taken from list only when the cron expression or time zone changed),
	// and those no longer in list removed. A name held by a schedule of
	// another source is errs.Conflict and nothing changes.
	ApplySchedules(ctx context.Context, source string, list []*Schedule) ([]Change, error)
	// Fires returns a schedule's latest fires, newest first.
	Fires(ctx context.Context, name string, limit int) ([]*Fire, error)

	// ClaimFire calls decide with the named schedule as it is inside one
	// write transaction (with its Running and Queued counts). A nil
	// decision changes nothing. Otherwise the decision's fire is inserted
	// with INSERT ... ON CONFLICT DO NOTHING on (name, fire time), the
	// lease, and the schedule's next run is set to the decision's. ClaimFire
	// returns the fire if this call inserted it, nil if there was nothing
	// to do or another scheduler holds that fire already.
	ClaimFire(ctx context.Context, name string, decide func(s *Schedule) *Decision) (*Fire, error)
	// StartQueued marks the schedule's oldest QUEUED fire RUNNING, owned by
	// host and pid and started at started, if no fire of it is RUNNING.
	// It returns that fire, or nil if none was started.
	StartQueued(ctx context.Context, name, host string, pid int, started time.Time) (*Fire, error)
	// EndFire records a fire's outcome: Status, Ended, RunID, Message and
	// LogPath. A fire that no longer exists (its schedule was removed) is
	// not an error.
	EndFire(ctx context.Context, f *Fire) error
	// ReapFires marks FAILED, ended at now, every RUNNING fire owned by a
	// scheduler on host whose pid alive reports dead, and returns them.
	ReapFires(ctx context.Context, host string, alive func(pid int) bool, now time.Time) ([]*Fire, error)

	// RunByTag returns the id and status of the latest run with tag
	// key=value; errs.NotFound if there is none.
	RunByTag(ctx context.Context, key, value string) (string, tracking.RunStatus, error)
	// ReapDeadRuns is tracking.Store's: it marks FAILED the RUNNING runs
	// whose owner process is gone.
	ReapDeadRuns(ctx context.Context, host string, alive func(pid int) bool, stale time.Duration) ([]string, error)
}
