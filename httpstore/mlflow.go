package httpstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mlrun/mlrun/errs"
)

// mlflowAPI is the prefix of MLflow's REST API.
const mlflowAPI = "/api/2.0/mlflow"

// These methods go through MLflow's own REST API, whose requests and
// answers carry everything they need; the others use mlrun's store API.

// mlflow sends body as JSON to one of MLflow's endpoints, whose answer
// carries nothing the caller needs.
func (s *Store) mlflow(ctx context.Context, method, endpoint string, body map[string]any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request %s: %w", endpoint, err)
	}
	resp, err := s.send(ctx, method, mlflowAPI+endpoint, nil, bytes.NewReader(b), "application/json")
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// DeleteExperiment marks an experiment and its runs deleted.
func (s *Store) DeleteExperiment(ctx context.Context, id string) error {
	return s.mlflow(ctx, http.MethodPost, "/experiments/delete", map[string]any{"experiment_id": id})
}

// RestoreExperiment makes a deleted experiment and its runs active.
func (s *Store) RestoreExperiment(ctx context.Context, id string) error {
	return s.mlflow(ctx, http.MethodPost, "/experiments/restore", map[string]any{"experiment_id": id})
}

// RenameExperiment renames an active experiment. (MLflow's update with an
// empty new name changes nothing; the store contract calls it invalid.)
func (s *Store) RenameExperiment(ctx context.Context, id, newName string) error {
	if newName == "" {
		return errs.Errorf(errs.Invalid, "the experiment name is empty")
	}
	return s.mlflow(ctx, http.MethodPost, "/experiments/update", map[string]any{"experiment_id": id, "new_name": newName})
}

// SetExperimentTag sets a tag on an active experiment.
func (s *Store) SetExperimentTag(ctx context.Context, id, key, value string) error {
	return s.mlflow(ctx, http.MethodPost, "/experiments/set-experiment-tag", map[string]any{"experiment_id": id, "key": key, "value": value})
}

// DeleteRun marks a run deleted.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	return s.mlflow(ctx, http.MethodPost, "/runs/delete", map[string]any{"run_id": id})
}

// RestoreRun makes a deleted run active again.
func (s *Store) RestoreRun(ctx context.Context, id string) error {
	return s.mlflow(ctx, http.MethodPost, "/runs/restore", map[string]any{"run_id": id})
}

// DeleteTag removes a run's tag.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	return s.mlflow(ctx, http.MethodPost, "/runs/delete-tag", map[string]any{"run_id": runID, "key": key})
}

// DeleteRegisteredModel deletes a model with its versions.
func (s *Store) DeleteRegisteredModel(ctx context.Context, name string) error {
	return s.mlflow(ctx, http.MethodDelete, "/registered-models/delete", map[string]any{"name": name})
}

// SetRegisteredModelTag sets a tag on a model.
func (s *Store) SetRegisteredModelTag(ctx context.Context, name, key, value string) error {
	return s.mlflow(ctx, http.MethodPost, "/registered-models/set-tag", map[string]any{"name": name, "key": key, "value": value})
}

// DeleteRegisteredModelTag removes a tag from a model.
func (s *Store) DeleteRegisteredModelTag(ctx context.Context, name, key string) error {
	return s.mlflow(ctx, http.MethodDelete, "/registered-models/delete-tag", map[string]any{"name": name, "key": key})
}

// DeleteModelVersion deletes a model version.
func (s *Store) DeleteModelVersion(ctx context.Context, name string, version int) error {
	return s.mlflow(ctx, http.MethodDelete, "/model-versions/delete", map[string]any{"name": name, "version": strconv.Itoa(version)})
}

// SetModelVersionTag sets a tag on a model version.
func (s *Store) SetModelVersionTag(ctx context.Context, name string, version int, key, value string) error {
	return s.mlflow(ctx, http.MethodPost, "/model-versions/set-tag", map[string]any{"name": name, "version": strconv.Itoa(version), "key": key, "value": value})
}

// DeleteModelVersionTag removes a tag from a model version.
func (s *Store) DeleteModelVersionTag(ctx context.Context, name string, version int, key string) error {
	return s.mlflow(ctx, http.MethodDelete, "/model-versions/delete-tag", map[string]any{"name": name, "version": strconv.Itoa(version), "key": key})
}

// SetAlias points alias at a version.
func (s *Store) SetAlias(ctx context.Context, name, alias string, version int) error {
	return s.mlflow(ctx, http.MethodPost, "/registered-models/alias", map[string]any{"name": name, "alias": alias, "version": strconv.Itoa(version)})
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, name, alias string) error {
	return s.mlflow(ctx, http.MethodDelete, "/registered-models/alias", map[string]any{"name": name, "alias": alias})
}
