package sqlite

import (
	"context"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// TestARunOpensOneConnection goes through what `mlrun run` does with an
// existing store (open it, reap dead runs, find the experiment, create a
// run, log to it, end it) and checks that all of it happens on the
// writer's connection: opening the reading pool's first connection would
// load the schema a second time.
func TestARunOpensOneConnection(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, artifacts := filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts")
	s, err := Open(ctx, path, artifacts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateExperiment(ctx, "iris", map[string]string{"team": "ml", "note": "a \"quoted\"\nvalue é"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path, artifacts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ReapDeadRuns(ctx, "host", func(int) bool { return true }, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	exp, err := s.EnsureExperiment(ctx, "iris")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, tracking.NewRun{ExperimentID: exp.ID, Host: "host", PID: 1,
		Params: []tracking.Param{{Key: "p", Value: "1"}}, Tags: []tracking.Tag{{Key: "t", Value: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LogBatch(ctx, r.ID, []tracking.Metric{{Key: "m", Value: 1}}, nil, []tracking.Tag{{Key: "u", Value: "w"}}); err != nil {
		t.Fatal(err)
	}
	status, end := tracking.StatusFinished, nowMillis()
	if err := s.UpdateRun(ctx, r.ID, tracking.RunUpdate{Status: &status, EndTime: &end}); err != nil {
		t.Fatal(err)
	}
	if n := s.rdb.Stats().OpenConnections; n != 0 {
		t.Errorf("a run opened %d reading connections; want none", n)
	}

	// The experiment it found is the one the reading connections see.
	want, err := s.GetExperiment(ctx, exp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(exp, want) {
		t.Errorf("EnsureExperiment found %+v; GetExperiment reads %+v", exp, want)
	}
}

// TestEnsureExperimentReadsTags checks the tags EnsureExperiment returns for
// an existing experiment: none (nil, as GetExperiment), and some.
func TestEnsureExperimentReadsTags(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)
	tags := map[string]string{"a": "1", "b": `{"json": [1]}`, "c": ""}
	for name, tags := range map[string]map[string]string{"bare": nil, "tagged": tags} {
		created, err := s.CreateExperiment(ctx, name, tags)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.EnsureExperiment(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.GetExperiment(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got.Tags, tags) {
			t.Errorf("EnsureExperiment(%q) = %+v; want %+v with tags %v", name, got, want, tags)
		}
	}
}

// TestWriterKeepsTemporaryFilesInMemory checks that the writer's
// connection keeps its statement journals in memory: past 64 KiB SQLite
// spills them to a file it creates (a run's writes did, every run), and
// that a statement failing inside a transaction of many still undoes only
// itself.
func TestWriterKeepsTemporaryFilesInMemory(t *testing.T) {
	s := openInternal(t)
	var mode int
	if err := s.db.QueryRow(`PRAGMA temp_store`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Fatalf("the writer's temp_store is %d; want 2 (memory)", mode)
	}

	ctx := context.Background()
	r, err := s.CreateRun(ctx, tracking.NewRun{})
	if err != nil {
		t.Fatal(err)
	}
	// Enough rows that the statement journal passes 64 KiB.
	var tags []tracking.Tag
	for i := range 2000 {
		tags = append(tags, tracking.Tag{Key: "k" + strconv.Itoa(i), Value: strings.Repeat("v", 100)})
	}
	if err := s.LogBatch(ctx, r.ID, nil, nil, tags); err != nil {
		t.Fatal(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE tags SET value = 'w' WHERE run_id = ?`, r.ID); err != nil {
		t.Fatal(err)
	}
	// Changes every row, then fails on the last one's NOT NULL.
	_, err = tx.ExecContext(ctx, `UPDATE tags SET value = CASE WHEN key = 'k1999' THEN NULL ELSE 'x' END WHERE run_id = ?`, r.ID)
	if err == nil {
		t.Fatal("an UPDATE setting a NOT NULL column to NULL succeeded")
	}
	var all, w int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), SUM(value = 'w') FROM tags WHERE run_id = ?`, r.ID).Scan(&all, &w); err != nil {
		t.Fatal(err)
	}
	if w != all || all < 2000 {
		t.Fatalf("after the failed statement, %d of the %d tags keep the first statement's value", w, all)
	}
}

// openInternal opens a new store in a temporary directory and closes it
// when the test ends.
func openInternal(t *testing.T) *Store {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
