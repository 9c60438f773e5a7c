package main

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/tracking"
)

// newHTTPEnv starts `mlrun server` (the built binary) over a SQLite store
// and returns the server and an env whose tracking URI is the server's
// http:// address, so that every mlrun command goes through it.
func newHTTPEnv(t *testing.T) (*env, *env, *liveServer) {
	t.Helper()
	backend := newEnv(t)
	srv := startServer(t, backend)
	e := newEnv(t)
	e.store = ""
	for i, kv := range e.vars {
		if strings.HasPrefix(kv, "MLRUN_TRACKING_URI=") {
			e.vars[i] = "MLRUN_TRACKING_URI=" + srv.url
		}
	}
	return e, backend, srv
}

// The iris example, runs list/show, the registry and serving a models:/
// URI, all with --tracking-uri http://127.0.0.1:PORT against a running
// `mlrun server`: the runs and models land in the server's store.
func TestHTTPStoreEndToEnd(t *testing.T) {
	e, backend, srv := newHTTPEnv(t)
	dir := irisDir(t)
	e.ok(dir, "--tracking-uri", srv.url, "run", ".", "-P", "register_as=iris")
	if _, err := os.Stat(filepath.Join(dir, "mlruns", "mlrun.db")); err == nil {
		t.Fatal("a local store was created beside the project")
	}
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFinished {
		t.Fatalf("iris run %s", run.Info.Status)
	}
	if acc, ok := run.Metric("accuracy"); !ok || acc < 0.9 {
		t.Fatalf("accuracy %v, %v", acc, ok)
	}
	// The server's own store holds the run, as `runs list` on it shows.
	direct := backend.ok(t.TempDir(), "runs", "list", "-o", "json").stdout
	if !strings.Contains(direct, run.Info.ID) {
		t.Fatalf("the server's store does not hold run %s:\n%s", run.Info.ID, direct)
	}

	lr := e.ok(dir, "runs", "list")
	list := lr.stdout + lr.stderr
	if !strings.Contains(list, run.Info.ID[:12]) || !strings.Contains(list, "FINISHED") || !strings.Contains(list, "store "+srv.url) {
		t.Fatalf("runs list:\n%s", list)
	}
	show := e.ok(dir, "runs", "show", run.Info.ID[:8]).stdout
	if !strings.Contains(show, "model/MLmodel") || !strings.Contains(show, "accuracy") {
		t.Fatalf("runs show:\n%s", show)
	}
	if r := e.run(dir, "runs", "show", "ffffffff"); r.code != 3 || !strings.Contains(r.stderr, "ffffffff") {
		t.Fatalf("runs show of a missing run: exit %d\n%s", r.code, r.stderr)
	}

	models := e.ok(dir, "models", "list").stdout
	if !strings.Contains(models, "iris") || !strings.Contains(models, "champion=1") {
		t.Fatalf("models list:\n%s", models)
	}
	e.ok(dir, "models", "register", run.Info.ID[:8], "--name", "iris", "--alias", "challenger")
	versions := e.ok(dir, "models", "versions", "iris").stdout
	if !strings.Contains(versions, "challenger") {
		t.Fatalf("models versions:\n%s", versions)
	}

	// serve the registered model by alias, resolved through the server.
	cmd := e.command(dir, "serve", "models:/iris@challenger", "--port", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	urls := make(chan string, 1)
	addrRE := regexp.MustCompile(`^serving models:/iris@challenger on (http://\S+)$`)
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
	if url == "" {
		t.Fatal("serve exited before listening")
	}
	if got, err := predict(&http.Client{Timeout: 10 * time.Second}, url); err != nil || got != "setosa" {
		t.Fatalf("prediction %q, %v; want setosa", got, err)
	}
}

// A tracking URI naming a server that does not answer is one clear error.
func TestHTTPStoreServerDown(t *testing.T) {
	e := newEnv(t)
	r := e.run(t.TempDir(), "--tracking-uri", "http://127.0.0.1:1", "runs", "list")
	if r.code == 0 || !strings.Contains(r.stderr, "http://127.0.0.1:1") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("runs list against no server: exit %d\n%s", r.code, r.stderr)
	}
}

// A run logged over http whose process is killed with SIGKILL is marked
// FAILED by the next command on this host: the client checks the pids the
// server reports and the server reaps the dead one's run.
func TestHTTPStoreKilledProcessIsReaped(t *testing.T) {
	e, _, _ := newHTTPEnv(t)
	dir := t.TempDir()
	writeFiles(t, dir, tinyProject)
	c := e.command(dir, "run", ".", "-e", "sleep")
	var out syncBuffer // written by the command's copy goroutine while we read it
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the run to start", 20*time.Second, func() bool { return strings.Contains(out.String(), "sleeping") })
	if run := e.onlyRun(); run.Info.Status != tracking.StatusRunning {
		t.Fatalf("while its process lives the run is %s", run.Info.Status)
	}
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	run := e.onlyRun()
	if run.Info.Status != tracking.StatusFailed {
		t.Fatalf("after kill -9 the run is %s, want FAILED", run.Info.Status)
	}
	if msg := tagOf(run, "mlrun.error"); !strings.Contains(msg, "died") {
		t.Errorf("mlrun.error = %q", msg)
	}
}
