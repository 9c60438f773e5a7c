package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mlrun/mlrun/internal/benchcmp"
	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/postgres"
	"github.com/mlrun/mlrun/tracking"
)

// Store benchmarks for `make bench` on the throwaway PostgreSQL server.
// Each compares mlrun's store with an anchor doing the same database work
// by hand through pgx's native interface (no database/sql), on a schema
// with the same tables and indexes, measured in alternating pairs (see
// internal/benchcmp). Values are per wall-clock second: the server's work
// happens outside this process. Run them with -benchtime 1x.

// benchPairs returns how many pairs each comparison measures
// (MLRUN_BENCH_PAIRS, default 5).
func benchPairs() int {
	if n, err := strconv.Atoi(os.Getenv("MLRUN_BENCH_PAIRS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// wall returns the seconds fn takes.
func wall(fn func()) float64 {
	start := time.Now()
	fn()
	return time.Since(start).Seconds()
}

// cost returns the wall-clock seconds fn takes and the processor seconds
// it costs, this process's and the database server's together. A writer
// that waits for each answer is bound by that processor time on a quiet
// machine (plus loopback latency), so n/cpu estimates its rate there
// however loaded the machine measuring it is.
func cost(b *testing.B, srv *pgtest.Server, fn func()) (wallSec, cpuSec float64) {
	b.Helper()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		server, err := srv.CPU()
		if err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + server
	}
	before := cpu()
	wallSec = wall(fn)
	return wallSec, (cpu() - before).Seconds()
}

// benchStores opens two stores on fresh schemas: mlrun's, and one whose
// tables the anchor writes through a native pgx connection.
func benchStores(b *testing.B) (*postgres.Store, *pgx.Conn, *postgres.Store) {
	b.Helper()
	ctx := context.Background()
	open := func() (*postgres.Store, string) {
		dsn := pgtest.NewDatabase(b)
		s, err := postgres.Open(ctx, dsn, filepath.Join(b.TempDir(), "artifacts"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s, dsn
	}
	ours, _ := open()
	raw, rawDSN := open()
	conn, err := pgx.Connect(ctx, rawDSN)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	return ours, conn, raw
}

// BenchmarkCreateRun compares Store.CreateRun of a run with 5 params and 2
// tags with the same rows inserted through pgx, one transaction per run:
// runs per wall-clock second, and runs per processor second (client and
// server), which is what a quiet machine would reach.
func BenchmarkCreateRun(b *testing.B) {
	const perSample = 500
	ctx := context.Background()
	params := []tracking.Param{{Key: "C", Value: "1.0"}, {Key: "model", Value: "logistic_regression"},
		{Key: "max_iter", Value: "200"}, {Key: "penalty", Value: "l2"}, {Key: "random_state", Value: "42"}}
	tags := []tracking.Tag{{Key: "mlflow.user", Value: "bench"}, {Key: "mlflow.source.type", Value: "PROJECT"}}
	ours, conn, _ := benchStores(b)
	srv := pgtest.Start(b)
	rng := rand.New(rand.NewPCG(3, 4))
	n := 0
	for range b.N {
		var oCPU, aCPU []float64
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			w, c := cost(b, srv, func() {
				for range perSample {
					if _, err := ours.CreateRun(ctx, tracking.NewRun{Name: "bench", UserID: "bench", Params: params, Tags: tags}); err != nil {
						b.Fatal(err)
					}
				}
			})
			oCPU = append(oCPU, perSample/c)
			return perSample / w
		}, func() float64 {
			w, c := cost(b, srv, func() {
				for range perSample {
					n++
					id := fmt.Sprintf("%016x%016x", rng.Uint64(), n)
					err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
						now := time.Now().UnixMilli()
						batch := &pgx.Batch{}
						batch.Queue(`INSERT INTO runs (run_id, name, experiment_id, user_id, status, start_time,
							artifact_uri, lifecycle_stage, host, pid, heartbeat) VALUES ($1, $2, 0, $3, 'RUNNING', $4, $5, 'active', '', 0, $6)`,
							id, "bench", "bench", now, "file:///bench/0/"+id+"/artifacts", now)
						for _, p := range params {
							batch.Queue(`INSERT INTO params (run_id, key, value) VALUES ($1, $2, $3)`, id, p.Key, p.Value)
						}
						batch.Queue(`INSERT INTO tags (run_id, key, value) VALUES ($1, $2, $3)`, id, "mlflow.runName", "bench")
						for _, t := range tags {
							batch.Queue(`INSERT INTO tags (run_id, key, value) VALUES ($1, $2, $3)`, id, t.Key, t.Value)
						}
						return tx.SendBatch(ctx, batch).Close()
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			aCPU = append(aCPU, perSample/c)
			return perSample / w
		})
		benchcmp.Figure{Name: "postgres: create run (runs/s)", Anchor: "raw pgx INSERTs, same schema", Goal: ">= 0.5"}.Report(b, o, a)
		benchcmp.Figure{Name: "postgres: create run (runs per CPU-second, client+server; goal 1,000/s)", Anchor: "raw pgx INSERTs, same schema", Goal: ">= 0.5"}.Report(b, oCPU, aCPU)
	}
}

// benchPoints returns a batch of 1,000 points of one metric.
func benchPoints(batch int) []tracking.Metric {
	out := make([]tracking.Metric, 1000)
	for i := range out {
		step := int64(batch*1000 + i)
		out[i] = tracking.Metric{Key: "loss", Value: 1 / float64(step+1), Step: step, Timestamp: step}
	}
	return out
}

// BenchmarkLogBatch compares Store.LogBatch of 1,000 points with the same
// points copied in through pgx (COPY) plus the latest-value upsert.
func BenchmarkLogBatch(b *testing.B) {
	const batches = 10
	ctx := context.Background()
	ours, conn, raw := benchStores(b)
	ourRun, err := ours.CreateRun(ctx, tracking.NewRun{})
	if err != nil {
		b.Fatal(err)
	}
	rawRun, err := raw.CreateRun(ctx, tracking.NewRun{})
	if err != nil {
		b.Fatal(err)
	}
	srv := pgtest.Start(b)
	nOurs, nRaw := 0, 0
	for range b.N {
		var oCPU, aCPU []float64
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			w, c := cost(b, srv, func() {
				for range batches {
					if err := ours.LogBatch(ctx, ourRun.ID, benchPoints(nOurs), nil, nil); err != nil {
						b.Fatal(err)
					}
					nOurs++
				}
			})
			oCPU = append(oCPU, 1000*batches/c)
			return 1000 * batches / w
		}, func() float64 {
			w, c := cost(b, srv, func() {
				for range batches {
					ms := benchPoints(nRaw)
					nRaw++
					err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
						rows := make([][]any, len(ms))
						for i, m := range ms {
							rows[i] = []any{rawRun.ID, m.Key, m.Step, m.Timestamp, m.Value, int64(0)}
						}
						if _, err := tx.CopyFrom(ctx, pgx.Identifier{"metrics"}, []string{"run_id", "key", "step", "timestamp", "value", "is_nan"}, pgx.CopyFromRows(rows)); err != nil {
							return err
						}
						last := ms[len(ms)-1]
						_, err := tx.Exec(ctx, `INSERT INTO latest_metrics (run_id, key, step, timestamp, value, is_nan) VALUES ($1, $2, $3, $4, $5, 0)
							ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, timestamp = excluded.timestamp, value = excluded.value`,
							rawRun.ID, last.Key, last.Step, last.Timestamp, last.Value)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			aCPU = append(aCPU, 1000*batches/c)
			return 1000 * batches / w
		})
		benchcmp.Figure{Name: "postgres: log batch of 1,000 points (points/s)", Anchor: "raw pgx COPY, same schema", Goal: ">= 0.5"}.Report(b, o, a)
		benchcmp.Figure{Name: "postgres: log batch of 1,000 points (points per CPU-second, client+server; goal 50,000/s)", Anchor: "raw pgx COPY, same schema", Goal: ">= 0.5"}.Report(b, oCPU, aCPU)
	}
}

// fillRuns writes n runs into the store's schema with COPY: params C (one
// of 10 values) and model, metric accuracy (uniform in [0, 1)), tag team.
func fillRuns(b *testing.B, dsn string, n int) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	rng := rand.New(rand.NewPCG(1, 2))
	var runs, params, metrics, tags [][]any
	for i := range n {
		id := fmt.Sprintf("%032x", i+1)
		start := int64(1_700_000_000_000 + i)
		runs = append(runs, []any{id, "r" + strconv.Itoa(i), int64(0), "bench", "FINISHED", start, start + 1000, "file:///x/" + id, "active", "", int64(0), int64(0)})
		params = append(params, []any{id, "C", strconv.Itoa(i % 10)}, []any{id, "model", "m" + strconv.Itoa(i%3)})
		acc := rng.Float64()
		metrics = append(metrics, []any{id, "accuracy", int64(0), start, acc, int64(0)})
		tags = append(tags, []any{id, "team", "t" + strconv.Itoa(i%5)})
	}
	for _, t := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"runs", []string{"run_id", "name", "experiment_id", "user_id", "status", "start_time", "end_time", "artifact_uri", "lifecycle_stage", "host", "pid", "heartbeat"}, runs},
		{"params", []string{"run_id", "key", "value"}, params},
		{"metrics", []string{"run_id", "key", "step", "timestamp", "value", "is_nan"}, metrics},
		{"latest_metrics", []string{"run_id", "key", "step", "timestamp", "value", "is_nan"}, metrics},
		{"tags", []string{"run_id", "key", "value"}, tags},
	} {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// benchmarkSearch compares a search with a filter and an order (a page of
// 100 runs with their data) with the same page ranked by one hand-written
// query through pgx, at n runs.
func benchmarkSearch(b *testing.B, n int) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(b)
	st, err := postgres.Open(ctx, dsn, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	fillRuns(b, dsn, n)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	q := tracking.SearchRuns{Filter: "params.C = '1' and metrics.accuracy > 0.5", OrderBy: []string{"metrics.accuracy DESC"}, MaxResults: 100}
	for range b.N {
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			return 1000 * wall(func() {
				runs, _, err := st.SearchRuns(ctx, q)
				if err != nil || len(runs) == 0 {
					b.Fatalf("search: %d runs, %v", len(runs), err)
				}
			})
		}, func() float64 {
			return 1000 * wall(func() {
				rows, err := conn.Query(ctx, `SELECT r.run_id FROM runs r
					JOIN params p ON p.run_id = r.run_id AND p.key = 'C' AND p.value = $1
					JOIN latest_metrics m ON m.run_id = r.run_id AND m.key = 'accuracy' AND m.is_nan = 0 AND m.value > $2
					WHERE r.lifecycle_stage = 'active'
					ORDER BY m.value DESC, r.start_time DESC, r.run_id LIMIT 100`, "1", 0.5)
				if err != nil {
					b.Fatal(err)
				}
				ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil || len(ids) == 0 {
					b.Fatalf("anchor: %d, %v", len(ids), err)
				}
				for _, table := range []string{"params", "latest_metrics", "tags"} {
					rows, err := conn.Query(ctx, `SELECT * FROM `+table+` WHERE run_id = ANY($1)`, ids)
					if err != nil {
						b.Fatal(err)
					}
					rows.Close()
				}
			})
		})
		benchcmp.Figure{Name: fmt.Sprintf("postgres: search filter+order at %d runs (ms)", n), Anchor: "hand-written SQL via pgx", Goal: "<= 2", Max: 50}.Report(b, o, a)
	}
}

// BenchmarkSearch10k searches 10,000 runs.
func BenchmarkSearch10k(b *testing.B) { benchmarkSearch(b, 10_000) }

// BenchmarkSearch100k searches 100,000 runs.
func BenchmarkSearch100k(b *testing.B) { benchmarkSearch(b, 100_000) }

// BenchmarkSearch1M searches 1,000,000 runs (filling takes a minute or so).
func BenchmarkSearch1M(b *testing.B) { benchmarkSearch(b, 1_000_000) }
