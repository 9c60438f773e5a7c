package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// tinyProject is a small pipeline: a command step that writes metrics (one
// value and one history) and a log step that reads them back.
var tinyProject = map[string]string{
	"MLproject": `name: tiny
entry_points:
  main:
    parameters:
      data: {type: path, default: data.csv}
      lr: {type: float, default: 0.1}
      random_state: {type: int, default: 7}
    steps:
      - name: train
        uses: command
        with:
          run: "echo training with lr=${{ params.lr }}; echo '{\"acc\": 0.75, \"loss\": [0.9, 0.5, 0.25]}' > metrics.json"
          metrics: [metrics.json]
      - name: report
        uses: log
        with:
          metrics: {acc_copy: "${{ steps.train.metrics.acc }}"}
          tags: {stage: dev}
  script:
    parameters: {n: {type: int, default: 3}}
    command: "echo n={n}"
  fail:
    command: "echo about to fail >&2; exit 3"
  sleep:
    command: "echo sleeping; sleep 61"
  logger:
    command: "mlrun log metric from_cli 1.5 --step 2 && mlrun log param source cli && mlrun log tag via cli"
`,
	"data.csv":         "x,y\n1,2\n3,4\n",
	"requirements.txt": "numpy==1.24.2\n",
	".gitignore":       "metrics.json\n",
}

// gitProject makes a committed git repository holding the tiny project.
func gitProject(t *testing.T) (dir, commit string) {
	t.Helper()
	dir = t.TempDir()
	writeFiles(t, dir, tinyProject)
	git(t, dir, "init", "-q")
	git(t, dir, "remote", "add", "origin", "https://example.com/team/tiny.git")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "tiny project")
	return dir, git(t, dir, "rev-parse", "HEAD")
}

func TestRunRecordsEverythingOnACleanTree(t *testing.T) {
	e := newEnv(t)
	dir, commit := gitProject(t)
	r := e.ok(dir, "run", ".", "-P", "lr=0.5", "--run-name", "first")
	if !strings.Contains(r.stdout, "training with lr=0.5") {
		t.Errorf("command output was not streamed; stdout:\n%s", r.stdout)
	}
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFinished || run.Info.Name != "first" || run.Info.EndTime == 0 {
		t.Fatalf("run info = %+v", run.Info)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(run.Info.ID) {
		t.Errorf("run id %q is not 32 hex digits", run.Info.ID)
	}
	for key, want := range map[string]string{"lr": "0.5", "random_state": "7", "data": "data.csv"} {
		if got, _ := run.Param(key); got != want {
			t.Errorf("param %s = %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]float64{"acc": 0.75, "loss": 0.25, "acc_copy": 0.75} {
		if got, ok := run.Metric(key); !ok || got != want {
			t.Errorf("metric %s = %v (%v), want %v", key, got, ok, want)
		}
	}
	dataSum := sha256.Sum256([]byte(tinyProject["data.csv"]))
	lockSum := sha256.Sum256([]byte(tinyProject["requirements.txt"]))
	user := tagOf(run, "mlflow.user")
	wantTags := map[string]string{
		"mlflow.source.git.commit":  commit,
		"mlflow.source.git.branch":  "main",
		"mlflow.source.git.repoURL": "https://example.com/team/tiny.git",
		"mlflow.source.git.dirty":   "false",
		"mlflow.source.name":        "https://example.com/team/tiny.git",
		"mlflow.source.type":        "PROJECT",
		"mlflow.project.entryPoint": "main",
		"mlflow.runName":            "first",
		"mlrun.dataset.data.csv":    hex.EncodeToString(dataSum[:]),
		"mlrun.dataset.sha256":      hex.EncodeToString(dataSum[:]),
		"mlrun.lockfile":            "requirements.txt",
		"mlrun.lockfile.sha256":     hex.EncodeToString(lockSum[:]),
		"mlrun.seed":                "", // any value; checked below
		"mlrun.version":             "",
		"mlrun.go_version":          "",
		"mlrun.os":                  "",
		"mlrun.host":                "",
		"stage":                     "dev",
	}
	for key, want := range wantTags {
		got, ok := run.Tag(key)
		if !ok || (want != "" && got != want) || got == "" {
			t.Errorf("tag %s = %q (set %v), want %q", key, got, ok, want)
		}
	}
	if user == "" {
		t.Error("tag mlflow.user is empty")
	}
	if _, ok := run.Tag("mlrun.git.diff_sha256"); ok {
		t.Error("a clean tree recorded a diff hash")
	}
	// Artifacts: the step's log, the lockfile; no code.diff on a clean tree.
	artDir := strings.TrimPrefix(run.Info.ArtifactURI, "file://")
	log, err := os.ReadFile(filepath.Join(artDir, "logs", "train.txt"))
	if err != nil || !strings.Contains(string(log), "training with lr=0.5") {
		t.Errorf("logs/train.txt = %q, %v", log, err)
	}
	if _, err := os.Stat(filepath.Join(artDir, "lockfiles", "requirements.txt")); err != nil {
		t.Errorf("lockfile artifact: %v", err)
	}
	if _, err := os.Stat(filepath.Join(artDir, "code.diff")); err == nil {
		t.Error("a clean tree saved code.diff")
	}
	// The loss history has every point with its step.
	h := e.ok(dir, "runs", "show", run.Info.ID[:8])
	for _, want := range []string{"lr", "0.5", "acc_copy", "mlflow.source.git.commit", "logs/train.txt"} {
		if !strings.Contains(h.stdout, want) {
			t.Errorf("runs show lacks %q:\n%s", want, h.stdout)
		}
	}
}

func TestRunOnADirtyTreeSavesTheDiff(t *testing.T) {
	e := newEnv(t)
	dir, commit := gitProject(t)
	writeFiles(t, dir, map[string]string{"data.csv": "x,y\n1,2\n3,5\n", "notes.txt": "new file\n"})
	e.ok(dir, "run", ".")
	run := e.onlyRun()
	if got := tagOf(run, "mlflow.source.git.dirty"); got != "true" {
		t.Fatalf("dirty = %q, want true", got)
	}
	if got := tagOf(run, "mlflow.source.git.commit"); got != commit {
		t.Errorf("commit = %q, want %q", got, commit)
	}
	diff, err := os.ReadFile(filepath.Join(strings.TrimPrefix(run.Info.ArtifactURI, "file://"), "code.diff"))
	if err != nil {
		t.Fatalf("code.diff: %v", err)
	}
	for _, want := range []string{"data.csv", "+3,5", "notes.txt"} {
		if !strings.Contains(string(diff), want) {
			t.Errorf("code.diff lacks %q:\n%s", want, diff)
		}
	}
	sum := sha256.Sum256(diff)
	if got := tagOf(run, "mlrun.git.diff_sha256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("diff hash tag = %q, want the sha256 of code.diff", got)
	}
}

func TestRunOutsideGitSaysSo(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, tinyProject)
	e.ok(dir, "run", ".", "-e", "script", "-P", "n=5", "-P", "extra=x y")
	run := e.onlyRun()
	if got := tagOf(run, "mlrun.git.repo"); got != "none" {
		t.Errorf("mlrun.git.repo = %q, want none", got)
	}
	if got := tagOf(run, "mlflow.source.name"); got == "" {
		t.Error("mlflow.source.name is empty outside git")
	}
	log, _ := os.ReadFile(filepath.Join(strings.TrimPrefix(run.Info.ArtifactURI, "file://"), "logs", "script.txt"))
	if strings.TrimSpace(string(log)) != "n=5 --extra x y" {
		t.Errorf("command output = %q, want the param filled in and the extra appended", log)
	}
	if got, _ := run.Param("extra"); got != "x y" {
		t.Errorf("extra param = %q", got)
	}
	if got := tagOf(run, "mlrun.params.extra"); got != "extra" {
		t.Errorf("mlrun.params.extra = %q, want extra", got)
	}
}

func TestFailingStepFailsTheRun(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, tinyProject)
	r := e.run(dir, "run", ".", "-e", "fail")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "exited with status 3") {
		t.Errorf("stderr does not say why:\n%s", r.stderr)
	}
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFailed || !strings.Contains(tagOf(run, "mlrun.error"), "status 3") {
		t.Errorf("status %s, mlrun.error %q", run.Info.Status, tagOf(run, "mlrun.error"))
	}
	log, _ := os.ReadFile(filepath.Join(strings.TrimPrefix(run.Info.ArtifactURI, "file://"), "logs", "fail.txt"))
	if !strings.Contains(string(log), "about to fail") {
		t.Errorf("stderr of the command was not kept: %q", log)
	}
}

func TestCommandLogsThroughTheCLI(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, tinyProject)
	e.ok(dir, "run", ".", "-e", "logger")
	run := e.onlyRun()
	if v, _ := run.Metric("from_cli"); v != 1.5 {
		t.Errorf("metric from_cli = %v", v)
	}
	if v, _ := run.Param("source"); v != "cli" {
		t.Errorf("param source = %q", v)
	}
	if v := tagOf(run, "via"); v != "cli" {
		t.Errorf("tag via = %q", v)
	}
	// A param the command logged itself is not a -P value: reproducing the
	// run must not pass it back (it would become "--source cli").
	if r := e.run(dir, "reproduce", run.Info.ID); r.code != 0 {
		t.Errorf("reproduce: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := e.run(dir, "log", "metric", "x", "1"); r.code == 0 || !strings.Contains(r.stderr, "MLRUN_RUN_ID") {
		t.Errorf("log without a run: exit %d, %q", r.code, r.stderr)
	}
}

func TestRunsListFiltersAndOrdersInTheDatabase(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, tinyProject)
	for _, lr := range []string{"0.1", "0.5", "0.9"} {
		e.ok(dir, "run", ".", "-P", "lr="+lr, "--run-name", "lr-"+lr)
	}
	e.ok(dir, "run", ".", "-e", "script")
	names := func(args ...string) string {
		t.Helper()
		r := e.ok(dir, append([]string{"runs", "list", "-o", "json"}, args...)...)
		var out struct{ Runs []*tracking.Run }
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, r := range out.Runs {
			ns = append(ns, r.Info.Name)
		}
		return strings.Join(ns, ",")
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--filter", "params.lr = '0.5'"}, "lr-0.5"},
		{[]string{"--filter", "metrics.acc > 0.5", "--order-by", "params.lr DESC"}, "lr-0.9,lr-0.5,lr-0.1"},
		{[]string{"--filter", "metrics.acc > 0.5 and params.lr != '0.1'", "--order-by", "params.lr"}, "lr-0.5,lr-0.9"},
		{[]string{"--filter", "tags.stage = 'dev'", "--order-by", "attributes.run_name"}, "lr-0.1,lr-0.5,lr-0.9"},
		{[]string{"--filter", "tags.`mlflow.project.entryPoint` = 'script'"}, ""},
		{[]string{"--filter", "run_name LIKE 'lr-0.%'", "--order-by", "run_name DESC", "--limit", "2"}, "lr-0.9,lr-0.5"},
	}
	for _, tc := range cases {
		got := names(tc.args...)
		if tc.want == "" {
			if strings.Contains(got, "lr-") || got == "" {
				t.Errorf("%v = %q, want only the script run", tc.args, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%v = %q, want %q", tc.args, got, tc.want)
		}
	}
	table := e.ok(dir, "runs", "list")
	if !strings.Contains(table.stdout, "RUN ID") || !strings.Contains(table.stdout, "lr-0.5") || !strings.Contains(table.stderr, "4 run(s) shown; store") || !strings.Contains(table.stderr, "holds 4") {
		t.Errorf("table output:\n%s\n%s", table.stdout, table.stderr)
	}
}

// The default store, ./mlruns inside the repository, does not make the
// next run dirty.
func TestStoreInsideTheRepoIsNotDirt(t *testing.T) {
	e := newEnv(t)
	dir, _ := gitProject(t)
	e.vars = append(e.vars[1:], "MLRUN_TRACKING_URI=") // the default: ./mlruns in dir
	e.ok(dir, "run", ".", "-e", "script")
	e.ok(dir, "run", ".", "-e", "script")
	r := e.ok(dir, "runs", "list", "-o", "json")
	var out struct{ Runs []*tracking.Run }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Runs) != 2 {
		t.Fatalf("runs: %v %s", err, r.stdout)
	}
	for _, run := range out.Runs {
		if got := tagOf(run, "mlflow.source.git.dirty"); got != "false" {
			t.Errorf("run %s dirty = %q: the store counted as a change", run.Info.Name, got)
		}
	}
}

// A condition reads the metrics a command's process logged to the run
// (with mlrun log), not only those of the built-in steps.
func TestWhenReadsMetricsACommandLogged(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": `name: gate
entry_points:
  main:
    steps:
      - {name: score, uses: log, with: {metrics: {accuracy: 0.5}}}
      - {name: rescore, uses: command, with: {run: "mlrun log metric accuracy 0.97 --step 1"}}
      - name: promote
        uses: log
        when: metrics.accuracy >= 0.95
        with: {tags: {promoted: "yes"}}
`})
	e.ok(dir, "run", ".")
	if run := e.runs()[0]; tagOf(run, "promoted") != "yes" {
		t.Errorf("promote: %q, want it run on the command's accuracy 0.97", tagOf(run, "mlrun.step.promote"))
	}
}

// A step whose when: is false is skipped, and the run says why.
func TestWhenFalseSaysWhy(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": `name: gate
entry_points:
  main:
    parameters: {acc: {type: float, default: 0.9}}
    steps:
      - {name: score, uses: log, with: {metrics: {accuracy: "${{ params.acc }}"}}}
      - name: promote
        uses: log
        when: metrics.accuracy >= 0.95
        with: {tags: {promoted: "yes"}}
`})
	e.ok(dir, "run", ".")
	e.ok(dir, "run", ".", "-P", "acc=0.97")
	runs := e.runs() // newest first
	if got := tagOf(runs[1], "mlrun.step.promote"); got != "skipped: when: metrics.accuracy >= 0.95 was false (metrics.accuracy = 0.9)" {
		t.Errorf("skip reason = %q", got)
	}
	if tagOf(runs[1], "promoted") != "" || tagOf(runs[0], "promoted") != "yes" {
		t.Errorf("promoted tags: %q then %q", tagOf(runs[1], "promoted"), tagOf(runs[0], "promoted"))
	}
}

// An escaped comma is a literal comma in a single run too.
func TestEscapedCommaInASingleRun(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": "name: x\nentry_points:\n  main:\n    parameters: {label: {type: string, default: a}}\n    command: \"echo {label}\"\n"})
	e.ok(dir, "run", ".", "-P", `label=red\,green`)
	if got, _ := e.onlyRun().Param("label"); got != "red,green" {
		t.Errorf("label = %q, want red,green", got)
	}
}

// A run refused for a bad project creates no store, and leaves an existing
// one as it was (the store opens while the project loads).
func TestBadProjectLeavesTheStoreAlone(t *testing.T) {
	e := newEnv(t)
	bad, good := t.TempDir(), t.TempDir()
	writeFiles(t, bad, map[string]string{"MLproject": strings.Replace(tinyProject["MLproject"], "uses: log", "uses: lgo", 1)})
	writeFiles(t, good, tinyProject)
	if r := e.run(bad, "run", "."); r.code != 2 {
		t.Fatalf("bad project: exit %d, want 2: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(e.store); !os.IsNotExist(err) {
		t.Errorf("a refused run created the store %s (%v)", e.store, err)
	}
	e.ok(good, "run", ".")
	for range 3 {
		if r := e.run(bad, "run", "."); r.code != 2 || !strings.Contains(r.stderr, "lgo") {
			t.Fatalf("bad project on an existing store: exit %d, want 2: %s", r.code, r.stderr)
		}
	}
	if n := len(e.runs()); n != 1 {
		t.Errorf("%d runs in the store, want the good one only", n)
	}
	e.ok(good, "run", ".")
	if n := len(e.runs()); n != 2 {
		t.Errorf("%d runs in the store after a second good run, want 2", n)
	}
}
