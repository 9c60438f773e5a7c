package tracking

import "github.com/mlrun/mlrun/errs"

// ClaimConflict is the error of RunStore.ClaimRun for a run that is not
// SCHEDULED (another process claimed it first, or it ended): errs.Conflict.
func ClaimConflict(id string, status RunStatus) error {
	return errs.Errorf(errs.Conflict, "run %s is %s, not SCHEDULED: another process has claimed it or it has ended, so it is not executed again", id, status)
}
