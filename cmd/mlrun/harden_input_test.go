package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/tracking"
)

// The tests in this file cover the hardening of issue 9: values reaching a
// shell, paths escaping the artifacts, control characters on the terminal,
// undeclared parameters, exit statuses, closed pipes and atomic deletes.

// TestShellValuesAreQuoted: a parameter's value in a command step's run:
// is one shell word, never shell code; raw(...) pastes it as code.
func TestShellValuesAreQuoted(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": `name: shell
entry_points:
  main:
    parameters:
      msg: {type: string, default: hello}
      filter: {type: string, default: cat}
    steps:
      - name: say
        uses: command
        with:
          run: echo said ${{ params.msg }} | ${{ raw(params.filter) }}
`})
	r := e.ok(dir, "run", ".", "-P", "msg=x; touch pwned", "-P", "filter=tr a-z A-Z")
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatalf("a parameter's value ran as shell code: %s/pwned exists", dir)
	}
	if !strings.Contains(r.stdout, "SAID X; TOUCH PWNED") {
		t.Errorf("the command did not print the value as one word through the raw filter; stdout:\n%s", r.stdout)
	}

	// raw() wraps a whole expression of a shell command, nothing else.
	writeFiles(t, dir, map[string]string{"MLproject": `name: shell
entry_points:
  main:
    parameters:
      msg: {type: string, default: hello}
    steps:
      - name: say
        uses: log
        with:
          tags: {said: "${{ raw(params.msg) }}"}
`})
	r = e.run(dir, "run", ".")
	if r.code != 2 || !strings.Contains(r.stderr, "MLproject:10:") || !strings.Contains(r.stderr, "raw(...) is for a shell command") {
		t.Errorf("raw() outside a shell command: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestArtifactsStayInsideTheRun: `mlrun log artifact --path` through a
// symbolic link in the run's artifacts, and a log step naming a file
// outside the project (by .. or by a link), write or copy nothing.
func TestArtifactsStayInsideTheRun(t *testing.T) {
	e := newEnv(t)
	dir, _ := gitProject(t)
	e.ok(dir, "run", ".", "-e", "script")
	run := e.onlyRun()
	outside := t.TempDir()
	if err := os.MkdirAll(artifactDir(run), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(artifactDir(run), "link")); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"f.txt": "payload"})
	c := e.command(dir, "log", "artifact", "f.txt", "--path", "link/sub")
	c.Env = append(c.Env, "MLRUN_RUN_ID="+run.Info.ID)
	out, err := c.CombinedOutput()
	if code := c.ProcessState.ExitCode(); err == nil || code != 2 || !strings.Contains(string(out), "symbolic link") {
		t.Errorf("log artifact through a link: exit %d, output:\n%s", code, out)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("mlrun log artifact wrote outside the run's artifacts: %v", entries)
	}

	// A log step: .. is refused before a run exists; a link out of the
	// project fails the run and copies nothing.
	proj := t.TempDir()
	writeFiles(t, proj, map[string]string{"MLproject": `name: leak
entry_points:
  main:
    steps:
      - {name: log, uses: log, with: {artifacts: [../../../../etc/passwd]}}
`, "notes.txt": "fine"})
	if err := os.Symlink("/etc/passwd", filepath.Join(proj, "leak")); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t)
	r := e2.run(proj, "run", ".")
	if r.code != 2 || !strings.Contains(r.stderr, "MLproject:5:") || !strings.Contains(r.stderr, "leaves the project directory") || len(e2.runs()) != 0 {
		t.Errorf("log step with ../../etc/passwd: exit %d, %d run(s), stderr:\n%s", r.code, len(e2.runs()), r.stderr)
	}
	writeFiles(t, proj, map[string]string{"MLproject": `name: leak
entry_points:
  main:
    steps:
      - {name: log, uses: log, with: {artifacts: [notes.txt, leak]}}
`})
	r = e2.run(proj, "run", ".")
	failed := e2.onlyRun()
	if r.code != 1 || failed.Info.Status != tracking.StatusFailed || !strings.Contains(r.stderr, "outside the project directory") {
		t.Errorf("log step with a link to /etc/passwd: exit %d, status %s, stderr:\n%s", r.code, failed.Info.Status, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(artifactDir(failed), "leak")); err == nil {
		t.Error("the log step copied /etc/passwd into the run")
	}
}

// TestExitStatusSaysWhoseFault: bad data found while a run runs fails the
// run (exit 1); a condition that cannot be true or false and a directory
// given for a data file are bad input found before any run exists (exit 2).
func TestExitStatusSaysWhoseFault(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	data, _ := os.ReadFile(filepath.Join(dir, "data", "iris.csv"))
	lines := strings.Split(string(data), "\n")
	lines[5] = "5.0,3.6,oops,0.2,0"
	writeFiles(t, dir, map[string]string{"bad.csv": strings.Join(lines, "\n")})
	r := e.run(dir, "run", ".", "-P", "data=bad.csv")
	if run := e.onlyRun(); r.code != 1 || run.Info.Status != tracking.StatusFailed || !strings.Contains(r.stderr, "line 6") {
		t.Errorf("a bad CSV row found at run time: exit %d (want 1, the README's 'a run failed'), status %s, stderr:\n%s", r.code, run.Info.Status, r.stderr)
	}

	e = newEnv(t)
	r = e.run(dir, "run", ".", "-P", "data=data")
	if r.code != 2 || strings.Contains(r.stderr, "internal error") || !strings.Contains(r.stderr, "is a directory") || len(e.runs()) != 0 {
		t.Errorf("-P data=data (a directory): exit %d, %d run(s), stderr:\n%s", r.code, len(e.runs()), r.stderr)
	}

	proj := t.TempDir()
	writeFiles(t, proj, map[string]string{"MLproject": `name: cond
entry_points:
  main:
    parameters:
      C: {type: float, default: 1.0}
    steps:
      - {name: a, uses: log, with: {tags: {a: b}}}
      - name: b
        uses: log
        when: params.C
        with: {tags: {b: c}}
`})
	r = e.run(proj, "run", ".")
	if r.code != 2 || !strings.Contains(r.stderr, "MLproject:10:15: entry_points.main.steps[1].when: ${{ params.C }} gives a float64, not true or false") || len(e.runs()) != 0 {
		t.Errorf("when: params.C (a float): exit %d, %d run(s), stderr:\n%s", r.code, len(e.runs()), r.stderr)
	}
}

// TestUndeclaredParameterOfAPipeline: a steps entry point refuses a
// parameter it does not declare (a typo would train with the default and
// log both), naming the closest declared one, for a run and for a sweep; a
// command entry point still appends it as --name value, as MLflow does.
func TestUndeclaredParameterOfAPipeline(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	for _, p := range []string{"c=0.001", "c=0.1,1,10", "max_iters=5"} {
		r := e.run(dir, "run", ".", "-P", p)
		name, _, _ := strings.Cut(p, "=")
		want := map[string]string{"c": "did you mean C?", "max_iters": "did you mean max_iter?"}[name]
		if r.code != 2 || !strings.Contains(r.stderr, `parameter "`+name+`" is not declared`) || !strings.Contains(r.stderr, "declared: data, C, max_iter") || !strings.Contains(r.stderr, want) {
			t.Errorf("-P %s: exit %d, stderr:\n%s", p, r.code, r.stderr)
		}
	}
	if runs := e.runs(); len(runs) != 0 {
		t.Errorf("%d runs were created for undeclared parameters", len(runs))
	}

	proj, _ := gitProject(t)
	r := e.ok(proj, "run", ".", "-e", "script", "-P", "n=4", "-P", "extra=x y")
	if !strings.Contains(r.stdout, "n=4 --extra x y") {
		t.Errorf("a command entry point did not get the undeclared parameter appended; stdout:\n%s", r.stdout)
	}
	run := e.onlyRun()
	if v, _ := run.Param("extra"); v != "x y" || tagOf(run, "mlrun.params.extra") != "extra" {
		t.Errorf("param extra = %q, tag mlrun.params.extra = %q", v, tagOf(run, "mlrun.params.extra"))
	}
}

// TestClosedPipeDoesNotFailTheRun: `mlrun run . 2>&1 | head -1` reads one
// line and closes the pipe; the run, and a command step that prints more
// after that, must still finish, with the whole output in the step's log.
func TestClosedPipeDoesNotFailTheRun(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"MLproject": `name: chatty
entry_points:
  main:
    steps:
      - name: talk
        uses: command
        with:
          run: "sleep 1; for i in $(seq 1 3000); do echo line $i; done"
      - {name: after, uses: log, with: {tags: {reached: "yes"}}}
`})
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := e.command(dir, "run", ".")
	c.Stdout, c.Stderr = pw, pw
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	first, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.Contains(first, "started") {
		t.Fatalf("first line %q, %v", first, err)
	}
	pr.Close() // as head -1 does
	err = c.Wait()
	run := e.onlyRun()
	if err != nil || run.Info.Status != tracking.StatusFinished || tagOf(run, "reached") != "yes" {
		t.Fatalf("after the output pipe closed: %v (exit %d), run %s, mlrun.error %q", err, c.ProcessState.ExitCode(), run.Info.Status, tagOf(run, "mlrun.error"))
	}
	log, err := os.ReadFile(filepath.Join(artifactDir(run), "logs", "talk.txt"))
	if err != nil || !strings.Contains(string(log), "line 3000") {
		t.Errorf("the step's log lost output after the pipe closed: %v, %d bytes", err, len(log))
	}

	// A listing into a pipe nobody reads any more ends quietly.
	pr, pw, err = os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	c = e.command(dir, "runs", "list")
	var stderr strings.Builder
	c.Stdout, c.Stderr = pw, &stderr
	err = c.Run()
	pw.Close()
	if err != nil || stderr.String() != "" {
		t.Errorf("runs list into a closed pipe: %v, stderr %q", err, stderr.String())
	}
}

// TestRunsDeleteIsAllOrNothing: one unknown id among several deletes
// nothing (exit 3); known ids are then deleted together, and restored.
func TestRunsDeleteIsAllOrNothing(t *testing.T) {
	e := newEnv(t)
	dir, _ := gitProject(t)
	e.ok(dir, "run", ".", "-e", "script")
	e.ok(dir, "run", ".", "-e", "script")
	runs := e.runs()
	a, b := runs[0].Info.ID, runs[1].Info.ID
	r := e.run(dir, "runs", "delete", a, b[:8], "00000000nosuchid")
	if r.code != 3 || !strings.Contains(r.stderr, "00000000nosuchid") {
		t.Errorf("delete with an unknown id: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, run := range e.runs() {
		if run.Info.LifecycleStage != tracking.LifecycleActive {
			t.Errorf("run %s was deleted although the command failed", run.Info.ID)
		}
	}
	r = e.ok(dir, "runs", "delete", a, b[:8], a)
	if r.stdout != "deleted "+a+"\ndeleted "+b+"\n" {
		t.Errorf("delete printed:\n%s", r.stdout)
	}
	for _, run := range e.runs() {
		if run.Info.LifecycleStage != tracking.LifecycleDeleted {
			t.Errorf("run %s is %s after delete", run.Info.ID, run.Info.LifecycleStage)
		}
	}
	if r := e.run(dir, "runs", "restore", a, "ffffffffff"); r.code != 3 {
		t.Errorf("restore with an unknown id: exit %d", r.code)
	}
	e.ok(dir, "runs", "restore", a, b)
	for _, run := range e.runs() {
		if run.Info.LifecycleStage != tracking.LifecycleActive {
			t.Errorf("run %s is %s after restore", run.Info.ID, run.Info.LifecycleStage)
		}
	}
}

// TestFloatParamsHaveOneForm: a float is logged as Python's repr, the same
// for the entry point's parameter and the hyperparameter the step used.
func TestFloatParamsHaveOneForm(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".", "-P", "C=1e6", "-P", "test_size=0.25", "-P", "plots=false")
	run := e.onlyRun()
	for key, want := range map[string]string{"C": "1000000.0", "train.C": "1000000.0", "test_size": "0.25", "min_accuracy": "0.95"} {
		if got, _ := run.Param(key); got != want {
			t.Errorf("param %s = %q, want %q", key, got, want)
		}
	}
}

// TestSmallThingsANewUserMeets: a usage error points at the help of the
// command misused, and an artifact URI of a path with a space is
// percent-encoded (and still read back).
func TestSmallThingsANewUserMeets(t *testing.T) {
	e := newEnv(t)
	dir, _ := gitProject(t)
	if r := e.run(dir, "runs", "history"); r.code != 2 || !strings.Contains(r.stderr, "(see 'mlrun runs history --help')") {
		t.Errorf("runs history with no arguments: exit %d, stderr %q", r.code, r.stderr)
	}

	e.store = filepath.Join(t.TempDir(), "my project", "mlruns")
	e.vars = append(e.vars, "MLRUN_TRACKING_URI="+e.store)
	e.ok(dir, "run", ".", "-e", "script")
	run := e.onlyRun()
	want := "file://" + strings.ReplaceAll(filepath.ToSlash(e.store), " ", "%20") + "/"
	if !strings.HasPrefix(run.Info.ArtifactURI, want) || strings.Contains(run.Info.ArtifactURI, " ") {
		t.Errorf("artifact URI %q, want it to start with %q", run.Info.ArtifactURI, want)
	}
	r := e.ok(dir, "runs", "show", run.Info.ID[:8])
	if !strings.Contains(r.stdout, "logs/script.txt") {
		t.Errorf("runs show lists no artifact of the encoded URI:\n%s", r.stdout)
	}
}

// TestControlCharactersAreEscaped: a run name, tag or param holding ESC
// sequences or newlines reaches the terminal escaped in runs list, show
// and compare: one table row per run, no escape sequence.
func TestControlCharactersAreEscaped(t *testing.T) {
	e := newEnv(t)
	dir, _ := gitProject(t)
	evil := "evil\x1b[2J\nRUN-ID-FAKE  forged  Default  FINISHED"
	e.ok(dir, "run", ".", "-e", "script", "--run-name", evil, "--tag", "note=\x1b]0;title\x07x\ty", "-P", "x=\x1b[31mred\nline")
	e.ok(dir, "run", ".", "-e", "script")
	runs := e.runs()
	var id string
	for _, r := range runs {
		if r.Info.Name == evil {
			id = r.Info.ID
		}
	}
	if id == "" {
		t.Fatalf("no run is named %q (the store must keep names as given)", evil)
	}
	list := e.ok(dir, "runs", "list").stdout
	show := e.ok(dir, "runs", "show", id).stdout
	cmp := e.ok(dir, "runs", "compare", runs[0].Info.ID, runs[1].Info.ID).stdout
	for what, out := range map[string]string{"runs list": list, "runs show": show, "runs compare": cmp} {
		if strings.ContainsAny(out, "\x1b\x07\r") {
			t.Errorf("%s printed a control character:\n%q", what, out)
		}
		if !strings.Contains(out, `evil\x1b[2J\nRUN-ID-FAKE`) && what != "runs show" {
			t.Errorf("%s does not show the name escaped:\n%s", what, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(list), "\n"); len(lines) != 3 {
		t.Errorf("runs list printed %d lines for 2 runs:\n%s", len(lines), list)
	}
	for _, want := range []string{`Name        evil\x1b[2J\nRUN-ID-FAKE`, `\x1b]0;title\x07x\ty`, `\x1b[31mred\nline`} {
		if !strings.Contains(show, want) {
			t.Errorf("runs show lacks %q:\n%s", want, show)
		}
	}
	if !strings.Contains(cmp, `\x1b[31mred\nline`) {
		t.Errorf("runs compare does not show the param escaped:\n%s", cmp)
	}
}
