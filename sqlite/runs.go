package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

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
// when r.ExperimentID is empty), with its params and tags, in one
// transaction (shared with concurrent writes, see writeGroup). An empty
// name becomes the mlflow.runName tag's value if given, else a random
// adjective-noun-NNN name; the tag always mirrors the name.
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
	s.startBackfill()
	if r.StartTime == 0 {
		r.StartTime = nowMillis()
	}
	status, err := r.InitialStatus()
	if err != nil {
		return nil, err
	}

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
	err = s.writeGrouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var loc, stage string
		err := tx.QueryRowContext(ctx, `SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = ?`, expID).Scan(&loc, &stage)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Errorf(errs.NotFound, "experiment %q does not exist", r.ExperimentID)
		}
		if err != nil {
			return fmt.Errorf("look up experiment %s: %w", r.ExperimentID, err)
		}
		if stage != tracking.LifecycleActive {
			return errs.Errorf(errs.Invalid, "experiment %q is deleted, so no run can be created in it", r.ExperimentID)
		}
		if info.ArtifactURI, err = tracking.RunArtifactURI(loc, info.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO runs (run_id, name, experiment_id, user_id, status, start_time,
			artifact_uri, lifecycle_stage, host, pid, heartbeat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			info.ID, info.Name, expID, info.UserID, string(info.Status), info.StartTime,
			info.ArtifactURI, info.LifecycleStage, info.Host, info.PID, info.Heartbeat)
		if err != nil {
			return fmt.Errorf("create run in experiment %s: %w", r.ExperimentID, err)
		}
		if err := insertParams(ctx, tx, info.ID, r.Params); err != nil {
			return err
		}
		// The name is already in place: set the tags without renaming.
		tags := append([]tracking.Tag{{Key: runNameTag, Value: info.Name}}, r.Tags...)
		return setTags(ctx, tx, info.ID, tags)
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// GetRun returns a run with its params, latest metrics and tags, or
// errs.NotFound.
func (s *Store) GetRun(ctx context.Context, id string) (*tracking.Run, error) {
	var run *tracking.Run
	err := s.read(ctx, func(tx *sql.Tx) error {
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
// updates the mlflow.runName tag). A terminal status writes the run's
// summary row (see writeSummary).
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
	return s.write(ctx, func(tx *sql.Tx) error {
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
			if err := upsertTags(ctx, tx, id, []tracking.Tag{{Key: runNameTag, Value: *u.Name}}); err != nil {
				return err
			}
		}
		if u.Status != nil && u.Status.Terminal() {
			return writeSummary(ctx, tx, id)
		}
		if u.Name != nil {
			return refreshSummary(ctx, tx, id, summaryOfTags)
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

// LogBatch logs metrics, params and tags to an active run in one
// transaction (shared with concurrent writes, see writeGroup), and keeps
// the latest value of each metric up to date.
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
	return s.writeGrouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := checkRunActive(ctx, tx, runID); err != nil {
			return err
		}
		if err := insertMetrics(ctx, tx, runID, metrics); err != nil {
			return err
		}
		if err := insertParams(ctx, tx, runID, params); err != nil {
			return err
		}
		if err := upsertTags(ctx, tx, runID, tags); err != nil {
			return err
		}
		var parts summaryPart
		if len(metrics) > 0 {
			parts |= summaryOfMetrics
		}
		if len(params) > 0 {
			parts |= summaryOfParams
		}
		if len(tags) > 0 {
			parts |= summaryOfTags
		}
		return refreshSummary(ctx, tx, runID, parts)
	})
}

// metricRowsPerInsert is how many points one INSERT statement carries:
// binding a batch's points to a few multi-row statements, rather than
// executing one statement per point, is what makes a 1000-point batch cheap.
const metricRowsPerInsert = 100

// metricInsertSQL returns the INSERT of n points of run ?1, each point
// five parameters (key, step, timestamp, value, is_nan).
func metricInsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?1, ?, ?, ?, ?, ?)`)
	}
	return b.String()
}

// insertMetrics appends metric points and updates latest_metrics.
func insertMetrics(ctx context.Context, tx *sql.Tx, runID string, metrics []tracking.Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	latest := map[string]tracking.Metric{}
	var keys []string // in first-seen order, so that writes are deterministic
	args := make([]any, 0, 1+5*min(len(metrics), metricRowsPerInsert))
	for start := 0; start < len(metrics); start += metricRowsPerInsert {
		chunk := metrics[start:min(start+metricRowsPerInsert, len(metrics))]
		args = append(args[:0], runID)
		for _, m := range chunk {
			v, nan := sqlstore.StoredValue(m.Value)
			args = append(args, m.Key, m.Step, m.Timestamp, v, nan)
			if cur, ok := latest[m.Key]; !ok {
				keys = append(keys, m.Key)
				latest[m.Key] = m
			} else if tracking.NewerMetric(m, cur) {
				latest[m.Key] = m
			}
		}
		// Executed, not prepared: go-sqlite3 caches the statement of a
		// full chunk on the connection, from one batch to the next.
		if _, err := tx.ExecContext(ctx, metricInsertSQL(len(chunk)), args...); err != nil {
			return fmt.Errorf("log %d metric points of run %s: %w", len(chunk), runID, err)
		}
	}
	// One upsert per 100 keys (each key once), applying the same rule as
	// newerMetric against the stored latest point.
	for start := 0; start < len(keys); start += metricRowsPerInsert {
		chunk := keys[start:min(start+metricRowsPerInsert, len(keys))]
		args = append(args[:0], runID)
		for _, k := range chunk {
			m := latest[k]
			v, nan := sqlstore.StoredValue(m.Value)
			args = append(args, k, m.Step, m.Timestamp, v, nan)
		}
		if _, err := tx.ExecContext(ctx, latestUpsertSQL(len(chunk)), args...); err != nil {
			return fmt.Errorf("update the latest value of %d metrics of run %s: %w", len(chunk), runID, err)
		}
	}
	return nil
}

// latestUpsertSQL returns the upsert into latest_metrics of n points of
// run ?1 with distinct keys, each point five parameters (key, step,
// timestamp, value, is_nan): a stored point is replaced only by a newer
// one (tracking.NewerMetric).
func latestUpsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO latest_metrics (run_id, key, step, timestamp, value, is_nan) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?1, ?, ?, ?, ?, ?)`)
	}
	b.WriteString(`
		ON CONFLICT (run_id, key) DO UPDATE SET
			step = excluded.step, timestamp = excluded.timestamp, value = excluded.value, is_nan = excluded.is_nan
		WHERE excluded.step > latest_metrics.step
		   OR (excluded.step = latest_metrics.step AND (excluded.timestamp > latest_metrics.timestamp
		       OR (excluded.timestamp = latest_metrics.timestamp AND excluded.is_nan = 0
		           AND latest_metrics.is_nan = 0 AND excluded.value >= latest_metrics.value)))`)
	return b.String()
}

// keyValueRows returns n rows "(?1, ?, ?)" of a VALUES list: the run id
// (the first argument), then each row's key and value.
func keyValueRows(n int) string {
	return strings.TrimSuffix(strings.Repeat("(?1, ?, ?),", n), ",")
}

// insertParams logs params, refusing to change a param's value, with one
// INSERT per 100 params; only a batch in which some param was already
// stored (or given twice) reads the stored values back to compare them.
func insertParams(ctx context.Context, tx *sql.Tx, runID string, params []tracking.Param) error {
	const rows = 100
	inserted := int64(0)
	for start := 0; start < len(params); start += rows {
		chunk := params[start:min(start+rows, len(params))]
		args := make([]any, 0, 1+2*len(chunk))
		args = append(args, runID)
		for _, p := range chunk {
			args = append(args, p.Key, p.Value)
		}
		q := `INSERT INTO params (run_id, key, value) VALUES ` + keyValueRows(len(chunk)) + ` ON CONFLICT (run_id, key) DO NOTHING`
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("log %d params of run %s: %w", len(chunk), runID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("log %d params of run %s: %w", len(chunk), runID, err)
		}
		inserted += n
	}
	if inserted == int64(len(params)) {
		return nil
	}
	// Some param was stored before (or is given twice): each must have
	// the value stored, the first one in the batch that has not is
	// refused (and the transaction with it).
	for _, p := range params {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT value FROM params WHERE run_id = ? AND key = ?`, runID, p.Key).Scan(&old); err != nil {
			return fmt.Errorf("read param %q of run %s: %w", p.Key, runID, err)
		}
		if old != p.Value {
			return errs.Errorf(errs.Invalid, "param %q of run %s was logged with value %q and cannot be changed to %q; params are immutable", p.Key, runID, old, p.Value)
		}
	}
	return nil
}

// upsertTags sets tags; setting mlflow.runName renames the run. The caller
// refreshes the run's summary.
func upsertTags(ctx context.Context, tx *sql.Tx, runID string, tags []tracking.Tag) error {
	if err := setTags(ctx, tx, runID, tags); err != nil {
		return err
	}
	for _, t := range tags {
		if t.Key == runNameTag && t.Value != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE runs SET name = ? WHERE run_id = ?`, t.Value, runID); err != nil {
				return fmt.Errorf("rename run %s: %w", runID, err)
			}
		}
	}
	return nil
}

// setTags inserts or replaces tags, without renaming the run, in
// statements of up to 100 rows (a key given twice: the last value wins).
func setTags(ctx context.Context, tx *sql.Tx, runID string, tags []tracking.Tag) error {
	const rows = 100
	for start := 0; start < len(tags); start += rows {
		chunk := tags[start:min(start+rows, len(tags))]
		args := make([]any, 0, 1+2*len(chunk))
		args = append(args, runID)
		for _, t := range chunk {
			args = append(args, t.Key, t.Value)
		}
		q := `INSERT INTO tags (run_id, key, value) VALUES ` + keyValueRows(len(chunk)) + ` ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("set %d tags of run %s: %w", len(chunk), runID, err)
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
	return s.write(ctx, func(tx *sql.Tx) error {
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
		return refreshSummary(ctx, tx, runID, summaryOfTags)
	})
}

// MetricHistory returns every point of one metric of a run, ordered by step
// then timestamp; errs.NotFound if the run does not exist.
func (s *Store) MetricHistory(ctx context.Context, runID, key string) ([]tracking.Metric, error) {
	out := []tracking.Metric{}
	err := s.read(ctx, func(tx *sql.Tx) error {
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
// that finishes or beats meanwhile is left alone. A run with no owning
// process (pid 0: created over the MLflow REST API by a remote client, which
// sends no heartbeats) is never reaped for staleness; its client ends it.
func (s *Store) ReapDeadRuns(ctx context.Context, host string, alive func(pid int) bool, stale time.Duration) ([]string, error) {
	type candidate struct {
		id, reason string
		heartbeat  int64
	}
	var deadRuns []candidate
	now := nowMillis()
	// On the writer's connection, which the marking needs anyway: a
	// command that opens the store, reaps and creates a run never opens
	// a reading connection (each loads the schema when it opens).
	rows, err := s.db.QueryContext(ctx, `SELECT run_id, host, pid, heartbeat, start_time FROM runs WHERE status = 'RUNNING'`)
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
	err = s.write(ctx, func(tx *sql.Tx) error {
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
			if err := writeSummary(ctx, tx, c.id); err != nil {
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
	idList, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("encode run ids: %w", err)
	}
	const inIDs = `run_id IN (SELECT value FROM json_each(?))`

	rows, err := q.QueryContext(ctx, `SELECT run_id, key, value FROM params WHERE `+inIDs+` ORDER BY run_id, key`, string(idList))
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

	rows, err = q.QueryContext(ctx, `SELECT run_id, key, value FROM tags WHERE `+inIDs+` ORDER BY run_id, key`, string(idList))
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

	rows, err = q.QueryContext(ctx, `SELECT run_id, key, step, timestamp, value, is_nan FROM latest_metrics WHERE `+inIDs+` ORDER BY run_id, key`, string(idList))
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
	err := s.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM runs`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count runs: %w", err)
	}
	return n, nil
}
