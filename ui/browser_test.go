package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mlrun/mlrun/internal/testenv"
)

// findChromium returns the path of a Chromium binary, or "".
func findChromium() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium whose console errors and uncaught
// exceptions are collected: any of them fails the test.
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	errs []string
	shot string // directory of screenshots
}

// newBrowser starts headless Chromium (as root it needs --no-sandbox).
func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	bin := findChromium()
	if bin == "" {
		testenv.Missing(t, "no chromium binary found (install it with .ci/install-chromium.sh)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	b := &browser{t: t, ctx: ctx}
	b.shot = os.Getenv("MLRUN_SCREENSHOTS")
	if b.shot == "" {
		b.shot = t.TempDir()
	}
	if err := os.MkdirAll(b.shot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errs = append(b.errs, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs actions and fails the test on an error or a console error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	b.checkConsole(what)
}

func (b *browser) checkConsole(what string) {
	b.t.Helper()
	time.Sleep(50 * time.Millisecond) // let the console events arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		b.t.Fatalf("%s: the browser reported JavaScript or console errors:\n%s", what, strings.Join(b.errs, "\n"))
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// screenshot saves a full-page PNG named name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if _, err := png.Decode(bytes.NewReader(shot)); err != nil {
		b.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// unlabeled lists the page's visible form controls (input, select,
// textarea, button) that have no accessible name: no <label>, aria-label,
// aria-labelledby, title, or (for a button) text.
func (b *browser) unlabeled() string {
	b.t.Helper()
	return b.eval(`Array.from(document.querySelectorAll("input, select, textarea, button")).filter(function (e) {
		if (e.type === "hidden") return false;
		if (e.labels && e.labels.length > 0 && Array.from(e.labels).some(function (l) { return l.textContent.trim() !== ""; })) return false;
		if ((e.getAttribute("aria-label") || "").trim() !== "" || (e.getAttribute("title") || "").trim() !== "") return false;
		const by = e.getAttribute("aria-labelledby");
		if (by && by.split(/\s+/).some(function (id) { const l = document.getElementById(id); return l && l.textContent.trim() !== ""; })) return false;
		if ((e.tagName === "BUTTON" || e.type === "submit") && (e.textContent.trim() !== "" || (e.value || "").trim() !== "")) return false;
		return true;
	}).map(function (e) { return e.outerHTML.slice(0, 120); }).join("\n")`)
}

// labelled fails the test when the page has a form control without an
// accessible name.
func (b *browser) labelled(page string) {
	b.t.Helper()
	if s := b.unlabeled(); s != "" {
		b.t.Errorf("%s: form controls without a label or aria-label:\n%s", page, s)
	}
}

// fitsWidth fails the test when the page overflows the viewport sideways.
func (b *browser) fitsWidth(page string) {
	b.t.Helper()
	if w := b.eval(`String(document.documentElement.scrollWidth) + " " + String(window.innerWidth)`); !func() bool {
		var sw, iw int
		fmt.Sscan(w, &sw, &iw)
		return sw <= iw+1
	}() {
		b.t.Errorf("the %s overflows a narrow screen sideways (scroll width, window width = %s)", page, w)
	}
}

// element saves a PNG of one element, named name.png.
func (b *browser) element(name, sel string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shot, name+".png"), shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// irisStore makes a store (by open) with real runs in a git checkout of
// the iris example: a registered run, a dirty-tree run, a sweep over C, a
// second registered version, an SVC run; and a CSV logged as an artifact.
func irisStore(t *testing.T, open func(*testing.T, string) *cli) (*cli, string, map[string]string) {
	t.Helper()
	work := t.TempDir()
	proj := filepath.Join(work, "iris")
	copyDir(t, filepath.Join(repoRoot(t), "examples", "iris"), proj)
	// A lockfile, recorded as provenance.
	if err := os.WriteFile(filepath.Join(proj, "uv.lock"), []byte("version = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := open(t, work)
	c.git(proj, "init", "-q", "-b", "main")
	c.git(proj, "add", ".")
	c.git(proj, "commit", "-q", "-m", "iris example")
	ids := map[string]string{}
	runID := regexp.MustCompile(`(?m)^mlrun: run ([0-9a-f]{32}) FINISHED`)
	run := func(name string, args ...string) {
		out := c.ok(proj, append([]string{"run", "."}, args...)...)
		_ = out
	}
	run("first", "-P", "register_as=iris", "--run-name", "baseline", "--tag", "stage=dev")
	// A dirty tree: the run records the diff.
	if err := os.WriteFile(filepath.Join(proj, "NOTES.md"), []byte("# notes\ntrying C values\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.git(proj, "add", "NOTES.md")
	run("sweep", "-P", "C=0.1,1,10", "--run-name", "c-sweep")
	run("second", "-P", "register_as=iris", "-P", "C=0.5", "--run-name", "candidate", "--tag", "stage=candidate")
	run("svc", "-e", "svc", "--run-name", "svc-linear")
	_ = runID
	list := c.ok(proj, "runs", "list", "-o", "json")
	for _, name := range []string{"baseline", "c-sweep", "candidate", "svc-linear"} {
		m := regexp.MustCompile(`"run_id": "([0-9a-f]{32})",\s*"run_name": "` + name + `"`).FindStringSubmatch(list)
		if m == nil {
			t.Fatalf("run %s not in mlrun runs list:\n%s", name, list)
		}
		ids[name] = m[1]
	}
	// A CSV artifact, logged as a user would.
	csvPath := filepath.Join(work, "predictions.csv")
	if err := os.WriteFile(csvPath, []byte("row,expected,predicted\n1,setosa,setosa\n2,versicolor,virginica\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok(proj, "log", "artifact", csvPath, "--run-id", ids["baseline"])
	// A JPEG, an SVG with a script that must not run, and a YAML file.
	for name, data := range previewFiles(t) {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c.ok(proj, "log", "artifact", p, "--run-id", ids["baseline"])
	}
	return c, proj, ids
}

// previewFiles are the JPEG, SVG and YAML artifacts the previews are
// tested on, by name.
func previewFiles(t *testing.T) map[string][]byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		for y := range 30 {
			img.Set(x, y, color.RGBA{uint8(6 * x), uint8(8 * y), 128, 255})
		}
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, nil); err != nil {
		t.Fatal(err)
	}
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="60" height="40"><rect width="60" height="40" fill="teal"/>` +
		`<script>window.svgScriptRan = "yes"; console.error("svg script ran")</script></svg>`
	return map[string][]byte{
		"photo.jpg":   jpg.Bytes(),
		"diagram.svg": []byte(svg),
		"config.yaml": []byte("model:\n  kind: logistic_regression\n  C: 0.5\n"),
	}
}

// TestBrowser opens every page of the UI in headless Chromium on a store
// made by real mlrun runs, and uses it as a person would: on SQLite and on
// PostgreSQL.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not with -short")
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { testBrowser(t, kind.open) })
	}
}

func testBrowser(t *testing.T, open func(*testing.T, string) *cli) {
	b := newBrowser(t, 1280, 900)
	c, proj, ids := irisStore(t, open)
	base := c.serveUI(proj)
	wantStore := "mlruns"
	if strings.HasPrefix(c.store, "postgres") {
		wantStore = "postgres://"
		b.shot = t.TempDir() // the README shows the SQLite run's screenshots
	}

	// Experiments: the store is named, the Default experiment has its runs.
	b.do("open experiments", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("experiments")))
	if s := b.text("#store-label"); !strings.Contains(s, wantStore) {
		t.Errorf("the page does not name the store %s: %q", wantStore, s)
	}
	// Create, rename, delete and restore an experiment.
	b.do("create experiment",
		chromedp.SendKeys(chromedp.ID("new-name"), "tuning"),
		chromedp.Click(chromedp.CSS(`#create-h + form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("filter")))
	if s := b.text("h1"); !strings.Contains(s, "tuning") {
		t.Fatalf("after create, h1 = %q", s)
	}
	if s := b.text(".empty"); !strings.Contains(s, "mlrun ui --tracking-uri") {
		t.Errorf("an empty experiment does not say how to point the UI elsewhere: %q", s)
	}
	b.do("rename experiment", chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.Search(`//tr[td/a[text()="tuning"]]//summary`)),
		chromedp.SetValue(chromedp.CSS(`tr details[open] input[name=name]`), "tuning-2"),
		chromedp.Click(chromedp.CSS(`tr details[open] button`)),
		chromedp.WaitVisible(chromedp.Search(`//a[text()="tuning-2"]`)))
	b.do("delete experiment",
		chromedp.Click(chromedp.Search(`//tr[td/a[text()="tuning-2"]]//button[text()="Delete"]`)),
		chromedp.WaitNotPresent(chromedp.Search(`//a[text()="tuning-2"]`)),
		chromedp.Navigate(base+"/?view=deleted"),
		chromedp.Click(chromedp.Search(`//tr[td/a[text()="tuning-2"]]//button[text()="Restore"]`)),
		chromedp.WaitVisible(chromedp.Search(`//tr[not(contains(@class,"deleted"))]/td/a[text()="tuning-2"]`)))
	b.do("experiments page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("experiments")))
	b.screenshot("experiments")
	b.labelled("experiments page")

	// Runs table: every run, the sweep with its trials under it.
	b.do("open runs", chromedp.Click(chromedp.Search(`//a[text()="Default"]`)), chromedp.WaitVisible(chromedp.ID("runs")))
	// The run counts arrive once the table is painted.
	b.do("run counts", chromedp.WaitVisible(chromedp.Search(`//span[@id="exp-stats" and contains(text(), "7 runs")]`)))
	rows := b.eval(`String(document.querySelectorAll("#runs tbody tr").length)`)
	if rows != "7" { // baseline, sweep + 3 trials, candidate, svc
		t.Errorf("runs table has %s rows, want 7", rows)
	}
	if n := b.eval(`String(document.querySelectorAll("#runs tr.trial").length)`); n != "3" {
		t.Errorf("%s trials shown under the sweep, want 3", n)
	}
	if s := b.text(`tr[data-run="` + ids["c-sweep"] + `"] .badge.sweep`); !strings.Contains(s, "3") {
		t.Errorf("sweep badge = %q", s)
	}
	// Sort by a metric column, descending then ascending.
	b.do("sort by accuracy", chromedp.Click(chromedp.CSS(`th[data-col="metrics.accuracy"] a.sort`)),
		chromedp.WaitVisible(chromedp.CSS(`th[data-col="metrics.accuracy"][aria-sort="descending"]`)))
	if !strings.Contains(b.location(), "order=metrics.accuracy") {
		t.Errorf("the sort is not in the URL: %s", b.location())
	}
	b.do("sort ascending", chromedp.Click(chromedp.CSS(`th[data-col="metrics.accuracy"] a.sort`)),
		chromedp.WaitVisible(chromedp.CSS(`th[data-col="metrics.accuracy"][aria-sort="ascending"]`)))
	// Filter by a param: only the C=0.5 run.
	b.do("filter", chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.ID("filter")),
		chromedp.SendKeys(chromedp.ID("filter"), "params.C = '0.5'"),
		chromedp.Submit(chromedp.ID("filter")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-run="`+ids["candidate"]+`"]`)))
	if rows := b.eval(`String(document.querySelectorAll("#runs tbody tr").length)`); rows != "1" {
		t.Errorf("filter params.C = '0.5' shows %s rows, want 1", rows)
	}
	if !strings.Contains(b.location(), "filter=params.C") {
		t.Errorf("the filter is not in the URL: %s", b.location())
	}
	// A bad filter: the error inline, the text kept in the box and the URL.
	b.do("bad filter", chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.ID("filter")),
		chromedp.SendKeys(chromedp.ID("filter"), "metrics.accuracy >> 1"),
		chromedp.Submit(chromedp.ID("filter")),
		chromedp.WaitVisible(chromedp.ID("filter-error")))
	if s := b.text("#filter-error"); !strings.Contains(s, "position") {
		t.Errorf("filter error = %q; want the position of the mistake", s)
	}
	if v, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("filter"))); v != "metrics.accuracy >> 1" {
		t.Errorf("the bad filter was not kept in the box: %q", v)
	}
	// Column chooser: add the user tag "stage".
	b.do("choose columns", chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.ID("runs")),
		chromedp.Click(chromedp.CSS("#chooser summary")),
		chromedp.Click(chromedp.CSS(`#chooser input[value="tags.stage"]`)),
		chromedp.Click(chromedp.ID("apply-columns")),
		chromedp.WaitVisible(chromedp.CSS(`th[data-col="tags.stage"]`)))
	if s := b.text(`tr[data-run="` + ids["candidate"] + `"] td[data-cell="tags.stage"]`); s != "candidate" {
		t.Errorf("tag column shows %q for the candidate run", s)
	}
	b.do("runs page", chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.ID("runs")))
	b.screenshot("runs")
	b.labelled("runs page")

	// Keyboard only: Tab reaches the accuracy sort link, Enter sorts; a row
	// checkbox, focused, is ticked by Space.
	sortLink := `th[data-col="metrics.accuracy"] a.sort`
	reached := false
	for range 80 {
		b.do("tab", chromedp.KeyEvent(kb.Tab))
		if b.eval(`String(document.activeElement.matches(`+"`"+sortLink+"`"+`))`) == "true" {
			reached = true
			break
		}
	}
	if !reached {
		t.Errorf("Tab never reaches the accuracy sort link")
	} else {
		b.do("sort by keyboard", chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(`th[data-col="metrics.accuracy"][aria-sort="descending"]`)))
	}
	box := `tr[data-run="` + ids["svc-linear"] + `"] input[name=run]`
	b.do("tick by keyboard", chromedp.Focus(chromedp.CSS(box)), chromedp.KeyEvent(" "),
		chromedp.WaitVisible(chromedp.Search(`//span[@id="selection-count" and text()="1 selected"]`)))
	if !strings.Contains(b.location(), ids["svc-linear"]) {
		t.Errorf("the run ticked by keyboard is not in the selection URL: %s", b.location())
	}
	b.do("runs page again", chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.ID("runs")))

	// Select two runs and compare them.
	b.do("select and compare",
		chromedp.Click(chromedp.CSS(`tr[data-run="`+ids["baseline"]+`"] input[name=run]`)),
		chromedp.Click(chromedp.CSS(`tr[data-run="`+ids["candidate"]+`"] input[name=run]`)),
		chromedp.WaitVisible(chromedp.Search(`//span[@id="selection-count" and text()="2 selected"]`)))
	if loc := b.location(); !strings.Contains(loc, ids["baseline"]) || !strings.Contains(loc, ids["candidate"]) {
		t.Errorf("the selection is not in the URL: %s", loc)
	}
	b.do("compare", chromedp.Click(chromedp.ID("compare-btn")),
		chromedp.WaitVisible(chromedp.ID("compare-table")),
		chromedp.WaitVisible(chromedp.CSS("#overlays .uplot")),
		chromedp.WaitVisible(chromedp.CSS("#scatter .uplot")),
		chromedp.WaitVisible(chromedp.CSS("#parallel svg path")))
	if s := b.text(`#compare-table tr.differs th`); !strings.Contains(s, "C") {
		t.Errorf("the differing param C is not marked: %q", s)
	}
	if n := b.eval(`String(document.querySelectorAll(".side figure img").length)`); n < "2" {
		t.Errorf("same-name artifacts side by side: %s images", n)
	}
	b.do("scatter axes", chromedp.SetValue(chromedp.ID("sx"), "params.C"), chromedp.Evaluate[chromedp.Void](`document.getElementById("sx").dispatchEvent(new Event("change"))`))
	b.screenshot("compare")
	b.labelled("compare page")
	compare := b.location()
	// Parallel coordinates of a sweep's trials.
	b.do("sweep trials", chromedp.Navigate(base+"/compare?sweep="+ids["c-sweep"]),
		chromedp.WaitVisible(chromedp.CSS("#parallel svg path")))

	// Run page: charts, provenance, pipeline, previews.
	run := base + "/runs/" + ids["candidate"]
	b.do("run page", chromedp.Navigate(run), chromedp.WaitVisible(chromedp.ID("run-id")),
		chromedp.WaitVisible(chromedp.CSS(`figure.chart[data-key="train_loss"][data-drawn-ms]`)))
	if s := b.text("#run-id"); s != ids["candidate"] {
		t.Errorf("run id shown = %q", s)
	}
	if s := b.text(".overview"); !strings.Contains(s, "mlrun serve runs:/"+ids["candidate"]+"/model") || !strings.Contains(s, "mlflow models serve -m runs:/") {
		t.Errorf("no serve commands on the run page:\n%s", s)
	}
	if s := b.text("#pipeline"); !strings.Contains(s, "train") || !strings.Contains(s, "register") {
		t.Errorf("pipeline timeline = %q", s)
	}
	if s := b.text("#provenance"); !strings.Contains(s, "dirty") || !strings.Contains(s, "150 rows x 4 features") || !strings.Contains(s, "random_state") {
		t.Errorf("provenance does not lay out git state, dataset shape and seeds:\n%s", s)
	}
	b.screenshot("run")
	b.labelled("run page")
	// Provenance: commit and branch, the dataset's hash, the lockfile.
	prov := b.text("#provenance")
	head, err := exec.Command("git", "-C", proj, "rev-parse", "HEAD").Output()
	must(t, err)
	commit := strings.TrimSpace(string(head))
	if !strings.Contains(prov, commit) || !strings.Contains(prov, "on main") {
		t.Errorf("provenance does not show commit %s on main:\n%s", commit, prov)
	}
	if !regexp.MustCompile(`Dataset \S+\s+sha256 [0-9a-f]{64}`).MatchString(prov) {
		t.Errorf("provenance does not show the dataset's sha256:\n%s", prov)
	}
	if !strings.Contains(prov, "Lockfile") || !strings.Contains(prov, "uv.lock") {
		t.Errorf("provenance does not show the lockfile uv.lock:\n%s", prov)
	}
	// Copy the run id: the clipboard gets it and the button says so, or
	// (clipboard refused) the id is selected for Ctrl+C.
	b.do("copy run id", chromedp.Click(chromedp.CSS(`button.copy[aria-label="Copy the run id"]`)))
	if ok, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector('button.copy[aria-label="Copy the run id"]').textContent === "Copied" || String(window.getSelection()) === `+"`"+ids["candidate"]+"`", chromedp.WithPollingTimeout(5*time.Second))); err != nil || !ok {
		t.Errorf("the copy button neither copied nor selected the run id: %v", err)
	}
	// Smoothing adds a smoothed series next to the raw one.
	legend := `document.querySelector('figure.chart[data-key="train_loss"] .u-legend').textContent`
	if s := b.eval(legend); strings.Contains(s, "smoothed") {
		t.Errorf("a smoothed series before smoothing: %q", s)
	}
	b.do("smoothing", chromedp.SetValue(chromedp.ID("smooth"), "0.6"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("smooth").dispatchEvent(new Event("input"))`))
	if ok, err := chromedp.Run(b.ctx, chromedp.Poll[bool](legend+`.includes("train_loss (smoothed)") && `+legend+`.includes("train_loss (raw)")`, chromedp.WithPollingTimeout(5*time.Second))); err != nil || !ok {
		t.Errorf("smoothing did not draw a smoothed series: %v; legend %q", err, b.eval(legend))
	}
	if !strings.Contains(b.location(), "smooth=0.6") {
		t.Errorf("the smoothing is not in the URL: %s", b.location())
	}
	b.do("log scale and time axis",
		chromedp.Click(chromedp.ID("logy")),
		chromedp.SetValue(chromedp.ID("x-axis"), "relative"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("x-axis").dispatchEvent(new Event("input"))`),
		chromedp.WaitVisible(chromedp.CSS(`figure.chart[data-key="train_loss"] .uplot`)))
	if loc := b.location(); !strings.Contains(loc, "log=1") || !strings.Contains(loc, "x=relative") {
		t.Errorf("chart settings not in the URL: %s", loc)
	}
	// The sweep's run page: a sweep (parent) run before its trials.
	b.do("sweep run page", chromedp.Navigate(base+"/runs/"+ids["c-sweep"]), chromedp.WaitVisible(chromedp.ID("trials")))
	// Cached steps say where from.
	b.do("cached trial", chromedp.Navigate(base+"/runs/"+ids["c-sweep"]),
		chromedp.Click(chromedp.CSS("#trials tbody tr:last-child td:nth-child(2) a")),
		chromedp.WaitVisible(chromedp.ID("pipeline")))
	// A cache hit names and links the run it reused; a skipped step says why.
	from := b.eval(`(function () { const a = document.querySelector("#pipeline li.st-cached .step-what a[href^='/runs/']"); return a ? a.getAttribute("href") : ""; })()`)
	if !regexp.MustCompile(`^/runs/[0-9a-f]{32}$`).MatchString(from) {
		t.Errorf("no cache hit in the trial's pipeline links its source run: %q\n%s", from, b.text("#pipeline"))
	} else {
		b.do("follow cache source", chromedp.Click(chromedp.CSS(`#pipeline li.st-cached .step-what a`)), chromedp.WaitVisible(chromedp.ID("run-id")))
		if s := b.text("#run-id"); "/runs/"+s != from {
			t.Errorf("the cache source link leads to run %q, want %s", s, from)
		}
		b.do("back", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.ID("pipeline")))
	}
	if s := b.eval(`(function () { const w = document.querySelector("#pipeline li.st-skipped .why"); return w ? w.textContent : ""; })()`); strings.TrimSpace(s) == "" {
		t.Errorf("no skipped step in the trial's pipeline gives its reason:\n%s", b.text("#pipeline"))
	}

	// Artifact previews.
	base1 := base + "/runs/" + ids["baseline"]
	b.do("png preview", chromedp.Navigate(base1+"?artifact=confusion_matrix.png"), chromedp.WaitVisible(chromedp.CSS("#preview img.art")))
	if ok, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector("#preview img.art").naturalWidth > 0`, chromedp.WithPollingTimeout(10*time.Second))); err != nil || !ok {
		t.Errorf("the PNG preview did not load: %v", err)
	}
	b.element("artifact", "#artifacts")
	b.do("html preview", chromedp.Navigate(base1+"?artifact=classification_report.html"), chromedp.WaitVisible(chromedp.CSS("#preview iframe[sandbox]")))
	b.do("csv preview", chromedp.Navigate(base1+"?artifact=predictions.csv"), chromedp.WaitVisible(chromedp.CSS("#preview table.csv")))
	if s := b.text("#preview table.csv"); !strings.Contains(s, "virginica") {
		t.Errorf("CSV preview = %q", s)
	}
	// JPEG and SVG as images (an SVG's script never runs in an <img>), YAML
	// as text; each downloads as its own bytes, as an attachment.
	for name, data := range previewFiles(t) {
		sel := "#preview img.art"
		if strings.HasSuffix(name, ".yaml") {
			sel = "#preview pre.text"
		}
		b.do(name+" preview", chromedp.Navigate(base1+"?artifact="+name), chromedp.WaitVisible(chromedp.CSS(sel)))
		if sel == "#preview img.art" {
			if ok, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector("#preview img.art").naturalWidth > 0`, chromedp.WithPollingTimeout(10*time.Second))); err != nil || !ok {
				t.Errorf("the %s preview did not load: %v", name, err)
			}
		} else if s := b.text(sel); !strings.Contains(s, "kind: logistic_regression") {
			t.Errorf("YAML preview = %q", s)
		}
		if s := b.eval(`String(window.svgScriptRan) + " " + String(document.querySelectorAll("#preview svg script, #preview script").length)`); s != "undefined 0" {
			t.Errorf("%s: an artifact's script ran or was inlined into the page: %s", name, s)
		}
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch(document.querySelector("#preview a[download]").href).then(function (r) {
			return r.arrayBuffer().then(function (buf) {
				return r.status + "|" + r.headers.get("Content-Disposition") + "|" + Array.from(new Uint8Array(buf)).map(function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
			});
		})`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("download %s: %v", name, err)
		}
		if want := fmt.Sprintf(`200|attachment; filename=%s|%x`, name, data); got != want {
			t.Errorf("download of %s = %.200s, want %.200s", name, got, want)
		}
	}
	b.do("json preview", chromedp.Navigate(base1+"?artifact=classification_report.json"), chromedp.WaitVisible(chromedp.CSS("#preview pre.text")))
	b.do("model preview", chromedp.Navigate(base1+"?artifact=model"), chromedp.WaitVisible(chromedp.Search(`//h4[text()="Signature: inputs"]`)))
	if s := b.text("#preview"); !strings.Contains(s, "sepal_length_cm") || !strings.Contains(s, "Input example") {
		t.Errorf("MLmodel preview lacks signature or input example:\n%s", s)
	}
	cand := base + "/runs/" + ids["candidate"]
	b.do("diff preview", chromedp.Navigate(cand), chromedp.Click(chromedp.ID("diff-link")), chromedp.WaitVisible(chromedp.CSS("#preview pre.diff .add")))
	if s := b.text("#preview pre.diff"); !strings.Contains(s, "trying C values") {
		t.Errorf("diff preview = %q", s)
	}
	b.element("diff", "#artifacts")

	// Follow a link to the model, then from the model to its source run.
	b.do("run to model", chromedp.Navigate(cand),
		chromedp.Click(chromedp.Search(`//section[contains(@class,"overview")]//a[starts-with(text(),"iris v")]`)),
		chromedp.WaitVisible(chromedp.ID("versions")))
	b.do("model to run", chromedp.Click(chromedp.CSS(`#versions a.source-run`)), chromedp.WaitVisible(chromedp.ID("run-id")))
	if s := b.text("#run-id"); s != ids["candidate"] {
		t.Errorf("the newest version's source run link leads to %q, want %s", s, ids["candidate"])
	}
	// Move the alias champion from version 1 to version 2, confirming.
	b.do("models list", chromedp.Navigate(base+"/models"), chromedp.WaitVisible(chromedp.ID("models")))
	b.do("open model", chromedp.Click(chromedp.Search(`//a[text()="iris"]`)), chromedp.WaitVisible(chromedp.ID("alias-form")))
	before := b.text("#aliases")
	if !strings.Contains(before, "champion") {
		t.Fatalf("aliases before: %q", before)
	}
	b.do("move alias",
		chromedp.SetValue(chromedp.ID("alias"), "champion"),
		chromedp.SetValue(chromedp.ID("alias-version"), "1"),
		chromedp.Click(chromedp.ID("move-alias")),
		chromedp.WaitVisible(chromedp.ID("confirm-yes")))
	if q := b.text("#question"); !strings.Contains(q, "from version 2 to version 1") {
		t.Errorf("confirmation question = %q", q)
	}
	b.do("confirm", chromedp.Click(chromedp.ID("confirm-yes")), chromedp.WaitVisible(chromedp.ID("aliases")))
	if s := b.text("#aliases"); !strings.Contains(s, "version 1") {
		t.Errorf("after moving, aliases = %q", s)
	}
	b.do("change stage", chromedp.SetValue(chromedp.ID("stage-1"), "Production"),
		chromedp.Click(chromedp.Search(`//form[.//select[@id="stage-1"]]//button`)),
		chromedp.WaitVisible(chromedp.ID("confirm-yes")),
		chromedp.Click(chromedp.ID("confirm-yes")),
		chromedp.WaitVisible(chromedp.Search(`//tr[td[text()="v1"]]//span[text()="Production"]`)))
	b.screenshot("model")
	b.labelled("model page")

	// Narrow screen: the runs table still renders and scrolls on its own.
	b.do("narrow", chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.ID("runs")))
	if w := b.eval(`String(document.documentElement.scrollWidth <= window.innerWidth + 1)`); w != "true" {
		t.Errorf("the runs page overflows a 390px screen sideways")
	}
	b.screenshot("runs-narrow")
	b.do("narrow run page", chromedp.Navigate(run), chromedp.WaitVisible(chromedp.CSS(`figure.chart[data-key="train_loss"][data-drawn-ms]`)))
	b.fitsWidth("run page")
	b.do("narrow compare page", chromedp.Navigate(compare), chromedp.WaitVisible(chromedp.CSS("#scatter .uplot")))
	b.fitsWidth("compare page")
	b.checkConsole("end")
}

// TestBrowserLive watches the runs table while a run starts and finishes:
// the new run appears and its status and metric change without a reload;
// on SQLite and on PostgreSQL.
func TestBrowserLive(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not with -short")
	}
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { testBrowserLive(t, kind.open) })
	}
}

func testBrowserLive(t *testing.T, open func(*testing.T, string) *cli) {
	b := newBrowser(t, 1280, 800)
	work := t.TempDir()
	proj := filepath.Join(work, "live")
	must(t, os.MkdirAll(proj, 0o755))
	must(t, os.WriteFile(filepath.Join(proj, "MLproject"), []byte(`name: live
entry_points:
  main:
    command: "mlrun log metric progress 0.5 && sleep 3 && mlrun log metric progress 1"
  trial:
    parameters:
      x: {type: float, default: 1}
    command: "sleep 2 && mlrun log metric progress {x}"
`), 0o644))
	c := open(t, work)
	c.ok(proj, "run", ".", "--run-name", "earlier")
	base := c.serveUI(proj)
	b.do("open runs", chromedp.Navigate(base+"/experiments/0?col=metrics.progress"), chromedp.WaitVisible(chromedp.ID("runs")))
	b.eval(`window.notReloaded = "yes"`)
	cmd := exec.Command(c.bin, "run", ".", "--run-name", "watched")
	cmd.Dir, cmd.Env = proj, c.env()
	must(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	b.do("the new run appears, running",
		chromedp.WaitVisible(chromedp.Search(`//tr[td/a[text()="watched"]]//span[@data-status and text()="RUNNING"]`)))
	b.do("it finishes in place",
		chromedp.WaitVisible(chromedp.Search(`//tr[td/a[text()="watched"]]//span[@data-status and text()="FINISHED"]`)),
		chromedp.WaitVisible(chromedp.Search(`//tr[td/a[text()="watched"]]/td[@data-cell="metrics.progress" and text()="1"]`)))
	if b.eval(`String(window.notReloaded)`) != "yes" {
		t.Error("the page was reloaded")
	}
	must(t, cmd.Wait())

	// A sweep of two trials: the parent appears running, its trials appear
	// under it one after the other and finish with their metric, and the
	// parent finishes, all without a reload.
	sweep := exec.Command(c.bin, "run", ".", "-e", "trial", "-P", "x=2,3", "--run-name", "live-sweep")
	sweep.Dir, sweep.Env = proj, c.env()
	must(t, sweep.Start())
	t.Cleanup(func() {
		if sweep.ProcessState == nil {
			sweep.Process.Kill()
			sweep.Wait()
		}
	})
	parent := `//tr[not(contains(@class,"trial")) and td/a[text()="live-sweep"]]`
	b.do("the sweep appears, running",
		chromedp.WaitVisible(chromedp.Search(parent+`//span[@data-status and text()="RUNNING"]`)))
	b.do("its trials appear and finish",
		chromedp.WaitVisible(chromedp.Search(`//tr[contains(@class,"trial")]/td[@data-cell="metrics.progress" and text()="2"]`)),
		chromedp.WaitVisible(chromedp.Search(`//tr[contains(@class,"trial")]/td[@data-cell="metrics.progress" and text()="3"]`)))
	b.do("the sweep finishes in place",
		chromedp.WaitVisible(chromedp.Search(parent+`//span[@data-status and text()="FINISHED"]`)))
	if n := b.eval(`String(document.querySelectorAll("#runs tr.trial").length)`); n != "2" {
		t.Errorf("%s trials shown under the live sweep, want 2", n)
	}
	if n := b.eval(`String(document.querySelectorAll("#runs tr.trial [data-status]").length) + " " + Array.from(document.querySelectorAll("#runs tr.trial [data-status]")).map(function (s) { return s.textContent; }).join(",")`); n != "2 FINISHED,FINISHED" {
		t.Errorf("the live sweep's trials: %s, want 2 FINISHED", n)
	}
	if b.eval(`String(window.notReloaded)`) != "yes" {
		t.Error("the page was reloaded during the sweep")
	}
	must(t, sweep.Wait())
}
