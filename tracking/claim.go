package tracking

import "github.com/mlrun/mlrun/errs"

// ClaimConflict is the error of RunStore.ClaimRun for a run that is not
// SCHEDULED (another process claimed it first, or it ended): errs.Conflict.
func ClaimConflict(id string, status RunStatus) error {
	return errs.Errorf(errs.Conflict, "run %s is %s, not SCHEDULED: another process has claimed it or it has ended, so it is not executed again", id, status)
}

// InitialStatus is the status a store gives the run r creates: RUNNING
// unless r asks for SCHEDULED; any other status is errs.Invalid.
func (r NewRun) InitialStatus() (RunStatus, error) {
	switch r.Status {
	case "", StatusRunning:
		return StatusRunning, nil
	case StatusScheduled:
		return StatusScheduled, nil
	}
	return "", errs.Errorf(errs.Invalid, "a new run's status is RUNNING or SCHEDULED, not %q", r.Status)
}
