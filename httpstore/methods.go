package httpstore

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/tracking"
)

// experiment calls a method that returns an experiment.
func (s *Store) experiment(ctx context.Context, method string, a ...any) (*tracking.Experiment, error) {
	var e tracking.Experiment
	if err := s.call(ctx, method, a, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// EnsureExperiment returns the experiment named name, creating it if needed.
func (s *Store) EnsureExperiment(ctx context.Context, name string) (*tracking.Experiment, error) {
	return s.experiment(ctx, "EnsureExperiment", name)
}

// CreateRun creates a RUNNING run with its params and tags.
func (s *Store) CreateRun(ctx context.Context, r tracking.NewRun) (*tracking.RunInfo, error) {
	var info tracking.RunInfo
	if err := s.call(ctx, "CreateRun", args(r), &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// GetRun returns a run by its full id.
func (s *Store) GetRun(ctx context.Context, id string) (*tracking.Run, error) {
	var r tracking.Run
	if err := s.call(ctx, "GetRun", args(id), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ResolveRunID expands a unique run id prefix.
func (s *Store) ResolveRunID(ctx context.Context, prefix string) (string, error) {
	var id string
	return id, s.call(ctx, "ResolveRunID", args(prefix), &id)
}

// SetRunsDeleted marks runs deleted (or active again) in one transaction.
func (s *Store) SetRunsDeleted(ctx context.Context, ids []string, deleted bool) error {
	return s.call(ctx, "SetRunsDeleted", args(ids, deleted), nil)
}

// DeletedRuns returns the ids of deleted runs deleted before the time given.
func (s *Store) DeletedRuns(ctx context.Context, before int64) ([]string, error) {
	var ids []string
	err := s.call(ctx, "DeletedRuns", args(before), &ids)
	return ids, err
}

// PurgeRun permanently removes a deleted run.
func (s *Store) PurgeRun(ctx context.Context, id string) error {
	return s.call(ctx, "PurgeRun", args(id), nil)
}

// LogBatch logs metrics, params and tags in one transaction.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) error {
	return s.call(ctx, "LogBatch", args(runID, metrics, params, tags), nil)
}

// SearchRuns returns matching runs and the next page's token.
func (s *Store) SearchRuns(ctx context.Context, q tracking.SearchRuns) ([]*tracking.Run, string, error) {
	var raw []json.RawMessage
	if err := s.call(ctx, "SearchRuns", args(q), &raw); err != nil {
		return nil, "", err
	}
	var runs []*tracking.Run
	var token string
	if err := pair(raw, &runs, &token); err != nil {
		return nil, "", err
	}
	s.publicLocations(&runs)
	return runs, token, nil
}

// CountRuns returns how many runs the store holds.
func (s *Store) CountRuns(ctx context.Context) (int, error) {
	var n int
	return n, s.call(ctx, "CountRuns", nil, &n)
}

// Heartbeat records that the run's owning process is alive.
func (s *Store) Heartbeat(ctx context.Context, runID string) error {
	return s.call(ctx, "Heartbeat", args(runID), nil)
}

// deadPIDs asks the server which pids of host own RUNNING runs (runs) or
// fires, and returns those alive reports dead.
func (s *Store) deadPIDs(ctx context.Context, host string, alive func(pid int) bool, fires bool) ([]int, error) {
	dead := []int{}
	if alive == nil {
		return dead, nil
	}
	var owned server.OwnedPIDs
	if err := s.call(ctx, "ProbePIDs", args(host), &owned); err != nil {
		return nil, err
	}
	list := owned.Runs
	if fires {
		list = owned.Fires
	}
	for _, pid := range list {
		if !alive(pid) {
			dead = append(dead, pid)
		}
	}
	return dead, nil
}

// ReapDeadRuns marks FAILED every RUNNING run whose owner is gone. The
// pids of host are checked with alive here; staleness on the server.
func (s *Store) ReapDeadRuns(ctx context.Context, host string, alive func(pid int) bool, stale time.Duration) ([]string, error) {
	dead, err := s.deadPIDs(ctx, host, alive, false)
	if err != nil {
		return nil, err
	}
	var ids []string
	return ids, s.call(ctx, "ReapDeadRuns", args(host, dead, stale.Milliseconds()), &ids)
}

// version calls a method that returns a model version.
func (s *Store) version(ctx context.Context, method string, a ...any) (*tracking.ModelVersion, error) {
	var mv tracking.ModelVersion
	if err := s.call(ctx, method, a, &mv); err != nil {
		return nil, err
	}
	return &mv, nil
}

// CreateModelVersion creates the next version of a model.
func (s *Store) CreateModelVersion(ctx context.Context, name, source, runID, description string, tags map[string]string) (*tracking.ModelVersion, error) {
	return s.version(ctx, "CreateModelVersion", name, s.private(source), runID, description, tags)
}

// ListModelVersions lists a model's versions.
func (s *Store) ListModelVersions(ctx context.Context, name string) ([]*tracking.ModelVersion, error) {
	var out []*tracking.ModelVersion
	return out, s.call(ctx, "ListModelVersions", args(name), &out)
}

// CreateSchedule creates a schedule; s gets its stored fields.
func (s *Store) CreateSchedule(ctx context.Context, sc *tracking.Schedule) error {
	return s.call(ctx, "CreateSchedule", args(sc), sc)
}

// GetSchedule returns a schedule.
func (s *Store) GetSchedule(ctx context.Context, name string) (*tracking.Schedule, error) {
	var sc tracking.Schedule
	if err := s.call(ctx, "GetSchedule", args(name), &sc); err != nil {
		return nil, err
	}
	return &sc, nil
}

// ListSchedules lists schedules.
func (s *Store) ListSchedules(ctx context.Context) ([]*tracking.Schedule, error) {
	var out []*tracking.Schedule
	return out, s.call(ctx, "ListSchedules", nil, &out)
}

// DeleteSchedule deletes a schedule.
func (s *Store) DeleteSchedule(ctx context.Context, name string) error {
	return s.call(ctx, "DeleteSchedule", args(name), nil)
}

// SetPaused pauses or resumes a schedule.
func (s *Store) SetPaused(ctx context.Context, name string, paused bool, nextRun time.Time) error {
	return s.call(ctx, "SetPaused", args(name, paused, nextRun), nil)
}

// ApplySchedules makes the schedules of source those of list.
func (s *Store) ApplySchedules(ctx context.Context, source string, list []*tracking.Schedule) ([]tracking.Change, error) {
	var out []tracking.Change
	return out, s.call(ctx, "ApplySchedules", args(source, list), &out)
}

// Fires returns a schedule's latest fires.
func (s *Store) Fires(ctx context.Context, name string, limit int) ([]*tracking.Fire, error) {
	var out []*tracking.Fire
	return out, s.call(ctx, "Fires", args(name, limit), &out)
}

// maxClaimTries bounds how often ClaimFire decides again on a schedule
// that changed between reading and claiming.
const maxClaimTries = 8

// ClaimFire decides on the schedule as the server holds it and claims the
// decided fire if the schedule did not change meanwhile.
func (s *Store) ClaimFire(ctx context.Context, name string, decide func(sc *tracking.Schedule) *tracking.Decision) (*tracking.Fire, error) {
	seen, err := s.GetSchedule(ctx, name)
	if errs.Code(err) == errs.NotFound {
		return nil, nil // removed meanwhile: nothing to do, as in a local store
	}
	if err != nil {
		return nil, err
	}
	for try := 0; try < maxClaimTries; try++ {
		seenCopy := *seen
		d := decide(seen)
		var res server.ClaimResult
		if err := s.call(ctx, "ClaimFire", args(name, server.ClaimDecision{Seen: &seenCopy, Decision: d}), &res); err != nil {
			return nil, err
		}
		if !res.Stale || res.Schedule == nil {
			return res.Fire, nil
		}
		seen = res.Schedule
	}
	return nil, nil
}

// StartQueued starts a schedule's oldest queued fire.
func (s *Store) StartQueued(ctx context.Context, name, host string, pid int, started time.Time) (*tracking.Fire, error) {
	var f *tracking.Fire
	return f, s.call(ctx, "StartQueued", args(name, host, pid, started), &f)
}

// EndFire records a fire's outcome.
func (s *Store) EndFire(ctx context.Context, f *tracking.Fire) error {
	return s.call(ctx, "EndFire", args(f), nil)
}

// ReapFires marks FAILED the RUNNING fires of host whose pid alive reports
// dead.
func (s *Store) ReapFires(ctx context.Context, host string, alive func(pid int) bool, now time.Time) ([]*tracking.Fire, error) {
	dead, err := s.deadPIDs(ctx, host, alive, true)
	if err != nil {
		return nil, err
	}
	var out []*tracking.Fire
	return out, s.call(ctx, "ReapFires", args(host, dead, now), &out)
}

// RunByTag returns the id and status of the latest run with a tag.
func (s *Store) RunByTag(ctx context.Context, key, value string) (string, tracking.RunStatus, error) {
	var raw []json.RawMessage
	if err := s.call(ctx, "RunByTag", args(key, value), &raw); err != nil {
		return "", "", err
	}
	var id string
	var status tracking.RunStatus
	return id, status, pair(raw, &id, &status)
}

// GetStepCache returns the step cache entry under key, or nil.
func (s *Store) GetStepCache(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	return b, s.call(ctx, "GetStepCache", args(key), &b)
}

// PutStepCache stores a step cache entry.
func (s *Store) PutStepCache(ctx context.Context, key, kind, step, runID string, entry []byte) error {
	return s.call(ctx, "PutStepCache", args(key, kind, step, runID, entry), nil)
}

// DeleteStepCache removes a step cache entry.
func (s *Store) DeleteStepCache(ctx context.Context, key string) error {
	return s.call(ctx, "DeleteStepCache", args(key), nil)
}

// OptionsFromEnv returns the credentials MLflow's client reads from the
// environment (MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD).
func OptionsFromEnv() Options {
	return Options{Username: os.Getenv("MLFLOW_TRACKING_USERNAME"), Password: os.Getenv("MLFLOW_TRACKING_PASSWORD")}
}

// ExperimentStats returns run counts and last activity per experiment id.
func (s *Store) ExperimentStats(ctx context.Context) (map[string]tracking.ExperimentStats, error) {
	var out map[string]tracking.ExperimentStats
	err := s.call(ctx, "ExperimentStats", nil, &out)
	return out, err
}
