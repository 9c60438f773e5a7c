package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// The load generator of `make bench`: clients on 127.0.0.1 against the
// server on a SQLite store, with a hello-world Go handler under the same
// load as the anchor, and (when the MLflow client is installed) MLflow's
// own reference server from the shared tree under the same load.

const benchClients = 16

// loadClient is an HTTP client that keeps enough idle connections for the
// load generator's goroutines.
func loadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}, Timeout: 120 * time.Second}
}

// postJSON posts body and decodes the answer into out (nil: discard).
func postJSON(c *http.Client, url string, body []byte, out any) error {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// benchServer starts the server on a fresh SQLite store.
func benchServer(tb testing.TB) (url string, st *sqlite.Store) {
	tb.Helper()
	dir := tb.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	srv, err := New(st, Options{ServeArtifacts: true})
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tb.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String(), st
}

// parallel runs n calls of fn spread over benchClients goroutines and
// returns the first error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for g := 0; g < benchClients; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func benchCreateRuns(b *testing.B, base string) {
	c := loadClient()
	body := []byte(`{"experiment_id": "0", "start_time": 1700000000000, "tags": [{"key": "mlflow.user", "value": "bench"}]}`)
	b.ResetTimer()
	start := time.Now()
	if err := parallel(b.N, func(int) error { return postJSON(c, base+"/api/2.0/mlflow/runs/create", body, nil) }); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "runs/s")
}

// batchBody is a log-batch request of n metric points. It is built with
// appends rather than fmt, so that the load generator, which shares the
// machine with the server, costs little.
func batchBody(runID string, n, round int) []byte {
	b := make([]byte, 0, 64+80*n)
	b = append(b, `{"run_id": "`...)
	b = append(b, runID...)
	b = append(b, `", "metrics": [`...)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key": "m`...)
		b = strconv.AppendInt(b, int64(i%10), 10)
		b = append(b, `", "value": `...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `.5, "timestamp": `...)
		b = strconv.AppendInt(b, 1700000000000+int64(i), 10)
		b = append(b, `, "step": `...)
		b = strconv.AppendInt(b, int64(round*n+i), 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func benchLogBatch(b *testing.B, base string) {
	c := loadClient()
	runs := make([]string, benchClients)
	for i := range runs {
		var out struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		if err := postJSON(c, base+"/api/2.0/mlflow/runs/create", []byte(`{"experiment_id": "0"}`), &out); err != nil {
			b.Fatal(err)
		}
		runs[i] = out.Run.Info.RunID
	}
	const points = 1000
	b.ResetTimer()
	start := time.Now()
	err := parallel(b.N, func(i int) error {
		return postJSON(c, base+"/api/2.0/mlflow/runs/log-batch", batchBody(runs[i%len(runs)], points, i), nil)
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*points)/time.Since(start).Seconds(), "points/s")
}

// BenchmarkServerCreateRun: runs created per second by 16 clients.
func BenchmarkServerCreateRun(b *testing.B) {
	base, _ := benchServer(b)
	benchCreateRuns(b, base)
}

// BenchmarkServerLogBatch: metric points per second in 1000-point
// log-batch requests from 16 clients.
func BenchmarkServerLogBatch(b *testing.B) {
	base, _ := benchServer(b)
	benchLogBatch(b, base)
}

// BenchmarkServerHelloAnchor: the same load against a Go handler that only
// answers {} — the ceiling of this machine's HTTP stack.
func BenchmarkServerHelloAnchor(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}")
	})}
	go hs.Serve(ln)
	defer hs.Close()
	c := loadClient()
	b.ResetTimer()
	start := time.Now()
	if err := parallel(b.N, func(int) error { return postJSON(c, "http://"+ln.Addr().String()+"/", []byte(`{}`), nil) }); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// mlflowReference starts MLflow's reference server from the shared tree
// (MLRUN_BENCH_MLFLOW=1 and the client installed), or skips.
func mlflowReference(b *testing.B) string {
	b.Helper()
	if os.Getenv("MLRUN_BENCH_MLFLOW") != "1" {
		b.Skip("set MLRUN_BENCH_MLFLOW=1 to measure MLflow's reference server")
	}
	pythonPath := "/opt/mlflow-2.12.2/src:/opt/mlflow-2.12.2/shim"
	if err := exec.Command("env", "PYTHONPATH="+pythonPath, "/usr/bin/python3", "-c", "import mlflow").Run(); err != nil {
		b.Skip("the MLflow client is not installed (run .ci/install-mlflow.sh)")
	}
	dir := b.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command("/usr/bin/python3", "-m", "mlflow", "server", "--backend-store-uri", "sqlite:///"+filepath.Join(dir, "ref.db"),
		"--serve-artifacts", "--artifacts-destination", filepath.Join(dir, "art"), "--host", "127.0.0.1", "--port", port, "--workers", "4")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(120 * time.Second)
	for {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("MLflow's reference server did not start within 120s")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// BenchmarkMLflowReferenceCreateRun: MLflow's own server, same load.
func BenchmarkMLflowReferenceCreateRun(b *testing.B) {
	benchCreateRuns(b, mlflowReference(b))
}

// BenchmarkMLflowReferenceLogBatch: MLflow's own server, same load.
func BenchmarkMLflowReferenceLogBatch(b *testing.B) {
	benchLogBatch(b, mlflowReference(b))
}

// Sixteen clients log concurrently: no request fails and no acknowledged
// point is lost. `make bench` runs it for MLRUN_SOAK_SECONDS (60 there).
func TestConcurrentClientsLoseNothing(t *testing.T) {
	seconds := 2
	if s, err := strconv.Atoi(os.Getenv("MLRUN_SOAK_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	base, st := benchServer(t)
	c := loadClient()
	var acked [benchClients]atomic.Int64
	runs := make([]string, benchClients)
	for i := range runs {
		var out struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		if err := postJSON(c, base+"/api/2.0/mlflow/runs/create", []byte(`{"experiment_id": "0"}`), &out); err != nil {
			t.Fatal(err)
		}
		runs[i] = out.Run.Info.RunID
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	errc := make(chan error, benchClients)
	for g := 0; g < benchClients; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for round := 0; time.Now().Before(deadline); round++ {
				var body []byte
				n := 1
				if round%2 == 0 {
					n = 100
					body = batchBody(runs[g], n, round)
				} else {
					body = []byte(fmt.Sprintf(`{"run_id": %q, "key": "single", "value": %d, "timestamp": %d, "step": %d}`, runs[g], round, 1700000000000+round, round))
				}
				path := "/api/2.0/mlflow/runs/log-batch"
				if n == 1 {
					path = "/api/2.0/mlflow/runs/log-metric"
				}
				if err := postJSON(c, base+path, body, nil); err != nil {
					errc <- err
					return
				}
				acked[g].Add(int64(n))
			}
		}(g)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("a client's request failed: %v", err)
	}
	total := int64(0)
	for g, id := range runs {
		stored := 0
		for _, key := range []string{"single", "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"} {
			h, err := st.MetricHistory(context.Background(), id, key)
			if err != nil {
				t.Fatal(err)
			}
			stored += len(h)
		}
		if int64(stored) != acked[g].Load() {
			t.Errorf("client %d: %d points acknowledged, %d stored", g, acked[g].Load(), stored)
		}
		total += int64(stored)
	}
	t.Logf("%d clients, %ds: %d points acknowledged and stored", benchClients, seconds, total)
}

func trackingSearch() tracking.SearchRuns {
	return tracking.SearchRuns{ExperimentIDs: []string{"0"}, Filter: searchQuery.filter, OrderBy: []string{searchQuery.order}, MaxResults: searchQuery.max}
}

// searchQuery is the search both BenchmarkSearch100k* run: a filter on a
// metric and a param, ordered by the metric.
var searchQuery = struct {
	filter, order string
	max           int
}{"metrics.acc > 0.9 and params.model = 'a'", "metrics.acc DESC", 100}

// seed100k fills a store with 100,000 runs (a metric, params and a tag
// each) in one transaction, and reopens it as a command would.
func seed100k(b *testing.B) (dir string) {
	b.Helper()
	n := 100000
	if s, err := strconv.Atoi(os.Getenv("MLRUN_BENCH_RUNS")); err == nil && s > 0 {
		n = s
	}
	dir = b.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	tx, err := st.DB().Begin()
	if err != nil {
		b.Fatal(err)
	}
	models := []string{"a", "b", "c", "d", "e"}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%032x", i+1)
		acc := float64((i*7919)%1000) / 1000
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO runs (run_id, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage)
				VALUES (?, ?, 0, 'bench', 'FINISHED', ?, ?, ?, 'active')`, []any{id, "run-" + strconv.Itoa(i), 1700000000000 + int64(i), 1700000000001 + int64(i), "file:///tmp/" + id}},
			{`INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, 'acc', 0, 1, ?, 0)`, []any{id, acc}},
			{`INSERT INTO latest_metrics (run_id, key, step, timestamp, value, is_nan) VALUES (?, 'acc', 0, 1, ?, 0)`, []any{id, acc}},
			{`INSERT INTO params (run_id, key, value) VALUES (?, 'model', ?), (?, 'lr', ?)`, []any{id, models[i%5], id, strconv.Itoa(i % 97)}},
			{`INSERT INTO tags (run_id, key, value) VALUES (?, 'mlflow.runName', ?)`, []any{id, "run-" + strconv.Itoa(i)}},
		} {
			if _, err := tx.Exec(q.sql, q.args...); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkSearch100kStore: the search as the CLI runs it, on the store.
func BenchmarkSearch100kStore(b *testing.B) {
	dir := seed100k(b)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runs, _, err := st.SearchRuns(context.Background(), trackingSearch())
		if err != nil || len(runs) != searchQuery.max {
			b.Fatalf("search: %d runs, %v", len(runs), err)
		}
	}
}

// BenchmarkSearch100kServer: the same search through runs/search.
func BenchmarkSearch100kServer(b *testing.B) {
	dir := seed100k(b)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv, err := New(st, Options{ServeArtifacts: true})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c := loadClient()
	body, _ := json.Marshal(map[string]any{"experiment_ids": []string{"0"}, "filter": searchQuery.filter,
		"order_by": []string{searchQuery.order}, "max_results": searchQuery.max})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var out struct{ Runs []json.RawMessage }
		if err := postJSON(c, "http://"+ln.Addr().String()+"/api/2.0/mlflow/runs/search", body, &out); err != nil || len(out.Runs) != searchQuery.max {
			b.Fatalf("search: %d runs, %v", len(out.Runs), err)
		}
	}
}
