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
//	mlrun run DIR -e EP -P k=v ... [--experiment X] [--executor slurm --slurm-...] \
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
	"reflect"
	"strings"
	"time"

	cron "github.com/netresearch/go-cron"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// The schedule types and constants live in package tracking, with the
// store contract that keeps them; these names keep the scheduler's callers
// short.
type (
	// Schedule is tracking.Schedule.
	Schedule = tracking.Schedule
	// Fire is tracking.Fire.
	Fire = tracking.Fire
	// Decision is tracking.Decision.
	Decision = tracking.Decision
	// Change is tracking.Change.
	Change = tracking.Change
	// KV is tracking.KV.
	KV = tracking.KV
)

// Policies, fire statuses and change actions, as in package tracking.
const (
	OverlapSkip     = tracking.OverlapSkip
	OverlapQueue    = tracking.OverlapQueue
	OverlapAllow    = tracking.OverlapAllow
	MissedRunOnce   = tracking.MissedRunOnce
	MissedSkip      = tracking.MissedSkip
	FireQueued      = tracking.FireQueued
	FireRunning     = tracking.FireRunning
	FireFinished    = tracking.FireFinished
	FireFailed      = tracking.FireFailed
	FireKilled      = tracking.FireKilled
	FireSkipped     = tracking.FireSkipped
	ActionCreated   = tracking.ActionCreated
	ActionUpdated   = tracking.ActionUpdated
	ActionUnchanged = tracking.ActionUnchanged
	ActionRemoved   = tracking.ActionRemoved
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

// validName reports whether name may name a schedule (it becomes a
// directory name and part of a tag value): 1 to 100 letters, digits, '_',
// '.' or '-', starting with a letter or digit. (It is the regexp
// ^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$ written out: compiling that regexp at
// package initialisation cost every mlrun process 0.4 ms.)
func validName(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// Validate checks every field of s that can be checked without the
// project: the name, the cron expression and time zone, and the policies.
// Errors are errs.Invalid naming the schedule and the field.
func Validate(s *Schedule) error {
	_, err := validate(s)
	return err
}

// validate is Validate that also returns the key of the field at fault, as
// written in an MLproject's schedules list.
func validate(s *Schedule) (field string, err error) {
	if !validName(s.Name) {
		return "name", errs.Errorf(errs.Invalid, "schedule name %q is not valid: use 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit", s.Name)
	}
	if s.Timezone != "" {
		if _, err := loadZone(s.Timezone); err != nil {
			return "timezone", errs.Errorf(errs.Invalid, "schedule %s: %w", s.Name, err)
		}
	}
	if _, err := Parse(s.Cron, s.Timezone); err != nil {
		return "cron", errs.Errorf(errs.Invalid, "schedule %s: %w", s.Name, err)
	}
	switch s.Overlap {
	case OverlapSkip, OverlapQueue, OverlapAllow:
	default:
		return "overlap", errs.Errorf(errs.Invalid, "schedule %s: overlap policy %q is not valid; use skip, queue or allow", s.Name, s.Overlap)
	}
	switch s.Missed {
	case MissedRunOnce, MissedSkip:
	default:
		return "missed", errs.Errorf(errs.Invalid, "schedule %s: missed-fire policy %q is not valid; use run_once or skip", s.Name, s.Missed)
	}
	if s.EntryPoint == "" {
		return "entry_point", errs.Errorf(errs.Invalid, "schedule %s: the entry point is empty", s.Name)
	}
	if !filepath.IsAbs(s.ProjectDir) {
		return "", errs.Errorf(errs.Invalid, "schedule %s: the project directory %q is not an absolute path", s.Name, s.ProjectDir)
	}
	for _, p := range s.Params {
		if p.Key == "" {
			return "parameters", errs.Errorf(errs.Invalid, "schedule %s: a parameter name is empty", s.Name)
		}
	}
	switch s.Executor {
	case "", ExecutorLocal:
		if !reflect.DeepEqual(s.Resources, tracking.Resources{}) {
			return "resources", errs.Errorf(errs.Invalid, "schedule %s: resources are asked of a cluster; they need executor slurm", s.Name)
		}
	case ExecutorSlurm:
	default:
		return "executor", errs.Errorf(errs.Invalid, "schedule %s: executor %q is not valid; use local or slurm", s.Name, s.Executor)
	}
	return "", nil
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
		loc, err := loadZone(tz)
		if err != nil {
			return nil, err
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

// loadZone loads the IANA time zone tz, or returns errs.Invalid.
func loadZone(tz string) (*time.Location, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, errs.Errorf(errs.Invalid, "time zone %q is not known; use an IANA name such as UTC or Europe/Paris", tz)
	}
	return loc, nil
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
