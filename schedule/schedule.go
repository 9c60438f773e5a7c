// Package schedule runs MLproject entry points on cron schedules.
//
// A Schedule names a project directory, an entry point, its parameters and
// a cron expression. Schedules live in the tracking store (package sqlite
// implements Store); they get there with `mlrun schedule add` or, for the
// schedules declared in an MLproject's top-level `schedules:` list, with
// `mlrun schedule apply DIR` (see FromProject).
//
// # The scheduler
//
// Scheduler.Run is the long-running loop behind `mlrun scheduler`. Every
// tick (250 ms by default) it lists the schedules, and for each one whose
// next run is due it asks the store to claim the fire. The claim is one
// write transaction that re-reads the schedule, decides what to do (Decide),
// inserts a row keyed (schedule name, fire time) with INSERT ... ON CONFLICT
// DO NOTHING and moves the schedule's next run on. That row is the lease:
// whoever inserts it owns the fire, so any number of schedulers may share a
// store and each fire still starts at most one job. The same row is the
// fire's history: status, start and end, run id and log file.
//
// A claimed fire starts a child process,
//
//	mlrun run DIR -e EP -P k=v ... [--experiment X] \
//	    --tag mlrun.trigger=schedule:NAME --tag mlrun.schedule.fire=NAME@FIRETIME
//
// with MLRUN_TRACKING_URI naming the same store, in DIR, its output going to
// <store dir>/schedules/NAME/<fire time>.log. When it exits, the run is
// found by its mlrun.schedule.fire tag and the fire ends with the run's
// status (FINISHED, FAILED or KILLED); a job that never created a run
// (say, the project became invalid) ends FAILED with a pointer to its log.
//
// # Policies
//
// Overlap says what a fire does while an earlier job of the same schedule
// is still running (the count comes from the store, so it holds across
// schedulers): "skip" (the default) records the fire SKIPPED; "queue" records
// it QUEUED and starts it when the running job ends, keeping at most one
// queued fire (more are SKIPPED); "allow" starts it anyway.
//
// Missed says what happens to fires that came due while no scheduler ran.
// A fire is missed when more than one fire is due at once, or when the one
// due fire is older than Scheduler.MissedAfter (one minute by default).
// "run_once" (the default) starts one catch-up job for all of them, keyed
// by the latest missed fire time; "skip" records that fire SKIPPED and
// starts nothing. Either way the next run moves past now. Fires that come
// due while a schedule is paused are not missed fires: resuming a schedule
// sets its next run from the time of resuming.
//
// # Stopping
//
// When Run's context is cancelled (SIGINT or SIGTERM to `mlrun scheduler`)
// it starts no new job, sends SIGTERM to every job it started (mlrun run
// then ends its run KILLED), waits up to Scheduler.Grace (30 s by default)
// for them, then sends SIGKILL to the process group of any job still
// running and marks its run FAILED. Every fire it owned ends with an
// outcome; QUEUED fires stay queued for the next scheduler. If a scheduler
// dies without stopping (kill -9), its jobs get SIGTERM from the kernel
// (Linux), so their runs end KILLED, and the next scheduler on the same host
// ends its RUNNING fires with their runs' status (FAILED if there is none).
package schedule

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	cron "github.com/netresearch/go-cron"

	"github.com/mlrun/mlrun/errs"
)

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

// Tags set on the runs of scheduled jobs.
const (
	// TriggerTag says what started a run: "schedule:NAME" for a fire,
	// "manual:NAME" for `mlrun schedule run NAME`.
	TriggerTag = "mlrun.trigger"
	// FireTag identifies the fire that started a run: NAME@FIRETIME
	// (FIRETIME in RFC 3339, UTC).
	FireTag = "mlrun.schedule.fire"
)

// KV is one parameter of the scheduled entry point, given as with -P.
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

// namePattern is what a schedule name may look like: it becomes a
// directory name and part of a tag value.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

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

// Validate checks every field that can be checked without the project:
// the name, the cron expression and time zone, and the policies. Errors
// are errs.Invalid naming the schedule and the field.
func (s *Schedule) Validate() error {
	if !namePattern.MatchString(s.Name) {
		return errs.Errorf(errs.Invalid, "schedule name %q is not valid: use 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit", s.Name)
	}
	if _, err := Parse(s.Cron, s.Timezone); err != nil {
		return errs.Errorf(errs.Invalid, "schedule %s: %w", s.Name, err)
	}
	switch s.Overlap {
	case OverlapSkip, OverlapQueue, OverlapAllow:
	default:
		return errs.Errorf(errs.Invalid, "schedule %s: overlap policy %q is not valid; use skip, queue or allow", s.Name, s.Overlap)
	}
	switch s.Missed {
	case MissedRunOnce, MissedSkip:
	default:
		return errs.Errorf(errs.Invalid, "schedule %s: missed-fire policy %q is not valid; use run_once or skip", s.Name, s.Missed)
	}
	if s.EntryPoint == "" {
		return errs.Errorf(errs.Invalid, "schedule %s: the entry point is empty", s.Name)
	}
	if !filepath.IsAbs(s.ProjectDir) {
		return errs.Errorf(errs.Invalid, "schedule %s: the project directory %q is not an absolute path", s.Name, s.ProjectDir)
	}
	for _, p := range s.Params {
		if p.Key == "" {
			return errs.Errorf(errs.Invalid, "schedule %s: a parameter name is empty", s.Name)
		}
	}
	return nil
}

// Spec is a parsed cron expression in its time zone.
type Spec struct {
	sched cron.Schedule
	loc   *time.Location
}

// cronHelp ends every message about a bad expression.
const cronHelp = "write 5 fields (minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\") or @hourly, @daily, @weekly, @monthly, @yearly, @every 30s"

// Parse parses a cron expression: 5 standard fields, a descriptor
// (@hourly, @daily, @weekly, @monthly, @yearly, @midnight) or @every with
// a whole number of seconds (at least 1s). tz is an IANA time zone name
// in which the fields are read; empty means the local time zone, unless
// expr starts with CRON_TZ=ZONE or TZ=ZONE. Errors are errs.Invalid naming
// the expression and what is wrong with it.
func Parse(expr, tz string) (*Spec, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, errs.Errorf(errs.Invalid, "the cron expression is empty; %s", cronHelp)
	}
	hasTZ := strings.HasPrefix(e, "CRON_TZ=") || strings.HasPrefix(e, "TZ=")
	spec := &Spec{loc: time.Local}
	if tz != "" {
		if hasTZ {
			return nil, errs.Errorf(errs.Invalid, "cron expression %q names a time zone and the time zone %q is given too; give one of them", expr, tz)
		}
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return nil, errs.Errorf(errs.Invalid, "time zone %q is not known; use an IANA name such as UTC or Europe/Paris", tz)
		}
		spec.loc = loc
	}
	if hasTZ {
		spec.loc = nil // the library converts to the prefix's zone itself
	}
	if err := checkEvery(e, expr); err != nil {
		return nil, err
	}
	sched, err := cron.ParseStandard(e)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "cron expression %q is not valid: %s; %s", expr, oneLine(err.Error()), cronHelp)
	}
	spec.sched = sched
	if spec.Next(time.Now()).IsZero() {
		return nil, errs.Errorf(errs.Invalid, "cron expression %q never fires (no date matches it)", expr)
	}
	return spec, nil
}

// checkEvery rejects @every durations that are not whole seconds, which
// the cron library would silently round.
func checkEvery(e, expr string) error {
	fields := strings.Fields(e)
	if len(fields) > 0 && (strings.HasPrefix(fields[0], "CRON_TZ=") || strings.HasPrefix(fields[0], "TZ=")) {
		fields = fields[1:]
	}
	if len(fields) == 0 || fields[0] != "@every" {
		return nil
	}
	if len(fields) != 2 {
		return errs.Errorf(errs.Invalid, "cron expression %q is not valid: @every takes one duration such as 30s, 5m or 1h30m", expr)
	}
	d, err := time.ParseDuration(fields[1])
	if err != nil {
		return errs.Errorf(errs.Invalid, "cron expression %q is not valid: %q is not a duration (write e.g. 30s, 5m or 1h30m)", expr, fields[1])
	}
	if d < time.Second || d%time.Second != 0 {
		return errs.Errorf(errs.Invalid, "cron expression %q is not valid: the @every interval must be a whole number of seconds, at least 1s", expr)
	}
	return nil
}

// Next returns the first fire time strictly after after, or the zero time
// if the expression never fires again. The result is in the spec's time
// zone.
func (s *Spec) Next(after time.Time) time.Time {
	if s.loc != nil {
		after = after.In(s.loc)
	}
	return s.sched.Next(after)
}

// FireTagValue is the value of FireTag on the run of a fire.
func FireTagValue(name string, fireTime time.Time) string {
	return name + "@" + fireTime.UTC().Format(time.RFC3339)
}

// LogPath is the log file of a fire under logDir (<store dir>/schedules):
// logDir/NAME/FIRETIME.log, FIRETIME in UTC as 20060102T150405Z.
func LogPath(logDir, name string, fireTime time.Time) string {
	return filepath.Join(logDir, name, fireTime.UTC().Format("20060102T150405Z")+".log")
}

// lineBreaks escapes line breaks so that a message stays on one line.
var lineBreaks = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`)

// oneLine returns msg with its line breaks escaped.
func oneLine(msg string) string { return lineBreaks.Replace(msg) }

// describeTime renders a time for messages: RFC 3339 in the local zone.
func describeTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.RFC3339)
}

// plural returns "1 fire" or "N fires".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
