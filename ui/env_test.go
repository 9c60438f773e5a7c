package ui_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/internal/pgtest"
)

// The browser tests drive the real thing users run: the mlrun binary, built
// once per test process, makes a store with `mlrun run` and serves it with
// `mlrun ui`.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// repoRoot is the module's root directory.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// mlrunBinary builds cmd/mlrun once.
func mlrunBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mlrun-ui-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mlrun")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/mlrun")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build mlrun: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cli runs mlrun commands against one store.
type cli struct {
	t     testing.TB
	bin   string
	store string   // MLRUN_TRACKING_URI
	extra []string // more environment, e.g. MLRUN_ARTIFACTS_DESTINATION
}

func newCLI(t testing.TB, store string) *cli {
	return &cli{t: t, bin: mlrunBinary(t), store: store}
}

// storeKinds are the stores every browser test runs on, each made fresh
// for one test in work: a SQLite file, and a schema of its own on the
// throwaway PostgreSQL server (artifacts in a shared directory, as a team
// would have them), which skips, or fails in CI, when PostgreSQL is absent.
var storeKinds = []struct {
	name string
	open func(t *testing.T, work string) *cli
}{
	{"sqlite", func(t *testing.T, work string) *cli { return newCLI(t, filepath.Join(work, "mlruns")) }},
	{"postgres", func(t *testing.T, work string) *cli {
		c := newCLI(t, pgtest.NewDatabase(t))
		c.extra = []string{"MLRUN_ARTIFACTS_DESTINATION=file://" + filepath.Join(work, "team-artifacts")}
		return c
	}},
}

func (c *cli) env() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MLRUN_") && !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	out = append(out, c.extra...)
	return append(out, "PATH="+filepath.Dir(c.bin)+string(os.PathListSeparator)+os.Getenv("PATH"), "MLRUN_TRACKING_URI="+c.store, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
}

// ok runs mlrun in dir and returns its stdout; a non-zero exit fails the test.
func (c *cli) ok(dir string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir, cmd.Env = dir, c.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("mlrun %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// git runs git in dir.
func (c *cli) git(dir string, args ...string) {
	c.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, c.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// serveUI starts `mlrun ui --port 0` and returns its base URL; the
// process is stopped when the test ends.
func (c *cli) serveUI(dir string) string {
	c.t.Helper()
	return c.serve(dir, nil, "ui", "--port", "0")
}

// serve starts mlrun with args (ui or server, on port 0), with env added
// to its environment, and returns the base URL it prints; the process is
// stopped when the test ends.
func (c *cli) serve(dir string, env []string, args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir, cmd.Env = dir, append(c.env(), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	var serverOut *io.PipeReader
	if args[0] == "server" { // it says where on stderr
		pr, pw := io.Pipe()
		serverOut = pr
		cmd.Stderr = io.MultiWriter(stderr, pw)
		c.t.Cleanup(func() { pw.Close() })
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	// mlrun ui says where on stdout; mlrun server, on stderr.
	re := regexp.MustCompile(`^mlrun (?:ui|server): (?:listening on )?(http://127\.0\.0\.1:\d+)`)
	found := make(chan string, 2)
	scan := func(r io.Reader) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, r)
	}
	go scan(stdout)
	if serverOut != nil {
		go scan(serverOut)
	}
	select {
	case u := <-found:
		return u
	case <-time.After(90 * time.Second):
		c.t.Fatalf("mlrun ui did not say where it serves; stderr:\n%s", stderr.String())
	}
	return ""
}

// lockedBuffer is a bytes.Buffer that a process writes while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// copyDir copies a directory tree of regular files.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMain removes what the package's tests and benchmarks built once.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	if benchStore != nil {
		benchStore.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
