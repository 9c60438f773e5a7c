package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// SetRunsDeleted marks every run of ids deleted (or, with deleted false,
// active again) in one transaction: when one of them does not exist, none
// changes and the error is errs.NotFound naming it.
func (s *Store) SetRunsDeleted(ctx context.Context, ids []string, deleted bool) error {
	stage, when := tracking.LifecycleActive, sql.NullInt64{}
	if deleted {
		stage, when = tracking.LifecycleDeleted, sql.NullInt64{Int64: nowMillis(), Valid: true}
	}
	return s.write(ctx, func(tx *txn) error {
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, `UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ?`, stage, when, id)
			if err != nil {
				return fmt.Errorf("mark run %s %s: %w", id, stage, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errs.Errorf(errs.NotFound, "run %q does not exist", id)
			}
		}
		return nil
	})
}
