package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/reproduce"
	"github.com/mlrun/mlrun/tracking"
)

// irisRepo makes a committed git repository holding examples/iris and a
// requirements.txt lockfile. With trackData false the data directory is
// ignored by git, as data files often are.
func irisRepo(t *testing.T, trackData bool) string {
	t.Helper()
	dir := irisDir(t)
	files := map[string]string{"requirements.txt": "numpy==1.24.2\n"}
	if !trackData {
		files[".gitignore"] = "data/\n"
	}
	writeFiles(t, dir, files)
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "iris")
	return dir
}

// reproEnv is a test environment whose temporary files go to a directory
// of their own, to check that reproduce removes its worktree.
func reproEnv(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t)
	tmp := t.TempDir()
	e.vars = append(e.vars, "TMPDIR="+tmp)
	t.Cleanup(func() {
		entries, _ := os.ReadDir(tmp)
		for _, d := range entries {
			if strings.HasPrefix(d.Name(), "mlrun-reproduce-") {
				t.Errorf("the temporary worktree %s was left behind", d.Name())
			}
		}
	})
	return e, tmp
}

// newest returns the store's newest run.
func (e *env) newest() *tracking.Run {
	e.t.Helper()
	runs := e.runs()
	if len(runs) == 0 {
		e.t.Fatal("the store holds no run")
	}
	return runs[0]
}

// editFile rewrites a file of dir, replacing old (which must be there) by new.
func editFile(t *testing.T, dir, name, old, new string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", name, old)
	}
	writeFiles(t, dir, map[string]string{name: strings.Replace(string(data), old, new, 1)})
}

// verdictLines are the rows of a verdict table whose status is not "same".
var notSame = regexp.MustCompile(`(?m)^(param|metric|dataset|model)\s.*\s(differs|missing)$`)

// checkReproduced checks that repro re-ran orig exactly: every param, the
// seed, every metric and the model file.
func checkReproduced(t *testing.T, orig, repro *tracking.Run) {
	t.Helper()
	if repro.Info.ID == orig.Info.ID || tagOf(repro, "mlrun.reproducedFrom") != orig.Info.ID {
		t.Fatalf("newest run %s is not a reproduction of %s (mlrun.reproducedFrom %q)", repro.Info.ID, orig.Info.ID, tagOf(repro, "mlrun.reproducedFrom"))
	}
	if repro.Info.ExperimentID != orig.Info.ExperimentID || tagOf(repro, "mlrun.seed") != tagOf(orig, "mlrun.seed") ||
		tagOf(repro, "mlflow.project.entryPoint") != tagOf(orig, "mlflow.project.entryPoint") {
		t.Errorf("experiment %s/%s, seed %s/%s, entry point %s/%s: want the original's",
			repro.Info.ExperimentID, orig.Info.ExperimentID, tagOf(repro, "mlrun.seed"), tagOf(orig, "mlrun.seed"),
			tagOf(repro, "mlflow.project.entryPoint"), tagOf(orig, "mlflow.project.entryPoint"))
	}
	if len(repro.Params) != len(orig.Params) {
		t.Errorf("%d params, the original has %d", len(repro.Params), len(orig.Params))
	}
	for _, p := range orig.Params {
		if got, _ := repro.Param(p.Key); got != p.Value {
			t.Errorf("param %s = %q, original %q", p.Key, got, p.Value)
		}
	}
	if len(orig.Metrics) < 10 || len(repro.Metrics) != len(orig.Metrics) {
		t.Errorf("%d metrics, the original has %d", len(repro.Metrics), len(orig.Metrics))
	}
	for _, m := range orig.Metrics {
		if got, _ := repro.Metric(m.Key); got != m.Value {
			t.Errorf("metric %s = %v, original %v", m.Key, got, m.Value)
		}
	}
	a, errA := os.ReadFile(filepath.Join(artifactDir(orig), "model", "model.json"))
	b, errB := os.ReadFile(filepath.Join(artifactDir(repro), "model", "model.json"))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("model.json differs (%v, %v)", errA, errB)
	}
}

// Every kind of iris run reproduces exactly, in place, with an exact
// verdict: main, the svc entry point, a given parameter and seed, and a
// trial of a sweep.
func TestReproduceIrisRunsExactly(t *testing.T) {
	e, _ := reproEnv(t)
	dir := irisRepo(t, false)
	commit := git(t, dir, "rev-parse", "HEAD")
	for _, args := range [][]string{nil, {"-e", "svc"}, {"-P", "C=0.5", "--seed", "3"}} {
		e.ok(dir, append([]string{"run", "."}, args...)...)
		orig := e.newest()
		r := e.ok(dir, "reproduce", orig.Info.ID[:8])
		wantPlan := "re-running " + orig.Info.ID + " at commit " + commit[:7] + " in " + dir + " (the checkout is at that commit)"
		if !strings.HasPrefix(r.stdout, wantPlan+"\n") || !strings.Contains(r.stdout, "reproduced: run ") {
			t.Errorf("%v: stdout:\n%s\nwant the plan line %q and the verdict", args, r.stdout, wantPlan)
		}
		if bad := notSame.FindAllString(r.stdout, -1); len(bad) > 0 || !strings.Contains(r.stdout, "model/model.json") {
			t.Errorf("%v: verdict rows not the same: %q\n%s", args, bad, r.stdout)
		}
		checkReproduced(t, orig, e.newest())
	}
	if got := tagOf(e.newest(), "mlrun.seed"); got != "3" {
		t.Errorf("the reproduced seed is %q, want 3", got)
	}

	// JSON: stdout holds the verdict alone.
	orig := e.runs()[1]
	r := e.ok(dir, "reproduce", orig.Info.ID, "-o", "json", "--tolerance", "1e-12")
	var res reproduce.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("reproduce -o json: %v\n%s", err, r.stdout)
	}
	v := res.Verdict
	if v == nil || !v.Reproduced || v.Differences != 0 || v.OriginalRunID != orig.Info.ID || v.Tolerance != 1e-12 || len(res.Drift) != 0 {
		t.Fatalf("verdict = %+v", v)
	}
	kinds := map[string]int{}
	for _, row := range v.Rows {
		kinds[row.What]++
		// A param may be empty (register_as); metrics and files may not.
		if row.Status != reproduce.Same || (row.Original == "" && row.What != "param") || row.Original != row.Reproduced {
			t.Errorf("row %+v", row)
		}
	}
	if kinds["param"] < 10 || kinds["metric"] < 10 || kinds["dataset"] != 1 || kinds["model"] < 2 {
		t.Errorf("rows by kind = %v, want every param, metric, the dataset and the model files", kinds)
	}

	t.Run("sweep trial", func(t *testing.T) {
		if s := e.run(dir, "run", ".", "-P", "C=0.1,1", "-j", "2"); s.code != 0 {
			t.Skipf("sweeps do not run yet (exit %d): %s", s.code, s.stderr)
		}
		var parent, child *tracking.Run
		for _, run := range e.runs() {
			if tagOf(run, "mlrun.sweep.trials") != "" {
				parent = run
			} else if tagOf(run, "mlflow.parentRunId") != "" && tagOf(run, "mlrun.sweep.trial") == "1" {
				child = run
			}
		}
		if parent == nil || child == nil {
			t.Fatal("the sweep made no parent and trial 1")
		}
		if got, _ := child.Param("C"); got != "0.1" {
			t.Fatalf("trial 1 has C=%q", got)
		}
		e.ok(dir, "reproduce", child.Info.ID)
		repro := e.newest()
		checkReproduced(t, child, repro)
		if tagOf(repro, "mlflow.parentRunId") != "" {
			t.Error("the reproduction of a trial is a child of the sweep")
		}
		p := e.run(dir, "reproduce", parent.Info.ID)
		if p.code != 2 || !strings.Contains(p.stderr, "parent of a sweep") {
			t.Errorf("reproduce the sweep's parent: exit %d, %q", p.code, p.stderr)
		}
	})
}

// Each kind of drift is found and named, stops the reproduction before a
// run exists, and with --allow-drift is recorded on the new run.
func TestReproduceNamesDrift(t *testing.T) {
	cases := []struct {
		name       string
		change     func(t *testing.T, dir string)
		kind, item string // the drift expected
		recorded   string // its recorded value, "" for any
		now        string // its current value, "" for any
		allowExit  int    // exit status with --allow-drift
		verdict    string // with allowExit 1, the verdict row that differs
		outsideGit bool   // the project is not in git
	}{
		{
			name: "data file edited",
			change: func(t *testing.T, dir string) {
				editFile(t, dir, "data/iris.csv", "\n5.1,3.5,1.4,0.2,0", "\n5.1,3.5,1.4,0.3,0")
			},
			kind: "dataset", item: "data/iris.csv", allowExit: 1, // the re-run reads other data: it does not reproduce
			verdict: `(?m)^dataset\s+data/iris.csv\s.*differs$`,
		},
		{
			name: "lockfile edited",
			change: func(t *testing.T, dir string) {
				writeFiles(t, dir, map[string]string{"requirements.txt": "numpy==2.0.0\n"})
			},
			kind: "lockfile", item: "requirements.txt", allowExit: 0,
		},
		{
			// Outside git the code is the project directory as it is now.
			name:       "parameter declared since, outside git",
			outsideGit: true,
			change: func(t *testing.T, dir string) {
				editFile(t, dir, "MLproject", "C: {type: float, default: 1.0}", "C: {type: float, default: 1.0}\n      tol: {type: float, default: 0.001}")
			},
			kind: "param", item: "tol", recorded: "missing", now: "0.001", allowExit: 1, // the re-run logs a param the original lacks
			verdict: `(?m)^param\s+tol\s+-\s+0\.001\s+missing$`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := reproEnv(t)
			dir := irisRepo(t, false)
			if tc.outsideGit {
				dir = irisDir(t)
			}
			e.ok(dir, "run", ".")
			orig := e.newest()
			tc.change(t, dir)

			r := e.run(dir, "reproduce", orig.Info.ID)
			row := regexp.MustCompile(`(?m)^` + tc.kind + `\s+` + regexp.QuoteMeta(tc.item) + `\s+(\S+)\s+(\S+)$`).FindStringSubmatch(r.stdout)
			if r.code != 2 || row == nil || !strings.Contains(r.stderr, "--allow-drift") {
				t.Fatalf("exit %d, want 2 with a drift row %s %s\nstdout:\n%s\nstderr:\n%s", r.code, tc.kind, tc.item, r.stdout, r.stderr)
			}
			if (tc.recorded != "" && row[1] != tc.recorded) || (tc.now != "" && row[2] != tc.now) || row[1] == row[2] {
				t.Errorf("drift row %q, want recorded %q now %q", row[0], tc.recorded, tc.now)
			}
			if n := len(e.runs()); n != 1 {
				t.Errorf("a refused reproduction left %d runs", n)
			}

			r = e.run(dir, "reproduce", orig.Info.ID, "--allow-drift")
			if r.code != tc.allowExit {
				t.Fatalf("--allow-drift: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.allowExit, r.stdout, r.stderr)
			}
			repro := e.newest()
			tag := tagOf(repro, "mlrun.drift."+tc.kind+"."+tc.item)
			if tagOf(repro, "mlrun.reproducedFrom") != orig.Info.ID || !strings.HasPrefix(tag, "recorded ") || !strings.Contains(tag, ", now ") ||
				!strings.Contains(tagOf(repro, "mlrun.drift"), tc.kind+" "+tc.item) {
				t.Errorf("drift tags on the new run: %q = %q, mlrun.drift = %q", "mlrun.drift."+tc.kind+"."+tc.item, tag, tagOf(repro, "mlrun.drift"))
			}
			if tc.allowExit == 0 {
				checkReproduced(t, orig, repro)
			} else if !strings.Contains(r.stderr, "did not reproduce") || !regexp.MustCompile(tc.verdict).MatchString(r.stdout) {
				t.Errorf("stderr %q; stdout:\n%s", r.stderr, r.stdout)
			}
		})
	}
}

// After the code changed in a new commit, the run repeats at its own
// commit in a temporary worktree (with its untracked data) and reproduces,
// though the project at HEAD gives other results.
func TestReproduceRunsTheRecordedCommitAfterTheCodeChanged(t *testing.T) {
	e, _ := reproEnv(t)
	dir := irisRepo(t, false)
	old := git(t, dir, "rev-parse", "HEAD")
	e.ok(dir, "run", ".")
	orig := e.newest()
	// A code change that is not a parameter: the split's seed.
	mlproject, _ := os.ReadFile(filepath.Join(dir, "MLproject"))
	writeFiles(t, dir, map[string]string{"MLproject": strings.Replace(string(mlproject), `random_state: "${{ params.random_state }}"`, "random_state: 7", 2)})
	git(t, dir, "commit", "-q", "-a", "-m", "split with seed 7")
	e.ok(dir, "run", ".")
	atHead := e.newest()
	a, _ := orig.Metric("log_loss")
	b, _ := atHead.Metric("log_loss")
	if a == b {
		t.Fatal("the code change does not change the results; the test proves nothing")
	}

	r := e.ok(dir, "reproduce", orig.Info.ID)
	if !strings.HasPrefix(r.stdout, "re-running "+orig.Info.ID+" at commit "+old[:7]+" in a temporary worktree\n") {
		t.Errorf("plan line:\n%s", r.stdout)
	}
	repro := e.newest()
	checkReproduced(t, orig, repro)
	for key, want := range map[string]string{
		"mlflow.source.git.commit": old, "mlflow.source.git.dirty": "false",
		"mlrun.project.dir": dir, "mlrun.reproduce.mode": "worktree",
		"mlrun.dataset.data/iris.csv": tagOf(orig, "mlrun.dataset.data/iris.csv"),
	} {
		if got := tagOf(repro, key); got != want {
			t.Errorf("tag %s = %q, want %q", key, got, want)
		}
	}
	if git(t, dir, "status", "--porcelain") != "" || git(t, dir, "rev-parse", "HEAD") == old {
		t.Error("reproduce touched the checkout")
	}
}

// A run made on a dirty tree repeats from a clean checkout with its
// recorded diff applied; the new run records the very same diff.
func TestReproduceADirtyRunFromItsRecordedDiff(t *testing.T) {
	t.Run("code change", func(t *testing.T) {
		e, _ := reproEnv(t)
		dir := irisRepo(t, true)
		editFile(t, dir, "MLproject", `random_state: "${{ params.random_state }}"`, "random_state: 7")
		e.ok(dir, "run", ".")
		orig := e.newest()
		if tagOf(orig, "mlflow.source.git.dirty") != "true" {
			t.Fatal("the run was not recorded dirty")
		}
		git(t, dir, "checkout", "--", "MLproject")

		r := e.ok(dir, "reproduce", orig.Info.ID)
		if !strings.Contains(r.stdout, "in a temporary worktree (with its recorded diff)\n") {
			t.Errorf("plan line:\n%s", r.stdout)
		}
		repro := e.newest()
		checkReproduced(t, orig, repro)
		if tagOf(repro, "mlflow.source.git.dirty") != "true" || tagOf(repro, "mlrun.git.diff_sha256") != tagOf(orig, "mlrun.git.diff_sha256") ||
			tagOf(repro, "mlrun.reproduce.mode") != "worktree with diff" {
			t.Errorf("dirty %q diff %q mode %q; want the original's diff %q", tagOf(repro, "mlflow.source.git.dirty"),
				tagOf(repro, "mlrun.git.diff_sha256"), tagOf(repro, "mlrun.reproduce.mode"), tagOf(orig, "mlrun.git.diff_sha256"))
		}
	})
	// The run's own default C=0.3, reverted since: the checkout now says
	// 1.0, but the re-run runs the recorded code (the worktree with the
	// recorded diff), whose default is the recorded 0.3: no drift.
	t.Run("default changed then restored", func(t *testing.T) {
		e, _ := reproEnv(t)
		dir := irisRepo(t, false)
		editFile(t, dir, "MLproject", "C: {type: float, default: 1.0}", "C: {type: float, default: 0.3}")
		e.ok(dir, "run", ".")
		orig := e.newest()
		if got, _ := orig.Param("C"); got != "0.3" {
			t.Fatalf("the run recorded C=%q", got)
		}
		git(t, dir, "checkout", "--", "MLproject")
		r := e.run(dir, "reproduce", orig.Info.ID)
		if r.code != 0 || strings.Contains(r.stdout, "drift") || !strings.Contains(r.stdout, "in a temporary worktree (with its recorded diff)\n") {
			t.Fatalf("exit %d, want 0 without drift, in a worktree with the recorded diff:\n%s%s", r.code, r.stdout, r.stderr)
		}
		repro := e.newest()
		checkReproduced(t, orig, repro)
		if got, _ := repro.Param("C"); got != "0.3" || tagOf(repro, "mlrun.drift") != "" || tagOf(repro, "mlrun.reproduce.mode") != "worktree with diff" {
			t.Errorf("C = %q, drift %q, mode %q", got, tagOf(repro, "mlrun.drift"), tagOf(repro, "mlrun.reproduce.mode"))
		}
	})
	// A default changed in a later commit: the re-run runs the recorded
	// commit, whose default is the recorded one: no drift either.
	t.Run("default changed in a later commit", func(t *testing.T) {
		e, _ := reproEnv(t)
		dir := irisRepo(t, false)
		e.ok(dir, "run", ".")
		orig := e.newest()
		editFile(t, dir, "MLproject", "C: {type: float, default: 1.0}", "C: {type: float, default: 2.0}")
		git(t, dir, "commit", "-q", "-a", "-m", "C=2")
		r := e.run(dir, "reproduce", orig.Info.ID)
		if r.code != 0 || strings.Contains(r.stdout, "drift") || !strings.Contains(r.stdout, "in a temporary worktree\n") {
			t.Fatalf("exit %d, want 0 without drift, in a worktree:\n%s%s", r.code, r.stdout, r.stderr)
		}
		checkReproduced(t, orig, e.newest())
	})
}

// A run recorded outside git repeats in its directory, and says that its
// code cannot be checked.
func TestReproduceARunOutsideGit(t *testing.T) {
	e, _ := reproEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".", "-e", "svc")
	orig := e.newest()
	r := e.ok(dir, "reproduce", orig.Info.ID)
	if !strings.Contains(r.stdout, "in "+dir+", which was not at a git commit when it ran: its code cannot be checked") {
		t.Errorf("plan line:\n%s", r.stdout)
	}
	repro := e.newest()
	checkReproduced(t, orig, repro)
	if tagOf(repro, "mlrun.reproduce.mode") != "outside git" {
		t.Errorf("mode %q", tagOf(repro, "mlrun.reproduce.mode"))
	}
}

// A commit on no branch but still in the repository is found; once git
// has pruned it, reproduce says which commit is missing where.
func TestReproduceACommitThatIsGone(t *testing.T) {
	e, _ := reproEnv(t)
	dir := irisRepo(t, false)
	old := git(t, dir, "rev-parse", "HEAD")
	e.ok(dir, "run", ".")
	orig := e.newest()
	writeFiles(t, dir, map[string]string{"MLproject": "# rewritten history\n" + readText(t, filepath.Join(dir, "MLproject"))})
	git(t, dir, "commit", "-q", "-a", "--amend", "-m", "iris, amended")

	r := e.ok(dir, "reproduce", orig.Info.ID)
	if !strings.Contains(r.stdout, "at commit "+old[:7]+" in a temporary worktree") {
		t.Errorf("an amended commit still in the repository: %s", r.stdout)
	}

	git(t, dir, "reflog", "expire", "--expire=now", "--all")
	git(t, dir, "gc", "-q", "--prune=now")
	r = e.run(dir, "reproduce", orig.Info.ID)
	want := "mlrun: commit " + old + " recorded by run " + orig.Info.ID + " is not in the repository at " + dir + "\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", r.code, r.stderr, want)
	}
}

func TestReproduceBadInput(t *testing.T) {
	e, _ := reproEnv(t)
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"reproduce", "0123456789abcdef"}, 3, `mlrun: no run matches id prefix "0123456789abcdef"` + "\n"},
		{[]string{"reproduce", "0123456789abcdef", "--tolerance", "-1"}, 2, "mlrun: --tolerance must be a finite number of at least 0, not -1\n"},
		{[]string{"reproduce", "0123456789abcdef", "-o", "yaml"}, 2, "mlrun: --output must be table or json, not \"yaml\"\n"},
		{[]string{"reproduce"}, 2, "mlrun: reproduce takes one run id, not 0 arguments (see 'mlrun reproduce --help')\n"},
	}
	for _, tc := range cases {
		r := e.run(dir, tc.args...)
		if r.code != tc.code || (tc.want != "" && r.stderr != tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// readText returns a file's content.
func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A re-run that fails on bad input once the new run exists (here a data
// file broken since, re-run with --allow-drift) is a failed run: exit 1,
// the new run FAILED with the cause. Bad input found before any run exists
// (the drift itself, without --allow-drift) stays exit 2.
func TestReproduceAReRunThatFailsOnBadDataExits1(t *testing.T) {
	e, _ := reproEnv(t)
	dir := irisRepo(t, false)
	e.ok(dir, "run", ".")
	orig := e.newest()
	editFile(t, dir, "data/iris.csv", "\n5.1,3.5,1.4,0.2,0", "\n5.1,oops,1.4,0.2,0")

	if r := e.run(dir, "reproduce", orig.Info.ID); r.code != 2 || len(e.runs()) != 1 {
		t.Fatalf("without --allow-drift: exit %d with %d runs, want 2 and no new run\n%s", r.code, len(e.runs()), r.stderr)
	}
	r := e.run(dir, "reproduce", orig.Info.ID, "--allow-drift")
	repro := e.newest()
	if repro.Info.ID == orig.Info.ID {
		t.Fatalf("no new run (exit %d): %s", r.code, r.stderr)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "the re-run "+repro.Info.ID) || !strings.Contains(r.stderr, "oops") {
		t.Errorf("exit %d, stderr %q; want 1, naming the new run and the bad value", r.code, r.stderr)
	}
	if repro.Info.Status != tracking.StatusFailed || !strings.Contains(tagOf(repro, "mlrun.error"), "oops") {
		t.Errorf("new run %s, mlrun.error %q; want FAILED with the cause", repro.Info.Status, tagOf(repro, "mlrun.error"))
	}
}
