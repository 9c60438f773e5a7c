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

// TestLargeBatches logs batches of more keys than one statement carries
// (100): every param and the latest point of every metric are stored, an
// older point replaces no newer one, and a changed param in the second
// statement's rows, or a param given twice with two values, fails the
// whole batch.
func TestLargeBatches(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	r := mustCreateRun(t, s, tracking.NewRun{})
	const n = 250
	var metrics []tracking.Metric
	var params []tracking.Param
	for i := range n {
		k := "k" + strconv.Itoa(i)
		metrics = append(metrics, tracking.Metric{Key: k, Value: float64(i), Step: 2}, tracking.Metric{Key: k, Value: -1, Step: 1})
		params = append(params, tracking.Param{Key: k, Value: strconv.Itoa(i)})
	}
	mustLog(t, s, r.ID, metrics, params, nil)
	mustLog(t, s, r.ID, []tracking.Metric{{Key: "k7", Value: -2, Step: 0}, {Key: "k240", Value: 240.5, Step: 3}}, params[:150], nil)
	run := mustGetRun(t, s, r.ID)
	if len(run.Metrics) != n || len(run.Params) != n {
		t.Fatalf("%d metrics and %d params stored; want %d of each", len(run.Metrics), len(run.Params), n)
	}
	for _, m := range run.Metrics {
		i, _ := strconv.Atoi(strings.TrimPrefix(m.Key, "k"))
		want := tracking.Metric{Key: m.Key, Value: float64(i), Step: 2}
		if i == 240 {
			want = tracking.Metric{Key: m.Key, Value: 240.5, Step: 3}
		}
		if m.Value != want.Value || m.Step != want.Step {
			t.Errorf("latest %s = %v at step %d; want %v at step %d", m.Key, m.Value, m.Step, want.Value, want.Step)
		}
	}
	for _, p := range run.Params {
		if p.Value != strings.TrimPrefix(p.Key, "k") {
			t.Errorf("param %s = %q", p.Key, p.Value)
		}
	}

	changed := append([]tracking.Param{{Key: "fresh", Value: "1"}}, params...)
	changed[180] = tracking.Param{Key: changed[180].Key, Value: "changed"}
	err := s.LogBatch(ctx, r.ID, []tracking.Metric{{Key: "late", Value: 1}}, changed, nil)
	wantCode(t, "changing a param of the second statement", err, errs.Invalid, `"`+changed[180].Key+`"`, `"changed"`)
	err = s.LogBatch(ctx, r.ID, nil, []tracking.Param{{Key: "twice", Value: "1"}, {Key: "twice", Value: "2"}}, nil)
	wantCode(t, "a param given twice", err, errs.Invalid, `"twice"`, `"1"`, `"2"`)
	run = mustGetRun(t, s, r.ID)
	if _, ok := run.Param("fresh"); ok {
		t.Error("a failed batch stored its new param")
	}
	if _, ok := run.Param("twice"); ok {
		t.Error("a failed batch stored its param")
	}
	if len(run.Metrics) != n {
		t.Errorf("a failed batch stored its metric: %d metrics", len(run.Metrics))
	}
}
