package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// ExperimentStats counts runs per experiment. Both queries read only
// indexes (runs_by_experiment and the partial runs_running), so they stay
// fast on stores of 100,000 runs. LastRun is the latest start time.
func (s *Store) ExperimentStats(ctx context.Context) (map[string]tracking.ExperimentStats, error) {
	out := map[string]tracking.ExperimentStats{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT experiment_id, lifecycle_stage, COUNT(*), MAX(start_time)
			FROM runs GROUP BY experiment_id, lifecycle_stage`)
		if err != nil {
			return fmt.Errorf("count runs per experiment: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var stage string
			var n int
			var last int64
			if err := rows.Scan(&id, &stage, &n, &last); err != nil {
				return fmt.Errorf("count runs per experiment: %w", err)
			}
			k := strconv.FormatInt(id, 10)
			st := out[k]
			if stage == tracking.LifecycleDeleted {
				st.DeletedRuns += n
			} else {
				st.Runs += n
			}
			st.LastRun = max(st.LastRun, last)
			out[k] = st
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count runs per experiment: %w", err)
		}
		rows.Close()
		running, err := tx.QueryContext(ctx, `SELECT experiment_id, COUNT(*) FROM runs
			WHERE status = 'RUNNING' AND lifecycle_stage = 'active' GROUP BY experiment_id`)
		if err != nil {
			return fmt.Errorf("count running runs: %w", err)
		}
		defer running.Close()
		for running.Next() {
			var id int64
			var n int
			if err := running.Scan(&id, &n); err != nil {
				return fmt.Errorf("count running runs: %w", err)
			}
			k := strconv.FormatInt(id, 10)
			st := out[k]
			st.Running = n
			out[k] = st
		}
		return running.Err()
	})
	return out, err
}

func experimentNumber(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return 0, errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	return n, nil
}

func experimentUpdated(res sql.Result, id string) error {
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update experiment %s: %w", id, err)
	} else if n == 0 {
		return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	return nil
}
