package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// Issue 9, item 1: a class that is missing from the training split. The
// model knows the classes it saw; evaluate scores over the union of its
// classes and the data's, the unseen class with probability 0.
func TestEvaluateAClassTheModelNeverSaw(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "data", "iris.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	// The header, setosa and versicolor (rows 1-100), one virginica (row 119).
	kept := append(append([]string{}, lines[:101]...), lines[119], "")
	writeFiles(t, dir, map[string]string{"few.csv": strings.Join(kept, "\n")})
	r := e.run(dir, "run", ".", "-P", "data=few.csv", "-P", "random_state=1", "--no-cache")
	run := e.onlyRun()
	if r.code != 0 || run.Info.Status != tracking.StatusFinished {
		t.Fatalf("exit %d, run %s (%s):\n%s", r.code, run.Info.Status, tagOf(run, "mlrun.error"), r.stderr)
	}
	// The one virginica row went to the test split: it is the one mistake.
	if acc, _ := run.Metric("accuracy"); acc != 25.0/26 {
		t.Errorf("accuracy %v, want 25/26", acc)
	}
	// Its probability is 0, clipped to 2.2e-16: it alone adds -log(2.2e-16)/26.
	if ll, ok := run.Metric("log_loss"); !ok || ll < 36.04/26 || ll > 40.0/26 {
		t.Errorf("log_loss %v, want just above -log(eps)/26 = 1.386", ll)
	}
	var rep map[string]json.RawMessage
	raw, err := os.ReadFile(filepath.Join(artifactDir(run), "classification_report.json"))
	if err != nil || json.Unmarshal(raw, &rep) != nil {
		t.Fatalf("classification_report.json: %v\n%s", err, raw)
	}
	var virginica struct {
		Recall  float64 `json:"recall"`
		Support float64 `json:"support"`
	}
	if err := json.Unmarshal(rep["virginica"], &virginica); err != nil || virginica.Support != 1 || virginica.Recall != 0 {
		t.Errorf("report for virginica %s, want support 1 and recall 0", rep["virginica"])
	}
	// The model knows the two classes it was trained on, as scikit-learn's classes_.
	raw, err = os.ReadFile(filepath.Join(artifactDir(run), "model", "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	var model struct {
		Target struct {
			Classes []string `json:"classes"`
		} `json:"target"`
	}
	if err := json.Unmarshal(raw, &model); err != nil || strings.Join(model.Target.Classes, ",") != "setosa,versicolor" {
		t.Errorf("model.json classes %v (%v), want setosa,versicolor", model.Target.Classes, err)
	}
}

// Issue 9, item 2: an SVC without probabilities (scikit-learn's default)
// is evaluated without log_loss and roc_auc, and the run says why.
func TestEvaluateAModelWithoutProbabilities(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	editFile(t, dir, "MLproject", "probability: true", "probability: false")
	r := e.run(dir, "run", ".", "-e", "svc")
	run := e.onlyRun()
	if r.code != 0 || run.Info.Status != tracking.StatusFinished {
		t.Fatalf("exit %d, run %s (%s):\n%s", r.code, run.Info.Status, tagOf(run, "mlrun.error"), r.stderr)
	}
	if _, ok := run.Metric("accuracy"); !ok {
		t.Error("no accuracy")
	}
	for _, key := range []string{"log_loss", "roc_auc"} {
		if v, ok := run.Metric(key); ok {
			t.Errorf("metric %s = %v from a model without probabilities", key, v)
		}
		if why := tagOf(run, "mlrun.metric_skipped."+key); !strings.Contains(why, "no class probabilities") || !strings.Contains(why, "probability: false") {
			t.Errorf("tag mlrun.metric_skipped.%s = %q, want the reason", key, why)
		}
	}
}

// Issue 9, item 5: the seed tag records the seed the estimator used
// (hyperparameters.random_state: 42 in the example), not the run's seed.
func TestSeedTagIsTheSeedUsed(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".", "--seed", "5")
	run := e.onlyRun()
	for key, want := range map[string]string{"mlrun.seed": "5", "mlrun.seed.train.random_state": "42", "mlrun.seed.split.random_state": "42"} {
		if got := tagOf(run, key); got != want {
			t.Errorf("tag %s = %q, want %q", key, got, want)
		}
	}
	if got, _ := run.Param("train.random_state"); got != "42" {
		t.Errorf("param train.random_state = %q, want 42", got)
	}
}

// Issue 9, item 3: a panic in a step ends the run FAILED with the panic's
// message and exits 70, in a run and in a sweep's trial. mlrun has no known
// panic left, so the test builds the binary with -tags mlrun_testpanic,
// which adds a step kind "panic" (kinds_testpanic.go; release builds lack it).
func TestAPanicFailsTheRunAndExits70(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mlrun-testpanic")
	build := exec.Command("go", "build", "-tags", "mlrun_testpanic", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build with -tags mlrun_testpanic: %v\n%s", err, out)
	}
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": `name: crash
entry_points:
  main:
    parameters:
      msg: {type: string, default: boom}
    steps:
      - {name: before, uses: log, with: {tags: {before: ran}}}
      - {name: crash, uses: panic, with: {message: "${{ params.msg }}"}}
      - {name: after, uses: log, with: {tags: {after: ran}}}
`})
	runPanicking := func(args ...string) (int, string) {
		c := exec.Command(bin, args...)
		c.Dir, c.Env = dir, e.environ()
		var stderr bytes.Buffer
		c.Stderr = &stderr
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, stderr.String()
	}

	code, stderr := runPanicking("run", ".", "-P", "msg=index out of range [3] with length 3")
	if code != 70 {
		t.Errorf("exit %d, want 70 (internal error):\n%s", code, stderr)
	}
	if strings.Contains(stderr, "goroutine ") {
		t.Errorf("the stack went to the terminal:\n%s", stderr)
	}
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFailed || run.Info.EndTime == 0 {
		t.Fatalf("run %s (end %d), want FAILED and ended", run.Info.Status, run.Info.EndTime)
	}
	if got := tagOf(run, "mlrun.error"); !strings.Contains(got, "step crash panicked: index out of range [3] with length 3") {
		t.Errorf("mlrun.error = %q, want the panic's message", got)
	}
	if tagOf(run, "before") != "ran" || tagOf(run, "after") != "" {
		t.Errorf("tags before %q after %q: the steps before the panic ran, none after", tagOf(run, "before"), tagOf(run, "after"))
	}
	stack, err := os.ReadFile(filepath.Join(artifactDir(run), "panic.txt"))
	if err != nil || !bytes.Contains(stack, []byte("kinds_testpanic.go")) {
		t.Errorf("panic.txt %v does not hold the stack:\n%s", err, stack)
	}

	// In a sweep, the panicking trials fail and the sweep goes on.
	code, stderr = runPanicking("run", ".", "-P", "msg=a,b", "--experiment", "sweep")
	if code == 0 || code == 2 {
		t.Errorf("sweep of panicking trials: exit %d:\n%s", code, stderr)
	}
	var trials int
	for _, r := range e.runs() {
		if tagOf(r, "mlrun.sweep.trial") == "" {
			continue
		}
		trials++
		if r.Info.Status != tracking.StatusFailed || !strings.Contains(tagOf(r, "mlrun.error"), "step crash panicked: ") {
			t.Errorf("trial %s: %s %q, want FAILED with the panic", r.Info.ID, r.Info.Status, tagOf(r, "mlrun.error"))
		}
	}
	if trials != 2 {
		t.Errorf("%d trials, want 2", trials)
	}
}

// Evaluating a classifier on data loaded for regression (no classes) is a
// clear error, not an index out of range.
func TestEvaluateAcrossTasksIsAnError(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	writeFiles(t, dir, map[string]string{"MLproject": `name: cross
entry_points:
  main:
    steps:
      - {name: load, uses: load, with: {path: data/iris.csv, target: target}}
      - {name: numbers, uses: load, with: {path: data/iris.csv, target: target, task: regression}}
      - {name: train, uses: train, with: {data: "${{ steps.load.outputs.dataset }}"}}
      - {name: evaluate, uses: evaluate, with: {model: "${{ steps.train.outputs.model }}", data: "${{ steps.numbers.outputs.dataset }}"}}
`})
	r := e.run(dir, "run", ".")
	run := e.onlyRun()
	msg := tagOf(run, "mlrun.error")
	if r.code == 0 || run.Info.Status != tracking.StatusFailed || !strings.Contains(msg, "the model does classification") || !strings.Contains(msg, "task: classification") {
		t.Errorf("exit %d, run %s, mlrun.error %q; want FAILED saying to load the data for classification", r.code, run.Info.Status, msg)
	}
}
