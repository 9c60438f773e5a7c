package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/internal/testenv"
)

// buildMlrun builds another mlrun binary from this source with extra go
// build flags, and returns its path.
func buildMlrun(t *testing.T, flags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mlrun")
	c := exec.Command("go", append(append([]string{"build", "-o", bin}, flags...), ".")...)
	if out, err := c.CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("obtaining VCS status")) {
			testenv.Missing(t, "the mlrun source is not in a git checkout, so go build cannot stamp its revision: %s", out)
		}
		t.Fatalf("go build %v: %v\n%s", flags, err, out)
	}
	return bin
}

// runBinary runs another mlrun binary in the environment e.
func runBinary(e *env, bin, dir string, args ...string) result {
	e.t.Helper()
	c := e.command(dir, args...)
	c.Path, c.Args[0] = bin, bin
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	code := 0
	if err := c.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("%s %v: %v", bin, args, err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

// buildInfoOf reads a binary's build info with go version -m.
func buildInfoOf(t *testing.T, bin string) *debug.BuildInfo {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	// "<bin>: go1.x" then the build info indented by a tab.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	goVersion := strings.TrimPrefix(lines[0], bin+": ")
	text := ""
	for _, l := range lines[1:] {
		text += strings.TrimPrefix(l, "\t") + "\n"
	}
	info, err := debug.ParseBuildInfo(text)
	if err != nil {
		t.Fatalf("parse the build info of %s: %v\n%s", bin, err, text)
	}
	info.GoVersion = goVersion // ParseBuildInfo leaves it out
	return info
}

// setting returns a build setting of info, "" when absent.
func setting(info *debug.BuildInfo, key string) string {
	for _, s := range info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

// A pipeline of built-in steps depends on nothing but mlrun: the run
// records mlrun's build (every dependency with its version and sum, the
// toolchain and build flags) as its lockfile, lockfiles/mlrun.buildinfo,
// and beside a project lockfile it keeps its own tag.
func TestRunRecordsTheMlrunBuild(t *testing.T) {
	e := newEnv(t)
	dir := irisDir(t)
	e.ok(dir, "run", ".", "-e", "svc")
	run := e.onlyRun()
	saved, err := os.ReadFile(filepath.Join(artifactDir(run), "lockfiles", "mlrun.buildinfo"))
	if err != nil {
		t.Fatalf("the run saved no build info: %v", err)
	}
	sum := sha256.Sum256(saved)
	hexSum := hex.EncodeToString(sum[:])
	for key, want := range map[string]string{
		"mlrun.lockfile":                        "mlrun.buildinfo",
		"mlrun.lockfile.sha256":                 hexSum,
		"mlrun.lockfile.sha256.mlrun.buildinfo": hexSum,
	} {
		if got := tagOf(run, key); got != want {
			t.Errorf("tag %s = %q, want %q", key, got, want)
		}
	}
	info, err := debug.ParseBuildInfo(string(saved))
	if err != nil {
		t.Fatalf("lockfiles/mlrun.buildinfo does not parse as Go build info: %v\n%s", err, saved)
	}
	want := buildInfoOf(t, mlrunBin)
	if info.Path != "github.com/mlrun/mlrun/cmd/mlrun" || info.Main.Path != "github.com/mlrun/mlrun" || len(info.Deps) != len(want.Deps) || len(info.Deps) < 10 {
		t.Errorf("path %q, main %q, %d deps (the binary has %d)", info.Path, info.Main.Path, len(info.Deps), len(want.Deps))
	}
	for i, d := range want.Deps {
		if i < len(info.Deps) && (*info.Deps[i] != *d || !strings.HasPrefix(d.Sum, "h1:")) {
			t.Errorf("dependency %+v, the binary has %+v", *info.Deps[i], *d)
		}
	}
	if !strings.HasPrefix(want.GoVersion, "go1.") || !bytes.HasPrefix(saved, []byte("go\t"+want.GoVersion+"\n")) ||
		setting(info, "vcs.revision") != setting(want, "vcs.revision") || setting(info, "-ldflags") != "" {
		t.Errorf("toolchain or revision differ from the binary's:\n%s", saved)
	}

	// Beside a project lockfile: the project's is the primary one, and
	// each has its own hash tag.
	e = newEnv(t)
	writeFiles(t, dir, map[string]string{"requirements.txt": "numpy==1.24.2\n"})
	e.ok(dir, "run", ".", "-e", "svc")
	run = e.onlyRun()
	reqSum := sha256.Sum256([]byte("numpy==1.24.2\n"))
	for key, want := range map[string]string{
		"mlrun.lockfile":                         "requirements.txt",
		"mlrun.lockfile.sha256":                  hex.EncodeToString(reqSum[:]),
		"mlrun.lockfiles":                        "mlrun.buildinfo,requirements.txt",
		"mlrun.lockfile.sha256.requirements.txt": hex.EncodeToString(reqSum[:]),
		"mlrun.lockfile.sha256.mlrun.buildinfo":  hexSum,
	} {
		if got := tagOf(run, key); got != want {
			t.Errorf("beside requirements.txt: tag %s = %q, want %q", key, got, want)
		}
	}
	for _, name := range []string{"requirements.txt", "mlrun.buildinfo"} {
		if _, err := os.Stat(filepath.Join(artifactDir(run), "lockfiles", name)); err != nil {
			t.Errorf("lockfile artifact %s: %v", name, err)
		}
	}
}

// Built without -ldflags, mlrun's version is the VCS revision it was built
// from (with +dirty for uncommitted changes), in --version and on runs.
func TestVersionFallsBackToTheVCSRevision(t *testing.T) {
	bin := buildMlrun(t, "-buildvcs=true")
	info := buildInfoOf(t, bin)
	rev := setting(info, "vcs.revision")
	if rev == "" {
		testenv.Missing(t, "go build -buildvcs=true stamped no revision (no git?)")
	}
	want := rev
	if setting(info, "vcs.modified") == "true" {
		want += "+dirty"
	}
	if head := strings.TrimSpace(gitOut(t, ".", "rev-parse", "HEAD")); head != rev {
		t.Errorf("the binary says revision %s, the checkout is at %s", rev, head)
	}
	e := newEnv(t)
	dir := irisDir(t)
	if r := runBinary(e, bin, dir, "--version"); r.code != 0 || r.stdout != "mlrun version "+want+"\n" {
		t.Errorf("--version: exit %d, %q; want %q", r.code, r.stdout, "mlrun version "+want)
	}
	if r := runBinary(e, bin, dir, "run", ".", "-e", "svc"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	if got := tagOf(e.onlyRun(), "mlrun.version"); got != want {
		t.Errorf("mlrun.version = %q, want %q", got, want)
	}
}

// gitOut runs git in dir with the machine's configuration (to read the
// checkout the tests run in).
func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return string(out)
}

// A run recorded by another mlrun build is drift: reproduce names it and
// stops; with --allow-drift it re-runs, reproduces (the same code gives the
// same results) and records the drift.
func TestReproduceReportsAnotherMlrunBuild(t *testing.T) {
	other := buildMlrun(t, "-ldflags=-X main.version=9.9.9-test")
	e, _ := reproEnv(t)
	dir := irisRepo(t, false)
	if r := runBinary(e, other, dir, "run", "."); r.code != 0 {
		t.Fatalf("run with the other build: exit %d\n%s", r.code, r.stderr)
	}
	orig := e.newest()
	if tagOf(orig, "mlrun.version") != "9.9.9-test" {
		t.Fatalf("mlrun.version = %q", tagOf(orig, "mlrun.version"))
	}
	recorded := tagOf(orig, "mlrun.lockfile.sha256.mlrun.buildinfo")
	saved, err := os.ReadFile(filepath.Join(artifactDir(orig), "lockfiles", "mlrun.buildinfo"))
	if err != nil || !bytes.Contains(saved, []byte("-X main.version=9.9.9-test")) || len(recorded) != 64 {
		t.Fatalf("the other build's info (%v, tag %q):\n%s", err, recorded, saved)
	}

	// The same build re-runs without drift.
	if r := runBinary(e, other, dir, "reproduce", orig.Info.ID); r.code != 0 || strings.Contains(r.stdout, "drift") {
		t.Fatalf("reproduce with the same build: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	r := e.run(dir, "reproduce", orig.Info.ID)
	row := regexp.MustCompile(`(?m)^lockfile\s+mlrun\.buildinfo\s+(\S+)\s+(\S+)$`).FindStringSubmatch(r.stdout)
	if r.code != 2 || row == nil || row[1] != recorded[:12] || row[2] == row[1] || !strings.Contains(r.stderr, "drift: lockfile mlrun.buildinfo") {
		t.Fatalf("exit %d, want 2 naming the mlrun build\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	n := len(e.runs())

	e.ok(dir, "reproduce", orig.Info.ID, "--allow-drift")
	repro := e.newest()
	if len(e.runs()) != n+1 {
		t.Fatalf("%d runs after --allow-drift, want %d", len(e.runs()), n+1)
	}
	checkReproduced(t, orig, repro)
	now := tagOf(repro, "mlrun.lockfile.sha256.mlrun.buildinfo")
	if tag := tagOf(repro, "mlrun.drift.lockfile.mlrun.buildinfo"); tag != "recorded "+recorded+", now "+now || now == recorded || len(now) != 64 {
		t.Errorf("drift tag %q, build %s (original %s)", tag, now, recorded)
	}
}
