// Package sqlite implements tracking.Store on one SQLite file.
//
// The store is safe for many goroutines and for many processes sharing the
// file: the database runs in WAL mode, every write transaction begins
// IMMEDIATE (so it waits for the write lock up front instead of failing when
// a read lock cannot be upgraded), and a generous busy timeout makes writers
// queue rather than fail with "database is locked". Writes go through a pool
// of one connection; reads go through a separate pool of read-only
// connections that see consistent snapshots, except the lookups that
// precede a write (EnsureExperiment's, ReapDeadRuns'), which use the
// writer's: a command that creates a run opens one connection.
//
// The schema is created and upgraded by the numbered SQL files embedded from
// migrations/ (0001_tracking.sql, ...), applied in order inside one write
// transaction and recorded in the schema_migrations table. Other features
// (registry, schedules) add their tables by adding files there.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeout is how long a connection waits for a lock held by another
// connection or process before giving up.
const busyTimeout = 60 * time.Second

// Store is a tracking.Store backed by a SQLite file.
type Store struct {
	path         string     // absolute path of the database file
	artifactRoot string     // artifact root URI (file:///... for a directory)
	db           *sql.DB    // writer pool: one connection, BEGIN IMMEDIATE
	rdb          *sql.DB    // reader pool: read-only connections
	group        writeGroup // commits concurrent run creations and batches together

	// The WAL's background checkpoint (see walBackfillBytes).
	writer     connector     // how to open another writing connection
	longWAL    bool          // Open found the WAL's log longer than walBackfillBytes
	backfill   sync.Once     // starts backfillWAL at the first CreateRun, if longWAL
	backfilled chan struct{} // closed when backfillWAL returns; nil: not started
}

var _ tracking.Store = (*Store)(nil)

// Open opens (creating it and its directory if needed) the SQLite database
// at dbPath, applies any pending migrations and makes sure the "Default"
// experiment (id "0") exists. Run artifacts live under artifactRoot (a
// directory or a URI), at <artifactRoot>/<experiment id>/<run id>/artifacts. A database written by a newer mlrun, with
// migrations this binary does not know, is refused with errs.Invalid.
func Open(ctx context.Context, dbPath, artifactRoot string) (*Store, error) {
	if dbPath == "" {
		return nil, errs.Errorf(errs.Invalid, "the tracking database path is empty")
	}
	if artifactRoot == "" {
		return nil, errs.Errorf(errs.Invalid, "the artifact root directory is empty")
	}
	path, err := filepath.Abs(dbPath)
	if err != nil {
		return nil, fmt.Errorf("resolve database path %s: %w", dbPath, err)
	}
	root, err := tracking.ArtifactRootURI(artifactRoot)
	if err != nil {
		return nil, err
	}
	if strings.Contains(path, "?") {
		return nil, errs.Errorf(errs.Invalid, "the tracking database path %q contains '?', which mlrun cannot pass to SQLite", path)
	}
	if err := mkdirAll(filepath.Dir(path)); err != nil {
		return nil, err
	}

	timeout := strconv.FormatInt(busyTimeout.Milliseconds(), 10)
	writerConnector := connector{
		dsn: path + "?_busy_timeout=" + timeout +
			"&_journal_mode=WAL&_synchronous=NORMAL&_foreign_keys=1&_txlock=immediate&_stmt_cache_size=32",
		pragmas: walAutocheckpointPragma + "; " + walSizeLimitPragma + "; " + tempStorePragma,
	}
	writer := sql.OpenDB(writerConnector)
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)

	s := &Store{path: path, artifactRoot: root, db: writer, writer: writerConnector}
	all, err := migrations()
	if err != nil {
		writer.Close()
		return nil, err
	}
	if !s.upToDate(ctx, all) {
		if err := retryBusy(ctx, func() error { return s.migrate(ctx, all) }); err != nil {
			writer.Close()
			return nil, err
		}
	}

	if err := s.optimize(ctx); err != nil {
		writer.Close()
		return nil, err
	}

	reader := sql.OpenDB(connector{
		dsn:     path + "?_busy_timeout=" + timeout + "&_foreign_keys=1&_txlock=deferred&_query_only=1&_stmt_cache_size=32",
		pragmas: mmapPragma + "; " + readerCachePragma,
	})
	reader.SetMaxOpenConns(4)
	reader.SetMaxIdleConns(4)
	s.rdb = reader
	s.longWAL = walLogPasses(path+"-wal", walBackfillBytes)
	return s, nil
}

// startBackfill starts backfillWAL on its first call if Open found a long
// log. CreateRun calls it: a command that creates a run has work to do
// while the checkpoint waits for the disk (one that only reads would
// rather not wait for it at Close).
func (s *Store) startBackfill() {
	s.backfill.Do(func() {
		if !s.longWAL {
			return
		}
		s.backfilled = make(chan struct{})
		go func() {
			defer close(s.backfilled)
			backfillWAL(s.writer, s.path)
		}()
	})
}

// backfillWAL copies the frames of the WAL at the database at path into
// the database file on a connection of its own, while the store is used:
// a checkpoint in PASSIVE mode, which neither waits for nor blocks other
// connections (it copies the frames no reader still needs). With no busy
// timeout, another process's checkpoint holding the lock makes it give up
// rather than wait.
//
// Then it syncs the database file, as SQLite does after copying the last
// frame of the log. SQLite skips that sync when the log grew during the
// checkpoint (its frames stay in the WAL, and the checkpoint that starts
// the log over syncs them): here the run writes meanwhile, and Close's
// checkpoint would otherwise sync every page copied here.
//
// Its errors are ignored: Close's checkpoint does the same work and
// reports its own.
func backfillWAL(c connector, path string) {
	conn, err := c.Connect(context.Background())
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.(*sqlite3.SQLiteConn).Exec(`PRAGMA busy_timeout = 0; PRAGMA wal_checkpoint(PASSIVE)`, nil); err != nil {
		return
	}
	if f, err := os.Open(path); err == nil {
		_ = f.Sync()
		f.Close()
	}
}

// mmapPragma makes a reading connection read the database file through a
// memory map (address space, not memory: SQLite maps at most the file). A
// search over a large store visits thousands of scattered pages, and a
// read(2) per page cost a third of its time.
//
// The writer reads without one: its reads are mostly the pages its writes
// change, which SQLite copies into its page cache anyway, and a map's page
// table entries cost more than the reads they save to a short command. A
// page fault maps 16 pages of the file around the one read, and closing
// the connection (or the process's exit) unmaps all of them: for an
// `mlrun run` on an 80 MB store, about 1.7 ms of CPU for the unmapping
// alone. Without the map an iris run takes 0.94x the CPU time and 0.93x
// the page faults.
const mmapPragma = `PRAGMA mmap_size = 1073741824`

// readerCachePragma gives each reading connection a 16 MiB page cache
// (SQLite's default is 2 MiB), so that repeated searches of a large store
// find their index pages in memory.
const readerCachePragma = `PRAGMA cache_size = -16384`

// walAutocheckpointPragma sets how many frames the WAL may hold before the
// writer's commit that passes it copies them into the database file (a
// checkpoint: reads and writes of the pages, two fsyncs, and one more when
// the next transaction restarts the WAL). A sweep's trials write their
// rows all over the tables' B-trees: the more frames a checkpoint covers,
// the more of them are the same pages written again: with a checkpoint
// every 4000 frames, a trial's writes (a run created, five batches, its
// end) took about a fifth less CPU than with SQLite's default of 1000, a
// quarter less than with 500. A process leaves a large WAL checkpointed
// (see walCloseCheckpointBytes).
const walAutocheckpointPragma = `PRAGMA wal_autocheckpoint = 4000`

// walSizeLimitPragma makes the first commit after the WAL starts over
// truncate its file to 4 MiB when a long process (a sweep, the server) let
// it grow larger, up to the autocheckpoint's 4000 frames. A short command
// leaves it about 2.5 MiB long (see walBackfillBytes).
const walSizeLimitPragma = `PRAGMA journal_size_limit = 4194304`

// tempStorePragma keeps the writer's temporary files in memory. The one a
// run's writes use is the statement journal: each statement of a
// multi-statement transaction (an INSERT of many rows, an upsert) saves the
// pages it changes so that it can be undone alone, and SQLite spills that
// journal to a new file in /var/tmp past 64 KiB: an `mlrun run` created,
// wrote (about 70 pages, each in two writes) and deleted one, a third of
// the store's write system calls. The journal holds at most the pages one
// statement changes: a few for a run's writes, more for a migration that
// rewrites a large table.
const tempStorePragma = `PRAGMA temp_store = MEMORY`

// walBackfillBytes is the length of the WAL's log above which a process
// that opens the store and creates a run copies its frames into the
// database file in the background (backfillWAL), and Close checkpoints
// what is left and starts the log over.
//
// Connections do not checkpoint when they close (skipCheckpointOnClose):
// checkpointing and deleting the WAL at the end of every process cost each
// `mlrun run` four fsyncs and the deletion and re-creation of the -wal and
// -shm files, a few milliseconds on a slow disk. Instead a small WAL
// carries over to the next process, which rebuilds its index by reading
// every frame (2-3 microseconds each) when it first opens the database.
// An `mlrun run` writes about 65 frames of 4 KiB to a new store, 140 to
// one of a few hundred runs (a page of each search index per tag, param
// and metric): with 2 MiB (about 500 frames), a process reads up to 650
// frames, and one run in five checkpoints.
//
// A checkpoint's time is mostly two fsyncs, of the WAL and then of the
// database file: waiting for the disk while copying 2 MiB of frames took
// about 10 ms at an `mlrun run`'s end, one run in five. A run that finds
// a long log when it opens the store does that work while it runs, and
// leaves Close the frames it wrote itself, a few hundred KiB.
//
// Close does not truncate the WAL (a checkpoint in TRUNCATE mode): it
// makes its next write start the log over, from the beginning of the same
// file, so that the next process reads one frame. Truncating frees the
// file's blocks, and the next process allocates them again: on a disk
// mounted with online discard (TRIM), the truncation alone took 10 ms.
// walSizeLimitPragma bounds the file.
const walBackfillBytes = 2 << 20

// walCloseCheckpointBytes is the length of the WAL's log above which Close
// checkpoints it and starts it over even without a background checkpoint:
// a long command (a sweep, the server) leaves the next process at most
// 4 MiB of frames to read, and a run that makes the log pass
// walBackfillBytes leaves the checkpoint to the next run.
const walCloseCheckpointBytes = 4 << 20

// connector opens SQLite connections with go-sqlite3, runs pragmas on
// each new one (go-sqlite3's DSN has no mmap_size) and makes it skip the
// checkpoint on close (see walCloseCheckpointBytes).
type connector struct {
	dsn     string
	pragmas string
}

// Connect opens one connection and applies the pragmas.
func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Driver().Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc := conn.(*sqlite3.SQLiteConn)
	if _, err := sc.Exec(c.pragmas, nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set %s: %w", c.pragmas, err)
	}
	if err := skipCheckpointOnClose(sc); err != nil {
		conn.Close()
		return nil, fmt.Errorf("open %s: %w", c.dsn, err)
	}
	return conn, nil
}

// Driver returns go-sqlite3's driver.
func (connector) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }

// DB returns the database handle used for writes. Its single connection
// begins every transaction IMMEDIATE, so read-then-write transactions are
// safe across processes. Do not call Store methods while holding one of its
// transactions open: the store would wait for that same connection.
func (s *Store) DB() *sql.DB { return s.db }

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// ArtifactRoot returns the artifact root URI under which new experiments
// keep their runs' artifacts.
func (s *Store) ArtifactRoot() string { return s.artifactRoot }

// optimize refreshes the query planner's statistics if the tables changed
// much since they were last gathered (bounded by analysis_limit). Searches
// over large stores depend on them.
//
// PRAGMA optimize = 0x10002 checks every table and, to do so, begins a
// write transaction even when it finds nothing to analyze: it is run with
// no busy timeout, and skipped if another connection holds the write lock
// (the statistics change slowly; the next opening refreshes them), so that
// opening a store never queues behind a writer for it.
func (s *Store) optimize(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("optimize %s: %w", s.path, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return fmt.Errorf("optimize %s: %w", s.path, err)
	}
	_, err = conn.ExecContext(ctx, `PRAGMA analysis_limit = 10000; PRAGMA optimize = 0x10002`)
	if isBusy(err) {
		err = nil
	}
	if _, rerr := conn.ExecContext(ctx, `PRAGMA busy_timeout = `+strconv.FormatInt(busyTimeout.Milliseconds(), 10)); rerr != nil {
		// The connection must not stay without a timeout.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(err, fmt.Errorf("optimize %s: %w", s.path, rerr))
	}
	if err != nil {
		return fmt.Errorf("optimize %s: %w", s.path, err)
	}
	return nil
}

// Close closes both connection pools. A WAL checkpointed in the background
// (see walBackfillBytes), or now longer than walCloseCheckpointBytes, is
// checkpointed and started over first, unless another connection is using
// it; a shorter one stays for the next process to open the database: the
// database file alone does not hold the latest writes, so copy the store
// with SQLite (VACUUM INTO, the backup API), not by copying the file.
func (s *Store) Close() error {
	rerr := s.rdb.Close()
	cerr := s.checkpointLongWAL()
	return errors.Join(rerr, cerr, s.db.Close())
}

// checkpointLongWAL copies the frames of a long WAL (see Close) into the
// database file and makes the log start over, with no busy timeout: if
// another connection holds the write lock or reads an older snapshot, it
// leaves the rest to a later checkpoint.
func (s *Store) checkpointLongWAL() error {
	s.backfill.Do(func() {}) // none starts from now on
	if s.backfilled != nil {
		<-s.backfilled // what it copied is not copied again
	} else if !walLogPasses(s.path+"-wal", walCloseCheckpointBytes) {
		return nil // no WAL, or a short log
	}
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.path, err)
	}
	defer conn.Close()
	// The connection is closed right after, with its pool.
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.path, err)
	}
	var busy, frames, copied int
	err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &frames, &copied)
	if isBusy(err) || (err == nil && busy != 0) {
		return nil // another connection is writing or reading: a later Close checkpoints
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.path, err)
	}
	// Every frame is in the database file: the next write starts the log
	// over. Writing the user version, unchanged, is the smallest write.
	tx, err := conn.BeginTx(ctx, nil)
	if isBusy(err) {
		return nil // another process writes, and starts the log over itself
	}
	if err != nil {
		return fmt.Errorf("restart the WAL of %s: %w", s.path, err)
	}
	defer tx.Rollback()
	var version int64
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("restart the WAL of %s: %w", s.path, err)
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA user_version = `+strconv.FormatInt(version, 10)); err != nil {
		return fmt.Errorf("restart the WAL of %s: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("restart the WAL of %s: %w", s.path, err)
	}
	return nil
}

// walLogPasses reports whether the log in the WAL file at path is longer
// than n bytes: whether the frame holding byte n belongs to it. A log
// that started over leaves the older frames after its own: they carry the
// salts of the WAL header their log was written under, not the current
// header's (see https://sqlite.org/fileformat2.html#walformat). Errors
// (no WAL, a short file) count as a short log: this only decides whether
// Close checkpoints.
func walLogPasses(path string, n int64) bool {
	f, err := os.Open(path) // SQLite locks the database and -shm files, not this one
	if err != nil {
		return false
	}
	defer f.Close()
	var hdr [32]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return false
	}
	pageSize := int64(binary.BigEndian.Uint32(hdr[8:12]))
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return false
	}
	frame := 24 + pageSize
	var fh [24]byte
	if _, err := f.ReadAt(fh[:], 32+max(0, n-32)/frame*frame); err != nil {
		return false
	}
	return bytes.Equal(fh[8:16], hdr[16:24])
}

// migration is one embedded schema file.
type migration struct {
	version int
	name    string
}

// body returns the migration's SQL. Only migrate needs it: the check that
// opens an up-to-date store reads the versions, from the files' names.
func (m migration) body() (string, error) {
	b, err := migrationFiles.ReadFile("migrations/" + m.name)
	if err != nil {
		return "", fmt.Errorf("read migration %s: %w", m.name, err)
	}
	return string(b), nil
}

// migrations returns the embedded migrations ordered by version.
func migrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", name)
		}
		if other, dup := seen[version]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same version %d", other, name, version)
		}
		seen[version] = name
		out = append(out, migration{version: version, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// upToDate reports whether the database has every migration of all
// applied, and no other, and has the Default experiment: then Open has
// nothing to write. One query, outside any transaction, so that opening
// an up-to-date store does not take the write lock; any error (a new
// file has no schema_migrations) leaves the answer to migrate.
func (s *Store) upToDate(ctx context.Context, all []migration) bool {
	want := make([]string, len(all))
	for i, m := range all {
		want[i] = strconv.Itoa(m.version)
	}
	var applied sql.NullString
	var hasDefault bool
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT group_concat(version, ',') FROM (SELECT version FROM schema_migrations ORDER BY version)),
		EXISTS (SELECT 1 FROM experiments WHERE experiment_id = 0)`).Scan(&applied, &hasDefault)
	return err == nil && hasDefault && applied.String == strings.Join(want, ",")
}

// migrate applies the migrations of all not yet applied and creates the
// Default experiment, all in one IMMEDIATE transaction so that processes
// opening a new file at the same moment take turns.
func (s *Store) migrate(ctx context.Context, all []migration) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		latest := 0
		if len(all) > 0 {
			latest = all[len(all)-1].version
		}
		if current > latest {
			return errs.Errorf(errs.Invalid, "the tracking database %s has schema version %d but this mlrun knows versions up to %d; use a newer mlrun", s.path, current, latest)
		}
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("read applied migrations: %w", err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fmt.Errorf("read applied migrations: %w", err)
			}
			applied[v] = true
		}
		rows.Close()
		// Every migration not yet applied, in order: a gap left by a
		// migration added later is filled, not skipped.
		for _, m := range all {
			if applied[m.version] {
				continue
			}
			body, err := m.body()
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, body); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, nowMillis()); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
		}
		now := nowMillis()
		defaultLoc, err := tracking.ExperimentArtifactLocation(s.artifactRoot, tracking.DefaultExperimentID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO experiments
			(experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
			VALUES (0, 'Default', ?, 'active', ?, ?) ON CONFLICT DO NOTHING`,
			defaultLoc, now, now)
		if err != nil {
			return fmt.Errorf("create the Default experiment: %w", err)
		}
		return nil
	})
}

// write runs fn in a write transaction (BEGIN IMMEDIATE) and commits it if
// fn succeeds.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write transaction on %s: %w", s.path, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit to %s: %w", s.path, err)
	}
	return nil
}

// read runs fn in a read transaction, so that its queries see one snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read transaction on %s: %w", s.path, err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// retryBusy calls fn again while it fails because the database is busy or
// locked. Busy timeouts make this rare; it covers the moments around a new
// file's creation, when switching it to WAL mode can fail without waiting.
func retryBusy(ctx context.Context, fn func() error) error {
	delay := 10 * time.Millisecond
	deadline := time.Now().Add(busyTimeout)
	for {
		err := fn()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (while waiting after: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's "database is busy/locked".
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// nowMillis returns the current time in Unix milliseconds.
func nowMillis() int64 { return time.Now().UnixMilli() }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mkdirAll creates dir and its parents.
func mkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return nil
}

// Dialect names the SQL dialect of the store's database: "sqlite".
func (s *Store) Dialect() string { return "sqlite" }

// SchemaVersion returns the database's schema version and the latest this
// binary knows (Open has applied every migration it knows).
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int, err error) {
	all, err := migrations()
	if err != nil {
		return 0, 0, err
	}
	if len(all) > 0 {
		latest = all[len(all)-1].version
	}
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, 0, fmt.Errorf("read schema version of %s: %w", s.path, err)
	}
	return current, latest, nil
}
