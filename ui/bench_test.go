package ui_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mlrun/mlrun/internal/benchcmp"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
	"github.com/mlrun/mlrun/ui"
)

// The speed benchmarks of issue 12, run by scripts/bench.sh:
//
//	go test -run '^$' -bench 'RunsTable100k$|SearchRuns100k|MetricChart' -benchtime 20x ./ui
//	go test -run '^$' -bench 'RunsTable100kVsAPI|FirstPaint' -benchtime 1x ./ui  # figures
//
// On a store of 100,000 runs (5 params, 3 metrics, 3 tags each): the runs
// table page as the server answers it (default order; sorted by a metric;
// filtered and sorted), each beside its anchor, the store's SearchRuns for
// the same query measured in the same run; the first contentful paint of the
// runs table in headless Chromium; and the draw time of a 100,000-point
// metric chart (uPlot) in headless Chromium.

const benchRuns = 100_000

var (
	benchOnce  sync.Once
	benchDir   string
	benchErr   error
	benchStore *sqlite.Store
	benchLong  string // run id with a 100,000-point metric
)

// bigStore builds the 100,000-run store once per process: 100 runs through
// the store API, then copied 1,000 times in SQL with new ids, times and
// metric values (building it through the API would take minutes).
func bigStore(b *testing.B) (*sqlite.Store, string) {
	b.Helper()
	benchOnce.Do(func() { benchErr = buildBigStore() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore, benchLong
}

func buildBigStore() error {
	ctx := context.Background()
	// MLRUN_UI_BENCH_STORE=dir keeps the store in dir and reuses it.
	dir := os.Getenv("MLRUN_UI_BENCH_STORE")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "mlrun-ui-bench-"); err != nil {
			return err
		}
		benchDir = dir
	}
	dbPath, arts := filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts")
	if _, err := os.Stat(dbPath); err == nil && benchDir == "" {
		return openBigStore(ctx, dbPath, arts)
	}
	st, err := sqlite.Open(ctx, dbPath, arts)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	models := []string{"a", "b", "c", "d", "e"}
	for i := 0; i < benchRuns/1000; i++ {
		run, err := st.CreateRun(ctx, tracking.NewRun{
			ExperimentID: "0",
			Name:         "run-" + strconv.Itoa(i),
			StartTime:    time.Now().UnixMilli() - int64(i)*1000,
			Params: []tracking.Param{
				{Key: "model", Value: models[i%5]}, {Key: "lr", Value: fmt.Sprint(rng.Float64())},
				{Key: "depth", Value: strconv.Itoa(rng.IntN(10))}, {Key: "batch", Value: strconv.Itoa(32 << rng.IntN(4))},
				{Key: "optimizer", Value: models[rng.IntN(5)]},
			},
			Tags: []tracking.Tag{{Key: "team", Value: models[rng.IntN(5)]}, {Key: "owner", Value: "bench"}},
		})
		if err != nil {
			return err
		}
		st2 := tracking.StatusFinished
		end := run.StartTime + 500
		if err := st.UpdateRun(ctx, run.ID, tracking.RunUpdate{Status: &st2, EndTime: &end}); err != nil {
			return err
		}
		if err := st.LogBatch(ctx, run.ID, []tracking.Metric{
			{Key: "acc", Value: rng.Float64(), Timestamp: 1}, {Key: "loss", Value: rng.Float64(), Timestamp: 1}, {Key: "f1", Value: rng.Float64(), Timestamp: 1},
		}, nil, []tracking.Tag{{Key: "stage", Value: "dev"}}); err != nil {
			return err
		}
	}
	st.Close()
	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TEMP TABLE m AS WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 999)
		 SELECT r.run_id AS old, lower(hex(randomblob(16))) AS new, k.n AS n FROM runs r, k`,
		`INSERT INTO runs (run_id, name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage, deleted_time, host, pid, heartbeat)
		 SELECT m.new, r.name || '-' || m.n, r.experiment_id, r.user_id, r.status, r.start_time - m.n * 100000, r.end_time - m.n * 100000,
		        replace(r.artifact_uri, r.run_id, m.new), r.lifecycle_stage, r.deleted_time, r.host, r.pid, r.heartbeat
		 FROM runs r JOIN m ON m.old = r.run_id`,
		`INSERT INTO params (run_id, key, value) SELECT m.new, p.key, p.value FROM params p JOIN m ON m.old = p.run_id`,
		`INSERT INTO tags (run_id, key, value) SELECT m.new, t.key, t.value FROM tags t JOIN m ON m.old = t.run_id`,
		`INSERT INTO latest_metrics (run_id, key, step, timestamp, value, is_nan)
		 SELECT m.new, l.key, l.step, l.timestamp, (abs(random()) % 1000000) / 1000000.0, 0 FROM latest_metrics l JOIN m ON m.old = l.run_id`,
		`INSERT INTO metrics (run_id, key, step, timestamp, value, is_nan) SELECT run_id, key, step, timestamp, value, is_nan FROM latest_metrics WHERE run_id IN (SELECT new FROM m)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("grow the bench store: %w", err)
		}
	}
	// Reopen, as mlrun ui does: opening refreshes the planner's statistics.
	if benchStore, err = sqlite.Open(ctx, dbPath, arts); err != nil {
		return err
	}
	if n, err := benchStore.CountRuns(ctx); err != nil || n != benchRuns {
		return fmt.Errorf("bench store holds %d runs (%v), want %d", n, err, benchRuns)
	}
	// One run with a 100,000-point metric history.
	exp, err := benchStore.EnsureExperiment(ctx, "long-history")
	if err != nil {
		return err
	}
	run, err := benchStore.CreateRun(ctx, tracking.NewRun{ExperimentID: exp.ID, Name: "long-history"})
	if err != nil {
		return err
	}
	benchLong = run.ID
	pts := make([]tracking.Metric, 0, 10000)
	for i := 0; i < 100_000; i++ {
		pts = append(pts, tracking.Metric{Key: "loss", Value: 1/float64(i+1) + 0.01*rng.Float64(), Timestamp: int64(1_700_000_000_000 + i*10), Step: int64(i)})
		if len(pts) == cap(pts) {
			if err := benchStore.LogBatch(ctx, run.ID, pts, nil, nil); err != nil {
				return err
			}
			pts = pts[:0]
		}
	}
	return nil
}

// openBigStore reopens a store that buildBigStore kept.
func openBigStore(ctx context.Context, dbPath, arts string) error {
	st, err := sqlite.Open(ctx, dbPath, arts)
	if err != nil {
		return err
	}
	benchStore = st
	exp, err := st.GetExperimentByName(ctx, "long-history")
	if err != nil {
		return fmt.Errorf("kept bench store %s lacks its long-history run (%v)", dbPath, err)
	}
	runs, _, err := st.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp.ID}, MaxResults: 1})
	if err != nil || len(runs) != 1 {
		return fmt.Errorf("kept bench store %s lacks its long-history run (%v)", dbPath, err)
	}
	benchLong = runs[0].Info.ID
	return nil
}

// benchHandler is the UI on the big store.
func benchHandler(b *testing.B) http.Handler {
	st, _ := bigStore(b)
	h, err := ui.New(ui.Options{Store: st, Registry: st})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// serve answers one request in process: the server's time only.
func serve(b *testing.B, h http.Handler, path string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	if rec.Code != 200 {
		b.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body.String())
	}
}

var benchQueries = []struct {
	name, filter, order string
	desc                bool
}{
	{"Default", "", "", true},
	{"SortMetric", "", "metrics.acc", true},
	{"SortParam", "", "params.lr", true},
	{"SortTag", "", "tags.team", true},
	{"Filter", "params.model = 'a'", "", true},
	{"FilterSort", "metrics.acc > 0.5 and params.model = 'a'", "metrics.acc", true},
}

// benchPairs is how many pairs a figure measures (MLRUN_BENCH_PAIRS,
// default 5); run its benchmark with -benchtime 1x.
func benchPairs() int {
	if n, err := strconv.Atoi(os.Getenv("MLRUN_BENCH_PAIRS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// mlflowOrder is a bench query's order_by as MLflow's REST API takes it.
func mlflowOrder(order string) []string {
	if order == "" {
		return nil
	}
	prefix, key, _ := strings.Cut(order, ".")
	return []string{prefix + ".`" + key + "` DESC"}
}

// BenchmarkRunsTable100kVsAPI puts each runs table page (50 rows of HTML,
// the server's whole answer, in process) beside two anchors measured in
// turn in the same run: the store's SearchRuns for the same query (the
// page's cost outside the store), and the same view through the server's
// /ajax-api/2.0/mlflow/runs/search, the request MLflow's own UI makes for
// its runs table.
func BenchmarkRunsTable100kVsAPI(b *testing.B) {
	st, _ := bigStore(b)
	h := benchHandler(b)
	api, err := server.New(st, server.Options{})
	if err != nil {
		b.Fatal(err)
	}
	apiHandler := api.Handler()
	ctx := context.Background()
	const reps = 3
	mean := func(f func()) float64 {
		start := time.Now()
		for range reps {
			f()
		}
		return float64(time.Since(start).Microseconds()) / 1000 / reps
	}
	for _, q := range benchQueries {
		v := url.Values{}
		if q.filter != "" {
			v.Set("filter", q.filter)
		}
		if q.order != "" {
			v.Set("order", q.order)
		}
		path := "/experiments/0?" + v.Encode()
		search := tracking.SearchRuns{ExperimentIDs: []string{"0"}, Filter: q.filter, MaxResults: 50, OrderBy: mlflowOrder(q.order)}
		body, _ := json.Marshal(map[string]any{"experiment_ids": []string{"0"}, "filter": q.filter, "max_results": 50, "order_by": mlflowOrder(q.order), "run_view_type": "ACTIVE_ONLY"})
		b.Run(q.name, func(b *testing.B) {
			page := func() float64 { return mean(func() { serve(b, h, path) }) }
			store := func() float64 {
				return mean(func() {
					if _, _, err := st.SearchRuns(ctx, search); err != nil {
						b.Fatal(err)
					}
				})
			}
			ajax := func() float64 {
				return mean(func() {
					rec := httptest.NewRecorder()
					req := httptest.NewRequest("POST", "/ajax-api/2.0/mlflow/runs/search", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					apiHandler.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatalf("runs/search: %d %s", rec.Code, rec.Body.String())
					}
				})
			}
			page()
			ajax() // warm
			goal := 100.0
			if q.name == "Default" {
				goal = 50
			}
			pairs := benchPairs()
			o, a := benchcmp.Alternate(pairs, page, store)
			benchcmp.Figure{Name: "UI runs table 100k " + q.name + " (ms, server)", Anchor: "store SearchRuns, same query", Max: goal}.Report(b, o, a)
			o, a = benchcmp.Alternate(pairs, page, ajax)
			benchcmp.Figure{Name: "UI runs table 100k " + q.name + " (ms, server)", Anchor: "MLflow REST /ajax-api runs/search, same view"}.Report(b, o, a)
		})
	}
}

// BenchmarkRunsTable100k is the runs table page (50 rows, HTML) as the
// server answers it.
func BenchmarkRunsTable100k(b *testing.B) {
	h := benchHandler(b)
	for _, q := range benchQueries {
		v := url.Values{}
		if q.filter != "" {
			v.Set("filter", q.filter)
		}
		if q.order != "" {
			v.Set("order", q.order)
		}
		path := "/experiments/0?" + v.Encode()
		b.Run(q.name, func(b *testing.B) {
			serve(b, h, path) // warm
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				serve(b, h, path)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}

// BenchmarkSearchRuns100k is the anchor: the store's SearchRuns for the
// same queries and page size, without rendering.
func BenchmarkSearchRuns100k(b *testing.B) {
	st, _ := bigStore(b)
	ctx := context.Background()
	for _, q := range benchQueries {
		s := tracking.SearchRuns{ExperimentIDs: []string{"0"}, Filter: q.filter, MaxResults: 50}
		if q.order != "" {
			s.OrderBy = []string{q.order + " DESC"}
		}
		b.Run(q.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := st.SearchRuns(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	}
}

// BenchmarkFirstPaint100k is the runs table's first contentful paint in
// headless Chromium, served over HTTP on 127.0.0.1.
func BenchmarkFirstPaint100k(b *testing.B) {
	srv := benchServer(b)
	// The anchor: a page with one heading, from a Go handler on 127.0.0.1,
	// painted by the same browser in the same loop.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>anchor</title><h1 id="runs">hello</h1>`))
	}))
	b.Cleanup(plain.Close)
	ctx := benchBrowser(b)
	fcp := func(url string) float64 {
		if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("runs"))); err != nil {
			b.Fatal(err)
		}
		ms, err := chromedp.Run(ctx, chromedp.Poll[float64](`(performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime`, chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			b.Fatal(err)
		}
		return ms
	}
	fcp(srv.URL + "/experiments/0") // warm the caches
	o, a := benchcmp.Alternate(benchPairs(), func() float64 { return fcp(srv.URL + "/experiments/0") }, func() float64 { return fcp(plain.URL) })
	st := benchcmp.Figure{Name: "UI runs table 100k first contentful paint (ms)", Anchor: "one-line page, same browser", Max: 300}.Report(b, o, a)
	b.ReportMetric(st.Ours, "ms-first-paint")
	b.ReportMetric(st.Anchor, "ms-first-paint-anchor")
}

// BenchmarkMetricChart100k draws a 100,000-point metric history with the
// run page's chart code in headless Chromium: the figure is uPlot's own
// draw time (data-drawn-ms), and load-ms adds fetching and parsing the
// history from the server.
func BenchmarkMetricChart100k(b *testing.B) {
	_, long := bigStore(b)
	srv := benchServer(b)
	ctx := benchBrowser(b)
	var draw, load float64
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/runs/"+long),
			chromedp.WaitVisible(chromedp.CSS(`figure.chart[data-key="loss"][data-drawn-ms]`))); err != nil {
			b.Fatal(err)
		}
		load += float64(time.Since(start).Microseconds()) / 1000
		attrs, err := chromedp.Run(ctx, chromedp.Attributes(chromedp.CSS(`figure.chart[data-key="loss"]`)))
		if err != nil {
			b.Fatal(err)
		}
		if attrs["data-points"] != "100000" {
			b.Fatalf("chart drew %s points, want 100000", attrs["data-points"])
		}
		ms, _ := strconv.ParseFloat(attrs["data-drawn-ms"], 64)
		draw += ms
	}
	b.ReportMetric(draw/float64(b.N), "ms-draw")
	b.ReportMetric(load/float64(b.N), "ms-load+draw")
}

// benchServer serves the UI on 127.0.0.1; live-update streams that pages
// keep open are cut when the benchmark ends.
func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(benchHandler(b))
	b.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

func benchBrowser(b *testing.B) context.Context {
	bin := findChromium()
	if bin == "" {
		b.Skip("no chromium binary found (install it with .ci/install-chromium.sh)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(b.TempDir()), chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b.Cleanup(func() { cancel(); acancel() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.Fatal(err)
	}
	return ctx
}
