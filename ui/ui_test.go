package ui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
	"github.com/mlrun/mlrun/ui"
)

// fixture is a real SQLite store served by the UI handler on 127.0.0.1.
type fixture struct {
	t   *testing.T
	st  *sqlite.Store
	srv *httptest.Server
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlruns", "mlrun.db"), filepath.Join(dir, "mlruns", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := ui.New(ui.Options{Store: st, Registry: st, StoreLabel: "sqlite:///test/mlrun.db", PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{t: t, st: st, srv: srv, dir: dir}
}

// get fetches a path and returns status and body.
func (f *fixture) get(path string) (int, string, http.Header) {
	f.t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// post submits a form as a same-origin browser would, without following
// redirects.
func (f *fixture) post(path string, form url.Values, fetchSite string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (f *fixture) run(name string, params []tracking.Param, tags []tracking.Tag) *tracking.RunInfo {
	f.t.Helper()
	info, err := f.st.CreateRun(context.Background(), tracking.NewRun{ExperimentID: "0", Name: name, UserID: "u", Params: params, Tags: tags})
	if err != nil {
		f.t.Fatal(err)
	}
	return info
}

func (f *fixture) artifactDir(info *tracking.RunInfo) string {
	f.t.Helper()
	dir, err := artifact.DirFromURI(info.ArtifactURI)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	return dir
}

func TestUserStringsAreEscaped(t *testing.T) {
	f := newFixture(t)
	evil := `<script>alert("x")</script>`
	info := f.run(evil, []tracking.Param{{Key: "p", Value: `"><img src=x onerror=alert(1)>`}}, []tracking.Tag{{Key: "t", Value: evil}})
	dir := f.artifactDir(info)
	if err := os.WriteFile(filepath.Join(dir, `<i>x.txt`), []byte(evil), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"/experiments/0?col=params.p,tags.t",
		"/experiments/0?filter=" + url.QueryEscape(`params.p = '`+evil),
		"/runs/" + info.ID + "?artifact=" + url.QueryEscape(`<i>x.txt`),
	} {
		code, body, _ := f.get(p)
		if code != 200 {
			t.Fatalf("GET %s: %d\n%s", p, code, body)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<i>x") {
			t.Errorf("GET %s: a user string reached the page unescaped", p)
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("GET %s: the escaped string is missing", p)
		}
	}
}

func TestNoInlineScriptsAndCSP(t *testing.T) {
	f := newFixture(t)
	info := f.run("r", nil, nil)
	inline := regexp.MustCompile(`<script(\s[^>]*)?>`)
	for _, p := range []string{"/", "/experiments/0", "/runs/" + info.ID, "/compare?run=" + info.ID + "&run=" + info.ID, "/models"} {
		_, body, h := f.get(p)
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		for _, m := range inline.FindAllString(body, -1) {
			if !strings.Contains(m, "src=") && !strings.Contains(m, `type="application/json"`) {
				t.Errorf("GET %s: inline script %s", p, m)
			}
		}
		if strings.Contains(body, " onclick=") || strings.Contains(body, " style=") {
			t.Errorf("GET %s: inline handler or style", p)
		}
	}
}

func TestArtifactsCannotEscapeTheRun(t *testing.T) {
	f := newFixture(t)
	info := f.run("r", nil, nil)
	other := f.run("other", nil, nil)
	dir := f.artifactDir(info)
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "secret.txt")
	os.WriteFile(secret, []byte("TOP-SECRET"), 0o644)
	os.WriteFile(filepath.Join(f.artifactDir(other), "neighbour.txt"), []byte("NEIGHBOUR"), 0o644)
	os.WriteFile(filepath.Join(dir, "ok.txt"), []byte("fine"), 0o644)
	must(t, os.Symlink(secret, filepath.Join(dir, "leak.txt")))
	must(t, os.Symlink(secretDir, filepath.Join(dir, "leakdir")))
	must(t, os.Symlink("../../"+other.ID+"/artifacts/neighbour.txt", filepath.Join(dir, "rel.txt")))

	if code, body, h := f.get("/runs/" + info.ID + "/artifacts/ok.txt"); code != 200 || body != "fine" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("ok.txt: %d %q CSP %q", code, body, h.Get("Content-Security-Policy"))
	}
	for _, p := range []string{"leak.txt", "leakdir/secret.txt", "rel.txt", "..%2f..%2f" + other.ID + "%2fartifacts%2fneighbour.txt", "%2e%2e/%2e%2e/x"} {
		code, body, _ := f.get("/runs/" + info.ID + "/artifacts/" + p)
		if code == 200 || strings.Contains(body, "TOP-SECRET") || strings.Contains(body, "NEIGHBOUR") {
			t.Errorf("artifact %s: %d %q", p, code, body)
		}
	}
	for _, p := range []string{"leak.txt", "leakdir/secret.txt", "rel.txt"} {
		_, body, _ := f.get("/runs/" + info.ID + "?artifact=" + url.QueryEscape(p))
		if strings.Contains(body, "TOP-SECRET") || strings.Contains(body, "NEIGHBOUR") {
			t.Errorf("preview of %s shows a file outside the run", p)
		}
	}
	_, body, _ := f.get("/runs/" + info.ID)
	if !strings.Contains(body, "leak.txt (outside the run)") {
		t.Errorf("the tree does not mark the escaping link")
	}
}

func TestCrossOriginWritesRefused(t *testing.T) {
	f := newFixture(t)
	resp, _ := f.post("/experiments/create", url.Values{"name": {"evil"}}, "cross-site")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if _, err := f.st.GetExperimentByName(context.Background(), "evil"); err == nil {
		t.Fatal("a cross-site POST created an experiment")
	}
	resp, _ = f.post("/experiments/create", url.Values{"name": {"good"}}, "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin POST: %d, want 303", resp.StatusCode)
	}
}

func TestExperimentLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	resp, _ := f.post("/experiments/create", url.Values{"name": {"a"}}, "same-origin")
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/experiments/") {
		t.Fatalf("create redirects to %q", loc)
	}
	id := strings.TrimPrefix(loc, "/experiments/")
	f.st.CreateExperiment(ctx, "taken", nil)
	resp, body := f.post("/experiments/"+id+"/rename", url.Values{"name": {"taken"}}, "same-origin")
	if resp.StatusCode != 400 || !strings.Contains(body, "already exists") {
		t.Errorf("rename to a taken name: %d", resp.StatusCode)
	}
	f.post("/experiments/"+id+"/rename", url.Values{"name": {"b"}, "back": {"/"}}, "same-origin")
	if e, _ := f.st.GetExperiment(ctx, id); e.Name != "b" {
		t.Errorf("after rename: %q", e.Name)
	}
	f.post("/experiments/"+id+"/delete", url.Values{"back": {"//evil.example/"}}, "same-origin")
	if e, _ := f.st.GetExperiment(ctx, id); e.LifecycleStage != tracking.LifecycleDeleted {
		t.Errorf("after delete: %s", e.LifecycleStage)
	}
	_, body, _ = f.get("/")
	if strings.Contains(body, ">b</a>") {
		t.Errorf("a deleted experiment is listed")
	}
	f.post("/experiments/"+id+"/restore", nil, "same-origin")
	if e, _ := f.st.GetExperiment(ctx, id); e.LifecycleStage != tracking.LifecycleActive {
		t.Errorf("after restore: %s", e.LifecycleStage)
	}
	resp, body = f.post("/experiments/0/delete", nil, "same-origin")
	if resp.StatusCode != 400 || !strings.Contains(body, "cannot be deleted") {
		t.Errorf("deleting Default: %d", resp.StatusCode)
	}
	// A redirect never leaves the site.
	resp, _ = f.post("/experiments/"+id+"/rename", url.Values{"name": {"c"}, "back": {"//evil.example/"}}, "same-origin")
	if l := resp.Header.Get("Location"); l != "/" {
		t.Errorf("redirect to %q", l)
	}
}

func TestRunsTableFilterSortPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		info := f.run("run-"+string(rune('a'+i)), []tracking.Param{{Key: "C", Value: []string{"0.1", "1", "10", "1", "0.1"}[i]}}, nil)
		f.st.LogBatch(ctx, info.ID, []tracking.Metric{{Key: "acc", Value: float64(i) / 10, Timestamp: 1, Step: 0}}, nil, nil)
	}
	f.st.DeleteRun(ctx, f.run("gone", nil, nil).ID)
	_, body, _ := f.get("/")
	if !strings.Contains(body, `<td class="num">5</td><td class="num">5</td>`) {
		t.Errorf("the experiments page does not count 5 active runs, 5 running")
	}
	_, body, _ = f.get("/ui/api/experiment-stats?experiment=0")
	if !strings.Contains(body, `{"deleted":1,"running":5,"runs":5}`) {
		t.Errorf("the runs page's counts: %s", body)
	}
	_, body, _ = f.get("/experiments/0?filter=" + url.QueryEscape("params.C = '1'") + "&col=metrics.acc")
	if n := strings.Count(body, `<tr data-run=`); n != 2 {
		t.Errorf("filter params.C = '1': %d rows, want 2", n)
	}
	code, body, _ := f.get("/experiments/0?filter=" + url.QueryEscape("metrics.acc >> 1"))
	if code != 200 || !strings.Contains(body, `id="filter-error"`) || !strings.Contains(body, `value="metrics.acc &gt;&gt; 1"`) {
		t.Errorf("bad filter: %d, inline error and kept text expected", code)
	}
	_, body, _ = f.get("/experiments/0?order=metrics.acc&dir=asc&col=metrics.acc")
	order := regexp.MustCompile(`>(run-[a-e])</a>`).FindAllStringSubmatch(body, -1)
	var got []string
	for _, m := range order {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != "run-a,run-b,run-c,run-d,run-e" {
		t.Errorf("ascending by acc: %v", got)
	}
	if !strings.Contains(body, `aria-sort="ascending"`) {
		t.Error("the sorted header is not marked")
	}
	_, body, _ = f.get("/experiments/0?n=2&col=none")
	m := regexp.MustCompile(`href="([^"]*page=[^"]*)" id="next-page"`).FindStringSubmatch(body)
	if m == nil || strings.Count(body, `<tr data-run=`) != 2 {
		t.Fatalf("paging: no next link or wrong page size")
	}
	_, body2, _ := f.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if strings.Count(body2, `<tr data-run=`) != 2 || body2 == body {
		t.Errorf("second page wrong")
	}
}

func TestMetricHistoryWithNaN(t *testing.T) {
	f := newFixture(t)
	info := f.run("r", nil, nil)
	f.st.LogBatch(context.Background(), info.ID, []tracking.Metric{
		{Key: "loss", Value: 1, Timestamp: 1, Step: 0}, {Key: "loss", Value: math.NaN(), Timestamp: 2, Step: 1}, {Key: "loss", Value: 0.5, Timestamp: 3, Step: 2}, {Key: "bad", Value: math.Inf(1), Timestamp: 3},
	}, nil, nil)
	code, body, _ := f.get("/ui/api/metric-history?run_id=" + info.ID + "&metric_key=loss")
	var got struct {
		Metrics []struct {
			Value *float64
			Step  int64
		}
	}
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Metrics) != 3 || got.Metrics[1].Value != nil || *got.Metrics[2].Value != 0.5 {
		t.Fatalf("history: %d %s", code, body)
	}
	code, body, _ = f.get("/ui/api/metric-history?format=columns&run_id=" + info.ID + "&metric_key=loss")
	if code != 200 || body != `{"step":[0,1,2],"timestamp":[1,2,3],"value":[1,null,0.5]}` {
		t.Errorf("history as columns: %d %s", code, body)
	}
	code, body, _ = f.get("/ui/api/runs?experiment_id=0")
	if code != 200 || !json.Valid([]byte(body)) || !strings.Contains(body, `"value":null`) {
		t.Errorf("runs JSON with a NaN latest metric: %d %s", code, body)
	}
	code, body, _ = f.get("/ui/api/metric-history?run_id=nope&metric_key=loss")
	if code != 404 || !strings.Contains(body, `"error_code":"RESOURCE_DOES_NOT_EXIST"`) {
		t.Errorf("missing run: %d %s", code, body)
	}
}

func TestLiveEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	info := f.run("live", nil, nil)
	resp, err := http.Get(f.srv.URL + "/ui/api/events?run=" + info.ID + "&experiment=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan [2]string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{ev, strings.TrimPrefix(line, "data: ")}
			}
		}
		close(events)
	}()
	next := func(want string, match func(string) bool) string {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("stream ended before %s", want)
				}
				if e[0] == want && match(e[1]) {
					return e[1]
				}
			case <-deadline:
				t.Fatalf("no %s event", want)
			}
		}
	}
	next("run", func(d string) bool { return strings.Contains(d, `"status":"RUNNING"`) })
	f.st.LogBatch(ctx, info.ID, []tracking.Metric{{Key: "acc", Value: 0.75, Timestamp: 1}}, nil, nil)
	next("run", func(d string) bool { return strings.Contains(d, `"acc":"0.75"`) })
	newer := f.run("newer", nil, nil)
	next("newrun", func(d string) bool { return strings.Contains(d, newer.ID) })
	st := tracking.StatusFinished
	end := time.Now().UnixMilli()
	f.st.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &st, EndTime: &end})
	next("run", func(d string) bool { return strings.Contains(d, `"status":"FINISHED"`) })
}

func TestModelAliasNeedsConfirmation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		info := f.run("m", nil, nil)
		dir := f.artifactDir(info)
		os.MkdirAll(filepath.Join(dir, "model"), 0o755)
		os.WriteFile(filepath.Join(dir, "model", "MLmodel"), []byte("flavors: {}\n"), 0o644)
		if _, err := f.st.CreateModelVersion(ctx, "m", info.ArtifactURI+"/model", info.ID, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	must(t, f.st.SetAlias(ctx, "m", "champion", 1))
	resp, body := f.post("/models/m/alias", url.Values{"alias": {"champion"}, "version": {"2"}}, "same-origin")
	if resp.StatusCode != 200 || !strings.Contains(body, "from version 1 to version 2") {
		t.Fatalf("first POST should ask: %d", resp.StatusCode)
	}
	if v, _ := f.st.GetVersionByAlias(ctx, "m", "champion"); v.Version != 1 {
		t.Fatal("the alias moved before confirmation")
	}
	resp, _ = f.post("/models/m/alias", url.Values{"alias": {"champion"}, "version": {"2"}, "confirm": {"yes"}}, "same-origin")
	if v, _ := f.st.GetVersionByAlias(ctx, "m", "champion"); resp.StatusCode != 303 || v.Version != 2 {
		t.Fatalf("after confirmation: %d, alias at %d", resp.StatusCode, v.Version)
	}
	resp, body = f.post("/models/m/alias", url.Values{"alias": {"latest"}, "version": {"2"}}, "same-origin")
	if resp.StatusCode != 400 || !strings.Contains(body, "reserved") {
		t.Errorf("reserved alias: %d", resp.StatusCode)
	}
	f.post("/models/m/stage", url.Values{"version": {"2"}, "stage": {"production"}, "confirm": {"yes"}}, "same-origin")
	if v, _ := f.st.GetModelVersion(ctx, "m", 2); v.Stage != tracking.StageProduction {
		t.Errorf("stage: %s", v.Stage)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSweepTrialsUnderParentBestMarked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	parent := f.run("sweep", nil, []tracking.Tag{{Key: "mlrun.sweep", Value: "grid"}, {Key: "mlrun.sweep.trials", Value: "2"}})
	var kids []*tracking.RunInfo
	for i, c := range []string{"0.1", "10"} {
		kids = append(kids, f.run("trial-"+c, []tracking.Param{{Key: "C", Value: c}},
			[]tracking.Tag{{Key: "mlflow.parentRunId", Value: parent.ID}, {Key: "mlrun.sweep.trial", Value: strconv.Itoa(i + 1)}}))
	}
	f.st.LogBatch(ctx, parent.ID, nil, nil, []tracking.Tag{{Key: "mlrun.sweep.best_run", Value: kids[1].ID}})
	f.run("later", nil, nil)
	_, body, _ := f.get("/experiments/0")
	rows := regexp.MustCompile(`<tr data-run="([0-9a-f]+)" class="([^"]*)"`).FindAllStringSubmatch(body, -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[1][:4]+":"+strings.TrimSpace(r[2]))
	}
	want := []string{parent.ID[:4] + ":", kids[0].ID[:4] + ":trial", kids[1].ID[:4] + ":trial best"}
	// The sweep with its trials right under it, in trial order.
	if len(got) != 4 || !strings.Contains(strings.Join(got, ","), strings.Join(want, ",")) {
		t.Errorf("rows %v, want the other run and %v", got, want)
	}
	_, body, _ = f.get("/runs/" + parent.ID)
	if !strings.Contains(body, `<tr class="best">`) || !strings.Contains(body, "/compare?sweep="+parent.ID) {
		t.Errorf("the sweep's run page does not mark the best trial or link to comparing trials")
	}
	code, body, _ := f.get("/compare?sweep=" + parent.ID)
	if code != 200 || !strings.Contains(body, `"varying":["params.C"`) {
		t.Errorf("comparing the trials: %d", code)
	}
}

func TestReproductionVerdicts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	finish := func(info *tracking.RunInfo, acc float64) {
		f.st.LogBatch(ctx, info.ID, []tracking.Metric{{Key: "acc", Value: acc, Timestamp: 1}}, nil, nil)
		st := tracking.StatusFinished
		end := time.Now().UnixMilli()
		f.st.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &st, EndTime: &end})
	}
	orig := f.run("orig", nil, nil)
	finish(orig, 0.9)
	same := f.run("same", nil, []tracking.Tag{{Key: "mlrun.reproducedFrom", Value: orig.ID}, {Key: "mlrun.reproduce.mode", Value: "in-place"}})
	finish(same, 0.9)
	diff := f.run("diff", nil, []tracking.Tag{{Key: "mlrun.reproducedFrom", Value: orig.ID}})
	finish(diff, 0.8)
	_, body, _ := f.get("/runs/" + orig.ID)
	if !strings.Contains(body, "reproduced: every metric is identical") || !strings.Contains(body, "differs: acc 0.9 → 0.8") {
		t.Errorf("reproduction verdicts missing from the run page")
	}
}

func TestDeleteAndRestoreSelectedRuns(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b, keep := f.run("a", nil, nil), f.run("b", nil, nil), f.run("keep", nil, nil)
	resp, _ := f.post("/runs/lifecycle", url.Values{"action": {"delete"}, "run": {a.ID, b.ID}, "back": {"/experiments/0"}}, "same-origin")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/experiments/0" {
		t.Fatalf("delete: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, id := range []string{a.ID, b.ID} {
		if r, _ := f.st.GetRun(ctx, id); r.Info.LifecycleStage != tracking.LifecycleDeleted {
			t.Errorf("run %s not deleted", id)
		}
	}
	if r, _ := f.st.GetRun(ctx, keep.ID); r.Info.LifecycleStage != tracking.LifecycleActive {
		t.Error("an unselected run was deleted")
	}
	_, body, _ := f.get("/experiments/0?view=deleted")
	if strings.Count(body, `<tr data-run=`) != 2 || !strings.Contains(body, `id="restore-btn"`) {
		t.Error("the deleted view does not list the two runs with a restore button")
	}
	f.post("/runs/lifecycle", url.Values{"action": {"restore"}, "run": {a.ID}}, "same-origin")
	if r, _ := f.st.GetRun(ctx, a.ID); r.Info.LifecycleStage != tracking.LifecycleActive {
		t.Error("restore did not restore")
	}
	resp, _ = f.post("/runs/lifecycle", url.Values{"action": {"delete"}, "run": {keep.ID, "0123456789abcdef0123456789abcdef"}}, "same-origin")
	if r, _ := f.st.GetRun(ctx, keep.ID); resp.StatusCode != 404 || r.Info.LifecycleStage != tracking.LifecycleActive {
		t.Errorf("a selection with a missing run: %d, and the existing run was changed", resp.StatusCode)
	}
	resp, body = f.post("/runs/lifecycle", url.Values{"action": {"delete"}}, "same-origin")
	if resp.StatusCode != 400 || !strings.Contains(body, "no runs were selected") {
		t.Errorf("empty selection: %d", resp.StatusCode)
	}
	resp, _ = f.post("/runs/lifecycle", url.Values{"action": {"delete"}, "run": {keep.ID}}, "cross-site")
	if r, _ := f.st.GetRun(ctx, keep.ID); resp.StatusCode != 403 || r.Info.LifecycleStage != tracking.LifecycleActive {
		t.Errorf("a cross-site delete: %d", resp.StatusCode)
	}
}

// TestRunsTableSortsByDuration: the Duration column sorts on the server by
// the store's order key attributes.duration (end_time - start_time), both
// ways, and its header says how it is sorted.
func TestRunsTableSortsByDuration(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Started in the order a, b, c; lasting 3 s, 1 s, 2 s.
	for i, secs := range []int64{3, 1, 2} {
		start := int64(1_700_000_000_000 + i*60_000)
		info, err := f.st.CreateRun(ctx, tracking.NewRun{ExperimentID: "0", Name: "run-" + string(rune('a'+i)), StartTime: start})
		must(t, err)
		done, end := tracking.StatusFinished, start+secs*1000
		must(t, f.st.UpdateRun(ctx, info.ID, tracking.RunUpdate{Status: &done, EndTime: &end}))
	}
	_, body, _ := f.get("/experiments/0")
	if !regexp.MustCompile(`<th scope="col" data-col="attributes.end_time"[^>]*>\s*<a href="/experiments/0\?[^"]*order=attributes.duration[^"]*" class="sort">Duration</a>`).MatchString(body) {
		t.Fatalf("the Duration header is not a sort link on attributes.duration")
	}
	for _, c := range []struct{ dir, want string }{{"asc", "run-b,run-c,run-a"}, {"desc", "run-a,run-c,run-b"}} {
		code, body, _ := f.get("/experiments/0?order=attributes.duration&dir=" + c.dir)
		if code != 200 || strings.Contains(body, `id="filter-error"`) {
			t.Fatalf("sort by duration %s: %d\n%s", c.dir, code, regexp.MustCompile(`(?s)id="filter-error"[^<]*<`).FindString(body))
		}
		var got []string
		for _, m := range regexp.MustCompile(`>(run-[a-c])</a>`).FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("by duration %s: %v, want %s", c.dir, got, c.want)
		}
		want := map[string]string{"asc": "ascending", "desc": "descending"}[c.dir]
		if !regexp.MustCompile(`data-col="attributes.end_time" aria-sort="` + want + `"`).MatchString(body) {
			t.Errorf("by duration %s: the Duration header is not marked %s", c.dir, want)
		}
	}
}
