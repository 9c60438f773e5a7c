package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/internal/benchcmp"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/ui"
)

// refRuns is the size of the store shared with MLflow's reference server:
// filling that server through its REST API takes a request per run.
const refRuns = 1000

// BenchmarkMLflowReferenceRunsSearch compares the runs table's view, as
// MLflow's UI asks for it (POST /ajax-api/2.0/mlflow/runs/search, 50 runs),
// on mlrun's server and on MLflow 2.12.2's own server (its SQLite store,
// 4 workers), both over HTTP on 127.0.0.1, holding the same 1,000 runs (5
// params, 3 metrics, 3 tags each), measured in turn. Beside it, mlrun's
// server-rendered runs table page for the same query. Set
// MLRUN_BENCH_MLFLOW=1 (with /opt/mlflow-2.12.2 installed) to run it.
func BenchmarkMLflowReferenceRunsSearch(b *testing.B) {
	ref := mlflowReferenceServer(b)
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h, err := ui.New(ui.Options{Store: st, Registry: st})
	if err != nil {
		b.Fatal(err)
	}
	api, err := server.New(st, server.Options{UI: h})
	if err != nil {
		b.Fatal(err)
	}
	ours := httptest.NewServer(api.Handler())
	defer ours.Close()
	c := &http.Client{Timeout: 120 * time.Second}
	// The same runs on both servers, through the REST API.
	rng := rand.New(rand.NewPCG(3, 4))
	models := []string{"a", "b", "c", "d", "e"}
	fill := func(base string) {
		for i := 0; i < refRuns; i++ {
			var created struct {
				Run struct {
					Info struct {
						RunID string `json:"run_id"`
					} `json:"info"`
				} `json:"run"`
			}
			start := int64(1_700_000_000_000 + i*1000)
			if err := post(c, base+"/api/2.0/mlflow/runs/create", map[string]any{"experiment_id": "0", "run_name": "run-" + strconv.Itoa(i), "start_time": start}, &created); err != nil {
				b.Fatal(err)
			}
			id := created.Run.Info.RunID
			batch := map[string]any{"run_id": id,
				"params": []map[string]string{{"key": "model", "value": models[i%5]}, {"key": "lr", "value": fmt.Sprint(rng.Float64())},
					{"key": "depth", "value": strconv.Itoa(rng.IntN(10))}, {"key": "batch", "value": strconv.Itoa(32 << rng.IntN(4))}, {"key": "optimizer", "value": models[rng.IntN(5)]}},
				"metrics": []map[string]any{{"key": "acc", "value": rng.Float64(), "timestamp": start, "step": 0},
					{"key": "loss", "value": rng.Float64(), "timestamp": start, "step": 0}, {"key": "f1", "value": rng.Float64(), "timestamp": start, "step": 0}},
				"tags": []map[string]string{{"key": "team", "value": models[rng.IntN(5)]}, {"key": "owner", "value": "bench"}, {"key": "stage", "value": "dev"}}}
			if err := post(c, base+"/api/2.0/mlflow/runs/log-batch", batch, nil); err != nil {
				b.Fatal(err)
			}
			if err := post(c, base+"/api/2.0/mlflow/runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": start + 500}, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	fill(ref)
	fill(ours.URL)
	const reps = 3
	timed := func(f func()) float64 {
		start := time.Now()
		for range reps {
			f()
		}
		return float64(time.Since(start).Microseconds()) / 1000 / reps
	}
	for _, q := range benchQueries {
		body, _ := json.Marshal(map[string]any{"experiment_ids": []string{"0"}, "filter": q.filter, "max_results": 50, "order_by": mlflowOrder(q.order), "run_view_type": "ACTIVE_ONLY"})
		search := func(base string) func() float64 {
			return func() float64 {
				return timed(func() {
					var out struct{ Runs []json.RawMessage }
					if err := postRaw(c, base+"/ajax-api/2.0/mlflow/runs/search", body, &out); err != nil {
						b.Fatal(err)
					}
					if q.filter == "" && len(out.Runs) != 50 {
						b.Fatalf("%s: %d runs, want 50", base, len(out.Runs))
					}
				})
			}
		}
		v := "/experiments/0?" + url.Values{"filter": {q.filter}, "order": {q.order}}.Encode()
		page := func() float64 {
			return timed(func() {
				resp, err := c.Get(ours.URL + v)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("GET %s: %d", v, resp.StatusCode)
				}
			})
		}
		b.Run(q.name, func(b *testing.B) {
			search(ours.URL)()
			search(ref)() // warm
			o, a := benchcmp.Alternate(benchPairs(), search(ours.URL), search(ref))
			benchcmp.Figure{Name: "runs/search 1k " + q.name + " (ms, HTTP)", Anchor: "MLflow 2.12.2 server, same runs and view", Goal: "<= 1"}.Report(b, o, a)
			o, a = benchcmp.Alternate(benchPairs(), page, search(ref))
			benchcmp.Figure{Name: "UI runs table page 1k " + q.name + " (ms, HTTP)", Anchor: "MLflow 2.12.2 server's runs/search, same view"}.Report(b, o, a)
		})
	}
}

func post(c *http.Client, url string, v any, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return postRaw(c, url, body, out)
}

func postRaw(c *http.Client, url string, body []byte, out any) error {
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

// mlflowReferenceServer starts MLflow's reference server as the server
// package's benchmarks do (MLRUN_BENCH_MLFLOW=1 and the client installed),
// or skips.
func mlflowReferenceServer(b *testing.B) string {
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
