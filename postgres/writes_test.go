package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/postgres"
	"github.com/mlrun/mlrun/tracking"
)

// Runs created while their experiment is deleted are either refused or
// deleted with it: none is left active in a deleted experiment. (CreateRun
// is one READ COMMITTED statement; this checks the row lock that orders it
// with DeleteExperiment.)
func TestCreateRunRacingExperimentDelete(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.NewDatabase(t), filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const rounds, creators = 20, 6
	for round := range rounds {
		exp, err := s.CreateExperiment(ctx, fmt.Sprintf("race-%d", round), nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		created := make(chan string, creators*10)
		for range creators {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					info, err := s.CreateRun(ctx, tracking.NewRun{ExperimentID: exp.ID})
					if errs.Code(err) == errs.Invalid {
						return // the experiment is deleted
					}
					if err != nil {
						t.Errorf("create run: %v", err)
						return
					}
					created <- info.ID
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.DeleteExperiment(ctx, exp.ID); err != nil {
				t.Errorf("delete experiment: %v", err)
			}
		}()
		wg.Wait()
		close(created)
		for id := range created {
			run, err := s.GetRun(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if run.Info.LifecycleStage != tracking.LifecycleDeleted {
				t.Fatalf("round %d: run %s is %s in deleted experiment %s", round, id, run.Info.LifecycleStage, exp.ID)
			}
		}
	}
}

// A batch of metric points, tags and a param lands in full; the latest
// value follows tracking.NewerMetric across batches, whatever their order.
func TestLogBatchOneStatement(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.NewDatabase(t), filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, err := s.CreateRun(ctx, tracking.NewRun{Params: []tracking.Param{{Key: "a", Value: "1"}, {Key: "a", Value: "1"}},
		Tags: []tracking.Tag{{Key: "t", Value: "x"}, {Key: "t", Value: "y"}}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				step := int64(w*25 + i)
				ms := []tracking.Metric{{Key: "loss", Value: float64(step), Step: step, Timestamp: 1}, {Key: "loss", Value: -1, Step: step, Timestamp: 0}}
				if err := s.LogBatch(ctx, run.ID, ms, nil, []tracking.Tag{{Key: "w", Value: "v"}, {Key: "w", Value: fmt.Sprint(w)}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := s.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Metrics) != 1 || got.Metrics[0].Step != 99 || got.Metrics[0].Value != 99 {
		t.Fatalf("latest metrics %+v, want loss=99 at step 99", got.Metrics)
	}
	hist, err := s.MetricHistory(ctx, run.ID, "loss")
	if err != nil || len(hist) != 200 {
		t.Fatalf("%d points of history, want 200 (%v)", len(hist), err)
	}
	// A batch sent again, with a point twice and a new one: one of each.
	again := append(hist[:3:3], hist[0], tracking.Metric{Key: "loss", Value: 0.5, Step: 1000, Timestamp: 0})
	if err := s.LogBatch(ctx, run.ID, again, nil, nil); err != nil {
		t.Fatal(err)
	}
	if hist, err = s.MetricHistory(ctx, run.ID, "loss"); err != nil || len(hist) != 201 {
		t.Fatalf("%d points of history after a repeated batch, want 201 (%v)", len(hist), err)
	}
	tags := map[string]string{}
	for _, tg := range got.Tags {
		tags[tg.Key] = tg.Value
	}
	if tags["t"] != "y" || tags["w"] == "v" || tags["w"] == "" || len(got.Params) != 1 {
		t.Fatalf("tags %v, params %v", tags, got.Params)
	}
	if _, err := s.CreateRun(ctx, tracking.NewRun{Params: []tracking.Param{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}}); errs.Code(err) != errs.Invalid {
		t.Fatalf("a param given twice with two values: %v, want invalid", err)
	}
	if err := s.LogBatch(ctx, "0123456789abcdef0123456789abcdef", []tracking.Metric{{Key: "x", Step: 1}}, nil, nil); errs.Code(err) != errs.NotFound {
		t.Fatalf("logging to a missing run: %v, want not found", err)
	}
	if err := s.LogBatch(ctx, run.ID, nil, []tracking.Param{{Key: "b", Value: "1"}, {Key: "b", Value: "1"}}, nil); err != nil {
		t.Fatalf("a param given twice with one value: %v", err)
	}
	if err := s.LogBatch(ctx, run.ID, nil, []tracking.Param{{Key: "c", Value: "1"}, {Key: "c", Value: "2"}}, nil); errs.Code(err) != errs.Invalid {
		t.Fatalf("a param logged twice with two values in one batch: %v, want invalid", err)
	}
	if err := s.DeleteRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.LogBatch(ctx, run.ID, []tracking.Metric{{Key: "x", Step: 1}}, nil, nil); errs.Code(err) != errs.Invalid {
		t.Fatalf("logging to a deleted run: %v, want invalid", err)
	}
}

// A connection that the server dropped (its backend terminated, as a
// restart does) while pgx still had a failed statement's cached prepared
// statement to deallocate fails before pgx sends the next statement on it,
// with "failed to deallocate cached statement(s)". The store sends that
// statement again on another connection: here the lookup of the
// experiment's artifact location, then the insert of a run.
func TestStatementOnDroppedConnection(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s, err := postgres.Open(ctx, dsn, filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.DB()
	db.SetMaxOpenConns(1) // every statement below uses the one connection
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for round := range 2 {
		var pid int
		if err := db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "SELECT 1/$1::int", 0); err == nil {
			t.Fatal("dividing by zero did not fail")
		}
		var gone bool
		if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1, 5000)", pid).Scan(&gone); err != nil || !gone {
			t.Fatalf("terminate backend %d: %v, %v", pid, gone, err)
		}
		if _, err := s.CreateRun(ctx, tracking.NewRun{Name: fmt.Sprint("after-drop-", round)}); err != nil {
			t.Fatalf("round %d: create a run on a dropped connection: %v", round, err)
		}
	}
}
