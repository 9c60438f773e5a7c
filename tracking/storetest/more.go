package storetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// testStepCache: entries are stored, replaced, read back byte for byte and
// deleted; a missing key is (nil, nil).
func testStepCache(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	if got, err := s.GetStepCache(ctx, "k1"); err != nil || got != nil {
		t.Fatalf("missing entry = %q, %v; want nil, nil", got, err)
	}
	run := mustCreateRun(t, s, tracking.NewRun{})
	first := []byte(`{"format":1,"outputs":{"x":{"json":"\u00e9"}}}`)
	if err := s.PutStepCache(ctx, "k1", "train", "fit", run.ID, first); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetStepCache(ctx, "k1"); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("entry = %q, %v; want %q", got, err, first)
	}
	second := []byte(`{"format":1}`)
	if err := s.PutStepCache(ctx, "k1", "train", "fit", run.ID, second); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetStepCache(ctx, "k1"); !bytes.Equal(got, second) {
		t.Fatalf("replaced entry = %q, want %q", got, second)
	}
	if err := s.DeleteStepCache(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetStepCache(ctx, "k1"); err != nil || got != nil {
		t.Fatalf("deleted entry = %q, %v", got, err)
	}
	if err := s.DeleteStepCache(ctx, "k1"); err != nil {
		t.Fatalf("deleting a missing entry: %v", err)
	}
}

// testConcurrentWriters: several handles (as several processes) create
// runs and log to them at once; every run, param, metric point and tag
// is there afterwards.
func testConcurrentWriters(t *testing.T, h *Harness) {
	ctx := context.Background()
	first := h.Open(t)
	const writers, runsEach, points = 8, 5, 20
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		st := first
		if h.Reopen != nil {
			st = h.Reopen(t, first)
		}
		wg.Add(1)
		go func(w int, st tracking.Store) {
			defer wg.Done()
			exp, err := st.EnsureExperiment(ctx, "shared")
			if err != nil {
				errc <- err
				return
			}
			for r := 0; r < runsEach; r++ {
				info, err := st.CreateRun(ctx, tracking.NewRun{ExperimentID: exp.ID, Name: fmt.Sprintf("w%d-r%d", w, r),
					Params: []tracking.Param{{Key: "w", Value: fmt.Sprint(w)}}})
				if err != nil {
					errc <- err
					return
				}
				for p := 0; p < points; p++ {
					m := []tracking.Metric{{Key: "loss", Value: float64(p), Step: int64(p), Timestamp: int64(p)}}
					if err := st.LogBatch(ctx, info.ID, m, nil, []tracking.Tag{{Key: "last", Value: fmt.Sprint(p)}}); err != nil {
						errc <- err
						return
					}
				}
				fin := tracking.StatusFinished
				if err := st.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &fin}); err != nil {
					errc <- err
					return
				}
			}
		}(w, st)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("concurrent writer: %v", err)
	}
	exp, err := first.GetExperimentByName(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	runs, _, err := first.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp.ID}, Filter: "status = 'FINISHED'"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != writers*runsEach {
		t.Fatalf("%d finished runs, want %d", len(runs), writers*runsEach)
	}
	for _, r := range runs {
		hist, err := first.MetricHistory(ctx, r.Info.ID, "loss")
		if err != nil || len(hist) != points {
			t.Fatalf("run %s: %d points (%v), want %d", r.Info.Name, len(hist), err, points)
		}
		if v, _ := r.Metric("loss"); v != points-1 {
			t.Fatalf("run %s: latest loss %v, want %d", r.Info.Name, v, points-1)
		}
		if v, _ := r.Tag("last"); v != fmt.Sprint(points-1) {
			t.Fatalf("run %s: tag last = %q", r.Info.Name, v)
		}
	}
	if n, err := first.CountRuns(ctx); err != nil || n != writers*runsEach {
		t.Fatalf("CountRuns = %d, %v; want %d", n, err, writers*runsEach)
	}
}

// testAttributeIN: IN and NOT IN on the string attributes, with quoting.
func testAttributeIN(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	a := mustCreateRun(t, s, tracking.NewRun{Name: "it's", UserID: "ann"})
	b := mustCreateRun(t, s, tracking.NewRun{Name: "b", UserID: "bob"})
	fin := tracking.StatusFinished
	if err := s.UpdateRun(ctx, b.ID, tracking.RunUpdate{Status: &fin}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"status IN ('FINISHED', 'FAILED')", []string{b.ID}},
		{"status NOT IN ('FINISHED')", []string{a.ID}},
		{"user_id IN ('ann')", []string{a.ID}},
		{`run_name IN ('it''s', "b")`, []string{b.ID, a.ID}},
		{`run_name = "it's"`, []string{a.ID}},
	}
	for _, tt := range tests {
		runs, _, err := s.SearchRuns(ctx, tracking.SearchRuns{Filter: tt.filter, OrderBy: []string{"start_time DESC", "run_name"}})
		if err != nil {
			t.Errorf("filter %s: %v", tt.filter, err)
			continue
		}
		var got []string
		for _, r := range runs {
			got = append(got, r.Info.ID)
		}
		if !sameSet(got, tt.want) {
			t.Errorf("filter %s = %v, want %v", tt.filter, got, tt.want)
		}
	}
	_, _, err := s.SearchRuns(ctx, tracking.SearchRuns{Filter: "metrics.acc IN (1, 2)"})
	wantCode(t, "IN on a metric", err, errs.Invalid)
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b) || reflect.DeepEqual(a, b)
}

// testPurge: deleted runs are listed by deletion time and purged with
// their data; active runs are never purged.
func testPurge(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	keep := mustCreateRun(t, s, tracking.NewRun{Name: "keep"})
	gone := mustCreateRun(t, s, tracking.NewRun{Name: "gone", Params: []tracking.Param{{Key: "p", Value: "1"}}})
	mustLog(t, s, gone.ID, []tracking.Metric{{Key: "m", Value: 1, Step: 1}, {Key: "m", Value: 2, Step: 2}}, nil, []tracking.Tag{{Key: "t", Value: "x"}})
	if ids, err := s.DeletedRuns(ctx, 0); err != nil || len(ids) != 0 {
		t.Fatalf("DeletedRuns before any deletion = %v, %v", ids, err)
	}
	if err := s.DeleteRun(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Hour).UnixMilli()
	if ids, err := s.DeletedRuns(ctx, before); err != nil || len(ids) != 0 {
		t.Fatalf("runs deleted over an hour ago = %v, %v; want none", ids, err)
	}
	ids, err := s.DeletedRuns(ctx, time.Now().Add(time.Minute).UnixMilli())
	if err != nil || len(ids) != 1 || ids[0] != gone.ID {
		t.Fatalf("DeletedRuns = %v, %v; want %s", ids, err, gone.ID)
	}
	err = s.PurgeRun(ctx, keep.ID)
	wantCode(t, "PurgeRun(active)", err, errs.Invalid, "not deleted")
	if err := s.PurgeRun(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetRun(ctx, gone.ID)
	wantCode(t, "GetRun(purged)", err, errs.NotFound)
	_, err = s.MetricHistory(ctx, gone.ID, "m")
	wantCode(t, "MetricHistory(purged)", err, errs.NotFound)
	err = s.PurgeRun(ctx, gone.ID)
	wantCode(t, "PurgeRun twice", err, errs.NotFound)
	if n, _ := s.CountRuns(ctx); n != 1 {
		t.Fatalf("CountRuns after purge = %d", n)
	}
	// The purged run's id is free: nothing of it is left to collide with.
	if ids, _ := s.DeletedRuns(ctx, 0); len(ids) != 0 {
		t.Fatalf("deleted runs after purge: %v", ids)
	}
}
