package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/mlrun/mlrun/tracking"
)

// ExperimentStats counts runs per experiment in one query: active and
// deleted runs, running ones, and the latest start time.
func (s *Store) ExperimentStats(ctx context.Context) (map[string]tracking.ExperimentStats, error) {
	out := map[string]tracking.ExperimentStats{}
	err := s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT experiment_id,
				COUNT(*) FILTER (WHERE lifecycle_stage <> 'deleted'),
				COUNT(*) FILTER (WHERE lifecycle_stage = 'deleted'),
				COUNT(*) FILTER (WHERE lifecycle_stage <> 'deleted' AND status = 'RUNNING'),
				COALESCE(MAX(start_time), 0)
			FROM runs GROUP BY experiment_id`)
		if err != nil {
			return fmt.Errorf("count runs per experiment: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var st tracking.ExperimentStats
			if err := rows.Scan(&id, &st.Runs, &st.DeletedRuns, &st.Running, &st.LastRun); err != nil {
				return fmt.Errorf("count runs per experiment: %w", err)
			}
			out[strconv.FormatInt(id, 10)] = st
		}
		return rows.Err()
	})
	return out, err
}
