package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// openStore opens a store on a fresh file in a temporary directory.
func openStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	dir := tb.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func mustCreateRun(tb testing.TB, s *sqlite.Store, nr tracking.NewRun) *tracking.RunInfo {
	tb.Helper()
	info, err := s.CreateRun(context.Background(), nr)
	if err != nil {
		tb.Fatalf("CreateRun(%+v): %v", nr, err)
	}
	return info
}

func mustLog(tb testing.TB, s *sqlite.Store, runID string, metrics []tracking.Metric, params []tracking.Param, tags []tracking.Tag) {
	tb.Helper()
	if err := s.LogBatch(context.Background(), runID, metrics, params, tags); err != nil {
		tb.Fatalf("LogBatch(%s): %v", runID, err)
	}
}

func mustGetRun(tb testing.TB, s *sqlite.Store, id string) *tracking.Run {
	tb.Helper()
	r, err := s.GetRun(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetRun(%s): %v", id, err)
	}
	return r
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, what string, err error, code string, contains ...string) {
	tb.Helper()
	if errs.Code(err) != code {
		tb.Fatalf("%s: error %v (code %q), want code %q", what, err, errs.Code(err), code)
	}
	for _, c := range contains {
		if !strings.Contains(errs.Message(err), c) {
			tb.Fatalf("%s: message %q does not contain %q", what, errs.Message(err), c)
		}
	}
}

func formatPoint(m tracking.Metric) string {
	return strconv.FormatInt(m.Step, 10) + "@" + strconv.FormatInt(m.Timestamp, 10) + "=" + strconv.FormatFloat(m.Value, 'g', -1, 64)
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "sub", "m.db")
	s, err := sqlite.Open(ctx, dbPath, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != dbPath {
		t.Fatalf("Path() = %q, want %q", s.Path(), dbPath)
	}
	r := mustCreateRun(t, s, tracking.NewRun{Name: "kept"})
	var versions int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil || versions == 0 {
		t.Fatalf("schema_migrations rows = %d, %v", versions, err)
	}
	s.Close()

	// Reopening applies nothing new and keeps the data.
	s, err = sqlite.Open(ctx, dbPath, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGetRun(t, s, r.ID).Info.Name; got != "kept" {
		t.Fatalf("run name after reopen = %q", got)
	}
	var again int
	s.DB().QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&again)
	if again != versions {
		t.Fatalf("reopen changed schema_migrations from %d to %d rows", versions, again)
	}
	// A database from a newer mlrun is refused.
	if _, err := s.DB().Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlite.Open(ctx, dbPath, dir)
	wantCode(t, "newer database", err, errs.Invalid, "schema version 9999")

	// The journal is WAL, and foreign keys are on.
	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}
