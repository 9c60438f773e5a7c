package tracking

import (
	"fmt"
	"time"
)

// DeadOwner decides, for ReapDeadRuns, whether the owner of a RUNNING run
// is gone, and says why. owner and pid name the process that owns the run,
// last is its latest sign of life (heartbeat or start, Unix ms) and now the
// time of the check. The owner is dead when it ran on thisHost and alive
// (when not nil) reports its pid gone, or on any host when it has given no
// sign of life for longer than stale (0: not checked). A run with no owning
// process (pid 0: created over the MLflow REST API by a remote client, which
// sends no heartbeats) is never reaped; its client ends it.
func DeadOwner(thisHost, owner string, pid int, last, now int64, alive func(pid int) bool, stale time.Duration) (reason string, dead bool) {
	if pid <= 0 {
		return "", false
	}
	if alive != nil && owner == thisHost && !alive(pid) {
		return fmt.Sprintf("the process running it (pid %d on host %s) died", pid, owner), true
	}
	if gap := time.Duration(now-last) * time.Millisecond; stale > 0 && gap > stale {
		return fmt.Sprintf("no heartbeat for %s (pid %d on host %s)", gap.Round(time.Second), pid, owner), true
	}
	return "", false
}
