package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/sqlstore"
	"github.com/mlrun/mlrun/tracking"
)

// runNameTag is the system tag that mirrors a run's name.
const runNameTag = "mlflow.runName"

// errorTag is the tag that ReapDeadRuns sets to explain a failure.
const errorTag = "mlrun.error"

// runColumns are the columns scanRunInfo reads, from runs aliased r.
const runColumns = `r.run_id, r.name, r.experiment_id, r.user_id, r.status, r.start_time, r.end_time,
	r.artifact_uri, r.lifecycle_stage, r.host, r.pid, r.heartbeat`

// CreateRun creates a RUNNING run in an active experiment (the Default one
// when r.ExperimentID is empty), with its params and tags. An empty name
// becomes the mlflow.runName tag's value if given, else a random
// adjective-noun-NNN name; the tag always mirrors the name.
//
// The run, its params and its tags are written by one statement (see
// createRunSQL): one round trip, in the implicit READ COMMITTED transaction
// of a statement sent on its own. That is as correct as a SERIALIZABLE
// transaction here: the run's id is new, so nothing it writes can collide
// with a concurrent writer, and the one thing it reads, the experiment's
// stage, is read under a FOR SHARE row lock that setExperimentLifecycle's
// UPDATE waits for (and that waits for it), so a run is never created
// active in an experiment being deleted.
func (s *Store) CreateRun(ctx context.Context, r tracking.NewRun) (*tracking.RunInfo, error) {
	if r.ExperimentID == "" {
		r.ExperimentID = tracking.DefaultExperimentID
	}
	expID, err := strconv.ParseInt(r.ExperimentID, 10, 64)
	if err != nil {
		return nil, errs.Errorf(errs.NotFound, "experiment %q does not exist", r.ExperimentID)
	}
	if err := tracking.ValidateParams(r.Params); err != nil {
		return nil, err
	}
	if err := tracking.ValidateTags(r.Tags); err != nil {
		return nil, err
	}
	for _, t := range r.Tags {
		if t.Key != runNameTag {
			continue
		}
		if r.Name == "" {
			r.Name = t.Value
		} else if t.Value != r.Name {
			return nil, errs.Errorf(errs.Invalid, "the run name %q and the %s tag %q differ; give one of them", r.Name, runNameTag, t.Value)
		}
	}
	if r.Name == "" {
		r.Name = tracking.RandomRunName()
	}
	if r.StartTime == 0 {
		r.StartTime = nowMillis()
	}
	status, err := r.InitialStatus()
	if err != nil {
		return nil, err
	}
	paramKeys, paramValues, err := newRunParams(r.Params)
	if err != nil {
		return nil, err
	}
	tagKeys, tagValues := lastTagValues(append([]tracking.Tag{{Key: runNameTag, Value: r.Name}}, r.Tags...))

	info := &tracking.RunInfo{
		ID:             tracking.NewRunID(),
		Name:           r.Name,
		ExperimentID:   r.ExperimentID,
		UserID:         r.UserID,
		Status:         status,
		StartTime:      r.StartTime,
		LifecycleStage: tracking.LifecycleActive,
		Host:           r.Host,
		PID:            r.PID,
		Heartbeat:      nowMillis(),
	}
	loc, err := s.experimentLocation(ctx, expID, r.ExperimentID)
	if err != nil {
		return nil, err
	}
	if info.ArtifactURI, err = tracking.RunArtifactURI(loc, info.ID); err != nil {
		return nil, err
	}
	var stage string
	err = retry(ctx, func() error {
		return s.db.QueryRowContext(ctx, createRunSQL,
			expID, info.ID, info.Name, info.UserID, string(info.Status), info.StartTime,
			info.ArtifactURI, info.LifecycleStage, info.Host, info.PID, info.Heartbeat,
			paramKeys, paramValues, tagKeys, tagValues).Scan(&stage)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, errs.Errorf(errs.NotFound, "experiment %q does not exist", r.ExperimentID)
	case err != nil:
		return nil, fmt.Errorf("create run in experiment %s: %w", r.ExperimentID, err)
	case stage != tracking.LifecycleActive:
		return nil, errs.Errorf(errs.Invalid, "experiment %q is deleted, so no run can be created in it", r.ExperimentID)
	}
	return info, nil
}

// createRunSQL inserts a run (arguments 2-11 are its columns) with its
// params (12, 13: keys and values) and tags (14, 15) into experiment 1 if
// that is active, and returns the experiment's stage (no row: no such
// experiment). The params, tags and runs' foreign keys are checked at the
// end of the statement, after the run's row is in.
const createRunSQL = `WITH e AS (
	SELECT experiment_id, lifecycle_stage FROM experiments WHERE experiment_id = ? FOR SHARE
), r AS (
	INSERT INTO runs (experiment_id, run_id, name, user_id, status, start_time,
		artifact_uri, lifecycle_stage, host, pid, heartbeat)
	SELECT e.experiment_id, ?::text, ?::text, ?::text, ?::text, ?::bigint,
		?::text, ?::text, ?::text, ?::bigint, ?::bigint
	FROM e WHERE e.lifecycle_stage = 'active'
	RETURNING run_id
), p AS (
	INSERT INTO params (run_id, key, value)
	SELECT r.run_id, u.key, u.value FROM r, unnest(?::text[], ?::text[]) AS u(key, value)
), t AS (
	INSERT INTO tags (run_id, key, value)
	SELECT r.run_id, u.key, u.value FROM r, unnest(?::text[], ?::text[]) AS u(key, value)
)
SELECT lifecycle_stage FROM e`

// experimentLocation returns experiment n's artifact location, from the
// cache when it is there; errs.NotFound if there is no such experiment.
func (s *Store) experimentLocation(ctx context.Context, n int64, id string) (string, error) {
	if loc, ok := s.locations.Load(n); ok {
		return loc.(string), nil
	}
	var loc string
	err := s.rdb.QueryRowContext(ctx, `SELECT artifact_location FROM experiments WHERE experiment_id = ?`, n).Scan(&loc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.Errorf(errs.NotFound, "experiment %q does not exist", id)
	}
	if err != nil {
		return "", fmt.Errorf("look up experiment %s: %w", id, err)
	}
	s.locations.Store(n, loc)
	return loc, nil
}

// newRunParams returns a new run's params as key and value columns, each
// key once; a key given twice with different values is errs.Invalid, as
// changing a logged param is.
func newRunParams(params []tracking.Param) (keys, values []string, err error) {
	seen := make(map[string]string, len(params))
	for _, p := range params {
		if old, ok := seen[p.Key]; ok {
			if old != p.Value {
				return nil, nil, errs.Errorf(errs.Invalid, "param %q is given with values %q and %q; params are immutable", p.Key, old, p.Value)
			}
			continue
		}
		seen[p.Key] = p.Value
		keys = append(keys, p.Key)
		values = append(values, p.Value)
	}
	return keys, values, nil
}

// lastTagValues returns tags as key and value columns, each key once with
// its last value, as setting them one after the other would leave them.
func lastTagValues(tags []tracking.Tag) (keys, values []string) {
	at := make(map[string]int, len(tags))
	for _, t := range tags {
		if i, ok := at[t.Key]; ok {
			values[i] = t.Value
			continue
		}
		at[t.Key] = len(keys)
		keys = append(keys, t.Key)
		values = append(values, t.Value)
	}
	return keys, values
}

// GetRun returns a run with its params, latest metrics and tags, or
// errs.NotFound.
func (s *Store) GetRun(ctx context.Context, id string) (*tracking.Run, error) {
	var run *tracking.Run
	err := s.read(ctx, func(tx *txn) error {
		info, err := scanRunInfo(tx.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs r WHERE r.run_id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Errorf(errs.NotFound, "run %q does not exist", id)
		}
		if err != nil {
			return err
		}
		run = &tracking.Run{Info: *info}
		return loadRunData(ctx, tx, []*tracking.Run{run})
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// ResolveRunID expands a run id prefix of at least 4 hex characters to the
// full id. No match is errs.NotFound; several are errs.Invalid, listing up
// to 5 of them.
func (s *Store) ResolveRunID(ctx context.Context, prefix string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(prefix))
	if len(p) < 4 {
		return "", errs.Errorf(errs.Invalid, "run id prefix %q is too short; give at least 4 characters", prefix)
	}
	if strings.Trim(p, "0123456789abcdef") != "" || len(p) > 32 {
		return "", errs.Errorf(errs.NotFound, "no run matches id prefix %q", prefix)
	}
	// Run ids are lower-case hex, so every id starting with p lies in
	// [p, p+"g"): a range scan of the primary key, with no LIKE patterns.
	rows, err := s.rdb.QueryContext(ctx, `SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id LIMIT 6`, p, p+"g")
	if err != nil {
		return "", fmt.Errorf("resolve run id prefix %q: %w", prefix, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("resolve run id prefix %q: %w", prefix, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("resolve run id prefix %q: %w", prefix, err)
	}
	switch {
	case len(ids) == 0:
		return "", errs.Errorf(errs.NotFound, "no run matches id prefix %q", prefix)
	case len(ids) == 1:
		return ids[0], nil
	case len(ids) > 5:
		return "", errs.Errorf(errs.Invalid, "run id prefix %q is ambiguous: it matches %s and more; give more characters", prefix, strings.Join(ids[:5], ", "))
	default:
		return "", errs.Errorf(errs.Invalid, "run id prefix %q is ambiguous: it matches %s; give more characters", prefix, strings.Join(ids, ", "))
	}
}

// UpdateRun changes an active run's status, end time or name (renaming also
// updates the mlflow.runName tag).
func (s *Store) UpdateRun(ctx context.Context, id string, u tracking.RunUpdate) error {
	if u.Status != nil {
		switch *u.Status {
		case tracking.StatusRunning, tracking.StatusScheduled, tracking.StatusFinished, tracking.StatusFailed, tracking.StatusKilled:
		default:
			return errs.Errorf(errs.Invalid, "run status %q is not valid; use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", *u.Status)
		}
	}
	if u.Name != nil {
		if *u.Name == "" {
			return errs.Errorf(errs.Invalid, "the new name of run %s is empty", id)
		}
		if err := tracking.ValidateTags([]tracking.Tag{{Key: runNameTag, Value: *u.Name}}); err != nil {
			return err
		}
	}
	return s.write(ctx, func(tx *txn) error {
		if err := checkRunActive(ctx, tx, id); err != nil {
			return err
		}
		if u.Status != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = ? WHERE run_id = ?`, string(*u.Status), id); err != nil {
				return fmt.Errorf("set status of run %s: %w", id, err)
			}
		}
		if u.EndTime != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE runs SET end_time = ? WHERE run_id = ?`, *u.EndTime, id); err != nil {
				return fmt.Errorf("set end time of run %s: %w", id, err)
			}
		}
		if u.Name != nil {
			return upsertTags(ctx, tx, id, []tracking.Tag{{Key: runNameTag, Value: *u.Name}})
		}
		return nil
	})
}

// DeleteRun marks a run deleted.
func (s *Store) DeleteRun(ctx context.Context, id string) error {
	return s.setLifecycle(ctx, id, tracking.LifecycleDeleted, sql.NullInt64{Int64: nowMillis(), Valid: true})
}

// RestoreRun makes a deleted run active again.
func (s *Store) RestoreRun(ctx context.Context, id string) error {
	return s.setLifecycle(ctx, id, tracking.LifecycleActive, sql.NullInt64{})
}

func (s *Store) setLifecycle(ctx context.Context, id, stage string, deletedTime sql.NullInt64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_id = ?`, stage, deletedTime, id)
	if err != nil {
		return fmt.Errorf("mark run %s %s: %w", id, stage, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Errorf(errs.NotFound, "run %q does not exist", id)
	}
	return nil
}

// LogBatch logs metrics, params and tags to an active run, all or none,
// and keeps the latest value of each metric up to date.
//
// A batch without params that does not rename the run (the common case:
// metric points, tags) is one statement, logBatchSQL, sent on its own in
// an implicit READ COMMITTED transaction: a point stored already is kept
// once, and its upserts of latest values and
// tags lock each conflicting row and apply their rule to the newest
// committed version of it, so concurrent batches are applied as if one
// came after the other, without serialization failures to retry. Params,
// whose immutability check reads before it writes, and renames go through
// a SERIALIZABLE transaction.
func (s *Store) LogBatch(ctx context.Context, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) error {
	if err := tracking.ValidateMetrics(metrics); err != nil {
		return err
	}
	if err := tracking.ValidateParams(params); err != nil {
		return err
	}
	if err := tracking.ValidateTags(tags); err != nil {
		return err
	}
	renames := slices.ContainsFunc(tags, func(t tracking.Tag) bool { return t.Key == runNameTag })
	if len(params) > 0 || renames {
		return s.write(ctx, func(tx *txn) error {
			if err := checkRunActive(ctx, tx, runID); err != nil {
				return err
			}
			if err := insertMetrics(ctx, tx, runID, metrics); err != nil {
				return err
			}
			if err := insertParams(ctx, tx, runID, params); err != nil {
				return err
			}
			return upsertTags(ctx, tx, runID, tags)
		})
	}
	pts, latest := metricColumns(metrics)
	tagKeys, tagValues := lastTagValues(tags)
	args := []any{runID, pts.keys, pts.steps, pts.timestamps, pts.values, pts.nans,
		latest.keys, latest.steps, latest.timestamps, latest.values, latest.nans, tagKeys, tagValues}
	var stage string
	err := retry(ctx, func() error {
		err := s.db.QueryRowContext(ctx, logBatchSQL, args...).Scan(&stage)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "metrics_pkey" {
			// A point is stored already (the batch is sent again, or
			// holds a point twice): keep one of each.
			err = s.db.QueryRowContext(ctx, logBatchSkipStoredSQL, args...).Scan(&stage)
		}
		return err
	})
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, sql.ErrNoRows), errors.As(err, &pe) && pe.Code == "23503": // gone, or purged meanwhile
		return errs.Errorf(errs.NotFound, "run %q does not exist", runID)
	case err != nil:
		return fmt.Errorf("log batch to run %s: %w", runID, err)
	case stage != tracking.LifecycleActive:
		return errs.Errorf(errs.Invalid, "run %s is deleted; restore it before changing it", runID)
	}
	return nil
}

// logBatchSQL logs to run 1, if it is active, metric points (arguments 2-6:
// keys, steps, timestamps, values, NaN flags), the latest point of each of
// their keys (7-11, one row per key) and tags (12, 13: keys and values, each
// key once), and returns the run's stage (no row: no such run). The
// latest-value rule is tracking.NewerMetric's, against the stored point.
//
// The points go in with a plain INSERT, which costs PostgreSQL about a
// fifth less than ON CONFLICT DO NOTHING's speculative insertion; a point
// that is stored already fails it with a unique violation, and the batch is
// then sent again as logBatchSkipStoredSQL.
const logBatchSQL = logBatchPoints + logBatchRest

// logBatchSkipStoredSQL is logBatchSQL skipping points stored already.
const logBatchSkipStoredSQL = logBatchPoints + ` ON CONFLICT DO NOTHING` + logBatchRest

const logBatchPoints = `WITH r AS (
	SELECT run_id, lifecycle_stage FROM runs WHERE run_id = ?
), ok AS (
	SELECT run_id FROM r WHERE lifecycle_stage = 'active'
), m AS (
	INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan)
	SELECT ok.run_id, u.* FROM ok, unnest(?::text[], ?::bigint[], ?::bigint[], ?::double precision[], ?::bigint[]) AS u`

const logBatchRest = `
), l AS (
	INSERT INTO latest_metrics AS cur (run_id, key, step, timestamp, value, is_nan)
	SELECT ok.run_id, u.* FROM ok, unnest(?::text[], ?::bigint[], ?::bigint[], ?::double precision[], ?::bigint[]) AS u
	ON CONFLICT (run_id, key) DO UPDATE SET
		step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan
	WHERE ` + newerLatest + `
), t AS (
	INSERT INTO tags (run_id, key, value)
	SELECT ok.run_id, u.* FROM ok, unnest(?::text[], ?::text[]) AS u
	ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value
)
SELECT lifecycle_stage FROM r`

// newerLatest is tracking.NewerMetric in SQL: whether the proposed point
// (excluded) replaces the stored latest one (cur).
const newerLatest = `excluded.step > cur.step
	OR (excluded.step = cur.step AND (excluded.timestamp > cur.timestamp
		OR (excluded.timestamp = cur.timestamp AND excluded.is_nan = 0
			AND cur.is_nan = 0 AND excluded.value >= cur.value)))`

// metricCols holds metric points as columns, for unnest.
type metricCols struct {
	keys       []string
	steps      []int64
	timestamps []int64
	values     []float64
	nans       []int64
}

func (c *metricCols) add(m tracking.Metric) {
	v, nan := sqlstore.StoredValue(m.Value)
	c.keys = append(c.keys, m.Key)
	c.steps = append(c.steps, m.Step)
	c.timestamps = append(c.timestamps, m.Timestamp)
	c.values = append(c.values, v)
	c.nans = append(c.nans, int64(nan))
}

// metricColumns returns every point of metrics, and the latest point of
// each key (in first-seen order, so that writes are deterministic).
func metricColumns(metrics []tracking.Metric) (points, latest metricCols) {
	newest := map[string]tracking.Metric{}
	var keys []string
	for _, m := range metrics {
		points.add(m)
		if cur, ok := newest[m.Key]; !ok {
			keys = append(keys, m.Key)
			newest[m.Key] = m
		} else if tracking.NewerMetric(m, cur) {
			newest[m.Key] = m
		}
	}
	for _, k := range keys {
		latest.add(newest[k])
	}
	return points, latest
}

// insertMetrics appends metric points and updates latest_metrics, in a
// transaction, with one statement for each.
func insertMetrics(ctx context.Context, tx *txn, runID string, metrics []tracking.Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	pts, latest := metricColumns(metrics)
	if _, err := tx.ExecContext(ctx, `INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan)
		SELECT ?, * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::double precision[], ?::bigint[])
		ON CONFLICT DO NOTHING`, runID, pts.keys, pts.steps, pts.timestamps, pts.values, pts.nans); err != nil {
		return fmt.Errorf("log metrics of run %s: %w", runID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO latest_metrics AS cur (run_id, key, step, timestamp, value, is_nan)
		SELECT ?, * FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::double precision[], ?::bigint[])
		ON CONFLICT (run_id, key) DO UPDATE SET
			step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan
		WHERE `+newerLatest, runID, latest.keys, latest.steps, latest.timestamps, latest.values, latest.nans); err != nil {
		return fmt.Errorf("update latest metric values of run %s: %w", runID, err)
	}
	return nil
}

// insertParams logs params, refusing to change a param's value: it inserts
// the new ones, then reads back every key's stored value to compare.
func insertParams(ctx context.Context, tx *txn, runID string, params []tracking.Param) error {
	if len(params) == 0 {
		return nil
	}
	keys := make([]string, len(params))
	values := make([]string, len(params))
	for i, p := range params {
		keys[i], values[i] = p.Key, p.Value
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO params (run_id, key, value)
		SELECT ?, * FROM unnest(?::text[], ?::text[]) ON CONFLICT (run_id, key) DO NOTHING`, runID, keys, values); err != nil {
		return fmt.Errorf("log params of run %s: %w", runID, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT key, value FROM params WHERE run_id = ? AND key = ANY(?::text[])`, runID, keys)
	if err != nil {
		return fmt.Errorf("read params of run %s: %w", runID, err)
	}
	defer rows.Close()
	stored := make(map[string]string, len(keys))
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("read params of run %s: %w", runID, err)
		}
		stored[k] = v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read params of run %s: %w", runID, err)
	}
	for _, p := range params {
		if old := stored[p.Key]; old != p.Value {
			return errs.Errorf(errs.Invalid, "param %q of run %s was logged with value %q and cannot be changed to %q; params are immutable", p.Key, runID, old, p.Value)
		}
	}
	return nil
}

// upsertTags sets tags (the last value of a key given twice); setting
// mlflow.runName to a non-empty value renames the run.
func upsertTags(ctx context.Context, tx *txn, runID string, tags []tracking.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	keys, values := lastTagValues(tags)
	if _, err := tx.ExecContext(ctx, `INSERT INTO tags (run_id, key, value)
		SELECT ?, * FROM unnest(?::text[], ?::text[])
		ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`, runID, keys, values); err != nil {
		return fmt.Errorf("set tags of run %s: %w", runID, err)
	}
	name := ""
	for _, t := range tags {
		if t.Key == runNameTag && t.Value != "" {
			name = t.Value
		}
	}
	if name != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET name = ? WHERE run_id = ?`, name, runID); err != nil {
			return fmt.Errorf("rename run %s: %w", runID, err)
		}
	}
	return nil
}

// checkRunActive returns errs.NotFound if the run does not exist and
// errs.Invalid if it is deleted.
func checkRunActive(ctx context.Context, q querier, runID string) error {
	var stage string
	err := q.QueryRowContext(ctx, `SELECT lifecycle_stage FROM runs WHERE run_id = ?`, runID).Scan(&stage)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Errorf(errs.NotFound, "run %q does not exist", runID)
	}
	if err != nil {
		return fmt.Errorf("look up run %s: %w", runID, err)
	}
	if stage != tracking.LifecycleActive {
		return errs.Errorf(errs.Invalid, "run %s is deleted; restore it before changing it", runID)
	}
	return nil
}

// DeleteTag removes a tag from an active run; errs.NotFound if it is not set.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	return s.write(ctx, func(tx *txn) error {
		if err := checkRunActive(ctx, tx, runID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE run_id = ? AND key = ?`, runID, key)
		if err != nil {
			return fmt.Errorf("delete tag %q of run %s: %w", key, runID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Errorf(errs.NotFound, "run %s has no tag %q", runID, key)
		}
		return nil
	})
}

// MetricHistory returns every point of one metric of a run, ordered by step
// then timestamp; errs.NotFound if the run does not exist.
func (s *Store) MetricHistory(ctx context.Context, runID, key string) ([]tracking.Metric, error) {
	out := []tracking.Metric{}
	err := s.read(ctx, func(tx *txn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE run_id = ?`, runID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Errorf(errs.NotFound, "run %q does not exist", runID)
		}
		if err != nil {
			return fmt.Errorf("look up run %s: %w", runID, err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT step, timestamp, value, is_nan FROM metrics
			WHERE run_id = ? AND key = ? ORDER BY step, timestamp`, runID, key)
		if err != nil {
			return fmt.Errorf("read history of metric %q of run %s: %w", key, runID, err)
		}
		defer rows.Close()
		for rows.Next() {
			m := tracking.Metric{Key: key}
			var nan bool
			if err := rows.Scan(&m.Step, &m.Timestamp, &m.Value, &nan); err != nil {
				return fmt.Errorf("read history of metric %q of run %s: %w", key, runID, err)
			}
			if nan {
				m.Value = math.NaN()
			}
			out = append(out, m)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read history of metric %q of run %s: %w", key, runID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Heartbeat records that the process owning the run is alive.
func (s *Store) Heartbeat(ctx context.Context, runID string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET heartbeat = ? WHERE run_id = ?`, nowMillis(), runID)
	if err != nil {
		return fmt.Errorf("record heartbeat of run %s: %w", runID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Errorf(errs.NotFound, "run %q does not exist", runID)
	}
	return nil
}

// ReapDeadRuns marks FAILED every RUNNING run whose owner is gone: on this
// host with a pid that alive reports dead (alive nil: not checked), or on
// any host with no heartbeat for longer than stale (0: not checked). It sets
// the end time and the mlrun.error tag, and returns the ids it marked. A run
// that finishes or beats meanwhile is left alone.
func (s *Store) ReapDeadRuns(ctx context.Context, host string, alive func(pid int) bool, stale time.Duration) ([]string, error) {
	type candidate struct {
		id, reason string
		heartbeat  int64
	}
	var deadRuns []candidate
	now := nowMillis()
	rows, err := s.rdb.QueryContext(ctx, `SELECT run_id, host, pid, heartbeat, start_time FROM runs WHERE status = 'RUNNING'`)
	if err != nil {
		return nil, fmt.Errorf("list running runs: %w", err)
	}
	for rows.Next() {
		var id, h string
		var pid int
		var beat, start int64
		if err := rows.Scan(&id, &h, &pid, &beat, &start); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list running runs: %w", err)
		}
		if reason, dead := tracking.DeadOwner(host, h, pid, max(beat, start), now, alive, stale); dead {
			deadRuns = append(deadRuns, candidate{id, reason, beat})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list running runs: %w", err)
	}
	if len(deadRuns) == 0 {
		return nil, nil
	}

	var reaped []string
	err = s.write(ctx, func(tx *txn) error {
		for _, c := range deadRuns {
			res, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'FAILED', end_time = ?
				WHERE run_id = ? AND status = 'RUNNING' AND heartbeat = ?`, now, c.id, c.heartbeat)
			if err != nil {
				return fmt.Errorf("mark run %s failed: %w", c.id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // finished or beat since we looked
			}
			if err := upsertTags(ctx, tx, c.id, []tracking.Tag{{Key: errorTag, Value: c.reason}}); err != nil {
				return err
			}
			reaped = append(reaped, c.id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reaped, nil
}

// scanRunInfo reads the runColumns of one row.
func scanRunInfo(sc scanner) (*tracking.RunInfo, error) {
	var info tracking.RunInfo
	var expID int64
	var status string
	var end sql.NullInt64
	err := sc.Scan(&info.ID, &info.Name, &expID, &info.UserID, &status, &info.StartTime, &end,
		&info.ArtifactURI, &info.LifecycleStage, &info.Host, &info.PID, &info.Heartbeat)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	info.ExperimentID = strconv.FormatInt(expID, 10)
	info.Status = tracking.RunStatus(status)
	info.EndTime = end.Int64
	return &info, nil
}

// loadRunData fills the params, latest metrics and tags of runs with three
// queries, whatever the number of runs. Each list is ordered by key.
func loadRunData(ctx context.Context, q querier, runs []*tracking.Run) error {
	if len(runs) == 0 {
		return nil
	}
	byID := make(map[string]*tracking.Run, len(runs))
	ids := make([]string, len(runs))
	for i, r := range runs {
		byID[r.Info.ID] = r
		ids[i] = r.Info.ID
		r.Params = []tracking.Param{}
		r.Metrics = []tracking.Metric{}
		r.Tags = []tracking.Tag{}
	}
	const inIDs = `run_id = ANY(?::text[])`

	rows, err := q.QueryContext(ctx, `SELECT run_id, key, value FROM params WHERE `+inIDs+` ORDER BY run_id, key`, ids)
	if err != nil {
		return fmt.Errorf("load params: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p tracking.Param
		if err := rows.Scan(&id, &p.Key, &p.Value); err != nil {
			return fmt.Errorf("load params: %w", err)
		}
		r := byID[id]
		r.Params = append(r.Params, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load params: %w", err)
	}
	rows.Close()

	rows, err = q.QueryContext(ctx, `SELECT run_id, key, value FROM tags WHERE `+inIDs+` ORDER BY run_id, key`, ids)
	if err != nil {
		return fmt.Errorf("load tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var t tracking.Tag
		if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
			return fmt.Errorf("load tags: %w", err)
		}
		r := byID[id]
		r.Tags = append(r.Tags, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load tags: %w", err)
	}
	rows.Close()

	rows, err = q.QueryContext(ctx, `SELECT run_id, key, step, timestamp, value, is_nan FROM latest_metrics WHERE `+inIDs+` ORDER BY run_id, key`, ids)
	if err != nil {
		return fmt.Errorf("load metrics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var m tracking.Metric
		var nan bool
		if err := rows.Scan(&id, &m.Key, &m.Step, &m.Timestamp, &m.Value, &nan); err != nil {
			return fmt.Errorf("load metrics: %w", err)
		}
		if nan {
			m.Value = math.NaN()
		}
		r := byID[id]
		r.Metrics = append(r.Metrics, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load metrics: %w", err)
	}
	return nil
}

// CountRuns returns how many runs the store holds, deleted ones included.
func (s *Store) CountRuns(ctx context.Context) (int, error) {
	var n int
	err := s.read(ctx, func(tx *txn) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count runs: %w", err)
	}
	return n, nil
}
