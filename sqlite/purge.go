package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// DeletedRuns returns the ids of the runs in the deleted stage that were
// deleted before the time before (Unix ms; 0: any time), ordered by id.
func (s *Store) DeletedRuns(ctx context.Context, before int64) ([]string, error) {
	var ids []string
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT run_id FROM runs WHERE lifecycle_stage = ?
			AND (CAST(? AS BIGINT) = 0 OR COALESCE(deleted_time, 0) < ?) ORDER BY run_id`, tracking.LifecycleDeleted, before, before)
		if err != nil {
			return fmt.Errorf("list deleted runs: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("list deleted runs: %w", err)
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

// PurgeRun permanently removes a run in the deleted stage with its params,
// metric history and tags. A run that is not deleted (say, restored since
// it was listed) is errs.Invalid and stays; a missing one is errs.NotFound.
func (s *Store) PurgeRun(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var stage string
		err := tx.QueryRowContext(ctx, `SELECT lifecycle_stage FROM runs WHERE run_id = ?`, id).Scan(&stage)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Errorf(errs.NotFound, "run %q does not exist", id)
		}
		if err != nil {
			return fmt.Errorf("look up run %s: %w", id, err)
		}
		if stage != tracking.LifecycleDeleted {
			return errs.Errorf(errs.Invalid, "run %s is not deleted, so it cannot be purged (delete it first)", id)
		}
		for _, table := range []string{"metrics", "latest_metrics", "params", "tags", "run_summaries", "runs"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE run_id = ?`, id); err != nil {
				return fmt.Errorf("purge run %s from %s: %w", id, table, err)
			}
		}
		return nil
	})
}
