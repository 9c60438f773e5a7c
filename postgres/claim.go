package postgres

import (
	"context"
	"fmt"

	"github.com/mlrun/mlrun/tracking"
)

// ClaimRun moves a SCHEDULED run to RUNNING for host and pid in one
// conditional UPDATE; see tracking.RunStore.
func (s *Store) ClaimRun(ctx context.Context, id, host string, pid int) error {
	return s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'RUNNING', host = ?, pid = ?, heartbeat = ?
			WHERE run_id = ? AND status = 'SCHEDULED' AND lifecycle_stage = ?`,
			host, pid, nowMillis(), id, tracking.LifecycleActive)
		if err != nil {
			return fmt.Errorf("claim run %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		if err := checkRunActive(ctx, tx, id); err != nil {
			return err
		}
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE run_id = ?`, id).Scan(&status); err != nil {
			return fmt.Errorf("look up run %s: %w", id, err)
		}
		return tracking.ClaimConflict(id, tracking.RunStatus(status))
	})
}
