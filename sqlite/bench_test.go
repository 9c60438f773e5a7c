package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

const benchBatch = 1000

// cpuTime returns the user plus system CPU time of this process so far. On a
// machine shared with other work it is a steadier measure than wall time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports points per second of wall time and of CPU time.
func reportRates(b *testing.B, cpu0 time.Duration) {
	points := float64(b.N * benchBatch)
	b.ReportMetric(points/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(points/(cpuTime(b)-cpu0).Seconds(), "points/cpu-s")
}

// benchPoints returns batch n of 1,000 metric points.
func benchPoints(n int) []tracking.Metric {
	ms := make([]tracking.Metric, benchBatch)
	ts := time.Now().UnixMilli()
	for i := range ms {
		step := int64(n*benchBatch + i)
		ms[i] = tracking.Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: ts, Step: step}
	}
	return ms
}

// BenchmarkLogBatch1000 measures Store.LogBatch with batches of 1,000 points.
func BenchmarkLogBatch1000(b *testing.B) {
	ctx := context.Background()
	s := openStore(b)
	run := mustCreateRun(b, s, tracking.NewRun{})
	batches := make([][]tracking.Metric, b.N)
	for i := range batches {
		batches[i] = benchPoints(i)
	}
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := 0; i < b.N; i++ {
		if err := s.LogBatch(ctx, run.ID, batches[i], nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpu0)
}

// BenchmarkRawInsert1000 inserts the same rows as BenchmarkLogBatch1000 with
// one prepared INSERT in one transaction into a bare table of a database
// opened the same way: the floor LogBatch is compared with.
func BenchmarkRawInsert1000(b *testing.B) {
	ctx := context.Background()
	s := openStore(b)
	db := s.DB()
	if _, err := db.Exec(`CREATE TABLE raw_metrics (run_id TEXT, key TEXT, step INTEGER, timestamp INTEGER, value REAL, is_nan INTEGER)`); err != nil {
		b.Fatal(err)
	}
	const runID = "0123456789abcdef0123456789abcdef"
	batches := make([][]tracking.Metric, b.N)
	for i := range batches {
		batches[i] = benchPoints(i)
	}
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := 0; i < b.N; i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO raw_metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range batches[i] {
			if _, err := stmt.ExecContext(ctx, runID, m.Key, m.Step, m.Timestamp, m.Value, 0); err != nil {
				b.Fatal(err)
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, cpu0)
}

// BenchmarkSearch10k searches 10,000 runs (5 params, 3 metrics and 3 tags
// each) with a metric and a param condition, ordered by the metric.
func BenchmarkSearch10k(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	dbPath, artifacts := filepath.Join(dir, "search.db"), filepath.Join(dir, "artifacts")
	s, err := sqlite.Open(ctx, dbPath, artifacts)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	models := []string{"a", "b", "c", "d", "e"}
	for i := 0; i < 10000; i++ {
		run, err := s.CreateRun(ctx, tracking.NewRun{
			Name: "run-" + strconv.Itoa(i),
			Params: []tracking.Param{
				{Key: "model", Value: models[i%5]},
				{Key: "lr", Value: fmt.Sprint(rng.Float64())},
				{Key: "depth", Value: strconv.Itoa(rng.IntN(10))},
				{Key: "batch", Value: strconv.Itoa(32 << rng.IntN(4))},
				{Key: "optimizer", Value: models[rng.IntN(5)]},
			},
			Tags: []tracking.Tag{{Key: "team", Value: models[rng.IntN(5)]}, {Key: "owner", Value: "bench"}},
		})
		if err != nil {
			b.Fatal(err)
		}
		err = s.LogBatch(ctx, run.ID, []tracking.Metric{
			{Key: "acc", Value: rng.Float64(), Timestamp: 1},
			{Key: "loss", Value: rng.Float64(), Timestamp: 1},
			{Key: "f1", Value: rng.Float64(), Timestamp: 1},
		}, nil, []tracking.Tag{{Key: "stage", Value: "dev"}})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Reopen, as each mlrun command does: opening refreshes the planner's
	// statistics of the grown tables.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = sqlite.Open(ctx, dbPath, artifacts); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	q := tracking.SearchRuns{Filter: "metrics.acc > 0.5 and params.model = 'a'", OrderBy: []string{"metrics.acc DESC"}}
	b.Run("filter+order", func(b *testing.B) {
		var n int
		cpu0 := cpuTime(b)
		for i := 0; i < b.N; i++ {
			runs, _, err := s.SearchRuns(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			n = len(runs)
		}
		cpu := cpuTime(b) - cpu0
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		b.ReportMetric(float64(n), "runs/op")
	})
	q.MaxResults = 100
	b.Run("filter+order/page100", func(b *testing.B) {
		cpu0 := cpuTime(b)
		for i := 0; i < b.N; i++ {
			if _, _, err := s.SearchRuns(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		cpu := cpuTime(b) - cpu0
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
}
