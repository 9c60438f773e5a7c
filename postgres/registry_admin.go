package postgres

import (
	"context"
	"fmt"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// RenameRegisteredModel renames a model; its versions, tags and aliases
// follow. errs.Conflict if newName is taken.
//
// The children reference the model's name without ON UPDATE CASCADE, so the
// rename copies the model and its versions under the new name, moves the
// tags and aliases to the copies, and deletes the originals, all in one
// transaction.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (*tracking.RegisteredModel, error) {
	if err := tracking.ValidateModelName(newName); err != nil {
		return nil, err
	}
	var m *tracking.RegisteredModel
	err := s.write(ctx, func(tx *txn) error {
		if err := checkModelExists(ctx, tx, name); err != nil {
			return err
		}
		if newName != name {
			if err := checkModelExists(ctx, tx, newName); err == nil {
				return errs.Errorf(errs.Conflict, "a registered model named %q already exists", newName)
			}
			steps := []struct{ what, query string }{
				{"copy the model", `INSERT INTO registered_models (name, creation_time, last_updated_time, description, last_version)
					SELECT ?, creation_time, last_updated_time, description, last_version FROM registered_models WHERE name = ?`},
				{"copy its versions", `INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, source, run_id, current_stage, status)
					SELECT ?, version, creation_time, last_updated_time, description, source, run_id, current_stage, status FROM model_versions WHERE name = ?`},
				{"move its tags", `UPDATE registered_model_tags SET name = ? WHERE name = ?`},
				{"move its version tags", `UPDATE model_version_tags SET name = ? WHERE name = ?`},
				{"move its aliases", `UPDATE registered_model_aliases SET name = ? WHERE name = ?`},
			}
			for _, st := range steps {
				if _, err := tx.ExecContext(ctx, st.query, newName, name); err != nil {
					return fmt.Errorf("rename registered model %q: %s: %w", name, st.what, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM registered_models WHERE name = ?`, name); err != nil {
				return fmt.Errorf("rename registered model %q: delete the old name: %w", name, err)
			}
			if err := touchModel(ctx, tx, newName); err != nil {
				return err
			}
		}
		var err error
		m, err = getRegisteredModel(ctx, tx, newName)
		return err
	})
	return m, err
}

// UpdateRegisteredModel sets a model's description.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*tracking.RegisteredModel, error) {
	var m *tracking.RegisteredModel
	err := s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?`, description, nowMillis(), name)
		if err != nil {
			return fmt.Errorf("update registered model %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return modelNotFound(name)
		}
		m, err = getRegisteredModel(ctx, tx, name)
		return err
	})
	return m, err
}

// SetRegisteredModelTag sets a tag on a model.
func (s *Store) SetRegisteredModelTag(ctx context.Context, name, key, value string) error {
	if err := validateRegistryTags(map[string]string{key: value}); err != nil {
		return err
	}
	return s.write(ctx, func(tx *txn) error {
		if err := checkModelExists(ctx, tx, name); err != nil {
			return err
		}
		return upsertModelTags(ctx, tx, name, map[string]string{key: value})
	})
}

// DeleteRegisteredModelTag removes a tag from a model; errs.NotFound if it
// is not set.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return s.write(ctx, func(tx *txn) error {
		if err := checkModelExists(ctx, tx, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM registered_model_tags WHERE name = ? AND key = ?`, name, key)
		if err != nil {
			return fmt.Errorf("delete tag %q of registered model %q: %w", key, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Errorf(errs.NotFound, "registered model %q has no tag %q", name, key)
		}
		return nil
	})
}

// UpdateModelVersion sets a version's description.
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int, description string) (*tracking.ModelVersion, error) {
	var mv *tracking.ModelVersion
	err := s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?`,
			description, nowMillis(), name, version)
		if err != nil {
			return fmt.Errorf("update version %d of %q: %w", version, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return versionNotFound(ctx, tx, name, version)
		}
		mv, err = getModelVersion(ctx, tx, name, version)
		return err
	})
	return mv, err
}

// SetModelVersionTag sets a tag on a model version.
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int, key, value string) error {
	if err := validateRegistryTags(map[string]string{key: value}); err != nil {
		return err
	}
	return s.write(ctx, func(tx *txn) error {
		if err := checkVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)
			ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value`, name, version, key, value); err != nil {
			return fmt.Errorf("tag version %d of %q: %w", version, name, err)
		}
		return nil
	})
}

// DeleteModelVersionTag removes a tag from a model version; errs.NotFound
// if it is not set.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int, key string) error {
	return s.write(ctx, func(tx *txn) error {
		if err := checkVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?`, name, version, key)
		if err != nil {
			return fmt.Errorf("delete tag %q of version %d of %q: %w", key, version, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Errorf(errs.NotFound, "version %d of registered model %q has no tag %q", version, name, key)
		}
		return nil
	})
}
