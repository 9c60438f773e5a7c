package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// t0 is a fixed instant the schedule tests work from.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func newSchedule(name string) *tracking.Schedule {
	return &tracking.Schedule{
		Name: name, Cron: "@every 10s", ProjectDir: "/proj", EntryPoint: "main",
		Params:  []tracking.KV{{Key: "C", Value: "0.5"}},
		Overlap: tracking.OverlapSkip, Missed: tracking.MissedRunOnce,
		CreatedAt: t0, UpdatedAt: t0, NextRun: t0.Add(10 * time.Second),
	}
}

// claimAt claims the fire at fire with the given status for host/pid.
func claimAt(t *testing.T, s tracking.Store, name string, fire time.Time, status string, pid int) *tracking.Fire {
	t.Helper()
	f, err := s.ClaimFire(context.Background(), name, func(sc *tracking.Schedule) *tracking.Decision {
		return &tracking.Decision{
			Fire:    tracking.Fire{FireTime: fire, Status: status, Started: fire, Host: "h", PID: pid, LogPath: "/log/" + name},
			NextRun: fire.Add(10 * time.Second),
		}
	})
	if err != nil {
		t.Fatalf("ClaimFire(%s, %s): %v", name, fire, err)
	}
	return f
}

func testScheduleCRUD(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	if err := s.CreateSchedule(ctx, newSchedule("b")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSchedule(ctx, newSchedule("a")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "duplicate", s.CreateSchedule(ctx, newSchedule("a")), errs.Conflict, `"a"`)

	got, err := s.GetSchedule(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Cron != "@every 10s" || got.ProjectDir != "/proj" || len(got.Params) != 1 || got.Params[0] != (tracking.KV{Key: "C", Value: "0.5"}) ||
		!got.NextRun.Equal(t0.Add(10*time.Second)) || !got.CreatedAt.Equal(t0) || got.Paused || got.LastOutcome != "" {
		t.Fatalf("GetSchedule = %+v", got)
	}
	_, err = s.GetSchedule(ctx, "zzz")
	wantCode(t, "get missing", err, errs.NotFound, `"zzz"`)

	list, err := s.ListSchedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" {
		t.Fatalf("ListSchedules = %v", list)
	}

	// Pausing keeps the next run; resuming sets it.
	if err := s.SetPaused(ctx, "a", true, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSchedule(ctx, "a"); !got.Paused || !got.NextRun.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("after pause: %+v", got)
	}
	if err := s.SetPaused(ctx, "a", false, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSchedule(ctx, "a"); got.Paused || !got.NextRun.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after resume: %+v", got)
	}
	wantCode(t, "pause missing", s.SetPaused(ctx, "zzz", true, time.Time{}), errs.NotFound)

	// The latest fire and the counts show in the tracking.
	claimAt(t, s, "a", t0.Add(10*time.Second), tracking.FireSkipped, 1)
	claimAt(t, s, "a", t0.Add(20*time.Second), tracking.FireRunning, 1)
	f := claimAt(t, s, "a", t0.Add(30*time.Second), tracking.FireQueued, 1)
	got, _ = s.GetSchedule(ctx, "a")
	if got.Running != 1 || got.Queued != 1 || got.LastOutcome != tracking.FireQueued || !got.LastRun.Equal(f.FireTime) {
		t.Fatalf("counts: %+v", got)
	}
	fires, err := s.Fires(ctx, "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(fires) != 2 || !fires[0].FireTime.Equal(t0.Add(30*time.Second)) || !fires[1].FireTime.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("Fires = %+v", fires)
	}
	_, err = s.Fires(ctx, "zzz", 5)
	wantCode(t, "fires of missing", err, errs.NotFound)

	// Removing a schedule removes its history.
	if err := s.DeleteSchedule(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete again", s.DeleteSchedule(ctx, "a"), errs.NotFound, `"a"`)
	if err := s.CreateSchedule(ctx, newSchedule("a")); err != nil {
		t.Fatal(err)
	}
	if fires, _ := s.Fires(ctx, "a", 10); len(fires) != 0 {
		t.Fatalf("a re-added schedule inherited %d fires", len(fires))
	}
}

// The fire row is a lease: a second claim of the same fire gets nothing,
// and the claim moves the schedule's next run.
func testClaimFireLease(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	if err := s.CreateSchedule(ctx, newSchedule("a")); err != nil {
		t.Fatal(err)
	}
	fire := t0.Add(10 * time.Second)
	if f := claimAt(t, s, "a", fire, tracking.FireRunning, 1); f == nil || f.Status != tracking.FireRunning || f.Schedule != "a" {
		t.Fatalf("first claim = %+v", f)
	}
	if f := claimAt(t, s, "a", fire, tracking.FireRunning, 2); f != nil {
		t.Fatalf("second claim of the same fire = %+v, want nil", f)
	}
	got, _ := s.GetSchedule(ctx, "a")
	if !got.NextRun.Equal(fire.Add(10 * time.Second)) {
		t.Fatalf("next run %s, want %s", got.NextRun, fire.Add(10*time.Second))
	}
	// decide sees the schedule as stored, with its running count; nil
	// changes nothing.
	var seen *tracking.Schedule
	f, err := s.ClaimFire(ctx, "a", func(sc *tracking.Schedule) *tracking.Decision { seen = sc; return nil })
	if err != nil || f != nil {
		t.Fatalf("nil decision: %v, %v", f, err)
	}
	if seen == nil || seen.Running != 1 {
		t.Fatalf("decide saw %+v", seen)
	}
	// A schedule removed meanwhile is nothing to do.
	if f, err := s.ClaimFire(ctx, "gone", func(*tracking.Schedule) *tracking.Decision { t.Fatal("decide called"); return nil }); f != nil || err != nil {
		t.Fatalf("claim of a missing schedule: %v, %v", f, err)
	}
}

// Many stores on one file claiming the same fires at once: each fire has
// exactly one owner.
func testClaimFireConcurrent(t *testing.T, h *Harness) {
	ctx := context.Background()
	first := h.Open(t)
	open := func() tracking.Store {
		if h.Reopen == nil {
			return first
		}
		return h.Reopen(t, first)
	}
	if err := first.CreateSchedule(ctx, newSchedule("a")); err != nil {
		t.Fatal(err)
	}
	const stores, fires = 6, 20
	var mu sync.Mutex
	owners := map[time.Time][]int{}
	var wg sync.WaitGroup
	for i := 0; i < stores; i++ {
		s := open()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 1; k <= fires; k++ {
				fire := t0.Add(time.Duration(k) * 10 * time.Second)
				f, err := s.ClaimFire(ctx, "a", func(sc *tracking.Schedule) *tracking.Decision {
					return &tracking.Decision{Fire: tracking.Fire{FireTime: fire, Status: tracking.FireSkipped, PID: i}, NextRun: fire.Add(10 * time.Second)}
				})
				if err != nil {
					t.Error(err)
					return
				}
				if f != nil {
					mu.Lock()
					owners[f.FireTime.UTC()] = append(owners[f.FireTime.UTC()], i)
					mu.Unlock()
				}
			}
		}(i)
	}
	wg.Wait()
	if len(owners) != fires {
		t.Fatalf("%d fires claimed, want %d", len(owners), fires)
	}
	for fire, who := range owners {
		if len(who) != 1 {
			t.Errorf("fire %s claimed by stores %v", fire, who)
		}
	}
	stored, _ := first.Fires(ctx, "a", 100)
	if len(stored) != fires {
		t.Fatalf("%d fire rows, want %d", len(stored), fires)
	}
}

func testQueuedEndAndReap(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	if err := s.CreateSchedule(ctx, newSchedule("a")); err != nil {
		t.Fatal(err)
	}
	running := claimAt(t, s, "a", t0.Add(10*time.Second), tracking.FireRunning, 1)
	claimAt(t, s, "a", t0.Add(20*time.Second), tracking.FireQueued, 1)

	// The queued fire waits while one runs.
	if f, err := s.StartQueued(ctx, "a", "h2", 7, t0.Add(25*time.Second)); err != nil || f != nil {
		t.Fatalf("StartQueued while running: %+v, %v", f, err)
	}
	running.Status, running.Ended, running.RunID = tracking.FireFinished, t0.Add(24*time.Second), "r1"
	if err := s.EndFire(ctx, running); err != nil {
		t.Fatal(err)
	}
	f, err := s.StartQueued(ctx, "a", "h2", 7, t0.Add(25*time.Second))
	if err != nil || f == nil {
		t.Fatalf("StartQueued after the end: %+v, %v", f, err)
	}
	if f.Status != tracking.FireRunning || f.Host != "h2" || f.PID != 7 || !f.FireTime.Equal(t0.Add(20*time.Second)) || f.LogPath != "/log/a" {
		t.Fatalf("started queued fire = %+v", f)
	}
	if again, _ := s.StartQueued(ctx, "a", "h2", 7, t0); again != nil {
		t.Fatalf("a fire started twice: %+v", again)
	}

	// Its owner dies: the fire is reaped, once, and only on its host.
	dead := func(pid int) bool { return pid != 7 }
	if reaped, err := s.ReapFires(ctx, "other-host", func(int) bool { return false }, t0); err != nil || len(reaped) != 0 {
		t.Fatalf("reaped on another host: %v, %v", reaped, err)
	}
	if reaped, err := s.ReapFires(ctx, "h2", func(int) bool { return true }, t0); err != nil || len(reaped) != 0 {
		t.Fatalf("reaped a live owner's fire: %v, %v", reaped, err)
	}
	reaped, err := s.ReapFires(ctx, "h2", dead, t0.Add(30*time.Second))
	if err != nil || len(reaped) != 1 || reaped[0].Status != tracking.FireFailed {
		t.Fatalf("ReapFires = %+v, %v", reaped, err)
	}
	fires, _ := s.Fires(ctx, "a", 10)
	if fires[0].Status != tracking.FireFailed || fires[0].Message == "" || !fires[0].Ended.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("reaped fire = %+v", fires[0])
	}
	if fires[1].Status != tracking.FireFinished || fires[1].RunID != "r1" {
		t.Fatalf("ended fire = %+v", fires[1])
	}
	if again, _ := s.ReapFires(ctx, "h2", dead, t0); len(again) != 0 {
		t.Fatalf("reaped twice: %v", again)
	}
	// Ending a fire whose schedule is gone is no error.
	s.DeleteSchedule(ctx, "a")
	if err := s.EndFire(ctx, running); err != nil {
		t.Fatalf("EndFire after removal: %v", err)
	}
}

func testApplySchedules(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	src := "/p/MLproject"
	a, b := newSchedule("a"), newSchedule("b")
	changes, err := s.ApplySchedules(ctx, src, []*tracking.Schedule{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want := []tracking.Change{{Name: "a", Action: "created"}, {Name: "b", Action: "created"}}
	if !equalChanges(changes, want) {
		t.Fatalf("first apply = %v", changes)
	}
	if got, _ := s.GetSchedule(ctx, "a"); got.Source != src {
		t.Fatalf("source = %q", got.Source)
	}
	s.SetPaused(ctx, "a", true, time.Time{})
	claimAt(t, s, "a", t0.Add(10*time.Second), tracking.FireSkipped, 1)

	// a gets a new parameter (same cron: next run kept), b a new cron
	// (next run from the list), c is new; then apply without b.
	a2, b2, c := newSchedule("a"), newSchedule("b"), newSchedule("c")
	a2.Params = []tracking.KV{{Key: "C", Value: "1.0"}}
	a2.NextRun = t0.Add(time.Hour)
	b2.Cron, b2.NextRun = "@every 1m", t0.Add(time.Minute)
	changes, err = s.ApplySchedules(ctx, src, []*tracking.Schedule{a2, b2, c})
	if err != nil {
		t.Fatal(err)
	}
	want = []tracking.Change{{Name: "a", Action: "updated"}, {Name: "b", Action: "updated"}, {Name: "c", Action: "created"}}
	if !equalChanges(changes, want) {
		t.Fatalf("second apply = %v", changes)
	}
	ga, _ := s.GetSchedule(ctx, "a")
	if !ga.Paused || ga.Params[0].Value != "1.0" || !ga.NextRun.Equal(t0.Add(10*time.Second+10*time.Second)) || ga.LastOutcome != tracking.FireSkipped {
		t.Fatalf("updated a = %+v", ga)
	}
	if gb, _ := s.GetSchedule(ctx, "b"); gb.Cron != "@every 1m" || !gb.NextRun.Equal(t0.Add(time.Minute)) {
		t.Fatalf("updated b = %+v", gb)
	}
	changes, err = s.ApplySchedules(ctx, src, []*tracking.Schedule{a2, c})
	if err != nil {
		t.Fatal(err)
	}
	want = []tracking.Change{{Name: "a", Action: "unchanged"}, {Name: "c", Action: "unchanged"}, {Name: "b", Action: "removed"}}
	if !equalChanges(changes, want) {
		t.Fatalf("third apply = %v", changes)
	}

	// A name held by another source is a conflict, and nothing changes.
	if err := s.CreateSchedule(ctx, newSchedule("manual")); err != nil {
		t.Fatal(err)
	}
	_, err = s.ApplySchedules(ctx, src, []*tracking.Schedule{newSchedule("new"), newSchedule("manual")})
	wantCode(t, "apply over a manual schedule", err, errs.Conflict, `"manual"`, "mlrun schedule add")
	if _, err := s.GetSchedule(ctx, "new"); errs.Code(err) != errs.NotFound {
		t.Fatalf("a failed apply created a schedule: %v", err)
	}
	_, err = s.ApplySchedules(ctx, "/other/MLproject", []*tracking.Schedule{newSchedule("a")})
	wantCode(t, "apply over another project's schedule", err, errs.Conflict, src)
}

func equalChanges(a, b []tracking.Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testRunByTag(t *testing.T, h *Harness) {
	ctx := context.Background()
	s := h.Open(t)
	info := mustCreateRun(t, s, tracking.NewRun{Tags: []tracking.Tag{{Key: "mlrun.schedule.fire", Value: "a@x"}}})
	mustCreateRun(t, s, tracking.NewRun{Tags: []tracking.Tag{{Key: "mlrun.schedule.fire", Value: "a@y"}}})
	id, status, err := s.RunByTag(ctx, "mlrun.schedule.fire", "a@x")
	if err != nil || id != info.ID || status != tracking.StatusRunning {
		t.Fatalf("RunByTag = %s, %s, %v; want %s RUNNING", id, status, err, info.ID)
	}
	_, _, err = s.RunByTag(ctx, "mlrun.schedule.fire", "a@z")
	wantCode(t, "no such tag", err, errs.NotFound)
}
