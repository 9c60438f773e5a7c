package schedule

import (
	"fmt"
	"time"
)

// maxDueFires bounds how many due fire times Decide walks through after a
// long downtime (an @every 1s schedule down for a day has 86,400).
const maxDueFires = 100000

// Decide says what to do about s at time now, or returns nil when s is
// paused or not due. s.Running and s.Queued must be the schedule's RUNNING
// and QUEUED fires as the store holds them now. A due fire is missed when
// more than one fire is due at once or the latest one is older than
// missedAfter; then s.Missed decides between one catch-up job (run_once)
// and none (skip). Otherwise, or after choosing to catch up, s.Overlap
// decides whether the job starts, waits or is skipped. The fire is keyed
// by the latest due fire time, and NextRun is the first fire after it.
// The Decision's fire carries no owner, start time or log path: the caller
// fills those in.
func Decide(s *Schedule, spec *Spec, now time.Time, missedAfter time.Duration) *Decision {
	if s.Paused || s.NextRun.IsZero() || s.NextRun.After(now) {
		return nil
	}
	last, due := s.NextRun, 1
	for due < maxDueFires {
		t := spec.Next(last)
		if t.IsZero() || t.After(now) {
			break
		}
		last, due = t, due+1
	}
	next := spec.Next(last)
	if !next.IsZero() && !next.After(now) { // walked maxDueFires and more remain
		next = spec.Next(now)
	}
	d := &Decision{NextRun: next, Fire: Fire{Schedule: s.Name, FireTime: last}}

	if due > 1 || now.Sub(last) > missedAfter {
		missed := fmt.Sprintf("%s due since %s", plural(due, "fire"), describeTime(s.NextRun))
		if due == 1 {
			missed = fmt.Sprintf("the fire of %s, noticed %s late,", describeTime(last), now.Sub(last).Round(time.Second))
		}
		if s.Missed == MissedSkip {
			d.Fire.Status = FireSkipped
			d.Fire.Message = "missed " + missed + " while no scheduler ran (missed: skip)"
			return d
		}
		d.Fire.Message = "catch-up job for " + missed + " (missed: run_once)"
	}

	busy := s.Running + s.Queued
	switch {
	case busy == 0 || s.Overlap == OverlapAllow:
		d.Fire.Status = FireRunning
	case s.Overlap == OverlapQueue && s.Queued == 0:
		d.Fire.Status = FireQueued
		d.Fire.Message = join(d.Fire.Message, "queued behind the running job (overlap: queue)")
	case s.Overlap == OverlapQueue:
		d.Fire.Status = FireSkipped
		d.Fire.Message = join(d.Fire.Message, "a job is running and another fire is already queued (overlap: queue)")
	default:
		d.Fire.Status = FireSkipped
		d.Fire.Message = join(d.Fire.Message, "the previous job is still running (overlap: skip)")
	}
	return d
}

// join joins two messages with "; ", either of which may be empty.
func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
