package schedule_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/schedule"
	"github.com/mlrun/mlrun/sqlite"
)

// fakeJob stands in for the mlrun executable: a real process that records
// when it started and ended (Unix ns) and which fire it serves, sleeping
// $FAKE_SLEEP seconds in between. It creates no run, so its fires end
// FAILED ("without creating a run") unless the scheduler stopped it.
const fakeJob = `#!/bin/sh
fire=""
for a in "$@"; do
  case "$a" in mlrun.schedule.fire=*) fire="${a#mlrun.schedule.fire=}";; esac
done
echo "start $fire $(date +%s%N)" >> "$FAKE_LOG"
trap 'kill $pid 2>/dev/null; echo "end $fire $(date +%s%N)" >> "$FAKE_LOG"; exit 143' TERM
sleep "$FAKE_SLEEP" & pid=$!
wait $pid
echo "end $fire $(date +%s%N)" >> "$FAKE_LOG"
`

// rig is a store, a fake job executable and its log.
type rig struct {
	dir, exe, log string
	store         *sqlite.Store
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{dir: dir, exe: filepath.Join(dir, "fake-mlrun"), log: filepath.Join(dir, "jobs.log")}
	if err := os.WriteFile(r.exe, []byte(fakeJob), 0o755); err != nil {
		t.Fatal(err)
	}
	r.store = r.open(t)
	return r
}

// open opens another handle on the rig's store.
func (r *rig) open(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(r.dir, "mlrun.db"), filepath.Join(r.dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// add saves a schedule of the fake job.
func (r *rig) add(t *testing.T, name, cron, overlap, missed string, next time.Time) {
	t.Helper()
	s := &schedule.Schedule{Name: name, Cron: cron, ProjectDir: r.dir, Overlap: overlap, Missed: missed,
		CreatedAt: time.Now(), UpdatedAt: time.Now(), NextRun: next}
	s.SetDefaults()
	if err := schedule.Validate(s); err != nil {
		t.Fatal(err)
	}
	if err := r.store.CreateSchedule(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// scheduler returns a scheduler of the rig running jobs that sleep sleep seconds.
func (r *rig) scheduler(st schedule.Store, sleep string, out *lockedBuffer) *schedule.Scheduler {
	return &schedule.Scheduler{
		Store:       st,
		TrackingURI: filepath.Join(r.dir, "mlrun.db"),
		LogDir:      filepath.Join(r.dir, "schedules"),
		Executable:  r.exe,
		Env:         []string{"PATH=" + os.Getenv("PATH"), "FAKE_LOG=" + r.log, "FAKE_SLEEP=" + sleep},
		Tick:        50 * time.Millisecond,
		Grace:       5 * time.Second,
		Out:         out,
	}
}

// run runs scheds until d has passed, then stops them and waits.
func runFor(t *testing.T, d time.Duration, scheds ...*schedule.Scheduler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range scheds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	wg.Wait()
}

// interval is one job's life as the fake job recorded it.
type interval struct {
	fire       string
	start, end time.Time
}

// jobs reads the fake jobs' log.
func (r *rig) jobs(t *testing.T) []interval {
	t.Helper()
	f, err := os.Open(r.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byFire := map[string]*interval{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			t.Fatalf("bad job log line %q", sc.Text())
		}
		ns, _ := strconv.ParseInt(fields[2], 10, 64)
		iv := byFire[fields[1]]
		if iv == nil {
			iv = &interval{fire: fields[1]}
			byFire[fields[1]] = iv
			order = append(order, fields[1])
		}
		switch fields[0] {
		case "start":
			if !iv.start.IsZero() {
				t.Errorf("fire %s started twice", fields[1])
			}
			iv.start = time.Unix(0, ns)
		case "end":
			iv.end = time.Unix(0, ns)
		}
	}
	out := make([]interval, 0, len(order))
	for _, k := range order {
		out = append(out, *byFire[k])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// maxConcurrent is the most jobs that ran at one moment.
func maxConcurrent(jobs []interval) int {
	most := 0
	for _, a := range jobs {
		n := 0
		for _, b := range jobs {
			if !b.start.After(a.start) && b.end.After(a.start) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// statuses counts a schedule's fires by status.
func statuses(t *testing.T, st *sqlite.Store, name string) (map[string]int, []*schedule.Fire) {
	t.Helper()
	fires, err := st.Fires(context.Background(), name, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, f := range fires {
		n[f.Status]++
	}
	return n, fires
}

// nextSecond is the next whole second, at least 500 ms away.
func nextSecond() time.Time {
	return time.Now().Add(500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
}

// Jobs slower (2.5 s) than their interval (1 s), for 4.5 s: skip never
// overlaps and records skipped fires; queue runs the waiting fire right
// after the previous job and keeps at most one waiting; allow overlaps.
// The three schedulers run at the same time, each on its own store.
func TestOverlapPolicies(t *testing.T) {
	policies := []string{schedule.OverlapSkip, schedule.OverlapQueue, schedule.OverlapAllow}
	first := nextSecond()
	rigs := make([]*rig, len(policies))
	outs := make([]*lockedBuffer, len(policies))
	var scheds []*schedule.Scheduler
	for i, policy := range policies {
		rigs[i], outs[i] = newRig(t), &lockedBuffer{}
		rigs[i].add(t, "s", "@every 1s", policy, "", first)
		scheds = append(scheds, rigs[i].scheduler(rigs[i].store, "2.5", outs[i]))
	}
	runFor(t, time.Until(first.Add(4500*time.Millisecond)), scheds...)

	for i, policy := range policies {
		r := rigs[i]
		t.Run(policy, func(t *testing.T) {
			jobs := r.jobs(t)
			counts, fires := statuses(t, r.store, "s")
			t.Logf("%s: %d jobs, fires %v\n%s", policy, len(jobs), counts, outs[i].String())
			for _, j := range jobs {
				if j.end.IsZero() {
					t.Errorf("job of fire %s never ended", j.fire)
				}
			}
			if counts[schedule.FireRunning] != 0 {
				t.Errorf("%d fires still RUNNING after the scheduler stopped", counts[schedule.FireRunning])
			}
			for _, f := range fires {
				if f.Status == schedule.FireFailed && !strings.Contains(f.Message, "without creating a run") {
					t.Errorf("fire %s failed: %s", f.FireTime, f.Message)
				}
			}
			switch policy {
			case schedule.OverlapSkip, schedule.OverlapQueue:
				if len(jobs) < 2 {
					t.Fatalf("%d jobs ran, want at least 2", len(jobs))
				}
				if n := maxConcurrent(jobs); n != 1 {
					t.Errorf("%d jobs ran at once, want 1: %v", n, jobs)
				}
				if counts[schedule.FireSkipped] == 0 {
					t.Errorf("no fire was skipped: %v", counts)
				}
			case schedule.OverlapAllow:
				if n := maxConcurrent(jobs); n < 2 {
					t.Errorf("allow: at most %d job ran at once, want 2 or more", n)
				}
				if counts[schedule.FireSkipped] != 0 {
					t.Errorf("allow skipped fires: %v", counts)
				}
			}
			if policy == schedule.OverlapQueue {
				if counts[schedule.FireQueued] > 1 {
					t.Errorf("%d fires queued, want at most 1", counts[schedule.FireQueued])
				}
				// The second job is the queued fire: it starts as soon as the first ends.
				if gap := jobs[1].start.Sub(jobs[0].end); gap < 0 || gap > time.Second {
					t.Errorf("queued job started %s after the previous one ended", gap)
				}
				if want := schedule.FireTagValue("s", first.Add(time.Second)); jobs[1].fire != want {
					t.Errorf("second job served fire %s, want the queued %s", jobs[1].fire, want)
				}
			}
		})
	}
}

// Fires due while no scheduler ran: run_once starts one catch-up job keyed
// by the latest missed fire; skip starts none.
func TestMissedPolicies(t *testing.T) {
	for _, policy := range []string{schedule.MissedRunOnce, schedule.MissedSkip} {
		t.Run(policy, func(t *testing.T) {
			r := newRig(t)
			// An hourly schedule whose last 5 fires were missed.
			now := time.Now()
			hour := now.Truncate(time.Hour)
			r.add(t, "h", "@every 1h", "", policy, hour.Add(-5*time.Hour))
			var out lockedBuffer
			runFor(t, 700*time.Millisecond, r.scheduler(r.store, "0", &out))

			counts, fires := statuses(t, r.store, "h")
			if len(fires) != 1 {
				t.Fatalf("%d fires recorded, want 1: %v\n%s", len(fires), counts, out.String())
			}
			f := fires[0]
			if want := hour.Add(-5 * time.Hour).Add(5 * time.Hour); !f.FireTime.Equal(want) {
				t.Errorf("fire time %s, want the latest missed fire %s", f.FireTime, want)
			}
			sc, _ := r.store.GetSchedule(context.Background(), "h")
			if !sc.NextRun.After(now) {
				t.Errorf("next run %s is not after now", sc.NextRun)
			}
			jobs := r.jobs(t)
			if policy == schedule.MissedRunOnce {
				if len(jobs) != 1 || !strings.Contains(f.Message, "catch-up job for 6 fires") {
					t.Errorf("%d jobs, fire %+v; want one catch-up job", len(jobs), f)
				}
			} else {
				if len(jobs) != 0 || f.Status != schedule.FireSkipped || !strings.Contains(f.Message, "missed 6 fires") {
					t.Errorf("%d jobs, fire %+v; want none and a SKIPPED fire", len(jobs), f)
				}
			}
		})
	}
}

// Two schedulers on one store: every fire starts exactly one job.
func TestTwoSchedulersShareFires(t *testing.T) {
	r := newRig(t)
	first := nextSecond()
	r.add(t, "a", "@every 1s", schedule.OverlapAllow, "", first)
	r.add(t, "b", "@every 1s", schedule.OverlapAllow, "", first)
	var out1, out2 lockedBuffer
	runFor(t, time.Until(first.Add(2500*time.Millisecond)),
		r.scheduler(r.store, "0", &out1), r.scheduler(r.open(t), "0", &out2))

	jobs := r.jobs(t) // fails the test if a fire started twice
	if len(jobs) != 6 {
		t.Errorf("%d jobs, want 6 (3 fires of 2 schedules)\n%s\n%s", len(jobs), out1.String(), out2.String())
	}
	for _, name := range []string{"a", "b"} {
		_, fires := statuses(t, r.store, name)
		if len(fires) != 3 {
			t.Errorf("schedule %s has %d fires, want 3", name, len(fires))
		}
	}
	started := strings.Count(out1.String(), " started, pid ") + strings.Count(out2.String(), " started, pid ")
	if started != len(jobs) {
		t.Errorf("the schedulers report %d starts for %d jobs", started, len(jobs))
	}
}

// lockedBuffer is a strings.Builder safe for the scheduler's goroutine and
// the test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A job that ignores SIGTERM is killed, with its whole process group, when
// the grace period ends, and its fire says so.
func TestStopKillsAfterGrace(t *testing.T) {
	r := newRig(t)
	stubborn := "#!/bin/sh\ntrap '' TERM\necho \"start x $(date +%s%N)\" >> \"$FAKE_LOG\"\nsleep 5\necho \"end x $(date +%s%N)\" >> \"$FAKE_LOG\"\n"
	if err := os.WriteFile(r.exe, []byte(stubborn), 0o755); err != nil {
		t.Fatal(err)
	}
	first := nextSecond()
	r.add(t, "s", "@every 1h", "", "", first)
	var out lockedBuffer
	s := r.scheduler(r.store, "5", &out)
	s.Grace = 300 * time.Millisecond
	stopAt := first.Add(500 * time.Millisecond)
	runFor(t, time.Until(stopAt), s)
	// The job sleeps 5 s; the stop ends it after the 300 ms grace.
	if took := time.Since(stopAt); took > 2*time.Second {
		t.Errorf("stopping took %s", took)
	}
	_, fires := statuses(t, r.store, "s")
	if len(fires) != 1 || fires[0].Status != schedule.FireKilled || !strings.Contains(fires[0].Message, "SIGKILL") {
		t.Fatalf("fires = %+v\n%s", fires, out.String())
	}
	// The job's pid is in the scheduler's output; its group is gone.
	text := out.String()
	i := strings.Index(text, " started, pid ")
	if i < 0 {
		t.Fatalf("no start line:\n%s", text)
	}
	pid, err := strconv.Atoi(strings.TrimRight(strings.Fields(text[i+len(" started, pid "):])[0], ","))
	if err != nil {
		t.Fatalf("pid in %q: %v", text, err)
	}
	// SIGKILL is delivered to the group at once, but a member may take a
	// moment to die (the scheduler waits only for the job's own process).
	live := liveInGroup(pid)
	for deadline := time.Now().Add(3 * time.Second); len(live) > 0 && time.Now().Before(deadline); live = liveInGroup(pid) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(live) > 0 {
		t.Errorf("processes %v of the job's group %d are still running 3 s after the stop", live, pid)
	}
	for _, j := range r.jobs(t) {
		if !j.end.IsZero() {
			t.Errorf("the job ran to its end")
		}
	}
}

// liveInGroup lists the processes of process group pgid that are not
// zombies (a killed orphan may wait a moment for init to reap it).
func liveInGroup(pgid int) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, d := range entries {
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, d.Name())
		}
	}
	return out
}
