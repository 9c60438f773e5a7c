package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// This file implements tracking.Store: the schedules and schedule_fires
// tables of migration 0003.

var _ tracking.ScheduleStore = (*Store)(nil)

// scheduleQuery selects schedules (aliased s) with their latest fire and
// their counts of RUNNING and QUEUED fires; add a WHERE clause or ORDER BY.
const scheduleQuery = `SELECT s.name, s.cron, s.timezone, s.project_dir, s.entry_point, s.params,
	s.experiment, s.overlap, s.missed, s.paused, s.source, s.created_at, s.updated_at, s.next_run,
	s.executor, s.resources,
	COALESCE(l.fire_time, 0), COALESCE(l.run_id, ''), COALESCE(l.status, ''),
	(SELECT COUNT(*) FROM schedule_fires a WHERE a.status = 'RUNNING' AND a.name = s.name),
	(SELECT COUNT(*) FROM schedule_fires a WHERE a.status = 'QUEUED' AND a.name = s.name)
	FROM schedules s
	LEFT JOIN schedule_fires l ON l.name = s.name
		AND l.fire_time = (SELECT MAX(m.fire_time) FROM schedule_fires m WHERE m.name = s.name)`

// fireColumns are the columns scanFire reads.
const fireColumns = `name, fire_time, status, started, ended, run_id, log_path, message, host, pid`

// CreateSchedule saves a new schedule; errs.Conflict if the name is taken.
func (s *Store) CreateSchedule(ctx context.Context, sc *tracking.Schedule) error {
	params, err := json.Marshal(schedParams(sc.Params))
	if err != nil {
		return fmt.Errorf("encode the parameters of schedule %s: %w", sc.Name, err)
	}
	resources, err := json.Marshal(sc.Resources)
	if err != nil {
		return fmt.Errorf("encode the resources of schedule %s: %w", sc.Name, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO schedules (name, cron, timezone, project_dir, entry_point, params,
			experiment, overlap, missed, paused, source, created_at, updated_at, next_run, executor, resources)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			sc.Name, sc.Cron, sc.Timezone, sc.ProjectDir, sc.EntryPoint, string(params),
			sc.Experiment, sc.Overlap, sc.Missed, sc.Paused, sc.Source,
			schedMillis(sc.CreatedAt), schedMillis(sc.UpdatedAt), schedMillis(sc.NextRun), sc.Executor, string(resources))
		if err != nil {
			return fmt.Errorf("save schedule %s: %w", sc.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Errorf(errs.Conflict, "a schedule named %q already exists; remove it first or pick another name", sc.Name)
		}
		return nil
	})
}

// GetSchedule returns a schedule, or errs.NotFound.
func (s *Store) GetSchedule(ctx context.Context, name string) (*tracking.Schedule, error) {
	var sc *tracking.Schedule
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		sc, err = getSchedule(ctx, tx, name)
		return err
	})
	return sc, err
}

// getSchedule reads one schedule through q.
func getSchedule(ctx context.Context, q querier, name string) (*tracking.Schedule, error) {
	sc, err := scanSchedule(q.QueryRowContext(ctx, scheduleQuery+` WHERE s.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Errorf(errs.NotFound, "schedule %q does not exist (see 'mlrun schedule list')", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule %s: %w", name, err)
	}
	return sc, nil
}

// ListSchedules returns every schedule ordered by name.
func (s *Store) ListSchedules(ctx context.Context) ([]*tracking.Schedule, error) {
	out := []*tracking.Schedule{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = listSchedules(ctx, tx, ``)
		return err
	})
	return out, err
}

// listSchedules reads the schedules matching where (with args).
func listSchedules(ctx context.Context, q querier, where string, args ...any) ([]*tracking.Schedule, error) {
	rows, err := q.QueryContext(ctx, scheduleQuery+where+` ORDER BY s.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	defer rows.Close()
	out := []*tracking.Schedule{}
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// scanSchedule reads one row of scheduleQuery.
func scanSchedule(r scanner) (*tracking.Schedule, error) {
	var sc tracking.Schedule
	var params, resources string
	var created, updated, next, last int64
	err := r.Scan(&sc.Name, &sc.Cron, &sc.Timezone, &sc.ProjectDir, &sc.EntryPoint, &params,
		&sc.Experiment, &sc.Overlap, &sc.Missed, &sc.Paused, &sc.Source, &created, &updated, &next,
		&sc.Executor, &resources, &last, &sc.LastRunID, &sc.LastOutcome, &sc.Running, &sc.Queued)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(params), &sc.Params); err != nil {
		return nil, fmt.Errorf("decode the parameters of schedule %s: %w", sc.Name, err)
	}
	if err := json.Unmarshal([]byte(resources), &sc.Resources); err != nil {
		return nil, fmt.Errorf("decode the resources of schedule %s: %w", sc.Name, err)
	}
	sc.CreatedAt, sc.UpdatedAt, sc.NextRun, sc.LastRun = schedTime(created), schedTime(updated), schedTime(next), schedTime(last)
	return &sc, nil
}

// DeleteSchedule removes a schedule and its fire history.
func (s *Store) DeleteSchedule(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("remove schedule %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Errorf(errs.NotFound, "schedule %q does not exist (see 'mlrun schedule list')", name)
		}
		return nil
	})
}

// SetPaused pauses or resumes a schedule; resuming sets its next run.
func (s *Store) SetPaused(ctx context.Context, name string, paused bool, nextRun time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if paused {
			res, err = tx.ExecContext(ctx, `UPDATE schedules SET paused = 1, updated_at = ? WHERE name = ?`, nowMillis(), name)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE schedules SET paused = 0, next_run = ?, updated_at = ? WHERE name = ?`,
				schedMillis(nextRun), nowMillis(), name)
		}
		if err != nil {
			return fmt.Errorf("pause or resume schedule %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.Errorf(errs.NotFound, "schedule %q does not exist (see 'mlrun schedule list')", name)
		}
		return nil
	})
}

// ApplySchedules makes the schedules of source be exactly list; see
// tracking.Store.
func (s *Store) ApplySchedules(ctx context.Context, source string, list []*tracking.Schedule) ([]tracking.Change, error) {
	if source == "" {
		return nil, errs.Errorf(errs.Invalid, "applying schedules needs the MLproject file they come from")
	}
	var changes []tracking.Change
	err := s.write(ctx, func(tx *sql.Tx) error {
		changes = nil
		existing, err := listSchedules(ctx, tx, ``)
		if err != nil {
			return err
		}
		byName := map[string]*tracking.Schedule{}
		for _, old := range existing {
			byName[old.Name] = old
		}
		wanted := map[string]bool{}
		now := nowMillis()
		for _, sc := range list {
			wanted[sc.Name] = true
			params, err := json.Marshal(schedParams(sc.Params))
			if err != nil {
				return fmt.Errorf("encode the parameters of schedule %s: %w", sc.Name, err)
			}
			resources, err := json.Marshal(sc.Resources)
			if err != nil {
				return fmt.Errorf("encode the resources of schedule %s: %w", sc.Name, err)
			}
			old := byName[sc.Name]
			switch {
			case old == nil:
				_, err = tx.ExecContext(ctx, `INSERT INTO schedules (name, cron, timezone, project_dir, entry_point, params,
					experiment, overlap, missed, paused, source, created_at, updated_at, next_run, executor, resources)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`,
					sc.Name, sc.Cron, sc.Timezone, sc.ProjectDir, sc.EntryPoint, string(params),
					sc.Experiment, sc.Overlap, sc.Missed, source, now, now, schedMillis(sc.NextRun), sc.Executor, string(resources))
				if err != nil {
					return fmt.Errorf("save schedule %s: %w", sc.Name, err)
				}
				changes = append(changes, tracking.Change{Name: sc.Name, Action: tracking.ActionCreated})
			case old.Source != source:
				from := "was added with 'mlrun schedule add'"
				if old.Source != "" {
					from = "comes from " + old.Source
				}
				return errs.Errorf(errs.Conflict, "schedule %q already exists and %s; remove it first or rename the one in %s", sc.Name, from, source)
			case sameDefinition(old, sc):
				changes = append(changes, tracking.Change{Name: sc.Name, Action: tracking.ActionUnchanged})
			default:
				next := old.NextRun
				if old.Cron != sc.Cron || old.Timezone != sc.Timezone {
					next = sc.NextRun
				}
				_, err = tx.ExecContext(ctx, `UPDATE schedules SET cron = ?, timezone = ?, project_dir = ?, entry_point = ?,
					params = ?, experiment = ?, overlap = ?, missed = ?, updated_at = ?, next_run = ?, executor = ?, resources = ? WHERE name = ?`,
					sc.Cron, sc.Timezone, sc.ProjectDir, sc.EntryPoint, string(params),
					sc.Experiment, sc.Overlap, sc.Missed, now, schedMillis(next), sc.Executor, string(resources), sc.Name)
				if err != nil {
					return fmt.Errorf("update schedule %s: %w", sc.Name, err)
				}
				changes = append(changes, tracking.Change{Name: sc.Name, Action: tracking.ActionUpdated})
			}
		}
		for _, old := range existing {
			if old.Source != source || wanted[old.Name] {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE name = ?`, old.Name); err != nil {
				return fmt.Errorf("remove schedule %s: %w", old.Name, err)
			}
			changes = append(changes, tracking.Change{Name: old.Name, Action: tracking.ActionRemoved})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changes, nil
}

// sameDefinition reports whether applying b over a changes nothing.
func sameDefinition(a, b *tracking.Schedule) bool {
	return a.Cron == b.Cron && a.Timezone == b.Timezone && a.ProjectDir == b.ProjectDir &&
		a.EntryPoint == b.EntryPoint && a.Experiment == b.Experiment && a.Overlap == b.Overlap &&
		a.Missed == b.Missed && slices.Equal(schedParams(a.Params), schedParams(b.Params)) &&
		a.Executor == b.Executor && reflect.DeepEqual(a.Resources, b.Resources)
}

// Fires returns a schedule's latest fires, newest first; errs.NotFound if
// the schedule does not exist.
func (s *Store) Fires(ctx context.Context, name string, limit int) ([]*tracking.Fire, error) {
	if limit <= 0 {
		limit = 20
	}
	out := []*tracking.Fire{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM schedules WHERE name = ?`, name).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Errorf(errs.NotFound, "schedule %q does not exist (see 'mlrun schedule list')", name)
		}
		if err != nil {
			return fmt.Errorf("read schedule %s: %w", name, err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+fireColumns+` FROM schedule_fires WHERE name = ? ORDER BY fire_time DESC LIMIT ?`, name, limit)
		if err != nil {
			return fmt.Errorf("read the fires of schedule %s: %w", name, err)
		}
		defer rows.Close()
		for rows.Next() {
			f, err := scanFire(rows)
			if err != nil {
				return fmt.Errorf("read the fires of schedule %s: %w", name, err)
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanFire reads one row of fireColumns.
func scanFire(r scanner) (*tracking.Fire, error) {
	var f tracking.Fire
	var fire, started, ended int64
	if err := r.Scan(&f.Schedule, &fire, &f.Status, &started, &ended, &f.RunID, &f.LogPath, &f.Message, &f.Host, &f.PID); err != nil {
		return nil, err
	}
	f.FireTime, f.Started, f.Ended = schedTime(fire), schedTime(started), schedTime(ended)
	return &f, nil
}

// ClaimFire decides about a due schedule and takes the lease on its fire
// in one write transaction; see tracking.Store.
func (s *Store) ClaimFire(ctx context.Context, name string, decide func(*tracking.Schedule) *tracking.Decision) (*tracking.Fire, error) {
	var claimed *tracking.Fire
	err := s.write(ctx, func(tx *sql.Tx) error {
		claimed = nil
		sc, err := getSchedule(ctx, tx, name)
		if errs.Code(err) == errs.NotFound {
			return nil // removed since it was listed
		}
		if err != nil {
			return err
		}
		d := decide(sc)
		if d == nil {
			return nil
		}
		f := d.Fire
		f.Schedule = name
		res, err := tx.ExecContext(ctx, `INSERT INTO schedule_fires (`+fireColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, fire_time) DO NOTHING`,
			f.Schedule, schedMillis(f.FireTime), f.Status, schedMillis(f.Started), schedMillis(f.Ended), f.RunID, f.LogPath, f.Message, f.Host, f.PID)
		if err != nil {
			return fmt.Errorf("claim fire %s of schedule %s: %w", f.FireTime, name, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schedules SET next_run = ? WHERE name = ?`, schedMillis(d.NextRun), name); err != nil {
			return fmt.Errorf("move schedule %s to its next run: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			claimed = &f
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

// StartQueued turns the oldest QUEUED fire of a schedule into a RUNNING
// one owned by host and pid, if none of its fires is RUNNING.
func (s *Store) StartQueued(ctx context.Context, name, host string, pid int, started time.Time) (*tracking.Fire, error) {
	var f *tracking.Fire
	err := s.write(ctx, func(tx *sql.Tx) error {
		f = nil
		var running int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schedule_fires WHERE status = 'RUNNING' AND name = ?`, name).Scan(&running); err != nil {
			return fmt.Errorf("count running fires of schedule %s: %w", name, err)
		}
		if running > 0 {
			return nil
		}
		queued, err := scanFire(tx.QueryRowContext(ctx, `SELECT `+fireColumns+` FROM schedule_fires
			WHERE status = 'QUEUED' AND name = ? ORDER BY fire_time LIMIT 1`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the queued fire of schedule %s: %w", name, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE schedule_fires SET status = 'RUNNING', started = ?, host = ?, pid = ?
			WHERE name = ? AND fire_time = ?`, schedMillis(started), host, pid, name, schedMillis(queued.FireTime))
		if err != nil {
			return fmt.Errorf("start the queued fire of schedule %s: %w", name, err)
		}
		queued.Status, queued.Started, queued.Host, queued.PID = tracking.FireRunning, started, host, pid
		f = queued
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// EndFire records a fire's outcome.
func (s *Store) EndFire(ctx context.Context, f *tracking.Fire) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE schedule_fires SET status = ?, ended = ?, run_id = ?, message = ?, log_path = ?
			WHERE name = ? AND fire_time = ?`,
			f.Status, schedMillis(f.Ended), f.RunID, f.Message, f.LogPath, f.Schedule, schedMillis(f.FireTime))
		if err != nil {
			return fmt.Errorf("record the end of fire %s of schedule %s: %w", f.FireTime, f.Schedule, err)
		}
		return nil
	})
}

// ReapFires marks FAILED the RUNNING fires owned by dead schedulers on host.
func (s *Store) ReapFires(ctx context.Context, host string, alive func(pid int) bool, now time.Time) ([]*tracking.Fire, error) {
	var candidates []*tracking.Fire
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+fireColumns+` FROM schedule_fires WHERE status = 'RUNNING' AND host = ?`, host)
	if err != nil {
		return nil, fmt.Errorf("list running fires: %w", err)
	}
	for rows.Next() {
		f, err := scanFire(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list running fires: %w", err)
		}
		if !alive(f.PID) {
			candidates = append(candidates, f)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list running fires: %w", err)
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	var reaped []*tracking.Fire
	err = s.write(ctx, func(tx *sql.Tx) error {
		reaped = nil
		for _, f := range candidates {
			msg := fmt.Sprintf("the scheduler that started it (pid %d on %s) died", f.PID, host)
			res, err := tx.ExecContext(ctx, `UPDATE schedule_fires SET status = 'FAILED', ended = ?, message = ?
				WHERE name = ? AND fire_time = ? AND status = 'RUNNING' AND host = ? AND pid = ?`,
				schedMillis(now), msg, f.Schedule, schedMillis(f.FireTime), host, f.PID)
			if err != nil {
				return fmt.Errorf("mark fire %s of schedule %s failed: %w", f.FireTime, f.Schedule, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				f.Status, f.Ended, f.Message = tracking.FireFailed, now, msg
				reaped = append(reaped, f)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return reaped, nil
}

// RunByTag returns the id and status of the latest run with tag key=value.
func (s *Store) RunByTag(ctx context.Context, key, value string) (string, tracking.RunStatus, error) {
	var id, status string
	err := s.rdb.QueryRowContext(ctx, `SELECT r.run_id, r.status FROM tags t JOIN runs r ON r.run_id = t.run_id
		WHERE t.key = ? AND t.value = ? ORDER BY r.start_time DESC, r.run_id LIMIT 1`, key, value).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", errs.Errorf(errs.NotFound, "no run has tag %s=%s", key, value)
	}
	if err != nil {
		return "", "", fmt.Errorf("find the run tagged %s=%s: %w", key, value, err)
	}
	return id, tracking.RunStatus(status), nil
}

// schedParams returns p, or an empty slice for nil (stored as []).
func schedParams(p []tracking.KV) []tracking.KV {
	if p == nil {
		return []tracking.KV{}
	}
	return p
}

// schedMillis returns t in Unix milliseconds, 0 for the zero time.
func schedMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// schedTime is the inverse of schedMillis.
func schedTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
