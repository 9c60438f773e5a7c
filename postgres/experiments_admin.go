package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// DeleteExperiment marks an experiment and its runs deleted. The Default
// experiment cannot be deleted.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	if id == tracking.DefaultExperimentID {
		return errs.Errorf(errs.Invalid, "the Default experiment (id 0) cannot be deleted")
	}
	return s.setExperimentLifecycle(ctx, id, tracking.LifecycleDeleted)
}

// RestoreExperiment makes a deleted experiment and its runs active again.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	return s.setExperimentLifecycle(ctx, id, tracking.LifecycleActive)
}

// setExperimentLifecycle moves an experiment and all its runs to stage.
//
// It runs READ COMMITTED, because CreateRun does (one statement, no
// snapshot-wide checks): CreateRun locks the experiment's row FOR SHARE, so
// the first UPDATE here waits for every run creation under way in the
// experiment to commit, and a creation that starts later waits for this
// transaction and then sees the new stage. The second UPDATE, a new
// statement, sees every run those creations committed. (SERIALIZABLE would
// update the runs as of the transaction's first snapshot and miss them.)
func (s *Store) setExperimentLifecycle(ctx context.Context, id, stage string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	return s.writeReadCommitted(ctx, func(tx *txn) error {
		now := nowMillis()
		res, err := tx.ExecContext(ctx, `UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?`, stage, now, n)
		if err != nil {
			return fmt.Errorf("mark experiment %s %s: %w", id, stage, err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
		}
		deleted := sql.NullInt64{}
		if stage == tracking.LifecycleDeleted {
			deleted = sql.NullInt64{Int64: now, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?`, stage, deleted, n); err != nil {
			return fmt.Errorf("mark runs of experiment %s %s: %w", id, stage, err)
		}
		return nil
	})
}

// activeExperiment returns errs.NotFound if experiment n does not exist and
// errs.Invalid (saying what cannot be done) if it is deleted.
func activeExperiment(ctx context.Context, tx *txn, id string, n int64, doing string) error {
	var stage string
	err := tx.QueryRowContext(ctx, `SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?`, n).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	if err != nil {
		return fmt.Errorf("look up experiment %s: %w", id, err)
	}
	if stage != tracking.LifecycleActive {
		return errs.Errorf(errs.Invalid, "experiment %s is deleted; restore it before %s it", id, doing)
	}
	return nil
}

// RenameExperiment gives an active experiment a new, unused name.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := validateExperimentName(newName); err != nil {
		return err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	return s.write(ctx, func(tx *txn) error {
		if err := activeExperiment(ctx, tx, id, n, "renaming"); err != nil {
			return err
		}
		var other int64
		err := tx.QueryRowContext(ctx, `SELECT experiment_id FROM experiments WHERE name = ?`, newName).Scan(&other)
		if err == nil && other != n {
			return errs.Errorf(errs.Conflict, "an experiment named %q already exists", newName)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up experiment %q: %w", newName, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?`, newName, nowMillis(), n); err != nil {
			return fmt.Errorf("rename experiment %s: %w", id, err)
		}
		return nil
	})
}

// SetExperimentTag sets a tag on an active experiment.
func (s *Store) SetExperimentTag(ctx context.Context, id, key, value string) error {
	if err := tracking.ValidateKey("experiment tag", key); err != nil {
		return err
	}
	if k := utf8.RuneCountInString(value); k > maxExperimentTagValueLen {
		return errs.Errorf(errs.Invalid, "the value of experiment tag %q is %d characters long; the limit is %d", key, k, maxExperimentTagValueLen)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	return s.write(ctx, func(tx *txn) error {
		if err := activeExperiment(ctx, tx, id, n, "tagging"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`, n, key, value); err != nil {
			return fmt.Errorf("tag experiment %s: %w", id, err)
		}
		return nil
	})
}
