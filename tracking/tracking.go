// Package tracking holds mlrun's tracking domain: experiments, runs, params,
// metrics and tags in MLflow's data model, the model registry, schedules and
// the step cache, and the Store interface that every storage adapter
// (packages sqlite and postgres) implements.
//
// Times are Unix milliseconds, as in MLflow. Params, metrics and tags are kept
// as slices ordered by key so that they serialise in MLflow's wire shape.
package tracking

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// RunStatus is the state of a run, spelled as MLflow spells it.
type RunStatus string

// Run statuses.
const (
	StatusRunning   RunStatus = "RUNNING"
	StatusScheduled RunStatus = "SCHEDULED"
	StatusFinished  RunStatus = "FINISHED"
	StatusFailed    RunStatus = "FAILED"
	StatusKilled    RunStatus = "KILLED"
)

// Terminal reports whether a run in this status has ended.
func (s RunStatus) Terminal() bool {
	return s == StatusFinished || s == StatusFailed || s == StatusKilled
}

// Lifecycle stages of experiments and runs.
const (
	LifecycleActive  = "active"
	LifecycleDeleted = "deleted"
)

// ViewType selects runs or experiments by lifecycle stage.
type ViewType int

// View types, numbered as in MLflow.
const (
	ActiveOnly  ViewType = 1
	DeletedOnly ViewType = 2
	All         ViewType = 3
)

// DefaultExperimentID is the id of the experiment named "Default", which
// every store has.
const DefaultExperimentID = "0"

// Experiment groups runs.
type Experiment struct {
	ID               string            `json:"experiment_id"`
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifact_location"`
	LifecycleStage   string            `json:"lifecycle_stage"`
	CreationTime     int64             `json:"creation_time"`
	LastUpdateTime   int64             `json:"last_update_time"`
	Tags             map[string]string `json:"tags,omitempty"`
}

// RunInfo is a run's metadata.
type RunInfo struct {
	ID             string    `json:"run_id"`
	Name           string    `json:"run_name"`
	ExperimentID   string    `json:"experiment_id"`
	UserID         string    `json:"user_id"`
	Status         RunStatus `json:"status"`
	StartTime      int64     `json:"start_time"`
	EndTime        int64     `json:"end_time,omitempty"` // 0 while the run is not over
	ArtifactURI    string    `json:"artifact_uri"`       // file:// URI of the run's artifact directory
	LifecycleStage string    `json:"lifecycle_stage"`
	// Liveness, so that a run whose process died is noticed: the host and
	// pid of the process that owns the run, and its last heartbeat (ms).
	Host      string `json:"host,omitempty"`
	PID       int    `json:"pid,omitempty"`
	Heartbeat int64  `json:"heartbeat,omitempty"`
}

// Param is a run's input value. Params are immutable once logged.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one point of a metric's history.
type Metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

// metricJSON is Metric's JSON shape, with the value as raw JSON.
type metricJSON struct {
	Key       string          `json:"key"`
	Value     json.RawMessage `json:"value"`
	Timestamp int64           `json:"timestamp"`
	Step      int64           `json:"step"`
}

// MarshalJSON writes the value as a number, or as "NaN", "Infinity" or
// "-Infinity" (MLflow's spelling) when it is not finite, which JSON
// numbers cannot hold.
func (m Metric) MarshalJSON() ([]byte, error) {
	var v []byte
	switch {
	case math.IsNaN(m.Value):
		v = []byte(`"NaN"`)
	case math.IsInf(m.Value, 1):
		v = []byte(`"Infinity"`)
	case math.IsInf(m.Value, -1):
		v = []byte(`"-Infinity"`)
	default:
		v = strconv.AppendFloat(nil, m.Value, 'g', -1, 64)
	}
	return json.Marshal(metricJSON{Key: m.Key, Value: v, Timestamp: m.Timestamp, Step: m.Step})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var j metricJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	m.Key, m.Timestamp, m.Step = j.Key, j.Timestamp, j.Step
	switch string(j.Value) {
	case `"NaN"`:
		m.Value = math.NaN()
	case `"Infinity"`:
		m.Value = math.Inf(1)
	case `"-Infinity"`:
		m.Value = math.Inf(-1)
	default:
		if err := json.Unmarshal(j.Value, &m.Value); err != nil {
			return fmt.Errorf("metric %q: value %s is not a number", j.Key, j.Value)
		}
	}
	return nil
}

// Tag is a mutable key/value label on a run.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Run is a run with its data. Metrics holds only the latest point per key,
// chosen as MLflow does: the greatest (step, timestamp, value).
type Run struct {
	Info    RunInfo  `json:"info"`
	Params  []Param  `json:"params"`
	Metrics []Metric `json:"metrics"`
	Tags    []Tag    `json:"tags"`
}

// Param returns the value of the param key and whether it is set.
func (r *Run) Param(key string) (string, bool) {
	for _, p := range r.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Metric returns the latest value of metric key and whether it is set.
func (r *Run) Metric(key string) (float64, bool) {
	for _, m := range r.Metrics {
		if m.Key == key {
			return m.Value, true
		}
	}
	return 0, false
}

// Tag returns the value of tag key and whether it is set.
func (r *Run) Tag(key string) (string, bool) {
	for _, t := range r.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// NewRun holds what CreateRun needs. Params and Tags are logged in the same
// transaction that creates the run, so a run never exists without them.
type NewRun struct {
	ExperimentID string
	Name         string // empty: a random adjective-noun-NNN name
	UserID       string
	StartTime    int64 // 0: now
	Params       []Param
	Tags         []Tag
	Host         string
	PID          int
	// Status is RUNNING (also ""), or SCHEDULED for a run created for an
	// executor, which claims it later (ClaimRun).
	Status RunStatus
}

// RunUpdate changes a run's info; nil fields are left as they are.
type RunUpdate struct {
	Status  *RunStatus
	EndTime *int64
	Name    *string
}

// SearchRuns selects runs. Filter and OrderBy use MLflow's search syntax
// (e.g. "metrics.acc > 0.5 and params.model = 'a'", "metrics.acc DESC").
type SearchRuns struct {
	ExperimentIDs []string // empty: every experiment
	Filter        string
	OrderBy       []string
	MaxResults    int // 0: 1000
	PageToken     string
	ViewType      ViewType // 0: ActiveOnly
}

// Store is the whole contract of a tracking store: experiments and runs,
// the model registry, schedules and their leases, and the step cache. Every
// store (sqlite, postgres, ...) implements all of it and passes the
// conformance suite in package tracking/storetest; callers never ask for a
// store's concrete type. Methods return *errs.Error values with code
// errs.NotFound for a missing entity, errs.Conflict for a duplicate name,
// and errs.Invalid for bad input. Implementations are safe for use by many
// goroutines and many processes.
type Store interface {
	RunStore
	Registry
	ScheduleStore
	StepCache

	// ArtifactRoot is the artifact root URI (file:///... for a directory)
	// under which new experiments keep their runs' artifacts.
	ArtifactRoot() string
	// Close releases the store.
	Close() error
}

// StepCache keeps the step cache's entries: opaque JSON documents under a
// key that hashes everything a step consumed (package pipeline computes
// keys and entries).
type StepCache interface {
	// GetStepCache returns the entry under key, or (nil, nil) when there
	// is none.
	GetStepCache(ctx context.Context, key string) ([]byte, error)
	// PutStepCache stores an entry, replacing any under the same key.
	PutStepCache(ctx context.Context, key, kind, step, runID string, entry []byte) error
	// DeleteStepCache removes the entry under key; no entry is not an error.
	DeleteStepCache(ctx context.Context, key string) error
}

// RunStore persists experiments and runs, with their params, metrics and
// tags. Methods return *errs.Error values with code errs.NotFound for a
// missing experiment or run, errs.Conflict for a duplicate name, and
// errs.Invalid for bad input (a bad filter, a param logged again with
// another value, logging to a deleted run).
type RunStore interface {
	// CreateExperiment creates an experiment; errs.Conflict if the name exists.
	CreateExperiment(ctx context.Context, name string, tags map[string]string) (*Experiment, error)
	// GetExperiment returns an experiment by id.
	GetExperiment(ctx context.Context, id string) (*Experiment, error)
	// GetExperimentByName returns an experiment by name, active ones first.
	GetExperimentByName(ctx context.Context, name string) (*Experiment, error)
	// EnsureExperiment returns the experiment with this name, creating it if
	// needed; safe when several processes race to create the same name.
	EnsureExperiment(ctx context.Context, name string) (*Experiment, error)
	// ListExperiments lists experiments ordered by id.
	ListExperiments(ctx context.Context, view ViewType) ([]*Experiment, error)
	// DeleteExperiment marks an experiment and its runs deleted; the
	// Default experiment cannot be deleted (errs.Invalid).
	DeleteExperiment(ctx context.Context, id string) error
	// RestoreExperiment makes a deleted experiment and its runs active.
	RestoreExperiment(ctx context.Context, id string) error
	// RenameExperiment renames an active experiment; errs.Conflict if the
	// new name is taken.
	RenameExperiment(ctx context.Context, id, newName string) error
	// SetExperimentTag sets a tag on an active experiment.
	SetExperimentTag(ctx context.Context, id, key, value string) error

	// CreateRun creates a RUNNING (or SCHEDULED, NewRun.Status) run with
	// its params and tags.
	CreateRun(ctx context.Context, r NewRun) (*RunInfo, error)
	// GetRun returns a run by its full id.
	GetRun(ctx context.Context, id string) (*Run, error)
	// ResolveRunID expands a unique id prefix (at least 4 characters) to a
	// full id; errs.NotFound if none matches, errs.Invalid if several do.
	ResolveRunID(ctx context.Context, prefix string) (string, error)
	// UpdateRun changes a run's status, end time or name.
	UpdateRun(ctx context.Context, id string, u RunUpdate) error
	// DeleteRun marks a run deleted; RestoreRun makes it active again.
	DeleteRun(ctx context.Context, id string) error
	// RestoreRun makes a deleted run active again.
	RestoreRun(ctx context.Context, id string) error
	// SetRunsDeleted marks every run of ids deleted (or, with deleted
	// false, active again) in one transaction: when one of them does not
	// exist, none changes and the error is errs.NotFound naming it.
	SetRunsDeleted(ctx context.Context, ids []string, deleted bool) error
	// LogBatch logs metrics, params and tags in one transaction. A param
	// logged again with the same value is fine; with another, errs.Invalid.
	LogBatch(ctx context.Context, runID string, metrics []Metric, params []Param, tags []Tag) error
	// DeleteTag removes a tag; errs.NotFound if it is not set.
	DeleteTag(ctx context.Context, runID, key string) error
	// MetricHistory returns every point of one metric, ordered by step then timestamp.
	MetricHistory(ctx context.Context, runID, key string) ([]Metric, error)
	// SearchRuns returns matching runs, evaluated in the database, and the
	// token of the next page ("" on the last page).
	SearchRuns(ctx context.Context, q SearchRuns) ([]*Run, string, error)
	// CountRuns returns how many runs the store holds, deleted ones included.
	CountRuns(ctx context.Context) (int, error)
	// ExperimentStats returns run counts and last activity per experiment
	// id, computed in one pass over the runs.
	ExperimentStats(ctx context.Context) (map[string]ExperimentStats, error)
	// DeletedRuns returns the ids of the runs in the deleted stage that were
	// deleted before the time before (Unix ms; 0: any time), ordered by id.
	DeletedRuns(ctx context.Context, before int64) ([]string, error)
	// PurgeRun permanently removes a deleted run with its params, metric
	// history and tags (not its artifacts); errs.Invalid if the run is not
	// deleted, errs.NotFound if it does not exist.
	PurgeRun(ctx context.Context, id string) error

	// ClaimRun takes a SCHEDULED run for the process pid on host, as one
	// conditional update: the run becomes RUNNING, owned by host and pid,
	// with a fresh heartbeat. Of several processes claiming the same run,
	// exactly one succeeds; the others get errs.Conflict naming the run's
	// status (as does a run that is not SCHEDULED). errs.NotFound when the
	// run does not exist, errs.Invalid when it is deleted.
	ClaimRun(ctx context.Context, id, host string, pid int) error
	// Heartbeat records that the run's owning process is alive.
	Heartbeat(ctx context.Context, runID string) error
	// ReapDeadRuns marks FAILED (with tag mlrun.error) every RUNNING run whose
	// owner is gone: on this host with a pid that alive reports dead, or on
	// any host with no heartbeat for longer than stale. It returns their ids.
	// Runs with no owning process (PID 0, as those created over the MLflow
	// REST API) are not reaped for staleness.
	ReapDeadRuns(ctx context.Context, host string, alive func(pid int) bool, stale time.Duration) ([]string, error)
}
