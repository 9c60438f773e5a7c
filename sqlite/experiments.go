package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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
	err := s.write(ctx, func(tx *sql.Tx) error {
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

// insertExperiment inserts an experiment named name, which must not exist,
// and sets its artifact location from its new id.
func (s *Store) insertExperiment(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	now := nowMillis()
	res, err := tx.ExecContext(ctx, `INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
		VALUES (?, '', ?, ?, ?)`, name, tracking.LifecycleActive, now, now)
	if err != nil {
		return 0, fmt.Errorf("create experiment %q: %w", name, err)
	}
	id, err := res.LastInsertId()
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
	// Most calls find the experiment: one query finds it without taking
	// the write lock. It runs on the writer's connection, which the
	// command creating a run opens anyway: a process that only creates
	// runs then never opens a reading connection (each loads the schema).
	exp, err := getExperiment(ctx, s.db, `name = ?`, name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if exp == nil {
		exp, err = s.createExperimentIfMissing(ctx, name)
		if err != nil {
			return nil, err
		}
	}
	if exp.LifecycleStage != tracking.LifecycleActive {
		return nil, errs.Errorf(errs.Invalid, "experiment %q (id %s) is deleted; restore it or use another name", name, exp.ID)
	}
	return exp, nil
}

// createExperimentIfMissing creates the experiment name unless another
// writer has meanwhile, and returns it.
func (s *Store) createExperimentIfMissing(ctx context.Context, name string) (*tracking.Experiment, error) {
	var exp *tracking.Experiment
	err := s.write(ctx, func(tx *sql.Tx) error {
		now := nowMillis()
		res, err := tx.ExecContext(ctx, `INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
			VALUES (?, '', ?, ?, ?) ON CONFLICT (name) DO NOTHING`, name, tracking.LifecycleActive, now, now)
		if err != nil {
			return fmt.Errorf("create experiment %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			id, err := res.LastInsertId()
			if err != nil {
				return fmt.Errorf("create experiment %q: %w", name, err)
			}
			loc, err := tracking.ExperimentArtifactLocation(s.artifactRoot, strconv.FormatInt(id, 10))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?`, loc, id); err != nil {
				return fmt.Errorf("set artifact location of experiment %q: %w", name, err)
			}
		}
		exp, err = getExperiment(ctx, tx, `name = ?`, name)
		return err
	})
	if err != nil {
		return nil, err
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
	err = s.read(ctx, func(tx *sql.Tx) error {
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
// ORDER BY/LIMIT) and its tags, in one statement, so that both come from
// one snapshot without a transaction. It returns sql.ErrNoRows if none
// matches.
func getExperiment(ctx context.Context, q querier, where string, args ...any) (*tracking.Experiment, error) {
	var tags string
	exp, err := scanExperiment(q.QueryRowContext(ctx, `SELECT `+experimentColumns+`,
		(SELECT json_group_object(key, value) FROM experiment_tags t WHERE t.experiment_id = e.experiment_id)
		FROM experiments e WHERE `+where, args...), &tags)
	if err != nil {
		return nil, err
	}
	if tags != "{}" {
		if err := json.Unmarshal([]byte(tags), &exp.Tags); err != nil {
			return nil, fmt.Errorf("load tags of experiment %s: %w", exp.ID, err)
		}
	}
	return exp, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanExperiment reads the experimentColumns of one row, then the columns
// after them into more.
func scanExperiment(sc scanner, more ...any) (*tracking.Experiment, error) {
	var exp tracking.Experiment
	var id int64
	err := sc.Scan(append([]any{&id, &exp.Name, &exp.ArtifactLocation, &exp.LifecycleStage, &exp.CreationTime, &exp.LastUpdateTime}, more...)...)
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
		return `1`, nil
	default:
		return "", errs.Errorf(errs.Invalid, "view type %d is not valid; use 1 (active only), 2 (deleted only) or 3 (all)", view)
	}
}

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

func (s *Store) setExperimentLifecycle(ctx context.Context, id, stage string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
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

// RenameExperiment gives an active experiment a new, unused name.
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if err := validateExperimentName(newName); err != nil {
		return err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		exp, err := getExperiment(ctx, tx, `experiment_id = ?`, n)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
		}
		if err != nil {
			return err
		}
		if exp.LifecycleStage != tracking.LifecycleActive {
			return errs.Errorf(errs.Invalid, "experiment %s is deleted; restore it before renaming it", id)
		}
		var other int64
		err = tx.QueryRowContext(ctx, `SELECT experiment_id FROM experiments WHERE name = ?`, newName).Scan(&other)
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
	return s.write(ctx, func(tx *sql.Tx) error {
		var stage string
		err := tx.QueryRowContext(ctx, `SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?`, n).Scan(&stage)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
		}
		if err != nil {
			return fmt.Errorf("look up experiment %s: %w", id, err)
		}
		if stage != tracking.LifecycleActive {
			return errs.Errorf(errs.Invalid, "experiment %s is deleted; restore it before tagging it", id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value`, n, key, value); err != nil {
			return fmt.Errorf("tag experiment %s: %w", id, err)
		}
		return nil
	})
}
