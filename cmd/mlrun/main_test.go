package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/internal/pgtest"
	"github.com/mlrun/mlrun/internal/slurmtest"
	"github.com/mlrun/mlrun/tracking"
)

// The tests in this package drive the built binary end to end, as a user
// would, against real SQLite stores in temporary directories and real git
// repositories.

var mlrunBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mlrun-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mlrunBin = filepath.Join(dir, "mlrun")
	args := []string{"build", "-o", mlrunBin}
	if os.Getenv("MLRUN_TEST_RACE") != "" {
		// MLRUN_TEST_RACE=1 go test ./cmd/mlrun: the binary under test runs
		// with the race detector (sweeps run trials in goroutines).
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build mlrun:", err)
		os.Exit(1)
	}
	code := m.Run()
	slurmtest.Stop()
	pgtest.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one mlrun invocation did.
type result struct {
	stdout, stderr string
	code           int
}

// env is an isolated environment: its own store, no user git config, and
// the built mlrun first on PATH (for command steps that call `mlrun log`).
type env struct {
	t     *testing.T
	store string // directory of the store
	vars  []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store := filepath.Join(t.TempDir(), "mlruns")
	return &env{t: t, store: store, vars: []string{
		"MLRUN_TRACKING_URI=" + store,
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"PATH=" + filepath.Dir(mlrunBin) + string(os.PathListSeparator) + os.Getenv("PATH"),
	}}
}

func (e *env) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MLRUN_") || strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, e.vars...)
}

// command prepares mlrun with args in dir.
func (e *env) command(dir string, args ...string) *exec.Cmd {
	c := exec.Command(mlrunBin, args...)
	c.Dir = dir
	c.Env = e.environ()
	return c
}

// run runs mlrun and returns what it printed and its exit status.
func (e *env) run(dir string, args ...string) result {
	e.t.Helper()
	c := e.command(dir, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("mlrun %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	r := result{out.String(), errb.String(), code}
	for _, bad := range []string{"panic:", "goroutine ", "runtime error"} {
		if strings.Contains(r.stderr, bad) {
			e.t.Fatalf("mlrun %v crashed:\n%s", args, r.stderr)
		}
	}
	return r
}

// ok runs mlrun and fails the test unless it exits 0.
func (e *env) ok(dir string, args ...string) result {
	e.t.Helper()
	r := e.run(dir, args...)
	if r.code != 0 {
		e.t.Fatalf("mlrun %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// runs returns every run in the store, deleted ones included.
func (e *env) runs() []*tracking.Run {
	e.t.Helper()
	r := e.ok(e.t.TempDir(), "runs", "list", "--view", "all", "--limit", "50000", "-o", "json")
	var out struct{ Runs []*tracking.Run }
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		e.t.Fatalf("runs list -o json: %v\n%s", err, r.stdout)
	}
	return out.Runs
}

// onlyRun returns the store's single run.
func (e *env) onlyRun() *tracking.Run {
	e.t.Helper()
	runs := e.runs()
	if len(runs) != 1 {
		e.t.Fatalf("store holds %d runs, want 1", len(runs))
	}
	return runs[0]
}

// git runs git in dir with a fixed identity.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	c := exec.Command("git", append([]string{"-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"}, args...)...)
	c.Dir = dir
	c.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// writeFiles creates files (path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
