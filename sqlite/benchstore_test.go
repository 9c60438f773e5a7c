package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/sqlite"
)

// searchStoreVersion names the layout buildSearchStore writes; change it
// when the layout changes so that cached stores are rebuilt.
const searchStoreVersion = 3

// searchStore returns a store holding n runs in the Default experiment, each
// with params C (one of 10 values, so "C = '1'" matches a tenth), model,
// max_iter, penalty and solver, metrics accuracy (uniform in [0, 1), so
// "accuracy > 0.5" matches half), f1 and log_loss, and three tags. The
// store is written with batched inserts through the store's own database
// handle, in one transaction; when MLRUN_BENCH_CACHE names a directory, it
// is kept there and reused by later runs.
func searchStore(tb testing.TB, n int) *sqlite.Store {
	tb.Helper()
	ctx := context.Background()
	dir := os.Getenv("MLRUN_BENCH_CACHE")
	if dir == "" {
		dir = tb.TempDir()
	}
	name := fmt.Sprintf("search-%d-v%d", n, searchStoreVersion)
	dbPath, artifacts := filepath.Join(dir, name+".db"), filepath.Join(dir, name+"-artifacts")
	ready := filepath.Join(dir, name+".ready")
	if _, err := os.Stat(ready); err == nil {
		s, err := sqlite.Open(ctx, dbPath, artifacts)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	os.Remove(dbPath)
	s, err := sqlite.Open(ctx, dbPath, artifacts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := fillSearchStore(ctx, s.DB(), n); err != nil {
		tb.Fatal(err)
	}
	// Reopen, as each mlrun command does: opening refreshes the planner's
	// statistics of the grown tables.
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	if s, err = sqlite.Open(ctx, dbPath, artifacts); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return s
}

// fillSearchStore inserts the runs of searchStore in one transaction, in
// the order of their (random) ids and with a large page cache, which keeps
// the build to seconds.
func fillSearchStore(ctx context.Context, db *sql.DB, n int) error {
	if _, err := db.ExecContext(ctx, `PRAGMA cache_size = -524288`); err != nil { // 512 MiB
		return err
	}
	defer db.ExecContext(ctx, `PRAGMA cache_size = -2000`) // SQLite's default
	rng := rand.New(rand.NewPCG(1, 2))
	type run struct {
		id string
		i  int
	}
	runs := make([]run, n)
	for i := range runs {
		runs[i] = run{fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()), i}
	}
	slices.SortFunc(runs, func(a, b run) int { return strings.Compare(a.id, b.id) })
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	runIns := prep(`INSERT INTO runs (run_id, name, experiment_id, user_id, status, start_time, end_time, artifact_uri) VALUES (?, ?, 0, 'bench', 'FINISHED', ?, ?, ?)`)
	paramIns := prep(`INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)`)
	tagIns := prep(`INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)`)
	pointIns := prep(`INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, ?, 0, ?, ?, 0)`)
	latestIns := prep(`INSERT INTO latest_metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, ?, 0, ?, ?, 0)`)
	if err != nil {
		return err
	}
	cs := []string{"0.001", "0.01", "0.1", "0.3", "1", "3", "10", "30", "100", "1000"}
	models := []string{"logistic_regression", "svc", "random_forest", "knn", "tree"}
	exec := func(st *sql.Stmt, args ...any) {
		if err == nil {
			_, err = st.ExecContext(ctx, args...)
		}
	}
	const t0 = 1_700_000_000_000
	for _, r := range runs {
		id, i := r.id, r.i
		name := "run-" + strconv.Itoa(i)
		start := int64(t0 + 1000*i)
		exec(runIns, id, name, start, start+500, "file:///bench/0/"+id+"/artifacts")
		exec(paramIns, id, "C", cs[rng.IntN(len(cs))])
		exec(paramIns, id, "model", models[rng.IntN(len(models))])
		exec(paramIns, id, "max_iter", strconv.Itoa(100*(1+rng.IntN(5))))
		exec(paramIns, id, "penalty", "l2")
		exec(paramIns, id, "solver", "lbfgs")
		exec(tagIns, id, "mlflow.runName", name)
		exec(tagIns, id, "mlflow.user", "bench")
		exec(tagIns, id, "team", models[rng.IntN(len(models))])
		for _, m := range []struct {
			key string
			v   float64
		}{{"accuracy", rng.Float64()}, {"f1", rng.Float64()}, {"log_loss", 3 * rng.Float64()}} {
			exec(pointIns, id, m.key, start+400, m.v)
			exec(latestIns, id, m.key, start+400, m.v)
		}
		if err != nil {
			return fmt.Errorf("insert run %d: %w", i, err)
		}
	}
	// Each run's summary row, as the store's writes keep it (and as
	// migration 0007 builds it).
	if _, err := tx.ExecContext(ctx, `INSERT INTO run_summaries (run_id, params, tags, metrics)
		SELECT r.run_id,
		  (SELECT json_group_array(json_array(key, value)) FROM params WHERE run_id = r.run_id),
		  (SELECT json_group_array(json_array(key, value)) FROM tags WHERE run_id = r.run_id),
		  (SELECT json_group_array(json_array(key, step, timestamp, value, is_nan)) FROM latest_metrics WHERE run_id = r.run_id)
		FROM runs r`); err != nil {
		return fmt.Errorf("summarize runs: %w", err)
	}
	return tx.Commit()
}
