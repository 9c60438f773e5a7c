package main

import (
	"bufio"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/schedule"
	"github.com/mlrun/mlrun/tracking"
)

// newPGEnv is newEnv with the store on the throwaway PostgreSQL server (a
// schema of its own) and artifacts in a shared directory.
func newPGEnv(t *testing.T) (*env, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	e := newEnv(t)
	artifacts := filepath.Join(t.TempDir(), "team-artifacts")
	e.store = ""
	for i, kv := range e.vars {
		if strings.HasPrefix(kv, "MLRUN_TRACKING_URI=") {
			e.vars[i] = "MLRUN_TRACKING_URI=" + dsn
		}
	}
	e.vars = append(e.vars, "MLRUN_ARTIFACTS_DESTINATION=file://"+artifacts)
	return e, artifacts
}

// The iris example, a parallel sweep, the registry, runs list/show/compare,
// serving a models:/ URI and reproduce, all on PostgreSQL with artifacts
// in the team's artifact directory.
func TestPostgresEndToEnd(t *testing.T) {
	e, artifacts := newPGEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".", "-P", "register_as=iris")
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFinished {
		t.Fatalf("iris run %s", run.Info.Status)
	}
	if want := "file://" + filepath.Join(artifacts, "0", run.Info.ID, "artifacts"); run.Info.ArtifactURI != want {
		t.Fatalf("artifact URI %s, want %s", run.Info.ArtifactURI, want)
	}
	show := e.ok(dir, "runs", "show", run.Info.ID[:8]).stdout
	if !strings.Contains(show, "model/MLmodel") || !strings.Contains(show, "accuracy") {
		t.Fatalf("runs show:\n%s", show)
	}
	models := e.ok(dir, "models", "list").stdout
	if !strings.Contains(models, "iris") || !strings.Contains(models, "champion=1") {
		t.Fatalf("models list:\n%s", models)
	}

	// A sweep of 8 trials, 4 at a time.
	e.ok(dir, "run", ".", "-P", "C=0.01,0.1,1,10", "-P", "max_iter=100,200", "-j", "4", "--objective", "metrics.accuracy", "--maximize")
	runs := e.runs()
	if len(runs) != 1+1+8 {
		t.Fatalf("%d runs after the sweep, want 10", len(runs))
	}
	for _, r := range runs {
		if r.Info.Status != tracking.StatusFinished {
			t.Fatalf("run %s is %s", r.Info.Name, r.Info.Status)
		}
	}
	list := e.ok(dir, "runs", "list", "--filter", "params.C = '10.0'", "--order-by", "metrics.accuracy DESC")
	if n := strings.Count(list.stdout, "FINISHED"); n != 2 {
		t.Fatalf("runs with C=10: %d\n%s", n, list.stdout)
	}
	cmp := e.ok(dir, "runs", "compare", runs[0].Info.ID, runs[1].Info.ID).stdout
	if !strings.Contains(cmp, "params.C") {
		t.Fatalf("runs compare:\n%s", cmp)
	}

	// reproduce the first run: same values.
	out := e.ok(dir, "reproduce", run.Info.ID)
	if !strings.Contains(out.stdout, "matches run "+run.Info.ID) {
		t.Fatalf("reproduce:\n%s\n%s", out.stdout, out.stderr)
	}

	// serve the registered model by alias.
	cmd := e.command(dir, "serve", "models:/iris@champion", "--port", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	urls := make(chan string, 1)
	addrRE := regexp.MustCompile(`^serving models:/iris@champion on (http://\S+)$`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	var url string
	select {
	case url = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	if got, err := predict(&http.Client{Timeout: 10 * time.Second}, url); err != nil || got != "setosa" {
		t.Fatalf("prediction %q, %v; want setosa", got, err)
	}
}

// Sixteen `mlrun run` processes at once on one database: every run is
// there, finished, with all its metrics.
func TestPostgresConcurrentProcesses(t *testing.T) {
	e, _ := newPGEnv(t)
	dir := irisDir(t)
	const n = 16
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = e.run(dir, "run", ".", "-P", fmt.Sprintf("C=0.%d", i+1), "-P", "plots=false")
		}(i)
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("process %d: exit %d\n%s", i, r.code, r.stderr)
		}
	}
	runs := e.runs()
	if len(runs) != n {
		t.Fatalf("%d runs, want %d", len(runs), n)
	}
	for _, r := range runs {
		if _, ok := r.Metric("accuracy"); r.Info.Status != tracking.StatusFinished || !ok {
			t.Fatalf("run %s: %s, metrics %v", r.Info.Name, r.Info.Status, r.Metrics)
		}
	}
}

// Two schedulers on one PostgreSQL store: each fire starts one job.
func TestPostgresTwoSchedulers(t *testing.T) {
	e, _ := newPGEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, schedProject)
	e.ok(dir, "schedule", "add", "twice", "--cron", "@every 1s", ".", "--overlap", "allow")
	added := time.Now()
	p1, p2 := startScheduler(t, e), startScheduler(t, e)
	time.Sleep(time.Until(added.Add(4 * time.Second)))
	p1.stop(t)
	p2.stop(t)
	runs := scheduledRuns(t, e, "twice")
	if len(runs) < 2 {
		t.Fatalf("%d runs, want at least 2\n%s\n%s", len(runs), p1.out.String(), p2.out.String())
	}
	seen := map[string]bool{}
	for _, r := range runs {
		fire := tagOf(r, schedule.FireTag)
		if seen[fire] {
			t.Errorf("two runs for the fire %s", fire)
		}
		seen[fire] = true
		if r.Info.Status != tracking.StatusFinished {
			t.Errorf("scheduled run %s", r.Info.Status)
		}
	}
}

// The database server restarts in the middle of a sweep: the trials in
// flight reconnect and finish (or end FAILED with the reason); no run is
// left RUNNING.
func TestPostgresRestartMidSweep(t *testing.T) {
	e, _ := newPGEnv(t)
	server := pgtest.Start(t)
	dir := irisDir(t)
	cmd := e.command(dir, "run", ".", "-P", "C=loguniform(0.001,10)", "--max-trials", "24", "-j", "4", "-P", "plots=false")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Restart once a few trials have finished.
	waitFor(t, "the first trials", 60*time.Second, func() bool {
		n := 0
		for _, r := range e.runs() {
			if r.Info.Status == tracking.StatusFinished {
				n++
			}
		}
		return n >= 3
	})
	if err := server.Restart(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	runs := e.runs()
	if len(runs) != 25 {
		t.Fatalf("%d runs, want 24 trials and their parent (exit %v)\n%s", len(runs), err, out.String())
	}
	finished := 0
	for _, r := range runs {
		switch r.Info.Status {
		case tracking.StatusFinished:
			finished++
		case tracking.StatusFailed:
			if msg, _ := r.Tag("mlrun.error"); msg == "" {
				t.Errorf("run %s FAILED without a reason", r.Info.Name)
			}
		default:
			t.Errorf("run %s is %s after the sweep ended", r.Info.Name, r.Info.Status)
		}
	}
	t.Logf("%d of %d runs finished across the restart (mlrun exit: %v)", finished, len(runs), err)
}

// db copy moves a SQLite store into PostgreSQL with every run, metric
// point, tag, registry entry and schedule; db upgrade reports the version.
func TestPostgresDBCopy(t *testing.T) {
	lite := newEnv(t)
	dir := irisDir(t)
	lite.ok(dir, "run", ".", "-P", "register_as=iris", "-P", "plots=false")
	lite.ok(dir, "run", ".", "-P", "C=0.5,2", "-P", "plots=false")
	sched := t.TempDir()
	writeFiles(t, sched, schedProject)
	lite.ok(sched, "schedule", "add", "nightly", "--cron", "0 3 * * *", ".")
	before := lite.runs()

	pg, _ := newPGEnv(t)
	var dsn string
	for _, kv := range pg.vars {
		if v, ok := strings.CutPrefix(kv, "MLRUN_TRACKING_URI="); ok {
			dsn = v
		}
	}
	out := pg.ok(dir, "db", "copy", "--from", "sqlite:///"+filepath.Join(lite.store, "mlrun.db"), "--to", dsn).stdout
	if !strings.Contains(out, "every table's rows and checksum match") || !regexp.MustCompile(`(?m)^metrics\s+\d+`).MatchString(out) {
		t.Fatalf("db copy:\n%s", out)
	}
	after := pg.runs()
	if len(after) != len(before) {
		t.Fatalf("%d runs in PostgreSQL, %d in SQLite", len(after), len(before))
	}
	byID := map[string]*tracking.Run{}
	for _, r := range before {
		byID[r.Info.ID] = r
	}
	for _, r := range after {
		old := byID[r.Info.ID]
		if old == nil || fmt.Sprint(old.Params, old.Metrics, old.Tags, old.Info) != fmt.Sprint(r.Params, r.Metrics, r.Tags, r.Info) {
			t.Fatalf("run %s differs after the copy:\n%+v\n%+v", r.Info.ID, old, r)
		}
	}
	if models := pg.ok(dir, "models", "list").stdout; !strings.Contains(models, "champion=1") {
		t.Fatalf("models after the copy:\n%s", models)
	}
	if s := pg.ok(dir, "schedule", "list").stdout; !strings.Contains(s, "nightly") {
		t.Fatalf("schedules after the copy:\n%s", s)
	}
	// New experiments get fresh ids after the copied ones.
	pg.ok(dir, "experiments", "create", "later")
	// A second copy into a store that holds runs is refused.
	r := pg.run(dir, "db", "copy", "--from", "sqlite:///"+filepath.Join(lite.store, "mlrun.db"), "--to", dsn)
	if r.code != 2 || !strings.Contains(r.stderr, "new, empty store") {
		t.Fatalf("second copy: exit %d\n%s", r.code, r.stderr)
	}
	if up := pg.ok(dir, "db", "upgrade").stdout; !regexp.MustCompile(`schema version \d+ \(the latest this mlrun knows: \d+\)`).MatchString(up) {
		t.Fatalf("db upgrade: %s", up)
	}
}
