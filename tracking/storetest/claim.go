package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// testClaimRun checks ClaimRun's compare-and-swap: of several processes
// racing to claim one SCHEDULED run, exactly one wins and owns it; the
// others, and any later claim, get errs.Conflict.
func testClaimRun(t *testing.T, h *Harness) {
	ctx := context.Background()
	st := h.Open(t)
	info := mustCreateRun(t, st, tracking.NewRun{Name: "scheduled"})
	scheduled := tracking.StatusScheduled
	if err := st.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &scheduled}); err != nil {
		t.Fatal(err)
	}

	const racers = 8
	var wg sync.WaitGroup
	results := make([]error, racers)
	start := make(chan struct{})
	for i := range racers {
		handle := st
		if h.Reopen != nil {
			handle = h.Reopen(t, st)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = handle.ClaimRun(ctx, info.ID, fmt.Sprintf("node%d", i), 1000+i)
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("racers %d and %d both claimed run %s", winner, i, info.ID)
			}
			winner = i
		default:
			wantCode(t, fmt.Sprintf("racer %d's ClaimRun", i), err, errs.Conflict, info.ID, "RUNNING")
		}
	}
	if winner < 0 {
		t.Fatalf("no racer claimed run %s: %v", info.ID, results)
	}
	got := mustGetRun(t, st, info.ID).Info
	if got.Status != tracking.StatusRunning || got.Host != fmt.Sprintf("node%d", winner) || got.PID != 1000+winner {
		t.Fatalf("after the race the run is %s owned by %s/%d; want RUNNING owned by node%d/%d", got.Status, got.Host, got.PID, winner, 1000+winner)
	}

	// An ended run cannot be claimed again.
	fin := tracking.StatusFinished
	if err := st.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &fin}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "ClaimRun of a FINISHED run", st.ClaimRun(ctx, info.ID, "late", 1), errs.Conflict, "FINISHED")
	if got := mustGetRun(t, st, info.ID).Info; got.Status != tracking.StatusFinished || got.Host == "late" {
		t.Fatalf("a refused claim changed the run: %s owned by %s", got.Status, got.Host)
	}
	wantCode(t, "ClaimRun of a missing run", st.ClaimRun(ctx, "0123456789abcdef0123456789abcdef", "h", 1), errs.NotFound)

	// A deleted SCHEDULED run is not executed.
	gone := mustCreateRun(t, st, tracking.NewRun{Name: "deleted"})
	if err := st.UpdateRun(ctx, gone.ID, tracking.RunUpdate{Status: &scheduled}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteRun(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "ClaimRun of a deleted run", st.ClaimRun(ctx, gone.ID, "h", 1), errs.Invalid, "deleted")

	// A run created SCHEDULED (for an executor) has no owner until claimed.
	sub := mustCreateRun(t, st, tracking.NewRun{Name: "submitted", Status: tracking.StatusScheduled})
	if got := mustGetRun(t, st, sub.ID).Info; sub.Status != tracking.StatusScheduled || got.Status != tracking.StatusScheduled {
		t.Fatalf("created SCHEDULED: returned %s, stored %s", sub.Status, got.Status)
	}
	if err := st.ClaimRun(ctx, sub.ID, "node", 7); err != nil {
		t.Fatalf("ClaimRun of a run created SCHEDULED: %v", err)
	}
	_, err := st.CreateRun(ctx, tracking.NewRun{Name: "finished", Status: tracking.StatusFinished})
	wantCode(t, "CreateRun with status FINISHED", err, errs.Invalid, "RUNNING or SCHEDULED")
}
