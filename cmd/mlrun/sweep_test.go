package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// children returns the sweep's parent and its child runs.
func sweepRuns(t *testing.T, e *env) (parent *tracking.Run, children []*tracking.Run) {
	t.Helper()
	for _, r := range e.runs() {
		if _, ok := r.Tag("mlrun.sweep"); ok {
			if parent != nil {
				t.Fatal("two sweep parents in the store")
			}
			parent = r
		}
	}
	if parent == nil {
		t.Fatal("no sweep parent in the store")
	}
	for _, r := range e.runs() {
		if tagOf(r, "mlflow.parentRunId") == parent.Info.ID {
			children = append(children, r)
		}
	}
	return parent, children
}

func TestSweepGridGivesEachCombinationOnce(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	dry := e.ok(dir, "run", ".", "-P", "C=0.1,1,10", "-P", "max_iter=100,200", "--dry-run")
	if got := strings.Count(strings.TrimSpace(dry.stdout), "\n"); got != 6 {
		t.Errorf("--dry-run listed %d trials, want 6:\n%s", got, dry.stdout)
	}
	if n := len(e.runs()); n != 0 {
		t.Fatalf("--dry-run created %d runs", n)
	}
	r := e.ok(dir, "run", ".", "-P", "C=0.1,1,10", "-P", "max_iter=100,200", "-j", "3", "--objective", "metrics.accuracy", "--maximize")
	parent, children := sweepRuns(t, e)
	if len(children) != 6 {
		t.Fatalf("%d child runs, want 6", len(children))
	}
	var combos []string
	for _, c := range children {
		if c.Info.Status != tracking.StatusFinished {
			t.Errorf("child %s is %s", c.Info.ID, c.Info.Status)
		}
		C, _ := c.Param("C")
		it, _ := c.Param("max_iter")
		combos = append(combos, C+"/"+it)
	}
	sort.Strings(combos)
	if got, want := strings.Join(combos, " "), "0.1/100 0.1/200 1.0/100 1.0/200 10.0/100 10.0/200"; got != want { // floats logged as Python's repr
		t.Errorf("combinations %s, want %s", got, want)
	}
	if parent.Info.Status != tracking.StatusFinished || tagOf(parent, "mlrun.sweep.best_run") == "" {
		t.Errorf("parent %s, best %q", parent.Info.Status, tagOf(parent, "mlrun.sweep.best_run"))
	}
	if v, ok := parent.Metric("accuracy"); !ok || v != 1 {
		t.Errorf("the best trial's metrics were not copied to the parent: %v", v)
	}
	if !strings.Contains(r.stdout, "ACCURACY") || strings.Count(r.stdout, "FINISHED") != 6 {
		t.Errorf("summary:\n%s", r.stdout)
	}
	// load and split ran once for the whole sweep; every other trial reused them.
	ran := 0
	for _, c := range children {
		if !strings.HasPrefix(tagOf(c, "mlrun.step.load"), "cached") {
			ran++
		}
	}
	if ran != 1 {
		t.Errorf("load ran in %d trials, want 1", ran)
	}
}

func TestSweepBadValueFailsBeforeAnyRun(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	r := e.run(dir, "run", ".", "-P", "C=0.1,abc,10")
	if r.code != 2 || !strings.Contains(r.stderr, "abc") {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	if n := len(e.runs()); n != 0 {
		t.Errorf("%d runs exist after a bad sweep value", n)
	}
}

// 64 trials, 8 at a time, on one store: nothing lost, nothing locked.
func TestSweepOf64TrialsLosesNothing(t *testing.T) {
	for _, st := range storeEnvs {
		t.Run(st.name, func(t *testing.T) { testSweepOf64Trials(t, st.env(t)) })
	}
}

func testSweepOf64Trials(t *testing.T, e *env) {
	dir := irisDir(t)
	r := e.ok(dir, "run", ".", "-P", "C=logspace(-2,2,64)", "-j", "8")
	if strings.Contains(r.stderr, "locked") {
		t.Errorf("stderr mentions locking:\n%s", r.stderr)
	}
	_, children := sweepRuns(t, e)
	if len(children) != 64 {
		t.Fatalf("%d children, want 64", len(children))
	}
	seen := map[string]bool{}
	for _, c := range children {
		C, _ := c.Param("C")
		seen[C] = true
		if c.Info.Status != tracking.StatusFinished {
			t.Errorf("child C=%s is %s: %s", C, c.Info.Status, tagOf(c, "mlrun.error"))
		}
		for _, key := range []string{"accuracy", "train_accuracy", "train_loss", "log_loss"} {
			if _, ok := c.Metric(key); !ok {
				t.Errorf("child C=%s lost metric %s", C, key)
			}
		}
	}
	if len(seen) != 64 {
		t.Errorf("%d distinct C values, want 64", len(seen))
	}
	// Every point of one child's loss history is there.
	c := children[0]
	iters, _ := c.Param("train.max_iter")
	if n := countHistory(t, e, c.Info.ID, "train_loss"); n < 2 || iters == "" {
		t.Errorf("train_loss history of %s has %d points", c.Info.ID, n)
	}
}

// sweepProject is a command entry point whose trial x=3 fails and whose
// trials can be made slow.
var sweepProject = map[string]string{"MLproject": `name: trials
entry_points:
  main:
    parameters: {x: {type: int, default: 1}, pause: {type: float, default: 0}}
    command: "sleep {pause}; echo trial {x}; if [ {x} = 3 ]; then echo broken >&2; exit 7; fi"
`}

func TestSweepTrialFailsAlone(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, sweepProject)
	r := e.run(dir, "run", ".", "-P", "x=1,2,3,4", "-j", "2")
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (a trial failed)\n%s", r.code, r.stderr)
	}
	parent, children := sweepRuns(t, e)
	status := map[string]tracking.RunStatus{}
	for _, c := range children {
		x, _ := c.Param("x")
		status[x] = c.Info.Status
	}
	want := map[string]tracking.RunStatus{"1": "FINISHED", "2": "FINISHED", "3": "FAILED", "4": "FINISHED"}
	for x, s := range want {
		if status[x] != s {
			t.Errorf("trial x=%s is %s, want %s", x, status[x], s)
		}
	}
	if parent.Info.Status != tracking.StatusFailed || !strings.Contains(tagOf(parent, "mlrun.error"), "1 failed") {
		t.Errorf("parent %s: %q", parent.Info.Status, tagOf(parent, "mlrun.error"))
	}
	if !strings.Contains(r.stdout, "status 7") {
		t.Errorf("the summary does not show the failed trial's error:\n%s", r.stdout)
	}
	// --fail-fast stops at the failure: trials after it do not run.
	e2 := newEnv(t)
	r = e2.run(dir, "run", ".", "-P", "x=3,4,5,6,7,8", "-j", "1", "--fail-fast")
	_, children = sweepRuns(t, e2)
	if r.code != 1 || len(children) != 1 {
		t.Errorf("--fail-fast: exit %d, %d children (want 1)", r.code, len(children))
	}
}

func TestSweepInterruptedLeavesNothingRunning(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, sweepProject)
	c := e.command(dir, "run", ".", "-P", "x=1,2,4,5", "-P", "pause=30", "-j", "2")
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two trials to run", 20*time.Second, func() bool {
		n := 0
		for _, r := range e.runs() {
			if r.Info.Status == tracking.StatusRunning && tagOf(r, "mlflow.parentRunId") != "" {
				n++
			}
		}
		return n == 2
	})
	c.Process.Signal(syscall.SIGINT)
	c.Wait()
	if code := c.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130\n%s", code, out.String())
	}
	parent, children := sweepRuns(t, e)
	if parent.Info.Status != tracking.StatusKilled {
		t.Errorf("parent is %s, want KILLED", parent.Info.Status)
	}
	for _, ch := range children {
		if ch.Info.Status != tracking.StatusKilled {
			x, _ := ch.Param("x")
			t.Errorf("trial x=%s is %s, want KILLED", x, ch.Info.Status)
		}
	}
	if len(children) != 2 {
		t.Errorf("%d trials were created, want the 2 that started", len(children))
	}
}

// stepStates returns each step's summary tag, "cached" or "ran".
func stepStates(r *tracking.Run, names ...string) string {
	var out []string
	for _, n := range names {
		s := "ran"
		if strings.HasPrefix(tagOf(r, "mlrun.step."+n), "cached") {
			s = "cached"
		}
		out = append(out, n+"="+s)
	}
	return strings.Join(out, " ")
}

func TestStepCache(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	writeFiles(t, dir, map[string]string{
		"report.sh": "echo report for $1\n",
		"MLproject": strings.Replace(mustRead(t, filepath.Join(dir, "MLproject")), "      - name: log\n", `      - name: report
        uses: command
        with: {run: "bash report.sh ${{ params.C }}"}
      - name: log
`, 1),
	})
	all := []string{"load", "split", "train", "evaluate", "report", "log"}
	latest := func(args ...string) *tracking.Run {
		t.Helper()
		e.ok(dir, append([]string{"run", "."}, args...)...)
		return e.runs()[0]
	}
	first := latest()
	if got := stepStates(first, all...); strings.Contains(got, "cached") {
		t.Fatalf("first run: %s", got)
	}
	second := latest()
	if got, want := stepStates(second, all...), "load=cached split=cached train=cached evaluate=cached report=cached log=cached"; got != want {
		t.Errorf("identical run: %s, want %s", got, want)
	}
	// The plots, drawn in the background, were written before the first
	// run ended and its cache entries listed them: the replay has them.
	for _, name := range []string{"learning_curve.png", "confusion_matrix.png", "projection.png", "projection.csv", "classification_report.html"} {
		a, err := os.ReadFile(filepath.Join(artifactDir(first), name))
		if err != nil {
			t.Fatalf("first run: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(artifactDir(second), name)); err != nil || !bytes.Equal(a, b) {
			t.Errorf("the replayed run's %s differs from the first's (%v)", name, err)
		}
	}
	// The replayed run has what the first one logged, and its own model.
	for _, key := range []string{"accuracy", "train_loss", "train_accuracy"} {
		a, _ := first.Metric(key)
		b, ok := second.Metric(key)
		if !ok || a != b {
			t.Errorf("metric %s: %v then %v", key, a, b)
		}
	}
	if got := tagOf(second, "model_uri"); got != "runs:/"+second.Info.ID+"/model" {
		t.Errorf("model_uri tag of the cached run = %q", got)
	}
	if _, err := os.Stat(filepath.Join(artifactDir(second), "model", "model.json")); err != nil {
		t.Errorf("the cached run has no model: %v", err)
	}
	if got := tagOf(second, "mlrun.dataset.data/iris.csv"); got == "" {
		t.Error("the cached run lost its dataset version")
	}

	// A parameter invalidates the steps that read it, and what follows.
	if got, want := stepStates(latest("-P", "C=0.5"), all...), "load=cached split=cached train=ran evaluate=ran report=ran log=cached"; got != want {
		t.Errorf("new C: %s, want %s", got, want)
	}
	// The command's script.
	writeFiles(t, dir, map[string]string{"report.sh": "echo changed report for $1\n"})
	if got, want := stepStates(latest(), all...), "load=cached split=cached train=cached evaluate=cached report=ran log=cached"; got != want {
		t.Errorf("changed script: %s, want %s", got, want)
	}
	// The data file.
	data := mustRead(t, filepath.Join(dir, "data", "iris.csv"))
	writeFiles(t, dir, map[string]string{"data/iris.csv": strings.Replace(data, "5.1,3.5,1.4,0.2,0", "5.1,3.5,1.4,0.3,0", 1)})
	if got, want := stepStates(latest(), all...), "load=ran split=ran train=ran evaluate=ran report=cached log=ran"; got != want {
		t.Errorf("changed data: %s, want %s", got, want)
	}
	// --no-cache runs everything.
	if got := stepStates(latest("--no-cache"), all...); strings.Contains(got, "cached") {
		t.Errorf("--no-cache: %s", got)
	}
	// A cached output whose files are gone is not reused.
	reused := latest()
	source := tagOf(reused, "mlrun.cache.train")
	if source == "" {
		t.Fatalf("train was not reused: %s", stepStates(reused, all...))
	}
	for _, r := range e.runs() {
		if r.Info.ID == source {
			if err := os.RemoveAll(filepath.Join(artifactDir(r), "model")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := stepStates(latest(), "train"); got != "train=ran" {
		t.Errorf("model files deleted: %s, want train=ran", got)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRunsCompareASweep(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".", "-P", "C=0.01,1", "-P", "max_iter=200", "--run-name", "cmp")
	parent, children := sweepRuns(t, e)
	table := e.ok(dir, "runs", "compare", parent.Info.ID[:8])
	// C differs between the trials, max_iter does not.
	var cLine, iterLine string
	for _, line := range strings.Split(table.stdout, "\n") {
		if strings.Contains(line, "params.C ") {
			cLine = line
		}
		if strings.Contains(line, "params.max_iter") {
			iterLine = line
		}
	}
	if !strings.HasPrefix(cLine, "* ") || strings.HasPrefix(iterLine, "* ") {
		t.Errorf("differing rows not marked:\n%s", table.stdout)
	}
	csvOut := e.ok(dir, "runs", "compare", children[0].Info.ID, children[1].Info.ID, "-o", "csv").stdout
	lines := strings.Split(strings.TrimSpace(csvOut), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "run_id,run_name,status,params.C") || !strings.Contains(lines[0], "metrics.accuracy") {
		t.Errorf("csv:\n%s", csvOut)
	}
	js := e.ok(dir, "runs", "compare", parent.Info.ID, "-o", "json").stdout
	if !strings.Contains(js, `"params.C"`) || strings.Contains(js, `"params.max_iter"`) && strings.Contains(js[strings.Index(js, `"differing"`):], "max_iter") {
		t.Errorf("json differing: %s", js[strings.Index(js, `"differing"`):])
	}
	// runs list shows the trials under their parent.
	list := e.ok(dir, "runs", "list").stdout
	pi := strings.Index(list, "cmp ")
	ci := strings.Index(list, "└ cmp-1")
	if pi < 0 || ci < pi {
		t.Errorf("trials not grouped under the parent:\n%s", list)
	}
}

// A sweep declared in the MLproject runs with --sweep, and its objective
// and goal apply.
func TestSweepDeclaredInTheMLproject(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	text := strings.Replace(mustRead(t, filepath.Join(dir, "MLproject")), "\n    steps:\n", `
    sweep:
      parameters:
        C: [0.01, 1]
        max_iter: "range(100, 300, 100)"
      objective: metrics.log_loss
      goal: minimize
    steps:
`, 1)
	writeFiles(t, dir, map[string]string{"MLproject": text})
	dry := e.ok(dir, "run", ".", "--sweep", "--dry-run")
	if got := strings.Count(strings.TrimSpace(dry.stdout), "\n"); got != 4 {
		t.Errorf("--sweep --dry-run listed %d trials, want 4:\n%s", got, dry.stdout)
	}
	e.ok(dir, "run", ".", "--sweep")
	parent, children := sweepRuns(t, e)
	if len(children) != 4 {
		t.Fatalf("%d trials, want 4", len(children))
	}
	lowest, bestLoss := 1e9, -1.0
	for _, c := range children {
		v, _ := c.Metric("log_loss")
		lowest = math.Min(lowest, v)
		if c.Info.ID == tagOf(parent, "mlrun.sweep.best_run") {
			bestLoss = v
		}
	}
	if bestLoss != lowest {
		t.Errorf("best trial's log_loss %v, want the lowest, %v (trials may tie)", bestLoss, lowest)
	}
	// Without --sweep the section is not used: a plain run.
	e2 := newEnv(t)
	e2.ok(dir, "run", ".")
	if n := len(e2.runs()); n != 1 {
		t.Errorf("a plain run made %d runs", n)
	}
}
