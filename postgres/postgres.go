// Package postgres implements tracking.Store on a PostgreSQL database, for
// teams that share one store from many machines (as MLflow's server does).
//
// The data model is MLflow's and the same as package sqlite's: the SQL of
// the two adapters differs only where the databases do. Connections come
// from pgx (github.com/jackc/pgx/v5) through database/sql's pool, which
// prepares and caches each statement per connection. Write transactions
// run SERIALIZABLE, so read-then-write logic (version numbers, leases,
// param immutability) behaves as if writers took turns, and are retried
// when PostgreSQL reports a serialization failure, a deadlock, or a unique
// violation caused by a concurrent insert. The hot writes, creating a run
// and logging metrics, are instead one statement each, sent on its own (one
// round trip, an implicit READ COMMITTED transaction); runs.go says why
// that is as correct. Reads run
// in REPEATABLE READ, read-only transactions, so each sees one snapshot.
// Every value is a bound parameter; queries are written with '?' and
// numbered ($1, $2, ...) before they are sent.
//
// The schema is created and upgraded by the numbered SQL files embedded
// from migrations/, applied in order on Open while holding a PostgreSQL
// advisory lock, so processes opening a new database at once take turns. A
// database migrated by a newer mlrun is refused with errs.Invalid.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the advisory lock key held while migrating.
const migrationLock = 0x6d6c72756e // "mlrun"

// experimentLock is the advisory lock key a transaction that creates an
// experiment holds until it ends (see insertExperiment).
const experimentLock = 0x6d6c72756e65 // "mlrune"

// maxAttempts bounds how often a write transaction is retried.
const maxAttempts = 30

// Store is a tracking.Store backed by a PostgreSQL database.
type Store struct {
	dsn          string // for messages, password hidden
	artifactRoot string // artifact root URI
	db           *pool  // read-write transactions
	rdb          *pool  // the same pool; reads use read-only transactions
	// locations caches experiments' artifact locations (int64 id → string),
	// which never change once an experiment exists, so that CreateRun
	// needs no query to compute a run's artifact URI.
	locations sync.Map
}

var _ tracking.Store = (*Store)(nil)

// Open connects to the database named by dsn (postgresql://user@host:port/db
// or postgres://...), applies any pending migrations and makes sure the
// "Default" experiment (id "0") exists. Run artifacts live under
// artifactRoot (a directory or URI), at <root>/<experiment id>/<run id>/artifacts.
func Open(ctx context.Context, dsn, artifactRoot string) (*Store, error) {
	if dsn == "" {
		return nil, errs.Errorf(errs.Invalid, "the PostgreSQL connection string is empty")
	}
	root, err := tracking.ArtifactRootURI(artifactRoot)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "PostgreSQL connection string %s is not valid: %v", redact(dsn), err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	p := &pool{db}
	s := &Store{dsn: redact(dsn), artifactRoot: root, db: p, rdb: p}
	if err := s.ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx, true); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// ping checks the connection, retrying for a few seconds while the server
// starts or restarts.
func (s *Store) ping(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.db.PingContext(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errs.Errorf(errs.Internal, "cannot connect to the PostgreSQL store %s: %s", s.dsn, strings.Join(strings.Fields(err.Error()), " "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ArtifactRoot returns the artifact root URI.
func (s *Store) ArtifactRoot() string { return s.artifactRoot }

// String names the store, with any password hidden.
func (s *Store) String() string { return s.dsn }

// DB returns the connection pool, for tests and tools that need raw SQL.
// Queries sent through it directly must use PostgreSQL's $1 placeholders.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// redact hides the password of a URL-style DSN.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// migration is one embedded schema file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations ordered by version.
func migrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", e.Name())
		}
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: version, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion returns the database's schema version and the latest this
// binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	all, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	latest = all[len(all)-1].version
	err = s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version of %s: %w", s.dsn, err)
	}
	return current, latest, nil
}

// migrate applies pending migrations (when apply is set; otherwise a
// database behind this binary is an error) and creates the Default
// experiment, on one connection holding the advisory lock.
func (s *Store) migrate(ctx context.Context, apply bool) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s.dsn, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("lock %s for migration: %w", s.dsn, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration on %s: %w", s.dsn, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("read applied migrations: %w", err)
	}
	current := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read applied migrations: %w", err)
		}
		applied[v] = true
		current = max(current, v)
	}
	rows.Close()
	latest := all[len(all)-1].version
	if current > latest {
		return errs.Errorf(errs.Invalid, "the tracking database %s has schema version %d but this mlrun knows versions up to %d; use a newer mlrun", s.dsn, current, latest)
	}
	for _, m := range all {
		if applied[m.version] {
			continue
		}
		if !apply {
			return errs.Errorf(errs.Invalid, "the tracking database %s has schema version %d but this mlrun needs %d; run `mlrun db upgrade`", s.dsn, current, latest)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("apply migration %s to %s: %w", m.name, s.dsn, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, nowMillis()); err != nil {
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
	}
	now := nowMillis()
	defaultLoc, err := tracking.ExperimentArtifactLocation(s.artifactRoot, tracking.DefaultExperimentID)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO experiments
		(experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
		VALUES (0, 'Default', $1, 'active', $2, $3) ON CONFLICT DO NOTHING`, defaultLoc, now, now); err != nil {
		return fmt.Errorf("create the Default experiment: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration to %s: %w", s.dsn, err)
	}
	return nil
}

// write runs fn in a SERIALIZABLE transaction and commits it, running it
// again (after a short random pause) when PostgreSQL reports that it
// conflicted with a concurrent transaction, or when the connection broke
// before anything was committed.
func (s *Store) write(ctx context.Context, fn func(tx *txn) error) error {
	return retry(ctx, func() error { return s.writeOnce(ctx, sql.LevelSerializable, fn) })
}

// writeReadCommitted is write in a READ COMMITTED transaction: each
// statement sees what was committed before it started. For writes whose
// correctness rests on row locks rather than on one snapshot (see
// setExperimentLifecycle).
func (s *Store) writeReadCommitted(ctx context.Context, fn func(tx *txn) error) error {
	return retry(ctx, func() error { return s.writeOnce(ctx, sql.LevelReadCommitted, fn) })
}

// retry runs attempt until it succeeds, fails for good, or has been run
// maxAttempts times, pausing a short random time between runs. attempt is
// a whole transaction or one statement sent on its own (an implicit
// transaction), so a failed attempt left nothing behind.
func retry(ctx context.Context, attempt func() error) error {
	delay := 5 * time.Millisecond
	for n := 1; ; n++ {
		err := attempt()
		if err == nil || n == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		pause := delay/2 + rand.N(delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (while retrying after: %v)", ctx.Err(), err)
		case <-time.After(pause):
		}
		delay = min(2*delay, time.Second)
	}
}

func (s *Store) writeOnce(ctx context.Context, level sql.IsolationLevel, fn func(tx *txn) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: level})
	if err != nil {
		return &beginError{unavailable(s.dsn, "begin write transaction", err)}
	}
	if err := fn(&txn{tx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(s.dsn, "commit", err)
	}
	return nil
}

// read runs fn in a read-only REPEATABLE READ transaction, so that its
// queries see one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *txn) error) error {
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			err = &beginError{unavailable(s.dsn, "begin read transaction", err)}
			if attempt < 10 && retryable(err) && ctx.Err() == nil {
				time.Sleep(delay)
				delay = min(2*delay, time.Second)
				continue
			}
			return err
		}
		err = fn(&txn{tx})
		tx.Rollback()
		return err
	}
}

// unavailable wraps a connection-level failure.
func unavailable(dsn, what string, err error) error {
	if errs.Code(err) != errs.Internal {
		return err
	}
	return fmt.Errorf("%s on %s: %w", what, dsn, err)
}

// beginError is the failure of a transaction to begin: none of its
// statements ran. (pgx may find the connection closed by a server restart
// while it waits for BEGIN's answer, an error it cannot call safe to retry
// in general.)
type beginError struct{ err error }

func (e *beginError) Error() string { return e.err.Error() }
func (e *beginError) Unwrap() error { return e.err }

// retryable reports whether a failed transaction may be run again: a
// serialization failure, a deadlock, a unique violation that a concurrent
// insert caused (the retry sees the row and answers as the contract says),
// a connection that broke (the server restarted) before the commit, a
// transaction that could not begin for a closed connection, or a statement
// (the commit included) that pgx never sent.
func retryable(err error) bool {
	if notSent(err) {
		return true
	}
	var be *beginError
	if errors.As(err, &be) && errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "23505", "57P01", "57P02", "57P03":
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.Is(err, driver.ErrBadConn) || pgconn.SafeToRetry(err)
}

// nowMillis returns the current time in Unix milliseconds.
func nowMillis() int64 { return time.Now().UnixMilli() }

// Dialect names the SQL dialect of the store's database: "postgres".
func (s *Store) Dialect() string { return "postgres" }
