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

// Limits on experiments, as in MLflow.
const (
	maxExperimentNameLen     = 500
	maxExperimentTagValueLen = 5000
)

const experimentColumns = `experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time`

// CreateExperiment creates an experiment with the given tags. It returns
// errs.Conflict if an experiment with this name exists (even a deleted one)
// and errs.Invalid for a bad name or tag.
func (s *Store) CreateExperiment(ctx context.Context, name string, tags map[string]string) (*tracking.Experiment, error) {
	if err := validateExperimentName(name); err != nil {
		return nil, err
	}
	for k, v := range tags {
		if err := tracking.ValidateKey("experiment tag", k); err != nil {
			return nil, err
		}
		if n := utf8.RuneCountInString(v); n > maxExperimentTagValueLen {
			return nil, errs.Errorf(errs.Invalid, "the value of experiment tag %q is %d characters long; the limit is %d", k, n, maxExperimentTagValueLen)
		}
	}
	var exp *tracking.Experiment
	err := s.writeReadCommitted(ctx, func(tx *txn) error {
		if err := lockExperiments(ctx, tx); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM experiments WHERE name = ?`, name).Scan(&one)
		if err == nil {
			return errs.Errorf(errs.Conflict, "an experiment named %q already exists", name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up experiment %q: %w", name, err)
		}
		id, err := s.insertExperiment(ctx, tx, name)
		if err != nil {
			return err
		}
		for k, v := range tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)`, id, k, v); err != nil {
				return fmt.Errorf("tag experiment %q: %w", name, err)
			}
		}
		exp, err = getExperiment(ctx, tx, `experiment_id = ?`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return exp, nil
}

// lockExperiments makes the transaction tx, which must be READ COMMITTED
// (so that its next statements see what a transaction that held the lock
// committed), the only one creating an experiment until it ends. An INSERT
// draws the new id from the table's sequence before it finds a conflicting
// name, and a sequence does not give a value back: without the lock,
// processes racing to create one name left gaps in the ids ("shared"
// became experiment 3 rather than 2 in TestConformance, under -race).
func lockExperiments(ctx context.Context, tx *txn) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(experimentLock)); err != nil {
		return fmt.Errorf("lock the experiments: %w", err)
	}
	return nil
}

// insertExperiment inserts an experiment named name, which must not exist,
// and sets its artifact location from its new id. The transaction holds
// lockExperiments and has checked the name since.
func (s *Store) insertExperiment(ctx context.Context, tx *txn, name string) (int64, error) {
	now := nowMillis()
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
		VALUES (?, '', ?, ?, ?) RETURNING experiment_id`, name, tracking.LifecycleActive, now, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create experiment %q: %w", name, err)
	}
	loc, err := tracking.ExperimentArtifactLocation(s.artifactRoot, strconv.FormatInt(id, 10))
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?`, loc, id); err != nil {
		return 0, fmt.Errorf("set artifact location of experiment %q: %w", name, err)
	}
	return id, nil
}

// GetExperiment returns an experiment by id (deleted ones included), or
// errs.NotFound.
func (s *Store) GetExperiment(ctx context.Context, id string) (*tracking.Experiment, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	exp, err := getExperiment(ctx, s.rdb, `experiment_id = ?`, n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	return exp, err
}

// GetExperimentByName returns the experiment with this name, preferring an
// active one, or errs.NotFound.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*tracking.Experiment, error) {
	exp, err := getExperiment(ctx, s.rdb, `name = ? ORDER BY lifecycle_stage = 'active' DESC LIMIT 1`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Errorf(errs.NotFound, "no experiment is named %q", name)
	}
	return exp, err
}

// EnsureExperiment returns the experiment with this name, creating it if it
// does not exist. Processes racing to create the same name all get the same
// experiment. A deleted experiment of that name is errs.Invalid.
func (s *Store) EnsureExperiment(ctx context.Context, name string) (*tracking.Experiment, error) {
	if err := validateExperimentName(name); err != nil {
		return nil, err
	}
	var exp *tracking.Experiment
	err := s.writeReadCommitted(ctx, func(tx *txn) error {
		// Most calls find it, and take no lock. Each statement of a READ
		// COMMITTED transaction sees what was committed before it began:
		// after the lock, one created meanwhile.
		var err error
		if exp, err = getExperiment(ctx, tx, `name = ?`, name); !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := lockExperiments(ctx, tx); err != nil {
			return err
		}
		if exp, err = getExperiment(ctx, tx, `name = ?`, name); !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := s.insertExperiment(ctx, tx, name); err != nil {
			return err
		}
		exp, err = getExperiment(ctx, tx, `name = ?`, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	if exp.LifecycleStage != tracking.LifecycleActive {
		return nil, errs.Errorf(errs.Invalid, "experiment %q (id %s) is deleted; restore it or use another name", name, exp.ID)
	}
	return exp, nil
}

// ListExperiments lists experiments in the given view, ordered by id.
func (s *Store) ListExperiments(ctx context.Context, view tracking.ViewType) ([]*tracking.Experiment, error) {
	cond, err := lifecycleCondition("lifecycle_stage", view)
	if err != nil {
		return nil, err
	}
	var out []*tracking.Experiment
	err = s.read(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+experimentColumns+` FROM experiments WHERE `+cond+` ORDER BY experiment_id`)
		if err != nil {
			return fmt.Errorf("list experiments: %w", err)
		}
		defer rows.Close()
		byID := map[string]*tracking.Experiment{}
		for rows.Next() {
			exp, err := scanExperiment(rows)
			if err != nil {
				return err
			}
			out = append(out, exp)
			byID[exp.ID] = exp
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list experiments: %w", err)
		}
		rows.Close()
		trows, err := tx.QueryContext(ctx, `SELECT experiment_id, key, value FROM experiment_tags ORDER BY experiment_id, key`)
		if err != nil {
			return fmt.Errorf("list experiment tags: %w", err)
		}
		defer trows.Close()
		for trows.Next() {
			var id int64
			var k, v string
			if err := trows.Scan(&id, &k, &v); err != nil {
				return fmt.Errorf("list experiment tags: %w", err)
			}
			if exp := byID[strconv.FormatInt(id, 10)]; exp != nil {
				if exp.Tags == nil {
					exp.Tags = map[string]string{}
				}
				exp.Tags[k] = v
			}
		}
		if err := trows.Err(); err != nil {
			return fmt.Errorf("list experiment tags: %w", err)
		}
		return nil
	})
	return out, err
}

// getExperiment loads one experiment selected by where (which may end with
// ORDER BY/LIMIT) and its tags. It returns sql.ErrNoRows if none matches.
func getExperiment(ctx context.Context, q querier, where string, args ...any) (*tracking.Experiment, error) {
	exp, err := scanExperiment(q.QueryRowContext(ctx, `SELECT `+experimentColumns+` FROM experiments WHERE `+where, args...))
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY key`, exp.ID)
	if err != nil {
		return nil, fmt.Errorf("load tags of experiment %s: %w", exp.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("load tags of experiment %s: %w", exp.ID, err)
		}
		if exp.Tags == nil {
			exp.Tags = map[string]string{}
		}
		exp.Tags[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load tags of experiment %s: %w", exp.ID, err)
	}
	return exp, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanExperiment reads the experimentColumns of one row.
func scanExperiment(sc scanner) (*tracking.Experiment, error) {
	var exp tracking.Experiment
	var id int64
	err := sc.Scan(&id, &exp.Name, &exp.ArtifactLocation, &exp.LifecycleStage, &exp.CreationTime, &exp.LastUpdateTime)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read experiment: %w", err)
	}
	exp.ID = strconv.FormatInt(id, 10)
	return &exp, nil
}

// validateExperimentName checks an experiment name.
func validateExperimentName(name string) error {
	if name == "" {
		return errs.Errorf(errs.Invalid, "the experiment name is empty")
	}
	if n := utf8.RuneCountInString(name); n > maxExperimentNameLen {
		return errs.Errorf(errs.Invalid, "the experiment name %q... is %d characters long; the limit is %d", name[:40], n, maxExperimentNameLen)
	}
	return nil
}

// lifecycleCondition returns the SQL condition on column that selects view.
func lifecycleCondition(column string, view tracking.ViewType) (string, error) {
	switch view {
	case 0, tracking.ActiveOnly:
		return column + ` = 'active'`, nil
	case tracking.DeletedOnly:
		return column + ` = 'deleted'`, nil
	case tracking.All:
		return `TRUE`, nil
	default:
		return "", errs.Errorf(errs.Invalid, "view type %d is not valid; use 1 (active only), 2 (deleted only) or 3 (all)", view)
	}
}
