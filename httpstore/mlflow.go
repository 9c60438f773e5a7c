package httpstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/tracking"
)

// mlflowAPI is the prefix of MLflow's REST API.
const mlflowAPI = "/api/2.0/mlflow"

// These methods go through MLflow's own REST API, whose requests and
// answers carry everything they need; the others use mlrun's store API.

// mlflow sends body as JSON to one of MLflow's endpoints, whose answer
// carries nothing the caller needs.
func (s *Store) mlflow(ctx context.Context, method, endpoint string, body map[string]any) error {
	return s.mlflowCall(ctx, method, endpoint, body, nil)
}

// mlflowCall sends body as JSON to one of MLflow's endpoints and decodes
// the JSON answer into out (unless nil).
func (s *Store) mlflowCall(ctx context.Context, method, endpoint string, body map[string]any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request %s: %w", endpoint, err)
	}
	resp, err := s.send(ctx, method, mlflowAPI+endpoint, nil, bytes.NewReader(b), "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return s.decodeAnswer(resp.Body, endpoint, out)
}

// mlflowDo calls endpoint with body: as query parameters for a GET, as a
// JSON body otherwise.
func (s *Store) mlflowDo(ctx context.Context, method, endpoint string, body map[string]any, out any) error {
	if method != http.MethodGet {
		return s.mlflowCall(ctx, method, endpoint, body, out)
	}
	q := url.Values{}
	for k, v := range body {
		q.Set(k, fmt.Sprint(v))
	}
	return s.mlflowGet(ctx, endpoint, q, out)
}

// decodeAnswer decodes the JSON answer of endpoint into out.
func (s *Store) decodeAnswer(body io.Reader, endpoint string, out any) error {
	data, err := io.ReadAll(io.LimitReader(body, maxResponseBytes))
	if err != nil {
		return internal(fmt.Errorf("read the answer of %s%s: %w", s.base, endpoint, err))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errs.Errorf(errs.Internal, "the tracking server %s answered %s with bad JSON: %v", s.base, endpoint, err)
	}
	return nil
}

// mlflowGet makes a GET of one of MLflow's endpoints with the query given
// and decodes its JSON answer into out.
func (s *Store) mlflowGet(ctx context.Context, endpoint string, query url.Values, out any) error {
	resp, err := s.send(ctx, http.MethodGet, mlflowAPI+endpoint, query, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return s.decodeAnswer(resp.Body, endpoint, out)
}

// mlflowExperiment is MLflow's Experiment message. Its artifact location
// is already the one clients use (mlflow-artifacts:/ when the server
// serves artifacts).
type mlflowExperiment struct {
	ExperimentID     string            `json:"experiment_id"`
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifact_location"`
	LifecycleStage   string            `json:"lifecycle_stage"`
	LastUpdateTime   int64             `json:"last_update_time"`
	CreationTime     int64             `json:"creation_time"`
	Tags             []server.KeyValue `json:"tags"`
}

// experiment gets one experiment from MLflow's endpoint.
func (s *Store) getExperiment(ctx context.Context, endpoint string, query url.Values) (*tracking.Experiment, error) {
	var resp struct {
		Experiment *mlflowExperiment `json:"experiment"`
	}
	if err := s.mlflowGet(ctx, endpoint, query, &resp); err != nil {
		return nil, err
	}
	w := resp.Experiment
	if w == nil {
		return nil, errs.Errorf(errs.Internal, "the tracking server %s answered %s without an experiment", s.base, endpoint)
	}
	return w.experiment(), nil
}

// CreateExperiment creates an experiment.
func (s *Store) CreateExperiment(ctx context.Context, name string, tags map[string]string) (*tracking.Experiment, error) {
	if name == "" {
		return nil, errs.Errorf(errs.Invalid, "the experiment name is empty")
	}
	body := map[string]any{"name": name}
	if len(tags) > 0 {
		body["tags"] = keyValues(tags)
	}
	var resp struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := s.mlflowCall(ctx, http.MethodPost, "/experiments/create", body, &resp); err != nil {
		return nil, err
	}
	return s.GetExperiment(ctx, resp.ExperimentID)
}

// keyValues turns a tag map into MLflow's list, sorted by key.
func keyValues(m map[string]string) []server.KeyValue {
	out := make([]server.KeyValue, 0, len(m))
	for k, v := range m {
		out = append(out, server.KeyValue{Key: server.Str(k), Value: server.Str(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// ListExperiments lists experiments ordered by id (under --auth, those the
// user may read), a page of MLflow's search at a time.
func (s *Store) ListExperiments(ctx context.Context, view tracking.ViewType) ([]*tracking.Experiment, error) {
	out := []*tracking.Experiment{}
	token := ""
	for {
		body := map[string]any{"max_results": 50000, "order_by": []string{"experiment_id ASC"}, "view_type": int(view)}
		if token != "" {
			body["page_token"] = token
		}
		var resp struct {
			Experiments   []*mlflowExperiment `json:"experiments"`
			NextPageToken string              `json:"next_page_token"`
		}
		if err := s.mlflowCall(ctx, http.MethodPost, "/experiments/search", body, &resp); err != nil {
			return nil, err
		}
		for _, w := range resp.Experiments {
			out = append(out, w.experiment())
		}
		if resp.NextPageToken == "" || len(resp.Experiments) == 0 {
			return out, nil
		}
		token = resp.NextPageToken
	}
}

// experiment is the store's experiment.
func (w *mlflowExperiment) experiment() *tracking.Experiment {
	return &tracking.Experiment{ID: w.ExperimentID, Name: w.Name, ArtifactLocation: w.ArtifactLocation,
		LifecycleStage: w.LifecycleStage, CreationTime: w.CreationTime, LastUpdateTime: w.LastUpdateTime, Tags: tagMap(w.Tags)}
}

// GetExperiment returns an experiment by id.
func (s *Store) GetExperiment(ctx context.Context, id string) (*tracking.Experiment, error) {
	return s.getExperiment(ctx, "/experiments/get", url.Values{"experiment_id": {id}})
}

// GetExperimentByName returns an experiment by name.
func (s *Store) GetExperimentByName(ctx context.Context, name string) (*tracking.Experiment, error) {
	if name == "" {
		return nil, errs.Errorf(errs.Invalid, "the experiment name is empty")
	}
	e, err := s.getExperiment(ctx, "/experiments/get-by-name", url.Values{"experiment_name": {name}})
	if errs.Code(err) == errs.NotFound {
		// MLflow's message quotes the name its own way; say it as the
		// other stores do.
		return nil, errs.Errorf(errs.NotFound, "experiment %q does not exist", name)
	}
	return e, err
}

// UpdateRun changes a run's status, end time or name.
func (s *Store) UpdateRun(ctx context.Context, id string, u tracking.RunUpdate) error {
	body := map[string]any{"run_id": id}
	if u.Status != nil {
		body["status"] = string(*u.Status)
	}
	if u.EndTime != nil {
		body["end_time"] = *u.EndTime
	}
	if u.Name != nil {
		if *u.Name == "" {
			return errs.Errorf(errs.Invalid, "the run name is empty")
		}
		body["run_name"] = *u.Name
	}
	return s.mlflow(ctx, http.MethodPost, "/runs/update", body)
}

// MetricHistory returns every point of one metric.
func (s *Store) MetricHistory(ctx context.Context, runID, key string) ([]tracking.Metric, error) {
	var resp struct {
		Metrics []struct {
			Key       string       `json:"key"`
			Value     server.Float `json:"value"`
			Timestamp int64        `json:"timestamp"`
			Step      int64        `json:"step"`
		} `json:"metrics"`
	}
	if err := s.mlflowGet(ctx, "/metrics/get-history", url.Values{"run_id": {runID}, "metric_key": {key}}, &resp); err != nil {
		return nil, err
	}
	out := make([]tracking.Metric, 0, len(resp.Metrics))
	for _, m := range resp.Metrics {
		out = append(out, tracking.Metric{Key: m.Key, Value: float64(m.Value), Timestamp: m.Timestamp, Step: m.Step})
	}
	return out, nil
}

// mlflowVersion is MLflow's ModelVersion message. Its source is already
// the location clients use.
type mlflowVersion struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	CreationTimestamp    int64             `json:"creation_timestamp"`
	LastUpdatedTimestamp int64             `json:"last_updated_timestamp"`
	CurrentStage         string            `json:"current_stage"`
	Description          string            `json:"description"`
	Source               string            `json:"source"`
	RunID                string            `json:"run_id"`
	Status               string            `json:"status"`
	Tags                 []server.KeyValue `json:"tags"`
	Aliases              []string          `json:"aliases"`
}

// modelVersion makes a request to an endpoint that answers a model version.
func (s *Store) modelVersion(ctx context.Context, method, endpoint string, body map[string]any) (*tracking.ModelVersion, error) {
	var resp struct {
		ModelVersion *mlflowVersion `json:"model_version"`
	}
	if err := s.mlflowDo(ctx, method, endpoint, body, &resp); err != nil {
		return nil, err
	}
	w := resp.ModelVersion
	if w == nil {
		return nil, errs.Errorf(errs.Internal, "the tracking server %s answered %s without a model version", s.base, endpoint)
	}
	return s.toVersion(endpoint, w)
}

// toVersion turns MLflow's model version into the store's.
func (s *Store) toVersion(endpoint string, w *mlflowVersion) (*tracking.ModelVersion, error) {
	v, err := strconv.Atoi(w.Version)
	if err != nil {
		return nil, errs.Errorf(errs.Internal, "the tracking server %s answered %s with version %q", s.base, endpoint, w.Version)
	}
	return &tracking.ModelVersion{Name: w.Name, Version: v, CreationTime: w.CreationTimestamp, LastUpdatedTime: w.LastUpdatedTimestamp,
		Description: w.Description, Source: w.Source, RunID: w.RunID, Stage: tracking.Stage(w.CurrentStage), Status: w.Status,
		Tags: tagMap(w.Tags), Aliases: w.Aliases}, nil
}

// tagMap turns MLflow's tag list into a map (nil when empty).
func tagMap(l []server.KeyValue) map[string]string {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]string, len(l))
	for _, kv := range l {
		m[string(kv.Key)] = string(kv.Value)
	}
	return m
}

// mlflowModel is MLflow's RegisteredModel message.
type mlflowModel struct {
	Name                 string            `json:"name"`
	CreationTimestamp    int64             `json:"creation_timestamp"`
	LastUpdatedTimestamp int64             `json:"last_updated_timestamp"`
	Description          string            `json:"description"`
	LatestVersions       []*mlflowVersion  `json:"latest_versions"`
	Tags                 []server.KeyValue `json:"tags"`
	Aliases              []struct {
		Alias   string `json:"alias"`
		Version string `json:"version"`
	} `json:"aliases"`
}

// registeredModel makes a request to an endpoint that answers a
// registered model.
func (s *Store) registeredModel(ctx context.Context, method, endpoint string, body map[string]any) (*tracking.RegisteredModel, error) {
	var resp struct {
		RegisteredModel *mlflowModel `json:"registered_model"`
	}
	if err := s.mlflowDo(ctx, method, endpoint, body, &resp); err != nil {
		return nil, err
	}
	w := resp.RegisteredModel
	if w == nil {
		return nil, errs.Errorf(errs.Internal, "the tracking server %s answered %s without a registered model", s.base, endpoint)
	}
	return s.toModel(endpoint, w)
}

// toModel turns MLflow's registered model into the store's.
func (s *Store) toModel(endpoint string, w *mlflowModel) (*tracking.RegisteredModel, error) {
	m := &tracking.RegisteredModel{Name: w.Name, CreationTime: w.CreationTimestamp, LastUpdatedTime: w.LastUpdatedTimestamp,
		Description: w.Description, Tags: tagMap(w.Tags)}
	for _, a := range w.Aliases {
		v, err := strconv.Atoi(a.Version)
		if err != nil {
			return nil, errs.Errorf(errs.Internal, "the tracking server %s answered %s with alias %q at version %q", s.base, endpoint, a.Alias, a.Version)
		}
		if m.Aliases == nil {
			m.Aliases = map[string]int{}
		}
		m.Aliases[a.Alias] = v
	}
	for _, wv := range w.LatestVersions {
		mv, err := s.toVersion(endpoint, wv)
		if err != nil {
			return nil, err
		}
		m.LatestVersions = append(m.LatestVersions, mv)
	}
	return m, nil
}

// CreateRegisteredModel creates a registered model.
func (s *Store) CreateRegisteredModel(ctx context.Context, name, description string, tags map[string]string) (*tracking.RegisteredModel, error) {
	body := map[string]any{"name": name, "description": description}
	if len(tags) > 0 {
		body["tags"] = keyValues(tags)
	}
	m, err := s.registeredModel(ctx, http.MethodPost, "/registered-models/create", body)
	if errs.Code(err) == errs.Conflict {
		// MLflow's message names it its own way; say it as the other
		// stores do.
		return nil, errs.Errorf(errs.Conflict, "registered model %q already exists", name)
	}
	return m, err
}

// GetRegisteredModel returns a registered model.
func (s *Store) GetRegisteredModel(ctx context.Context, name string) (*tracking.RegisteredModel, error) {
	return s.registeredModel(ctx, http.MethodGet, "/registered-models/get", map[string]any{"name": name})
}

// RenameRegisteredModel renames a model.
func (s *Store) RenameRegisteredModel(ctx context.Context, name, newName string) (*tracking.RegisteredModel, error) {
	return s.registeredModel(ctx, http.MethodPost, "/registered-models/rename", map[string]any{"name": name, "new_name": newName})
}

// UpdateRegisteredModel sets a model's description.
func (s *Store) UpdateRegisteredModel(ctx context.Context, name, description string) (*tracking.RegisteredModel, error) {
	return s.registeredModel(ctx, http.MethodPatch, "/registered-models/update", map[string]any{"name": name, "description": description})
}

// GetModelVersion returns a model version.
func (s *Store) GetModelVersion(ctx context.Context, name string, version int) (*tracking.ModelVersion, error) {
	return s.modelVersion(ctx, http.MethodGet, "/model-versions/get", map[string]any{"name": name, "version": strconv.Itoa(version)})
}

// UpdateModelVersion sets a version's description.
func (s *Store) UpdateModelVersion(ctx context.Context, name string, version int, description string) (*tracking.ModelVersion, error) {
	return s.modelVersion(ctx, http.MethodPatch, "/model-versions/update", map[string]any{"name": name, "version": strconv.Itoa(version), "description": description})
}

// TransitionStage moves a version to stage.
func (s *Store) TransitionStage(ctx context.Context, name string, version int, stage tracking.Stage, archiveExisting bool) (*tracking.ModelVersion, error) {
	// MLflow's endpoint ignores archive_existing_versions for None and
	// Archived; the store contract refuses it, as the other stores do.
	if st, err := tracking.ParseStage(string(stage)); err == nil && archiveExisting && !st.Active() {
		return nil, errs.Errorf(errs.Invalid, "archive-existing only applies to Staging and Production, not %s", st)
	}
	return s.modelVersion(ctx, http.MethodPost, "/model-versions/transition-stage",
		map[string]any{"name": name, "version": strconv.Itoa(version), "stage": string(stage), "archive_existing_versions": archiveExisting})
}

// GetVersionByAlias returns the version an alias points at.
func (s *Store) GetVersionByAlias(ctx context.Context, name, alias string) (*tracking.ModelVersion, error) {
	return s.modelVersion(ctx, http.MethodGet, "/registered-models/alias", map[string]any{"name": name, "alias": alias})
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

// ListRegisteredModels lists the registered models by name, through
// MLflow's registered-models/search, a page at a time.
func (s *Store) ListRegisteredModels(ctx context.Context) ([]*tracking.RegisteredModel, error) {
	out := []*tracking.RegisteredModel{}
	token := ""
	for {
		q := url.Values{"max_results": {"1000"}, "order_by": {"name ASC"}}
		if token != "" {
			q.Set("page_token", token)
		}
		var resp struct {
			RegisteredModels []*mlflowModel `json:"registered_models"`
			NextPageToken    string         `json:"next_page_token"`
		}
		if err := s.mlflowGet(ctx, "/registered-models/search", q, &resp); err != nil {
			return nil, err
		}
		for _, w := range resp.RegisteredModels {
			m, err := s.toModel("/registered-models/search", w)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		if resp.NextPageToken == "" || len(resp.RegisteredModels) == 0 {
			return out, nil
		}
		token = resp.NextPageToken
	}
}

// LatestVersion returns a model's highest version in stage, or in any
// stage when stage is "", through MLflow's get-latest-versions (the
// latest version of each stage asked for).
func (s *Store) LatestVersion(ctx context.Context, name string, stage tracking.Stage) (*tracking.ModelVersion, error) {
	body := map[string]any{"name": name}
	if stage != "" {
		st, err := tracking.ParseStage(string(stage))
		if err != nil {
			return nil, err
		}
		body["stages"] = []string{string(st)}
	}
	var resp struct {
		ModelVersions []*mlflowVersion `json:"model_versions"`
	}
	const endpoint = "/registered-models/get-latest-versions"
	if err := s.mlflowCall(ctx, http.MethodPost, endpoint, body, &resp); err != nil {
		return nil, err
	}
	var latest *tracking.ModelVersion
	for _, w := range resp.ModelVersions {
		mv, err := s.toVersion(endpoint, w)
		if err != nil {
			return nil, err
		}
		if latest == nil || mv.Version > latest.Version {
			latest = mv
		}
	}
	if latest == nil {
		if stage == "" {
			return nil, errs.Errorf(errs.NotFound, "registered model %q has no versions", name)
		}
		return nil, errs.Errorf(errs.NotFound, "registered model %q has no version in stage %s", name, stage)
	}
	return latest, nil
}
