package reproduce

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// runGit runs the git program in dir with a fixed identity and no user
// configuration, and returns its trimmed output.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	c := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com",
		"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	c.Dir = dir
	c.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A commit that is on no branch any more (amended, still in the object
// database) is checked out with its files, modes and symlinks, as a clean
// detached worktree that knows the source's remote.
func TestCloneCommitChecksOutAnAmendedCommit(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), "first\n")
	writeFile(t, filepath.Join(src, "bin", "run.sh"), "#!/bin/sh\necho hi\n")
	if err := os.Chmod(filepath.Join(src, "bin", "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	runGit(t, src, "init", "-q")
	runGit(t, src, "remote", "add", "origin", "https://example.com/team/p.git")
	runGit(t, src, "add", ".")
	runGit(t, src, "commit", "-q", "-m", "first")
	old := runGit(t, src, "rev-parse", "HEAD")
	writeFile(t, filepath.Join(src, "a.txt"), "second\n")
	runGit(t, src, "commit", "-q", "-a", "--amend", "-m", "second")
	if runGit(t, src, "branch", "--contains", old) != "" {
		t.Fatal("the amended commit is still on a branch")
	}

	repo, err := git.PlainOpen(src)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(old))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "wt")
	if err := cloneCommit(context.Background(), repo, commit, dst); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "a.txt")); got != "first\n" {
		t.Errorf("a.txt = %q, want the amended commit's %q", got, "first\n")
	}
	if fi, err := os.Stat(filepath.Join(dst, "bin", "run.sh")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("bin/run.sh lost its executable bit: %v %v", fi.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "link")); err != nil || target != "a.txt" {
		t.Errorf("link -> %q, %v; want a symlink to a.txt", target, err)
	}
	g, err := provenance.InspectGit(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	if g.Commit != old || g.Dirty || g.Branch != "" || g.RemoteURL != "https://example.com/team/p.git" {
		t.Errorf("worktree git state = commit %s dirty %v branch %q remote %q; want %s, clean, detached, the source's remote", g.Commit, g.Dirty, g.Branch, g.RemoteURL, old)
	}
	// The git program agrees: a clean shallow checkout whose log works.
	if st := runGit(t, dst, "status", "--porcelain"); st != "" {
		t.Errorf("git status in the worktree:\n%s", st)
	}
	if log := runGit(t, dst, "log", "--format=%s"); log != "first" {
		t.Errorf("git log in the worktree = %q, want the one commit", log)
	}
}

// testStore opens a real SQLite store in a temporary directory.
func testStore(t *testing.T) *sqlite.Store {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// record is a run to create directly in a store.
type record struct {
	status  tracking.RunStatus // "" means FINISHED
	params  map[string]string
	metrics map[string]float64
	tags    map[string]string
	files   map[string]string // artifact path → content
}

// createRun creates a run as described and returns its id.
func createRun(t *testing.T, st tracking.Store, r record) string {
	t.Helper()
	ctx := context.Background()
	var params []tracking.Param
	for k, v := range r.params {
		params = append(params, tracking.Param{Key: k, Value: v})
	}
	var tags []tracking.Tag
	for k, v := range r.tags {
		tags = append(tags, tracking.Tag{Key: k, Value: v})
	}
	info, err := st.CreateRun(ctx, tracking.NewRun{ExperimentID: tracking.DefaultExperimentID, Params: params, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	var metrics []tracking.Metric
	for k, v := range r.metrics {
		metrics = append(metrics, tracking.Metric{Key: k, Value: v, Timestamp: 1})
	}
	if err := st.LogBatch(ctx, info.ID, metrics, nil, nil); err != nil {
		t.Fatal(err)
	}
	dir, err := artifact.DirFromURI(info.ArtifactURI)
	if err != nil {
		t.Fatal(err)
	}
	for path, content := range r.files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(path)), content)
	}
	status := r.status
	if status == "" {
		status = tracking.StatusFinished
	}
	if err := st.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &status}); err != nil {
		t.Fatal(err)
	}
	return info.ID
}

// Runs that cannot be re-run are refused before anything is made, each
// with a sentence saying what is missing.
func TestNewPlanRefusesRunsItCannotRerun(t *testing.T) {
	st := testStore(t)
	notRepo := t.TempDir()
	repo := t.TempDir()
	writeFile(t, filepath.Join(repo, "MLproject"), "name: p\nentry_points:\n  main:\n    command: echo hi\n")
	runGit(t, repo, "init", "-q")
	runGit(t, repo, "add", ".")
	runGit(t, repo, "commit", "-q", "-m", "p")
	head := runGit(t, repo, "rev-parse", "HEAD")
	gone := strings.Repeat("ab", 20)

	cases := []struct {
		name     string
		rec      record
		code     string
		contains string
	}{
		{"no record", record{}, errs.Invalid, "recorded neither its project directory (tag mlrun.project.dir) nor a git commit"},
		{"logged by a script", record{tags: map[string]string{TagSourceName: "/home/u/train.py", provenance.TagGitCommit: head}}, errs.Invalid, `was logged by "/home/u/train.py", which mlrun did not launch and cannot re-run`},
		{"still running", record{status: tracking.StatusRunning, tags: map[string]string{TagProjectDir: repo}}, errs.Invalid, "only a FINISHED run can be reproduced"},
		{"sweep parent", record{tags: map[string]string{TagProjectDir: repo, TagSweepTrials: "3", TagEntryPoint: "main"}}, errs.Invalid, "parent of a sweep"},
		{"commit without dir", record{tags: map[string]string{provenance.TagGitCommit: head, TagEntryPoint: "main"}}, errs.Invalid, "not its project directory"},
		{"no entry point", record{tags: map[string]string{TagProjectDir: repo}}, errs.Invalid, "recorded no entry point"},
		{"dir gone", record{tags: map[string]string{TagProjectDir: filepath.Join(repo, "nope"), TagEntryPoint: "main"}}, errs.NotFound, "does not exist any more"},
		{"repo gone", record{tags: map[string]string{TagProjectDir: notRepo, provenance.TagGitCommit: head, TagEntryPoint: "main"}}, errs.Invalid, "is no longer in one"},
		{"commit gone", record{tags: map[string]string{TagProjectDir: repo, provenance.TagGitCommit: gone, TagEntryPoint: "main"}}, errs.Invalid, "commit " + gone + " recorded by run"},
		{"entry point gone", record{tags: map[string]string{TagProjectDir: repo, provenance.TagGitCommit: head, provenance.TagGitDirty: "false", TagEntryPoint: "train"}}, errs.NotFound, `entry point "train" not found`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := createRun(t, st, tc.rec)
			tmp := t.TempDir()
			p, err := NewPlan(context.Background(), st, id, Options{Kinds: steps.NewRegistry(), TempDir: tmp})
			if err == nil {
				p.Close()
				t.Fatalf("NewPlan succeeded, want %s %q", tc.code, tc.contains)
			}
			if errs.Code(err) != tc.code || !strings.Contains(errs.Message(err), tc.contains) {
				t.Errorf("error = %s %q, want %s containing %q", errs.Code(err), errs.Message(err), tc.code, tc.contains)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("NewPlan left %d entries in the temporary directory", len(left))
			}
		})
	}
	if _, err := NewPlan(context.Background(), st, "ffffffff", Options{Kinds: steps.NewRegistry()}); errs.Code(err) != errs.NotFound {
		t.Errorf("unknown run: %v, want NotFound", err)
	}
}

// A dirty run is re-created from its commit and its code.diff in a
// temporary worktree that Close removes; a diff that does not apply leaves
// nothing behind.
func TestNewPlanAppliesTheRecordedDiffInATemporaryWorktree(t *testing.T) {
	st := testStore(t)
	repo := t.TempDir()
	project := "name: p\nentry_points:\n  main:\n    parameters: {n: {type: int, default: 1}}\n    command: echo {n}\n"
	writeFile(t, filepath.Join(repo, "sub", "MLproject"), project)
	runGit(t, repo, "init", "-q")
	runGit(t, repo, "add", ".")
	runGit(t, repo, "commit", "-q", "-m", "p")
	head := runGit(t, repo, "rev-parse", "HEAD")
	// The run saw n's default at 2, uncommitted.
	dir := filepath.Join(repo, "sub")
	writeFile(t, filepath.Join(dir, "MLproject"), strings.Replace(project, "default: 1", "default: 2", 1))
	g, err := provenance.InspectGit(context.Background(), dir)
	if err != nil || !g.Dirty {
		t.Fatalf("inspect: %v dirty=%v", err, g != nil && g.Dirty)
	}
	runGit(t, repo, "checkout", "--", ".") // the checkout is clean again
	tags := map[string]string{
		TagProjectDir: dir, TagGitSubdir: "sub", TagEntryPoint: "main", TagSeed: "5",
		provenance.TagGitCommit: head, provenance.TagGitDirty: "true", provenance.TagGitDiffSHA256: g.DiffSHA256,
	}

	good := createRun(t, st, record{params: map[string]string{"n": "2"}, tags: tags, files: map[string]string{"code.diff": string(g.Diff)}})
	tmp := t.TempDir()
	p, err := NewPlan(context.Background(), st, good[:8], Options{Kinds: steps.NewRegistry(), TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != WorktreeWithDiff || !strings.HasPrefix(p.Dir, tmp) || !strings.HasSuffix(p.Dir, "sub") {
		t.Errorf("mode %q dir %s, want a worktree with diff under %s", p.Mode, p.Dir, tmp)
	}
	if got := readFile(t, filepath.Join(p.Dir, "MLproject")); !strings.Contains(got, "default: 2") {
		t.Errorf("the worktree's MLproject lacks the recorded change:\n%s", got)
	}
	if !strings.Contains(p.Summary(), "in a temporary worktree (with its recorded diff)") || *p.Seed != 5 {
		t.Errorf("summary %q seed %d", p.Summary(), *p.Seed)
	}
	// The checkout now declares n=1, the run recorded 2 as the default: the
	// worktree re-runs the recorded code, whose default is 2, so that is no
	// drift.
	if len(p.Drift) != 0 {
		t.Errorf("drift = %+v, want none: the worktree has the recorded default", p.Drift)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %d entries", len(left))
	}

	bad := strings.Replace(string(g.Diff), "-    parameters: {n: {type: int, default: 1}}", "-    parameters: {n: {type: int, default: 9}}", 1)
	tags[provenance.TagGitDiffSHA256] = sha256Hex([]byte(bad))
	badRun := createRun(t, st, record{params: map[string]string{"n": "2"}, tags: tags, files: map[string]string{"code.diff": bad}})
	if _, err := NewPlan(context.Background(), st, badRun, Options{Kinds: steps.NewRegistry(), TempDir: tmp}); err == nil || !strings.Contains(errs.Message(err), "apply the recorded code.diff") {
		t.Errorf("a diff that does not apply: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("a failed NewPlan left %d entries", len(left))
	}

	tampered := createRun(t, st, record{tags: tags, files: map[string]string{"code.diff": string(g.Diff)}})
	if _, err := NewPlan(context.Background(), st, tampered, Options{Kinds: steps.NewRegistry(), TempDir: tmp}); errs.Code(err) != errs.Invalid || !strings.Contains(errs.Message(err), "it was changed") {
		t.Errorf("a code.diff whose hash differs: %v", err)
	}
}

// Compare: params as text, metrics within the tolerance, model files by
// hash with MLmodel left out.
func TestCompare(t *testing.T) {
	st := testStore(t)
	model := map[string]string{"model/MLmodel": "run_id: a\n", "model/model.json": `{"w":[1,2]}`}
	orig := createRun(t, st, record{
		params:  map[string]string{"C": "1.0", "train.rows": "112"},
		metrics: map[string]float64{"accuracy": 0.9, "loss": 0.25},
		tags:    map[string]string{"mlrun.dataset.data/x.csv": "abc", TagDatasetSummary: "abc"},
		files:   model,
	})
	same := createRun(t, st, record{
		params:  map[string]string{"C": "1.0", "train.rows": "112"},
		metrics: map[string]float64{"accuracy": 0.9, "loss": 0.25 + 1e-12},
		tags:    map[string]string{"mlrun.dataset.data/x.csv": "abc"},
		files:   map[string]string{"model/MLmodel": "run_id: b\n", "model/model.json": `{"w":[1,2]}`},
	})
	other := createRun(t, st, record{
		params:  map[string]string{"C": "2.0", "train.rows": "112"},
		metrics: map[string]float64{"accuracy": 0.9},
		tags:    map[string]string{"mlrun.dataset.data/x.csv": "abc"},
		files:   map[string]string{"model/MLmodel": "run_id: c\n", "model/model.json": `{"w":[1,3]}`, "model/extra.bin": "x"},
	})
	ctx := context.Background()

	exact, err := Compare(ctx, st, orig, same, 0)
	if err != nil {
		t.Fatal(err)
	}
	if exact.Reproduced || exact.Differences != 1 || rowOf(exact, WhatMetric, "loss").Status != Differs {
		t.Errorf("exact compare: %d differences, loss %+v; want only loss to differ", exact.Differences, rowOf(exact, WhatMetric, "loss"))
	}
	loose, err := Compare(ctx, st, orig, same, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	if !loose.Reproduced || len(loose.Rows) != 6 {
		t.Errorf("with tolerance 1e-9: reproduced %v, %d rows %+v; want 6 rows all same", loose.Reproduced, len(loose.Rows), loose.Rows)
	}
	if r := rowOf(loose, WhatModel, "model/model.json"); r.Original == "" || r.Original != r.Reproduced {
		t.Errorf("model.json row = %+v", r)
	}
	if r := rowOf(loose, WhatModel, "model/MLmodel"); r.Name != "" {
		t.Errorf("MLmodel was compared: %+v", r)
	}

	diff, err := Compare(ctx, st, orig, other, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]Status{
		{WhatParam, "C"}:                Differs,
		{WhatParam, "train.rows"}:       Same,
		{WhatMetric, "accuracy"}:        Same,
		{WhatMetric, "loss"}:            Missing,
		{WhatDataset, "data/x.csv"}:     Same,
		{WhatModel, "model/model.json"}: Differs,
		{WhatModel, "model/extra.bin"}:  Missing,
	}
	for k, status := range want {
		if got := rowOf(diff, k[0], k[1]); got.Status != status {
			t.Errorf("%s %s: %+v, want %s", k[0], k[1], got, status)
		}
	}
	if diff.Reproduced || diff.Differences != 4 || len(diff.Rows) != len(want) {
		t.Errorf("reproduced %v, %d differences in %d rows; want 4 of %d", diff.Reproduced, diff.Differences, len(diff.Rows), len(want))
	}
}

func rowOf(v *Verdict, what, name string) Row {
	for _, r := range v.Rows {
		if r.What == what && r.Name == name {
			return r
		}
	}
	return Row{}
}

func TestSameMetric(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	cases := []struct {
		a, b, tol float64
		want      bool
	}{
		{1, 1, 0, true},
		{1, 1 + 1e-15, 0, false},
		{1, 1 + 1e-15, 1e-12, true},
		{nan, nan, 0, true},
		{nan, 1, 1e9, false},
		{0.5, 0.7, 0.1, false},
	}
	for _, c := range cases {
		if got := sameMetric(c.a, c.b, c.tol); got != c.want {
			t.Errorf("sameMetric(%v, %v, %v) = %v, want %v", c.a, c.b, c.tol, got, c.want)
		}
	}
}

func TestDriftTags(t *testing.T) {
	tags := driftTags([]Drift{
		{Kind: DriftDataset, Name: "data/iris v2.csv", Recorded: "aaa", Current: "missing"},
		{Kind: DriftParam, Name: "C", Recorded: "1.0", Current: "2.0"},
		{Kind: DriftLockfile, Name: "uv.lock", Recorded: "none", Current: "bbb"},
	})
	want := map[string]string{
		"mlrun.drift":                          "3 drifts: dataset data/iris v2.csv, param C, lockfile uv.lock",
		"mlrun.drift.dataset.data/iris v2.csv": "recorded aaa, now missing",
		"mlrun.drift.param.C":                  "recorded 1.0, now 2.0",
		"mlrun.drift.lockfile.uv.lock":         "recorded none, now bbb",
	}
	if len(tags) != len(want) {
		t.Errorf("tags = %v", tags)
	}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, tags[k], v)
		}
	}
	if driftTags(nil) != nil {
		t.Error("no drift gave tags")
	}
}

// Drift outside git: lockfiles (the primary one by its tag, the others by
// their saved copies, and new ones) and data files (changed and missing).
func TestNewPlanFindsLockfileAndDataDrift(t *testing.T) {
	st := testStore(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "MLproject"), "name: p\nentry_points:\n  main:\n    command: echo hi\n")
	writeFile(t, filepath.Join(dir, "uv.lock"), "uv\n")
	writeFile(t, filepath.Join(dir, "requirements.txt"), "numpy==2.0\n")
	writeFile(t, filepath.Join(dir, "poetry.lock"), "new\n")
	writeFile(t, filepath.Join(dir, "data", "x.csv"), "a\n2\n")
	id := createRun(t, st, record{
		tags: map[string]string{
			TagProjectDir: dir, TagEntryPoint: "main", provenance.TagGitRepo: "none",
			provenance.TagLockfile: "uv.lock", provenance.TagLockfileSHA256: sha256Hex([]byte("uv\n")),
			provenance.TagLockfiles:    "requirements.txt,uv.lock",
			"mlrun.dataset.data/x.csv": sha256Hex([]byte("a\n1\n")),
			"mlrun.dataset.gone.csv":   sha256Hex([]byte("b\n")),
			TagDatasetSummary:          sha256Hex([]byte("a\n1\n")),
		},
		files: map[string]string{"lockfiles/requirements.txt": "numpy==1.24\n", "lockfiles/uv.lock": "uv\n"},
	})
	p, err := NewPlan(context.Background(), st, id, Options{Kinds: steps.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Mode != OutsideGit || p.Dir != dir || p.Seed != nil {
		t.Errorf("mode %q dir %s seed %v; want outside git in %s with no seed", p.Mode, p.Dir, p.Seed, dir)
	}
	want := []Drift{
		{DriftDataset, "data/x.csv", sha256Hex([]byte("a\n1\n")), sha256Hex([]byte("a\n2\n"))},
		{DriftDataset, "gone.csv", sha256Hex([]byte("b\n")), "missing"},
		{DriftLockfile, "requirements.txt", sha256Hex([]byte("numpy==1.24\n")), sha256Hex([]byte("numpy==2.0\n"))},
		{DriftLockfile, "poetry.lock", "none", sha256Hex([]byte("new\n"))},
	}
	if len(p.Drift) != len(want) {
		t.Fatalf("drift = %+v\nwant %+v", p.Drift, want)
	}
	for i := range want {
		if p.Drift[i] != want[i] {
			t.Errorf("drift %d = %+v, want %+v", i, p.Drift[i], want[i])
		}
	}
}

// The mlrun build a run recorded (lockfile mlrun.buildinfo, by its own tag,
// as the primary lockfile, or by its saved copy) is compared with the
// running binary's; a run that recorded no build is not checked for it.
func TestNewPlanFindsBuildDrift(t *testing.T) {
	st := testStore(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "MLproject"), "name: p\nentry_points:\n  main:\n    command: echo hi\n")
	writeFile(t, filepath.Join(dir, "requirements.txt"), "numpy\n")
	build, ok := provenance.CurrentBuild()
	if !ok {
		t.Fatal("the test binary carries no build info")
	}
	other := sha256Hex([]byte("another build"))
	reqSum := sha256Hex([]byte("numpy\n"))
	base := map[string]string{TagProjectDir: dir, TagEntryPoint: "main", provenance.TagGitRepo: "none"}
	with := func(tags map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range tags {
			out[k] = v
		}
		return out
	}
	buildDrift := []Drift{{DriftLockfile, "mlrun.buildinfo", other, build.SHA256}}
	for _, tc := range []struct {
		name  string
		rec   record
		drift []Drift
	}{
		{"per-file tag, another build", record{tags: with(map[string]string{
			provenance.TagLockfile: "requirements.txt", provenance.TagLockfileSHA256: reqSum,
			provenance.TagLockfiles:                                "mlrun.buildinfo,requirements.txt",
			provenance.TagLockfileSHA256Prefix + "mlrun.buildinfo": other,
		})}, buildDrift},
		{"per-file tag, this build", record{tags: with(map[string]string{
			provenance.TagLockfile: "requirements.txt", provenance.TagLockfileSHA256: reqSum,
			provenance.TagLockfiles:                                "mlrun.buildinfo,requirements.txt",
			provenance.TagLockfileSHA256Prefix + "mlrun.buildinfo": build.SHA256,
		})}, nil},
		{"primary lockfile, another build", record{tags: with(map[string]string{
			provenance.TagLockfile: "mlrun.buildinfo", provenance.TagLockfileSHA256: other,
		})}, append(buildDrift, Drift{DriftLockfile, "requirements.txt", "none", reqSum})},
		{"saved copy, another build", record{tags: with(map[string]string{
			provenance.TagLockfile: "requirements.txt", provenance.TagLockfileSHA256: reqSum,
			provenance.TagLockfiles: "mlrun.buildinfo,requirements.txt",
		}), files: map[string]string{"lockfiles/mlrun.buildinfo": "another build"}}, buildDrift},
		{"no build recorded", record{tags: with(map[string]string{
			provenance.TagLockfile: "requirements.txt", provenance.TagLockfileSHA256: reqSum,
		})}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(context.Background(), st, createRun(t, st, tc.rec), Options{Kinds: steps.NewRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if len(p.Drift) != len(tc.drift) {
				t.Fatalf("drift = %+v\nwant %+v", p.Drift, tc.drift)
			}
			for i := range tc.drift {
				if p.Drift[i] != tc.drift[i] {
					t.Errorf("drift %d = %+v, want %+v", i, p.Drift[i], tc.drift[i])
				}
			}
		})
	}
}

// Outside git the code is what the project directory holds now: a
// parameter it declares that the run did not record is drift.
func TestNewPlanFindsParamDriftOutsideGit(t *testing.T) {
	st := testStore(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "MLproject"), "name: p\nentry_points:\n  main:\n    parameters: {n: {type: int, default: 1}, k: {type: float, default: 0.5}}\n    command: echo {n} {k}\n")
	id := createRun(t, st, record{
		params: map[string]string{"n": "2"},
		tags:   map[string]string{TagProjectDir: dir, TagEntryPoint: "main", provenance.TagGitRepo: "none"},
	})
	p, err := NewPlan(context.Background(), st, id, Options{Kinds: steps.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	want := Drift{Kind: DriftParam, Name: "k", Recorded: "missing", Current: "0.5"}
	if len(p.Drift) != 1 || p.Drift[0] != want {
		t.Errorf("drift = %+v, want %+v", p.Drift, want)
	}
}
