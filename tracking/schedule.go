package tracking

import (
	"context"
	"time"
)

// This file holds the schedules' domain as the store keeps it: schedules,
// their fires (the lease that makes one scheduler own a fire, and the
// fire's history) and what a scheduler decided. Package schedule holds the
// cron parsing, the decision rules and the scheduler loop.

// Overlap policies: what a fire does while the schedule's previous job runs.
const (
	OverlapSkip  = "skip"  // record the fire SKIPPED (the default)
	OverlapQueue = "queue" // start it when the previous job ends; at most one waits
	OverlapAllow = "allow" // start it anyway
)

// Missed-fire policies: what happens to fires missed while no scheduler ran.
const (
	MissedRunOnce = "run_once" // one catch-up job for all missed fires (the default)
	MissedSkip    = "skip"     // no job; the schedule moves on
)

// Fire statuses. A fire is QUEUED or RUNNING until it ends with one of the
// others (the outcome).
const (
	FireQueued   = "QUEUED"
	FireRunning  = "RUNNING"
	FireFinished = "FINISHED"
	FireFailed   = "FAILED"
	FireKilled   = "KILLED"
	FireSkipped  = "SKIPPED"
)

// KV is one parameter of a scheduled entry point, given as with -P.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Schedule runs an entry point of a project on a cron schedule.
type Schedule struct {
	Name       string `json:"name"`
	Cron       string `json:"cron"`               // 5 fields, @hourly, @daily, @every 30s, ...
	Timezone   string `json:"timezone,omitempty"` // IANA name; empty: the scheduler's local time
	ProjectDir string `json:"project_dir"`        // absolute
	EntryPoint string `json:"entry_point"`
	Params     []KV   `json:"params"`
	Experiment string `json:"experiment,omitempty"` // empty: Default
	Overlap    string `json:"overlap"`
	Missed     string `json:"missed"`
	Paused     bool   `json:"paused"`
	// Executor is where the fires' runs execute: "" (a child process of
	// the scheduler, as `mlrun run` locally) or "slurm" (the child submits
	// the run as a Slurm job and follows it). Resources are the cluster
	// resources asked for, over the entry point's resources: section.
	Executor  string    `json:"executor,omitempty"`
	Resources Resources `json:"resources,omitzero"`
	// Source is the absolute path of the MLproject file the schedule was
	// applied from, or empty for one added with `mlrun schedule add`.
	Source    string    `json:"source,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// NextRun is the next fire time; zero when the expression never fires again.
	NextRun time.Time `json:"next_run,omitzero"`

	// Read from the fire history by the store.
	LastRun     time.Time `json:"last_run,omitzero"` // fire time of the latest fire
	LastRunID   string    `json:"last_run_id,omitempty"`
	LastOutcome string    `json:"last_outcome,omitempty"` // that fire's status
	Running     int       `json:"running"`                // fires RUNNING now
	Queued      int       `json:"queued"`                 // fires QUEUED now
}

// SetDefaults fills the entry point ("main"), the overlap policy ("skip")
// and the missed-fire policy ("run_once") when they are empty.
func (s *Schedule) SetDefaults() {
	if s.EntryPoint == "" {
		s.EntryPoint = "main"
	}
	if s.Overlap == "" {
		s.Overlap = OverlapSkip
	}
	if s.Missed == "" {
		s.Missed = MissedRunOnce
	}
}

// Fire is one fire of a schedule: the lease and its history.
type Fire struct {
	Schedule string    `json:"schedule"`
	FireTime time.Time `json:"fire_time"` // the scheduled time
	Status   string    `json:"status"`
	Started  time.Time `json:"started,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	RunID    string    `json:"run_id,omitempty"`
	LogPath  string    `json:"log_path,omitempty"`
	Message  string    `json:"message,omitempty"` // why it was skipped or failed, or a catch-up note
	Host     string    `json:"host,omitempty"`    // host and pid of the scheduler that owns it
	PID      int       `json:"pid,omitempty"`
}

// Decision is what to do about a schedule whose next run is due.
type Decision struct {
	// Fire is the fire to record. Its Status is RUNNING (start a job now),
	// QUEUED (start one when the running job ends) or SKIPPED.
	Fire Fire
	// NextRun is the schedule's next fire time after this one.
	NextRun time.Time
}

// Change is what ApplySchedules did to one schedule.
type Change struct {
	Name   string `json:"name"`
	Action string `json:"action"` // created, updated, unchanged or removed
}

// Actions of a Change.
const (
	ActionCreated   = "created"
	ActionUpdated   = "updated"
	ActionUnchanged = "unchanged"
	ActionRemoved   = "removed"
)

// ScheduleStore keeps schedules and their fires. Errors are *errs.Error
// values: errs.NotFound for a missing schedule, errs.Conflict for a
// duplicate name.
type ScheduleStore interface {
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
	// unless a fire of that schedule and fire time exists (that row is the
	// lease), and the schedule's next run is set to the decision's.
	// ClaimFire returns the fire if this call inserted it, nil if there
	// was nothing to do or another scheduler holds that fire already.
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
	RunByTag(ctx context.Context, key, value string) (string, RunStatus, error)
}
