package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/schedule"
	"github.com/mlrun/mlrun/tracking"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNext(t *testing.T) {
	cases := []struct {
		expr, tz, after, want string
	}{
		{"0 3 * * *", "UTC", "2024-01-02T03:04:05Z", "2024-01-03T03:00:00Z"},
		{"0 3 * * *", "UTC", "2024-01-02T02:59:59Z", "2024-01-02T03:00:00Z"},
		{"0 3 * * *", "UTC", "2024-01-02T03:00:00Z", "2024-01-03T03:00:00Z"}, // strictly after
		{"*/15 * * * *", "UTC", "2024-01-02T03:04:05Z", "2024-01-02T03:15:00Z"},
		{"30 6 * * MON-FRI", "UTC", "2024-01-05T07:00:00Z", "2024-01-08T06:30:00Z"}, // Friday → Monday
		{"@hourly", "UTC", "2024-01-02T03:04:05Z", "2024-01-02T04:00:00Z"},
		{"@daily", "UTC", "2024-01-02T03:04:05Z", "2024-01-03T00:00:00Z"},
		{"@every 30s", "", "2024-01-02T03:04:05Z", "2024-01-02T03:04:35Z"},
		{"@every 30s", "", "2024-01-02T03:04:05.5Z", "2024-01-02T03:04:35Z"}, // whole seconds
		{"@every 1h30m", "", "2024-01-02T03:04:05Z", "2024-01-02T04:34:05Z"},
		// The fields are read in the time zone: 03:00 in Paris is 02:00
		// UTC in winter and 01:00 UTC in summer.
		{"0 3 * * *", "Europe/Paris", "2024-01-02T00:00:00Z", "2024-01-02T02:00:00Z"},
		{"0 3 * * *", "Europe/Paris", "2024-07-02T00:00:00Z", "2024-07-02T01:00:00Z"},
		{"CRON_TZ=America/New_York 0 9 * * *", "", "2024-01-02T00:00:00Z", "2024-01-02T14:00:00Z"},
	}
	for _, tc := range cases {
		spec, err := schedule.Parse(tc.expr, tc.tz)
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", tc.expr, tc.tz, err)
			continue
		}
		got := spec.Next(mustTime(t, tc.after))
		if want := mustTime(t, tc.want); !got.Equal(want) {
			t.Errorf("Parse(%q, %q).Next(%s) = %s, want %s", tc.expr, tc.tz, tc.after, got.UTC().Format(time.RFC3339), tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		expr, tz string
		want     []string
	}{
		{"", "", []string{"empty"}},
		{"* * *", "", []string{`"* * *"`, "5 fields"}},
		{"0 3 * * * *", "", []string{`"0 3 * * * *"`, "found 6"}},
		{"61 * * * *", "", []string{`"61 * * * *"`, "61", "59"}},
		{"0 25 * * *", "", []string{`"0 25 * * *"`, "25"}},
		{"a b c d e", "", []string{`"a b c d e"`}},
		{"@fortnightly", "", []string{`"@fortnightly"`}},
		{"@every 500ms", "", []string{"whole number of seconds"}},
		{"@every 1.5s", "", []string{"whole number of seconds"}},
		{"@every soon", "", []string{`"soon"`, "duration"}},
		{"@every", "", []string{"@every takes one duration"}},
		{"0 0 30 2 *", "", []string{`"0 0 30 2 *"`, "never fires"}},
		{"0 3 * * *", "Mars/Olympus", []string{`"Mars/Olympus"`, "time zone"}},
		{"CRON_TZ=UTC 0 3 * * *", "Europe/Paris", []string{"give one of them"}},
		{"CRON_TZ=Nowhere/Land 0 3 * * *", "", []string{"Nowhere/Land"}},
	}
	for _, tc := range cases {
		_, err := schedule.Parse(tc.expr, tc.tz)
		if errs.Code(err) != errs.Invalid {
			t.Errorf("Parse(%q, %q) = %v (code %s), want errs.Invalid", tc.expr, tc.tz, err, errs.Code(err))
			continue
		}
		msg := errs.Message(err)
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("Parse(%q, %q): message %q lacks %q", tc.expr, tc.tz, msg, w)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("Parse(%q): message spans lines: %q", tc.expr, msg)
		}
	}
}

func TestValidate(t *testing.T) {
	good := func() *schedule.Schedule {
		s := &schedule.Schedule{Name: "nightly", Cron: "@daily", ProjectDir: "/p"}
		s.SetDefaults()
		return s
	}
	if s := good(); s.EntryPoint != "main" || s.Overlap != "skip" || s.Missed != "run_once" {
		t.Fatalf("defaults: %+v", s)
	}
	if err := schedule.Validate(good()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(*schedule.Schedule)
		want   string
	}{
		{"bad name", func(s *schedule.Schedule) { s.Name = "a/b" }, `"a/b"`},
		{"empty name", func(s *schedule.Schedule) { s.Name = "" }, "schedule name"},
		{"bad cron", func(s *schedule.Schedule) { s.Cron = "nope" }, `"nope"`},
		{"bad overlap", func(s *schedule.Schedule) { s.Overlap = "sometimes" }, "skip, queue or allow"},
		{"bad missed", func(s *schedule.Schedule) { s.Missed = "all" }, "run_once or skip"},
		{"relative dir", func(s *schedule.Schedule) { s.ProjectDir = "rel" }, "absolute"},
		{"empty param", func(s *schedule.Schedule) { s.Params = []schedule.KV{{Value: "1"}} }, "parameter name"},
	}
	for _, tc := range cases {
		s := good()
		tc.change(s)
		err := schedule.Validate(s)
		if errs.Code(err) != errs.Invalid || !strings.Contains(errs.Message(err), tc.want) {
			t.Errorf("%s: %v, want errs.Invalid containing %q", tc.name, err, tc.want)
		}
	}
}

func TestDecide(t *testing.T) {
	base := mustTime(t, "2024-01-02T03:00:00Z")
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	cases := []struct {
		name             string
		cron             string // default @every 10s
		overlap, missed  string
		paused           bool
		next             time.Time // the schedule's stored next run
		running, queued  int
		now              time.Time
		wantNil          bool
		status           string
		fire, nextRun    time.Time
		messageHas       string
		messageLacksNote bool
	}{
		{name: "not due", next: at(10), now: at(9), wantNil: true},
		{name: "paused", paused: true, next: at(10), now: at(11), wantNil: true},
		{name: "due and idle", next: at(10), now: at(10), status: "RUNNING", fire: at(10), nextRun: at(20), messageLacksNote: true},
		{name: "due a little late", next: at(10), now: at(12), status: "RUNNING", fire: at(10), nextRun: at(20), messageLacksNote: true},
		{name: "skip while running", next: at(10), now: at(10), running: 1, status: "SKIPPED", fire: at(10), nextRun: at(20), messageHas: "still running"},
		{name: "queue while running", overlap: "queue", next: at(10), now: at(10), running: 1, status: "QUEUED", fire: at(10), nextRun: at(20), messageHas: "queued"},
		{name: "queue full", overlap: "queue", next: at(10), now: at(10), running: 1, queued: 1, status: "SKIPPED", fire: at(10), nextRun: at(20), messageHas: "already queued"},
		{name: "allow while running", overlap: "allow", next: at(10), now: at(10), running: 3, status: "RUNNING", fire: at(10), nextRun: at(20)},
		// Down from 10 to 95: fires 10..90 (9 of them) missed.
		{name: "missed, run once", next: at(10), now: at(95), status: "RUNNING", fire: at(90), nextRun: at(100), messageHas: "catch-up job for 9 fires"},
		{name: "missed, skip", missed: "skip", next: at(10), now: at(95), status: "SKIPPED", fire: at(90), nextRun: at(100), messageHas: "missed 9 fires"},
		{name: "missed while running, skip overlap", next: at(10), now: at(95), running: 1, status: "SKIPPED", fire: at(90), nextRun: at(100), messageHas: "still running"},
		// One fire, but later than missedAfter (60 s).
		{name: "one late fire, run once", cron: "@every 1h", next: at(10), now: at(75), status: "RUNNING", fire: at(10), nextRun: at(3610), messageHas: "catch-up"},
		{name: "one late fire, skip", cron: "@every 1h", missed: "skip", next: at(10), now: at(75), status: "SKIPPED", fire: at(10), nextRun: at(3610), messageHas: "noticed 1m5s late"},
		{name: "one fire within missedAfter", cron: "@every 1h", next: at(10), now: at(69), status: "RUNNING", fire: at(10), nextRun: at(3610), messageLacksNote: true},
	}
	for _, tc := range cases {
		if tc.cron == "" {
			tc.cron = "@every 10s"
		}
		spec, err := schedule.Parse(tc.cron, "")
		if err != nil {
			t.Fatal(err)
		}
		s := &schedule.Schedule{Name: "s", Cron: tc.cron, ProjectDir: "/p", Overlap: tc.overlap, Missed: tc.missed,
			Paused: tc.paused, NextRun: tc.next, Running: tc.running, Queued: tc.queued}
		s.SetDefaults()
		d := schedule.Decide(s, spec, tc.now, time.Minute)
		if tc.wantNil {
			if d != nil {
				t.Errorf("%s: Decide = %+v, want nil", tc.name, d)
			}
			continue
		}
		if d == nil {
			t.Errorf("%s: Decide = nil", tc.name)
			continue
		}
		if d.Fire.Status != tc.status || !d.Fire.FireTime.Equal(tc.fire) || !d.NextRun.Equal(tc.nextRun) || d.Fire.Schedule != "s" {
			t.Errorf("%s: fire %s at %s, next %s; want %s at %s, next %s", tc.name,
				d.Fire.Status, d.Fire.FireTime.Format(time.TimeOnly), d.NextRun.Format(time.TimeOnly),
				tc.status, tc.fire.Format(time.TimeOnly), tc.nextRun.Format(time.TimeOnly))
		}
		if !strings.Contains(d.Fire.Message, tc.messageHas) {
			t.Errorf("%s: message %q lacks %q", tc.name, d.Fire.Message, tc.messageHas)
		}
		if tc.messageLacksNote && d.Fire.Message != "" {
			t.Errorf("%s: unexpected message %q", tc.name, d.Fire.Message)
		}
	}
}

// After a very long downtime the walk through missed fires is bounded and
// the next run still lands after now.
func TestDecideLongDowntime(t *testing.T) {
	every1s, _ := schedule.Parse("@every 1s", "")
	next := mustTime(t, "2024-01-01T00:00:00Z")
	now := next.Add(30 * 24 * time.Hour) // 2.6 million fires
	s := &schedule.Schedule{Name: "s", Cron: "@every 1s", NextRun: next}
	s.SetDefaults()
	start := time.Now()
	d := schedule.Decide(s, every1s, now, time.Minute)
	if time.Since(start) > 2*time.Second {
		t.Errorf("Decide took %s", time.Since(start))
	}
	if d == nil || d.Fire.Status != schedule.FireRunning || !d.NextRun.After(now) || d.Fire.FireTime.After(now) {
		t.Fatalf("Decide = %+v", d)
	}
}

// A cron schedule's missed fires are walked in its time zone.
func TestDecideCron(t *testing.T) {
	daily, _ := schedule.Parse("0 3 * * *", "UTC")
	s := &schedule.Schedule{Name: "s", Cron: "0 3 * * *", Timezone: "UTC", NextRun: mustTime(t, "2024-01-02T03:00:00Z")}
	s.SetDefaults()
	// Down for three days: fires of the 2nd, 3rd and 4th missed; one catch-up.
	d := schedule.Decide(s, daily, mustTime(t, "2024-01-04T12:00:00Z"), time.Minute)
	if d == nil || d.Fire.Status != "RUNNING" || !d.Fire.FireTime.Equal(mustTime(t, "2024-01-04T03:00:00Z")) ||
		!d.NextRun.Equal(mustTime(t, "2024-01-05T03:00:00Z")) || !strings.Contains(d.Fire.Message, "3 fires") {
		t.Fatalf("Decide = %+v", d)
	}
}

func TestArgsAndPaths(t *testing.T) {
	fire := mustTime(t, "2024-01-02T03:00:00Z")
	s := &schedule.Schedule{Name: "nightly", ProjectDir: "/p", EntryPoint: "train",
		Params: []schedule.KV{{Key: "C", Value: "0.5"}, {Key: "note", Value: "a b"}}, Experiment: "exp"}
	got := strings.Join(schedule.Args(s, fire), "|")
	want := "run|/p|-e|train|-P|C=0.5|-P|note=a b|--experiment|exp|--tag|mlrun.trigger=schedule:nightly|--tag|mlrun.schedule.fire=nightly@2024-01-02T03:00:00Z"
	if got != want {
		t.Fatalf("Args = %s\nwant   %s", got, want)
	}
	if p := schedule.LogPath("/store/schedules", "nightly", fire); p != "/store/schedules/nightly/20240102T030000Z.log" {
		t.Fatalf("LogPath = %s", p)
	}
}

// A Slurm schedule's fires run mlrun run with --executor slurm and its
// resources as --slurm-* flags, each one argv word.
func TestArgsOfASlurmSchedule(t *testing.T) {
	fire := mustTime(t, "2024-01-02T03:00:00Z")
	s := &schedule.Schedule{Name: "n", ProjectDir: "/p", EntryPoint: "main", Executor: "slurm",
		Resources: tracking.Resources{Partition: "gpu", Time: "30", Mem: "4G", CPUs: 2, GPUs: "a100:1", Account: "ml", Args: []string{"--qos=high x"}}}
	got := strings.Join(schedule.Args(s, fire), "|")
	want := "run|/p|-e|main|--executor|slurm|--slurm-partition=gpu|--slurm-time=30|--slurm-mem=4G|--slurm-cpus=2|--slurm-gpus=a100:1|--slurm-account=ml|--slurm-arg=--qos=high x|--tag|mlrun.trigger=schedule:n|--tag|mlrun.schedule.fire=n@2024-01-02T03:00:00Z"
	if got != want {
		t.Fatalf("Args = %s\nwant   %s", got, want)
	}
}
