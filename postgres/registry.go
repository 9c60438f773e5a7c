package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// The model registry (migration 0002_registry.sql). Every write runs in one
// IMMEDIATE transaction on the single writer connection, so that numbering
// versions, moving aliases and archiving stages are atomic across
// goroutines and processes.

var _ tracking.Registry = (*Store)(nil)

// maxRegistryTagValueLen is MLflow's limit on registered-model and
// model-version tag values.
const maxRegistryTagValueLen = 5000

// versionColumns are the columns scanVersion reads.
const versionColumns = `name, version, creation_time, last_updated_time, description, source, run_id, current_stage, status`

// CreateRegisteredModel creates a model with no versions; errs.Conflict if
// the name exists.
func (s *Store) CreateRegisteredModel(ctx context.Context, name, description string, tags map[string]string) (*tracking.RegisteredModel, error) {
	if err := tracking.ValidateModelName(name); err != nil {
		return nil, err
	}
	if err := validateRegistryTags(tags); err != nil {
		return nil, err
	}
	var m *tracking.RegisteredModel
	err := s.write(ctx, func(tx *txn) error {
		now := nowMillis()
		res, err := tx.ExecContext(ctx, `INSERT INTO registered_models (name, creation_time, last_updated_time, description)
			VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`, name, now, now, description)
		if err != nil {
			return fmt.Errorf("create registered model %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Errorf(errs.Conflict, "registered model %q already exists", name)
		}
		if err := upsertModelTags(ctx, tx, name, tags); err != nil {
			return err
		}
		m, err = getRegisteredModel(ctx, tx, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// GetRegisteredModel returns a model with its tags, aliases and the highest
// version of each stage.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (*tracking.RegisteredModel, error) {
	var m *tracking.RegisteredModel
	err := s.read(ctx, func(tx *txn) error {
		var err error
		m, err = getRegisteredModel(ctx, tx, name)
		return err
	})
	return m, err
}

// ListRegisteredModels returns every model, ordered by name.
func (s *Store) ListRegisteredModels(ctx context.Context) ([]*tracking.RegisteredModel, error) {
	var out []*tracking.RegisteredModel
	err := s.read(ctx, func(tx *txn) error {
		names, err := queryStrings(ctx, tx, `SELECT name FROM registered_models ORDER BY name`)
		if err != nil {
			return fmt.Errorf("list registered models: %w", err)
		}
		for _, n := range names {
			m, err := getRegisteredModel(ctx, tx, n)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// DeleteRegisteredModel deletes a model with its versions, tags and
// aliases.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM registered_models WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete registered model %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return modelNotFound(name)
	}
	return nil
}

// CreateModelVersion registers source as the next version of name, creating
// the registered model if needed. The number is last_version + 1 of the
// model, taken and stored in the same IMMEDIATE transaction, so concurrent
// registrations get 1, 2, 3... with no gap or duplicate, and a deleted
// version's number is never given again. When runID is set the run must
// exist and a local source must lie inside the run's artifacts, as MLflow
// requires.
func (s *Store) CreateModelVersion(ctx context.Context, name, source, runID, description string, tags map[string]string) (*tracking.ModelVersion, error) {
	if err := tracking.ValidateModelName(name); err != nil {
		return nil, err
	}
	if err := validateSource(source); err != nil {
		return nil, err
	}
	if err := validateRegistryTags(tags); err != nil {
		return nil, err
	}
	var mv *tracking.ModelVersion
	err := s.write(ctx, func(tx *txn) error {
		if runID != "" {
			if err := checkSourceInRun(ctx, tx, source, runID); err != nil {
				return err
			}
		}
		now := nowMillis()
		if _, err := tx.ExecContext(ctx, `INSERT INTO registered_models (name, creation_time, last_updated_time)
			VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`, name, now, now); err != nil {
			return fmt.Errorf("create registered model %q: %w", name, err)
		}
		var version int
		err := tx.QueryRowContext(ctx, `UPDATE registered_models SET last_version = last_version + 1, last_updated_time = ?
			WHERE name = ? RETURNING last_version`, now, name).Scan(&version)
		if err != nil {
			return fmt.Errorf("number a new version of %q: %w", name, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO model_versions (`+versionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			name, version, now, now, description, source, runID, string(tracking.StageNone), tracking.VersionReady)
		if err != nil {
			return fmt.Errorf("create version %d of %q: %w", version, name, err)
		}
		for _, k := range sortedMapKeys(tags) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)`,
				name, version, k, tags[k]); err != nil {
				return fmt.Errorf("tag version %d of %q: %w", version, name, err)
			}
		}
		mv, err = getModelVersion(ctx, tx, name, version)
		return err
	})
	if err != nil {
		return nil, err
	}
	return mv, nil
}

// GetModelVersion returns one version with its tags and aliases.
func (s *Store) GetModelVersion(ctx context.Context, name string, version int) (*tracking.ModelVersion, error) {
	var mv *tracking.ModelVersion
	err := s.read(ctx, func(tx *txn) error {
		var err error
		mv, err = getModelVersion(ctx, tx, name, version)
		return err
	})
	return mv, err
}

// ListModelVersions returns a model's versions, ordered by version.
func (s *Store) ListModelVersions(ctx context.Context, name string) ([]*tracking.ModelVersion, error) {
	var out []*tracking.ModelVersion
	err := s.read(ctx, func(tx *txn) error {
		if err := checkModelExists(ctx, tx, name); err != nil {
			return err
		}
		var err error
		out, err = queryVersions(ctx, tx, `WHERE name = ? ORDER BY version`, name)
		return err
	})
	return out, err
}

// DeleteModelVersion deletes a version, its tags and the aliases pointing
// to it.
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int) error {
	return s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM model_versions WHERE name = ? AND version = ?`, name, version)
		if err != nil {
			return fmt.Errorf("delete version %d of %q: %w", version, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return versionNotFound(ctx, tx, name, version)
		}
		return touchModel(ctx, tx, name)
	})
}

// LatestVersion returns the highest version in stage, or in any stage when
// stage is "".
func (s *Store) LatestVersion(ctx context.Context, name string, stage tracking.Stage) (*tracking.ModelVersion, error) {
	if stage != "" {
		if _, err := tracking.ParseStage(string(stage)); err != nil {
			return nil, err
		}
	}
	var mv *tracking.ModelVersion
	err := s.read(ctx, func(tx *txn) error {
		if err := checkModelExists(ctx, tx, name); err != nil {
			return err
		}
		q, args := `SELECT MAX(version) FROM model_versions WHERE name = ?`, []any{name}
		if stage != "" {
			q, args = q+` AND current_stage = ?`, append(args, string(stage))
		}
		var v sql.NullInt64
		if err := tx.QueryRowContext(ctx, q, args...).Scan(&v); err != nil {
			return fmt.Errorf("find the latest version of %q: %w", name, err)
		}
		if !v.Valid {
			if stage == "" {
				return errs.Errorf(errs.NotFound, "registered model %q has no versions", name)
			}
			return errs.Errorf(errs.NotFound, "registered model %q has no version in stage %s", name, stage)
		}
		var err error
		mv, err = getModelVersion(ctx, tx, name, int(v.Int64))
		return err
	})
	return mv, err
}

// SetAlias points alias at version with one upsert, so that moving an
// alias is atomic: a reader sees the old version or the new one.
func (s *Store) SetAlias(ctx context.Context, name, alias string, version int) error {
	if err := tracking.ValidateAlias(alias); err != nil {
		return err
	}
	return s.write(ctx, func(tx *txn) error {
		if err := checkVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO registered_model_aliases (name, alias, version) VALUES (?, ?, ?)
			ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version`, name, alias, version)
		if err != nil {
			return fmt.Errorf("set alias %q of %q: %w", alias, name, err)
		}
		return touchModel(ctx, tx, name)
	})
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, name, alias string) error {
	return s.write(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?`, name, alias)
		if err != nil {
			return fmt.Errorf("delete alias %q of %q: %w", alias, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if err := checkModelExists(ctx, tx, name); err != nil {
				return err
			}
			return errs.Errorf(errs.NotFound, "registered model %q has no alias %q", name, alias)
		}
		return touchModel(ctx, tx, name)
	})
}

// GetVersionByAlias returns the version an alias points to.
func (s *Store) GetVersionByAlias(ctx context.Context, name, alias string) (*tracking.ModelVersion, error) {
	var mv *tracking.ModelVersion
	err := s.read(ctx, func(tx *txn) error {
		var version int
		err := tx.QueryRowContext(ctx, `SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?`, name, alias).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			if err := checkModelExists(ctx, tx, name); err != nil {
				return err
			}
			return errs.Errorf(errs.NotFound, "registered model %q has no alias %q", name, alias)
		}
		if err != nil {
			return fmt.Errorf("look up alias %q of %q: %w", alias, name, err)
		}
		mv, err = getModelVersion(ctx, tx, name, version)
		return err
	})
	return mv, err
}

// TransitionStage moves a version to stage; with archiveExisting the other
// versions in that stage move to Archived in the same transaction.
func (s *Store) TransitionStage(ctx context.Context, name string, version int, stage tracking.Stage, archiveExisting bool) (*tracking.ModelVersion, error) {
	stage, err := tracking.ParseStage(string(stage))
	if err != nil {
		return nil, err
	}
	if archiveExisting && !stage.Active() {
		return nil, errs.Errorf(errs.Invalid, "archive-existing only applies to Staging and Production, not %s", stage)
	}
	var mv *tracking.ModelVersion
	err = s.write(ctx, func(tx *txn) error {
		if err := checkVersionExists(ctx, tx, name, version); err != nil {
			return err
		}
		now := nowMillis()
		if archiveExisting {
			if _, err := tx.ExecContext(ctx, `UPDATE model_versions SET current_stage = ?, last_updated_time = ?
				WHERE name = ? AND current_stage = ? AND version != ?`,
				string(tracking.StageArchived), now, name, string(stage), version); err != nil {
				return fmt.Errorf("archive %s versions of %q: %w", stage, name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE model_versions SET current_stage = ?, last_updated_time = ?
			WHERE name = ? AND version = ?`, string(stage), now, name, version); err != nil {
			return fmt.Errorf("move version %d of %q to %s: %w", version, name, stage, err)
		}
		if err := touchModel(ctx, tx, name); err != nil {
			return err
		}
		var err error
		mv, err = getModelVersion(ctx, tx, name, version)
		return err
	})
	if err != nil {
		return nil, err
	}
	return mv, nil
}

// getRegisteredModel reads a model with its tags, aliases and latest
// versions per stage.
func getRegisteredModel(ctx context.Context, q querier, name string) (*tracking.RegisteredModel, error) {
	m := &tracking.RegisteredModel{Name: name}
	err := q.QueryRowContext(ctx, `SELECT creation_time, last_updated_time, description FROM registered_models WHERE name = ?`, name).
		Scan(&m.CreationTime, &m.LastUpdatedTime, &m.Description)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, modelNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read registered model %q: %w", name, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM registered_model_tags WHERE name = ? ORDER BY key`, name)
	if err != nil {
		return nil, fmt.Errorf("read tags of %q: %w", name, err)
	}
	err = scanPairs(rows, func(k, v string) {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		m.Tags[k] = v
	})
	if err != nil {
		return nil, fmt.Errorf("read tags of %q: %w", name, err)
	}
	rows, err = q.QueryContext(ctx, `SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias`, name)
	if err != nil {
		return nil, fmt.Errorf("read aliases of %q: %w", name, err)
	}
	err = scanPairs(rows, func(alias, version string) {
		if m.Aliases == nil {
			m.Aliases = map[string]int{}
		}
		m.Aliases[alias], _ = tracking.ParseVersion(version)
	})
	if err != nil {
		return nil, fmt.Errorf("read aliases of %q: %w", name, err)
	}
	// The highest version of each stage, in MLflow's stage order.
	m.LatestVersions, err = queryVersions(ctx, q, `WHERE name = ? AND version IN
		(SELECT MAX(version) FROM model_versions WHERE name = ? GROUP BY current_stage)
		ORDER BY CASE current_stage WHEN 'None' THEN 0 WHEN 'Staging' THEN 1 WHEN 'Production' THEN 2 ELSE 3 END`, name, name)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// getModelVersion reads one version, or returns errs.NotFound naming the
// missing model or version.
func getModelVersion(ctx context.Context, q querier, name string, version int) (*tracking.ModelVersion, error) {
	list, err := queryVersions(ctx, q, `WHERE name = ? AND version = ?`, name, version)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, versionNotFound(ctx, q, name, version)
	}
	return list[0], nil
}

// queryVersions reads the versions selected by where (a WHERE clause with
// its ORDER BY, whose first argument is the model name) with their tags
// and aliases.
func queryVersions(ctx context.Context, q querier, where string, args ...any) ([]*tracking.ModelVersion, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+versionColumns+` FROM model_versions `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read model versions: %w", err)
	}
	defer rows.Close()
	var out []*tracking.ModelVersion
	byVersion := map[int]*tracking.ModelVersion{}
	for rows.Next() {
		mv := &tracking.ModelVersion{}
		var stage string
		if err := rows.Scan(&mv.Name, &mv.Version, &mv.CreationTime, &mv.LastUpdatedTime, &mv.Description,
			&mv.Source, &mv.RunID, &stage, &mv.Status); err != nil {
			return nil, fmt.Errorf("read model versions: %w", err)
		}
		mv.Stage = tracking.Stage(stage)
		out = append(out, mv)
		byVersion[mv.Version] = mv
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read model versions: %w", err)
	}
	rows.Close()
	if len(out) == 0 {
		return out, nil
	}
	name := out[0].Name
	tagRows, err := q.QueryContext(ctx, `SELECT version, key, value FROM model_version_tags WHERE name = ? ORDER BY version, key`, name)
	if err != nil {
		return nil, fmt.Errorf("read version tags of %q: %w", name, err)
	}
	defer tagRows.Close()
	for tagRows.Next() {
		var v int
		var k, val string
		if err := tagRows.Scan(&v, &k, &val); err != nil {
			return nil, fmt.Errorf("read version tags of %q: %w", name, err)
		}
		if mv := byVersion[v]; mv != nil {
			if mv.Tags == nil {
				mv.Tags = map[string]string{}
			}
			mv.Tags[k] = val
		}
	}
	if err := tagRows.Err(); err != nil {
		return nil, fmt.Errorf("read version tags of %q: %w", name, err)
	}
	tagRows.Close()
	aliasRows, err := q.QueryContext(ctx, `SELECT version, alias FROM registered_model_aliases WHERE name = ? ORDER BY alias`, name)
	if err != nil {
		return nil, fmt.Errorf("read aliases of %q: %w", name, err)
	}
	defer aliasRows.Close()
	for aliasRows.Next() {
		var v int
		var alias string
		if err := aliasRows.Scan(&v, &alias); err != nil {
			return nil, fmt.Errorf("read aliases of %q: %w", name, err)
		}
		if mv := byVersion[v]; mv != nil {
			mv.Aliases = append(mv.Aliases, alias)
		}
	}
	if err := aliasRows.Err(); err != nil {
		return nil, fmt.Errorf("read aliases of %q: %w", name, err)
	}
	return out, nil
}

// scanPairs calls fn with each row of two text columns, then closes rows.
func scanPairs(rows *sql.Rows, fn func(a, b string)) error {
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return err
		}
		fn(a, b)
	}
	return rows.Err()
}

// queryStrings returns the single text column of a query's rows.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// checkModelExists returns errs.NotFound if there is no model name.
func checkModelExists(ctx context.Context, q querier, name string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM registered_models WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return modelNotFound(name)
	}
	if err != nil {
		return fmt.Errorf("look up registered model %q: %w", name, err)
	}
	return nil
}

// checkVersionExists returns errs.NotFound naming the missing model or
// version.
func checkVersionExists(ctx context.Context, q querier, name string, version int) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM model_versions WHERE name = ? AND version = ?`, name, version).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return versionNotFound(ctx, q, name, version)
	}
	if err != nil {
		return fmt.Errorf("look up version %d of %q: %w", version, name, err)
	}
	return nil
}

// versionNotFound returns the errs.NotFound for a missing version: the
// model's if the model itself is missing.
func versionNotFound(ctx context.Context, q querier, name string, version int) error {
	if err := checkModelExists(ctx, q, name); err != nil {
		return err
	}
	return errs.Errorf(errs.NotFound, "version %d of registered model %q does not exist", version, name)
}

func modelNotFound(name string) error {
	return errs.Errorf(errs.NotFound, "registered model %q does not exist", name)
}

// touchModel sets a model's last update time to now.
func touchModel(ctx context.Context, tx *txn, name string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE registered_models SET last_updated_time = ? WHERE name = ?`, nowMillis(), name); err != nil {
		return fmt.Errorf("update registered model %q: %w", name, err)
	}
	return nil
}

// upsertModelTags sets tags on a registered model.
func upsertModelTags(ctx context.Context, tx *txn, name string, tags map[string]string) error {
	for _, k := range sortedMapKeys(tags) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)
			ON CONFLICT (name, key) DO UPDATE SET value = excluded.value`, name, k, tags[k]); err != nil {
			return fmt.Errorf("tag registered model %q: %w", name, err)
		}
	}
	return nil
}

// validateRegistryTags checks tag keys as run tag keys and values against
// MLflow's registry limit.
func validateRegistryTags(tags map[string]string) error {
	for _, k := range sortedMapKeys(tags) {
		if err := tracking.ValidateKey("model tag", k); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(tags[k]); n > maxRegistryTagValueLen {
			return errs.Errorf(errs.Invalid, "the value of model tag %q is %d characters long; the limit is %d", k, n, maxRegistryTagValueLen)
		}
	}
	return nil
}

// validateSource checks a model version's source: not empty, no NUL and no
// ".." segment (MLflow's traversal check).
func validateSource(source string) error {
	if source == "" {
		return errs.Errorf(errs.Invalid, "the model version source is empty")
	}
	if strings.ContainsRune(source, 0) {
		return errs.Errorf(errs.Invalid, "the model version source %q contains a NUL character", source)
	}
	for _, seg := range strings.FieldsFunc(source, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." || strings.EqualFold(seg, "%2e%2e") {
			return errs.Errorf(errs.Invalid, "the model version source %q contains a '..' segment", source)
		}
	}
	return nil
}

// checkSourceInRun checks that run runID exists and, for a local source,
// that source lies inside the run's artifacts.
func checkSourceInRun(ctx context.Context, tx *txn, source, runID string) error {
	var artifactURI string
	err := tx.QueryRowContext(ctx, `SELECT artifact_uri FROM runs WHERE run_id = ?`, runID).Scan(&artifactURI)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Errorf(errs.NotFound, "run %q does not exist", runID)
	}
	if err != nil {
		return fmt.Errorf("look up run %s: %w", runID, err)
	}
	local := strings.HasPrefix(source, "file:") || !strings.Contains(source, "://")
	if !local {
		return nil
	}
	root := strings.TrimSuffix(artifactURI, "/")
	if source != root && !strings.HasPrefix(source, root+"/") {
		return errs.Errorf(errs.Invalid, "the model version source %q is not inside the artifacts of run %s (%s)", source, runID, artifactURI)
	}
	return nil
}

// sortedMapKeys returns m's keys in order, so that writes are deterministic.
func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
