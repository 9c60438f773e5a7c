package sqlite_test

import (
	"context"
	"sync"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Concurrent batches share transactions; a batch that fails (here on a
// param conflict, after its metric point was written) leaves nothing
// behind, and every batch that succeeded is stored.
func TestConcurrentBatchesFailAlone(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	run := mustCreateRun(t, s, tracking.NewRun{})
	mustLog(t, s, run.ID, nil, []tracking.Param{{Key: "p", Value: "fixed"}}, nil)
	const n = 64
	errc := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value := "fixed"
			if i%3 == 0 {
				value = "changed" // params are immutable: this batch fails
			}
			errc[i] = s.LogBatch(ctx, run.ID, []tracking.Metric{{Key: "m", Value: float64(i), Timestamp: 1, Step: int64(i)}},
				[]tracking.Param{{Key: "p", Value: value}}, []tracking.Tag{{Key: "t", Value: "v"}})
		}()
	}
	// Runs created at the same time share the transactions too.
	created := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, err := s.CreateRun(ctx, tracking.NewRun{Tags: []tracking.Tag{{Key: "k", Value: "v"}}})
			if err != nil {
				t.Errorf("CreateRun: %v", err)
				return
			}
			created <- info.ID
		}()
	}
	wg.Wait()
	close(created)
	for id := range created {
		r, err := s.GetRun(ctx, id)
		if err != nil {
			t.Fatalf("created run %s: %v", id, err)
		}
		if v, _ := r.Tag("k"); v != "v" {
			t.Errorf("created run %s lacks its tag: %+v", id, r.Tags)
		}
	}
	hist, err := s.MetricHistory(ctx, run.ID, "m")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for _, p := range hist {
		stored[p.Step] = true
	}
	for i, err := range errc {
		switch {
		case i%3 == 0 && errs.Code(err) != errs.Invalid:
			t.Errorf("batch %d changed a param: error %v, want INVALID_PARAMETER_VALUE", i, err)
		case i%3 == 0 && stored[int64(i)]:
			t.Errorf("batch %d failed, yet its metric point was stored", i)
		case i%3 != 0 && err != nil:
			t.Errorf("batch %d: %v", i, err)
		case i%3 != 0 && !stored[int64(i)]:
			t.Errorf("batch %d succeeded, yet its metric point is missing", i)
		}
	}
}

// A caller whose context is already canceled is answered with that error
// and writes nothing, without disturbing the others.
func TestCanceledBatchWritesNothing(t *testing.T) {
	s := openStore(t)
	run := mustCreateRun(t, s, tracking.NewRun{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.LogBatch(ctx, run.ID, []tracking.Metric{{Key: "m", Value: 1, Timestamp: 1}}, nil, nil); err == nil {
		t.Fatal("a canceled batch reported success")
	}
	if h, err := s.MetricHistory(context.Background(), run.ID, "m"); err != nil || len(h) != 0 {
		t.Fatalf("history after a canceled batch: %v %v", h, err)
	}
	mustLog(t, s, run.ID, []tracking.Metric{{Key: "m", Value: 2, Timestamp: 1}}, nil, nil)
}

// Tags are written in multi-row statements: a key given twice in one
// call keeps its last value, as when each was set in turn.
func TestTagGivenTwiceInOneCallKeepsTheLast(t *testing.T) {
	s := openStore(t)
	run := mustCreateRun(t, s, tracking.NewRun{Tags: []tracking.Tag{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}})
	mustLog(t, s, run.ID, nil, nil, []tracking.Tag{{Key: "b", Value: "1"}, {Key: "a", Value: "3"}, {Key: "b", Value: "4"}})
	r, err := s.GetRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := r.Tag("a"); a != "3" {
		t.Errorf("tag a = %q, want 3", a)
	}
	if b, _ := r.Tag("b"); b != "4" {
		t.Errorf("tag b = %q, want 4", b)
	}
}
