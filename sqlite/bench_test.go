package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/internal/benchcmp"
	"github.com/mlrun/mlrun/tracking"
)

// Store benchmarks for `make bench`. Each compares mlrun's store with an
// anchor doing the same database work by hand (raw SQL through the same
// driver, on a database with the same schema, keys and indexes), measured
// in alternating pairs; see internal/benchcmp. Run them with -benchtime 1x:
// one iteration takes benchPairs pairs.

// benchPairs returns how many pairs each comparison measures
// (MLRUN_BENCH_PAIRS, default 5).
func benchPairs() int {
	if n, err := strconv.Atoi(os.Getenv("MLRUN_BENCH_PAIRS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// seconds returns the CPU time (user and system) fn takes: on a machine
// shared with other work it is steadier than wall time, and the work
// measured here is single-threaded and never waits (WAL commits with
// synchronous=NORMAL do not sync).
func seconds(tb testing.TB, fn func()) float64 {
	start := cpuTime(tb)
	fn()
	return (cpuTime(tb) - start).Seconds()
}

// prepare prepares query on db, failing tb on error.
func prepare(tb testing.TB, db *sql.DB, query string) *sql.Stmt {
	tb.Helper()
	st, err := db.Prepare(query)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// inTx runs fn in a transaction of db and commits it, failing tb on error.
func inTx(tb testing.TB, db *sql.DB, fn func(tx *sql.Tx) error) {
	tb.Helper()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkCreateRun compares Store.CreateRun of a run with 5 params and 2
// tags with the same rows (a runs row, 5 params, the 2 tags and the
// mlflow.runName tag) inserted by prepared statements in one transaction
// per run, into another store of the same schema.
func BenchmarkCreateRun(b *testing.B) {
	const perSample = 200
	ctx := context.Background()
	params := []tracking.Param{{Key: "C", Value: "1.0"}, {Key: "model", Value: "logistic_regression"},
		{Key: "max_iter", Value: "200"}, {Key: "penalty", Value: "l2"}, {Key: "random_state", Value: "42"}}
	tags := []tracking.Tag{{Key: "mlflow.user", Value: "bench"}, {Key: "mlflow.source.type", Value: "PROJECT"}}
	ours, raw := openStore(b), openStore(b)
	db := raw.DB()
	runIns := prepare(b, db, `INSERT INTO runs (run_id, name, experiment_id, user_id, status, start_time,
		artifact_uri, lifecycle_stage, host, pid, heartbeat) VALUES (?, ?, 0, ?, 'RUNNING', ?, ?, 'active', ?, ?, ?)`)
	paramIns := prepare(b, db, `INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)`)
	tagIns := prepare(b, db, `INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)`)
	rng := rand.New(rand.NewPCG(3, 4))
	n := 0
	for range b.N {
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			return perSample / seconds(b, func() {
				for range perSample {
					if _, err := ours.CreateRun(ctx, tracking.NewRun{Name: "bench", UserID: "bench", Params: params, Tags: tags}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}, func() float64 {
			return perSample / seconds(b, func() {
				for range perSample {
					n++
					id := fmt.Sprintf("%016x%016x", rng.Uint64(), n)
					inTx(b, db, func(tx *sql.Tx) error {
						now := time.Now().UnixMilli()
						if _, err := tx.Stmt(runIns).Exec(id, "bench", "bench", now, "file:///bench/0/"+id+"/artifacts", "", 0, now); err != nil {
							return err
						}
						pi := tx.Stmt(paramIns)
						for _, p := range params {
							if _, err := pi.Exec(id, p.Key, p.Value); err != nil {
								return err
							}
						}
						ti := tx.Stmt(tagIns)
						if _, err := ti.Exec(id, "mlflow.runName", "bench"); err != nil {
							return err
						}
						for _, t := range tags {
							if _, err := ti.Exec(id, t.Key, t.Value); err != nil {
								return err
							}
						}
						return nil
					})
				}
			})
		})
		benchcmp.Figure{Name: "create run (runs/cpu-s)", Anchor: "raw INSERTs, same schema", Goal: ">= 0.5"}.Report(b, o, a)
	}
}

// benchPoints returns batch n of 1,000 metric points.
func benchPoints(n int) []tracking.Metric {
	const batch = 1000
	ms := make([]tracking.Metric, batch)
	ts := time.Now().UnixMilli()
	for i := range ms {
		step := int64(n*batch + i)
		ms[i] = tracking.Metric{Key: "loss", Value: 1 / float64(step+1), Timestamp: ts, Step: step}
	}
	return ms
}

// BenchmarkLogBatch compares Store.LogBatch of 1,000 points of one metric
// with the same rows inserted by one prepared INSERT into the metrics table
// (same primary key) plus the one latest_metrics row, in one transaction,
// into another store of the same schema.
func BenchmarkLogBatch(b *testing.B) {
	const batches = 10 // per sample
	ctx := context.Background()
	ours, raw := openStore(b), openStore(b)
	ourRun := mustCreateRun(b, ours, tracking.NewRun{})
	rawRun := mustCreateRun(b, raw, tracking.NewRun{})
	db := raw.DB()
	pointIns := prepare(b, db, `INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, 0)`)
	latestIns := prepare(b, db, `INSERT OR REPLACE INTO latest_metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, ?, ?, ?, ?, 0)`)
	nOurs, nRaw := 0, 0
	for range b.N {
		o, a := benchcmp.Alternate(benchPairs(), func() float64 {
			data := make([][]tracking.Metric, batches)
			for i := range data {
				data[i] = benchPoints(nOurs)
				nOurs++
			}
			return 1000 * batches / seconds(b, func() {
				for _, ms := range data {
					if err := ours.LogBatch(ctx, ourRun.ID, ms, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}, func() float64 {
			data := make([][]tracking.Metric, batches)
			for i := range data {
				data[i] = benchPoints(nRaw)
				nRaw++
			}
			return 1000 * batches / seconds(b, func() {
				for _, ms := range data {
					inTx(b, db, func(tx *sql.Tx) error {
						pi := tx.Stmt(pointIns)
						for _, m := range ms {
							if _, err := pi.Exec(rawRun.ID, m.Key, m.Step, m.Timestamp, m.Value); err != nil {
								return err
							}
						}
						last := ms[len(ms)-1]
						_, err := tx.Stmt(latestIns).Exec(rawRun.ID, last.Key, last.Step, last.Timestamp, last.Value)
						return err
					})
				}
			})
		})
		benchcmp.Figure{Name: "log batch of 1,000 points (points/cpu-s)", Anchor: "raw INSERTs, same schema", Goal: ">= 0.5"}.Report(b, o, a)
	}
}

// searchAnchor is a search written by hand in SQL, as someone who knows the
// schema would write it (NaN metrics excluded with is_nan = 0, which also
// lets SQLite read the metric's index in value order): one query ranks the
// runs, then three load the params, latest metrics and tags of the page.
type searchAnchor struct {
	rank string
	args []any
}

// run returns the ids of the runs of the page, with their data loaded.
func (sa searchAnchor) run(tb testing.TB, db *sql.DB) []*tracking.Run {
	tb.Helper()
	rows, err := db.Query(sa.rank, sa.args...)
	if err != nil {
		tb.Fatal(err)
	}
	var runs []*tracking.Run
	byID := map[string]*tracking.Run{}
	var ids []any
	for rows.Next() {
		r := &tracking.Run{}
		var end sql.NullInt64
		var exp int64
		if err := rows.Scan(&r.Info.ID, &r.Info.Name, &exp, &r.Info.Status, &r.Info.StartTime, &end, &r.Info.ArtifactURI); err != nil {
			tb.Fatal(err)
		}
		r.Info.ExperimentID, r.Info.EndTime = strconv.FormatInt(exp, 10), end.Int64
		runs = append(runs, r)
		byID[r.Info.ID] = r
		ids = append(ids, r.Info.ID)
	}
	rows.Close()
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	for _, q := range []struct{ table, cols string }{{"params", "value"}, {"tags", "value"}, {"latest_metrics", "step, timestamp, value"}} {
		rows, err := db.Query("SELECT run_id, key, "+q.cols+" FROM "+q.table+" WHERE run_id IN "+in+" ORDER BY run_id, key", ids...)
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var id, key, value string
			var m tracking.Metric
			switch q.table {
			case "latest_metrics":
				err = rows.Scan(&id, &m.Key, &m.Step, &m.Timestamp, &m.Value)
				byID[id].Metrics = append(byID[id].Metrics, m)
			case "params":
				err = rows.Scan(&id, &key, &value)
				byID[id].Params = append(byID[id].Params, tracking.Param{Key: key, Value: value})
			default:
				err = rows.Scan(&id, &key, &value)
				byID[id].Tags = append(byID[id].Tags, tracking.Tag{Key: key, Value: value})
			}
			if err != nil {
				tb.Fatal(err)
			}
		}
		rows.Close()
	}
	return runs
}

// BenchmarkSearch100k searches a store of 100,000 runs (see searchStore)
// the way `mlrun runs list` does, and compares each search with the same
// search written by hand in SQL on the same database. It also reports the
// absolute time of each search (goal: at most 20 ms).
func BenchmarkSearch100k(b *testing.B) {
	ctx := context.Background()
	s := searchStore(b, 100_000)
	defer s.Close()
	db := s.DB()
	const cols = `SELECT r.run_id, r.name, r.experiment_id, r.status, r.start_time, r.end_time, r.artifact_uri FROM runs r`
	searches := []struct {
		name   string
		q      tracking.SearchRuns
		anchor searchAnchor
	}{{
		name: "filter+order, 100 runs",
		q:    tracking.SearchRuns{Filter: "metrics.accuracy > 0.5 and params.C = '1'", OrderBy: []string{"metrics.accuracy DESC"}, MaxResults: 100},
		anchor: searchAnchor{rank: cols + `
			JOIN latest_metrics m ON m.run_id = r.run_id AND m.key = 'accuracy' AND m.is_nan = 0
			JOIN params p ON p.run_id = r.run_id AND p.key = 'C'
			WHERE r.lifecycle_stage = 'active' AND m.value > 0.5 AND p.value = '1'
			ORDER BY m.value DESC, r.start_time DESC, r.run_id LIMIT 100`},
	}, {
		name: "order, 1000 runs",
		q:    tracking.SearchRuns{OrderBy: []string{"metrics.accuracy DESC"}, MaxResults: 1000},
		anchor: searchAnchor{rank: cols + `
			JOIN latest_metrics m ON m.run_id = r.run_id AND m.key = 'accuracy' AND m.is_nan = 0
			WHERE r.lifecycle_stage = 'active'
			ORDER BY m.value DESC, r.start_time DESC, r.run_id LIMIT 1000`},
	}}
	for _, sc := range searches {
		// Both sides must find the same page.
		got, _, err := s.SearchRuns(ctx, sc.q)
		if err != nil {
			b.Fatal(err)
		}
		want := sc.anchor.run(b, db)
		if len(got) != len(want) {
			b.Fatalf("%s: SearchRuns found %d runs, the anchor %d", sc.name, len(got), len(want))
		}
		for i := range got {
			if got[i].Info.ID != want[i].Info.ID || !reflect.DeepEqual(got[i].Params, want[i].Params) {
				b.Fatalf("%s: run %d is %s, the anchor's %s", sc.name, i, got[i].Info.ID, want[i].Info.ID)
			}
		}
	}
	const perSample = 5
	for range b.N {
		for _, sc := range searches {
			o, a := benchcmp.Alternate(benchPairs(), func() float64 {
				return 1000 * seconds(b, func() {
					for range perSample {
						if _, _, err := s.SearchRuns(ctx, sc.q); err != nil {
							b.Fatal(err)
						}
					}
				}) / perSample
			}, func() float64 {
				return 1000 * seconds(b, func() {
					for range perSample {
						sc.anchor.run(b, db)
					}
				}) / perSample
			})
			benchcmp.Figure{Name: "search 100k runs: " + sc.name + " (cpu ms)", Anchor: "hand-written SQL, same db", Goal: "<= 1.5", Max: 20}.Report(b, o, a)
		}
	}
}

// cpuTime returns the user plus system CPU time of this process so far. On a
// machine shared with other work it is a steadier measure than wall time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
