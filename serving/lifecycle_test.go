package serving

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serve runs s.Serve in the background and returns its address and a
// function that stops it and returns Serve's error.
func serve(t testing.TB, s *Server) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, func(a string) { ready <- a }) }()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Serve: %v", err)
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatal("Serve did not start listening within 5 s")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("Serve did not return within 15 s of the cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

// lockedBuffer is a log destination safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDefaultHost checks that the zero Options listen on 127.0.0.1 only.
func TestDefaultHost(t *testing.T) {
	dir, _ := irisModel(t)
	s, err := New(context.Background(), newSource(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serve(t, s)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("listening on %q, want 127.0.0.1 and a real port", addr)
	}
	resp, err := http.Get("http://" + addr + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /ping: %d", resp.StatusCode)
	}

	// A second server on the same port is refused with a clear message.
	used, _ := strconv.Atoi(port)
	s2, err := New(context.Background(), newSource(dir), Options{Port: used})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Serve(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "another program uses the port") {
		t.Fatalf("Serve on a used port: %v, want an error saying so", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown returned %v, want nil", err)
	}
}

// TestNewFails checks that New refuses a source it cannot resolve or a
// directory that holds no model, with a message naming it.
func TestNewFails(t *testing.T) {
	empty := t.TempDir()
	if _, err := New(context.Background(), newSource(empty), Options{}); err == nil || !strings.Contains(err.Error(), empty) {
		t.Fatalf("New on an empty directory: %v, want an error naming it", err)
	}
	src := newSource(empty)
	src.err = errors.New("no alias champion")
	if _, err := New(context.Background(), src, Options{}); err == nil || !strings.Contains(err.Error(), "no alias champion") {
		t.Fatalf("New on a failing source: %v, want its error", err)
	}
	if _, err := New(context.Background(), DirSource{Dir: empty}, Options{}); err == nil || !strings.Contains(err.Error(), "not a model directory") {
		t.Fatalf("New on DirSource of an empty directory: %v", err)
	}
}

// TestReloadUnderLoad switches the source from model A (classes 0/1/2) to
// model B (species names) while clients hammer /invocations: no request
// may fail, B must be served within 3 s, and a request sent after B has
// answered one must not get A.
func TestReloadUnderLoad(t *testing.T) {
	dirA, _ := irisModel(t)
	dirB, _ := speciesModel(t)
	src := newSource(dirA)
	var logs lockedBuffer
	s, err := New(context.Background(), src, Options{ReloadEvery: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serve(t, s)
	url := "http://" + addr + "/invocations"
	const body = `{"data": [[5.1, 3.5, 1.4, 0.2]]}`
	const answerA, answerB = "{\"predictions\": [0]}\n", "{\"predictions\": [\"setosa\"]}\n"

	var (
		switched atomic.Int64 // UnixNano of the switch, 0 before
		sawB     atomic.Int64 // UnixNano of the first B answer
		requests atomic.Int64
		failures []string
		mu       sync.Mutex
	)
	fail := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 5 {
			failures = append(failures, msg)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()
	done := make(chan struct{})
	var clients sync.WaitGroup
	for range 4 {
		clients.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				start := time.Now().UnixNano()
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					fail(err.Error())
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				requests.Add(1)
				switch {
				case err != nil || resp.StatusCode != 200:
					fail(fmt.Sprintf("status %d: %s %v", resp.StatusCode, b, err))
				case string(b) == answerB:
					sawB.CompareAndSwap(0, time.Now().UnixNano())
				case string(b) == answerA:
					if b := sawB.Load(); b != 0 && start > b {
						fail("model A answered a request sent after model B had answered one")
					}
				default:
					fail("unexpected answer " + string(b))
				}
			}
		})
	}

	time.Sleep(300 * time.Millisecond) // A under load
	switched.Store(time.Now().UnixNano())
	src.set(dirB)
	deadline := time.Now().Add(3 * time.Second)
	for sawB.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // B under load
	close(done)
	clients.Wait()

	if len(failures) > 0 {
		t.Fatalf("%d+ failed requests during the reload, first: %q", len(failures), failures)
	}
	if sawB.Load() == 0 {
		t.Fatalf("model B not served within 3 s of the switch (%d requests)", requests.Load())
	}
	lag := time.Duration(sawB.Load() - switched.Load())
	t.Logf("%d requests, none failed; B served %v after the switch", requests.Load(), lag)
	if requests.Load() < 50 {
		t.Fatalf("only %d requests: the load did not overlap the switch", requests.Load())
	}
	if !strings.Contains(logs.String(), "model reloaded") {
		t.Fatalf("no reload in the log:\n%s", logs.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestFailedReloadKeepsModel points the source at a directory that is not
// a model: the old model stays, the failure is returned and logged once,
// and a later good directory is loaded.
func TestFailedReloadKeepsModel(t *testing.T) {
	dirA, _ := irisModel(t)
	dirB, _ := speciesModel(t)
	broken := t.TempDir()
	if err := os.WriteFile(broken+"/MLmodel", []byte("flavors: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := newSource(dirA)
	var logs lockedBuffer
	s, err := New(context.Background(), src, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	predict := func() string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/invocations", strings.NewReader(`{"data": [[5.1, 3.5, 1.4, 0.2]]}`))
		req.Header.Set("Content-Type", "application/json")
		s.Handler().ServeHTTP(rec, req)
		return rec.Body.String()
	}

	if changed, err := s.Reload(ctx); changed || err != nil {
		t.Fatalf("Reload with the same token: %v %v, want false nil", changed, err)
	}
	src.set(broken)
	for range 3 {
		changed, err := s.Reload(ctx)
		if changed || err == nil || !strings.Contains(err.Error(), broken) {
			t.Fatalf("Reload of a broken directory: %v %v, want false and an error naming it", changed, err)
		}
	}
	if n := strings.Count(logs.String(), "cannot load the new model"); n != 1 {
		t.Fatalf("the failed load was logged %d times, want once:\n%s", n, logs.String())
	}
	if got := predict(); got != "{\"predictions\": [0]}\n" {
		t.Fatalf("after the failed reload: %q, want model A's answer", got)
	}

	src.mu.Lock()
	src.err = errors.New("registry unavailable")
	src.mu.Unlock()
	if _, err := s.Reload(ctx); err == nil || !strings.Contains(err.Error(), "registry unavailable") {
		t.Fatalf("Reload with a failing source: %v", err)
	}
	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()

	src.set(dirB)
	if changed, err := s.Reload(ctx); !changed || err != nil {
		t.Fatalf("Reload of model B: %v %v, want true nil", changed, err)
	}
	if got := predict(); got != "{\"predictions\": [\"setosa\"]}\n" {
		t.Fatalf("after reloading B: %q, want B's answer", got)
	}
}

// TestGracefulShutdown cancels Serve's context while a request is in
// flight: the request completes, new connections are refused, Serve
// returns nil.
func TestGracefulShutdown(t *testing.T) {
	dir, _ := irisModel(t)
	s, err := New(context.Background(), newSource(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	s.beforePredict = func() {
		once.Do(func() { close(entered) })
		<-release
	}
	addr, stop := serve(t, s)

	type result struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/invocations", "application/json", strings.NewReader(`{"data": [[5.1, 3.5, 1.4, 0.2]]}`))
		if err != nil {
			inflight <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- result{resp.StatusCode, string(b), err}
	}()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the model")
	}

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	// New connections are refused once the listener is closed.
	refused := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			refused = true
			break
		}
		c.Close()
	}
	if !refused {
		t.Fatal("new connections were still accepted 3 s after the cancel")
	}
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}

	close(release)
	r := <-inflight
	if r.err != nil || r.status != 200 || r.body != "{\"predictions\": [0]}\n" {
		t.Fatalf("in-flight request: %d %q %v, want 200 with predictions", r.status, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve returned %v after a graceful shutdown, want nil", err)
	}
}

// TestDirSourceReplacedInPlace serves a DirSource and replaces the model
// directory with another model: Reload notices and loads it.
func TestDirSourceReplacedInPlace(t *testing.T) {
	dirA, _ := irisModel(t)
	dirB, _ := speciesModel(t)
	served := filepath.Join(t.TempDir(), "model")
	if err := os.Rename(dirA, served); err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), DirSource{Dir: served, URI: "runs:/0123/model"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if got := score(t, ts.URL+"/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]]}`); fmt.Sprint(got.Predictions) != "[0]" {
		t.Fatalf("model A predicts %v, want [0]", got.Predictions)
	}
	if changed, err := s.Reload(context.Background()); changed || err != nil {
		t.Fatalf("Reload of an unchanged directory: %v %v", changed, err)
	}
	time.Sleep(10 * time.Millisecond) // a later modification time for MLmodel
	if err := os.RemoveAll(served); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dirB, served); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Reload(context.Background()); !changed || err != nil {
		t.Fatalf("Reload of a replaced directory: %v %v, want true nil", changed, err)
	}
	if got := score(t, ts.URL+"/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]]}`); fmt.Sprint(got.Predictions) != "[setosa]" {
		t.Fatalf("after replacing the directory, predictions %v, want [setosa]", got.Predictions)
	}
	resp, err := http.Get(ts.URL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"model_uri": "runs:/0123/model"`) {
		t.Fatalf("metadata %s does not name the URI", b)
	}
}
