package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

var _ tracking.ExperimentAdmin = (*Store)(nil)

// RenameExperiment renames an experiment; errs.Conflict if another
// experiment has the name, errs.NotFound if id does not exist.
func (s *Store) RenameExperiment(ctx context.Context, id, name string) error {
	if err := validateExperimentName(name); err != nil {
		return err
	}
	n, err := experimentNumber(id)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var other int64
		err := tx.QueryRowContext(ctx, `SELECT experiment_id FROM experiments WHERE name = ?`, name).Scan(&other)
		switch {
		case err == nil && other != n:
			return errs.Errorf(errs.Conflict, "an experiment named %q already exists", name)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("look up experiment %q: %w", name, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?`, name, nowMillis(), n)
		if err != nil {
			return fmt.Errorf("rename experiment %s: %w", id, err)
		}
		return experimentUpdated(res, id)
	})
}

// DeleteExperiment marks an experiment deleted. The Default experiment
// cannot be deleted.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	if id == tracking.DefaultExperimentID {
		return errs.Errorf(errs.Invalid, "the Default experiment (id 0) cannot be deleted")
	}
	return s.setExperimentLifecycle(ctx, id, tracking.LifecycleDeleted)
}

// RestoreExperiment makes a deleted experiment active again.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	return s.setExperimentLifecycle(ctx, id, tracking.LifecycleActive)
}

func (s *Store) setExperimentLifecycle(ctx context.Context, id, stage string) error {
	n, err := experimentNumber(id)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?`, stage, nowMillis(), n)
		if err != nil {
			return fmt.Errorf("mark experiment %s %s: %w", id, stage, err)
		}
		return experimentUpdated(res, id)
	})
}

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
