package ui_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// authClient calls an `mlrun server --auth` as one user ("" sends no
// credentials).
type authClient struct {
	t          *testing.T
	base       string
	user, pass string
}

// call sends a request and returns the status and the body.
func (a authClient) call(method, path string, body any) (int, string, http.Header) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.user != "" {
		req.SetBasicAuth(a.user, a.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), resp.Header
}

// ok calls and fails the test unless the answer is 200; it decodes JSON.
func (a authClient) ok(method, path string, body any) map[string]any {
	a.t.Helper()
	code, b, _ := a.call(method, path, body)
	if code != http.StatusOK {
		a.t.Fatalf("%s %s as %q: %d %s", method, path, a.user, code, b)
	}
	out := map[string]any{}
	json.Unmarshal([]byte(b), &out)
	return out
}

// login makes the browser send user's basic credentials with every request,
// as it does once the user has answered its login dialog.
func (b *browser) login(user, pass string) {
	b.t.Helper()
	cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		b.t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Basic " + cred}}); err != nil {
		b.t.Fatal(err)
	}
}

// forgetErrors drops the console errors that contain s (a refused
// request's "status of 403", which the test asked for).
func (b *browser) forgetErrors(s string) {
	time.Sleep(50 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	var keep []string
	for _, e := range b.errs {
		if !strings.Contains(e, s) {
			keep = append(keep, e)
		}
	}
	b.errs = keep
}

// TestBrowserAuth serves the UI with `mlrun server --auth`: without
// credentials every page, stream, artifact and asset answers 401 with a
// basic-auth challenge (the browser's login dialog); a user with READ sees
// the experiments it may read and no other, is shown as signed in, and is
// refused, with a message naming the permission, when it deletes a run;
// an admin sees everything and deletes the run.
func TestBrowserAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not with -short")
	}
	b := newBrowser(t, 1280, 900)
	work := t.TempDir()
	proj := filepath.Join(work, "p")
	must(t, os.MkdirAll(proj, 0o755))
	must(t, os.WriteFile(filepath.Join(proj, "MLproject"), []byte(`name: p
entry_points:
  main:
    command: "mlrun log metric score 0.5"
`), 0o644))
	c := newCLI(t, filepath.Join(work, "mlruns"))
	c.ok(proj, "run", ".", "--run-name", "open-run")
	c.ok(proj, "run", ".", "--run-name", "second-run")
	c.ok(proj, "run", ".", "--run-name", "secret-run", "--experiment", "secret")
	base := c.serve(proj, []string{"MLRUN_AUTH_ADMIN_USERNAME=admin", "MLRUN_AUTH_ADMIN_PASSWORD=admin-password"}, "server", "--port", "0", "--auth")
	admin := authClient{t, base, "admin", "admin-password"}
	reader := authClient{t, base, "reader", "reader-password"}
	anon := authClient{t: t, base: base}

	admin.ok("POST", "/api/2.0/mlflow/users/create", map[string]string{"username": "reader", "password": "reader-password"})
	secret := admin.ok("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=secret", nil)["experiment"].(map[string]any)["experiment_id"].(string)
	admin.ok("POST", "/api/2.0/mlflow/experiments/permissions/create", map[string]string{"experiment_id": secret, "username": "reader", "permission": "NO_PERMISSIONS"})
	ids := map[string]string{}
	for _, r := range admin.ok("POST", "/api/2.0/mlflow/runs/search", map[string]any{"experiment_ids": []string{"0", secret}})["runs"].([]any) {
		info := r.(map[string]any)["info"].(map[string]any)
		ids[info["run_name"].(string)] = info["run_id"].(string)
	}
	if len(ids) != 3 {
		t.Fatalf("runs: %v", ids)
	}
	// An artifact of each run to ask for.
	for _, name := range []string{"open-run", "secret-run"} {
		f := filepath.Join(work, "notes.txt")
		must(t, os.WriteFile(f, []byte("notes of "+name+"\n"), 0o644))
		c.ok(proj, "log", "artifact", f, "--run-id", ids[name])
	}

	// Without credentials (or with a wrong password) nothing is shown: 401
	// and the challenge that makes a browser ask for a login.
	open, sec := ids["open-run"], ids["secret-run"]
	paths := []string{"/", "/experiments/0", "/runs/" + open, "/runs/" + open + "/artifacts/notes.txt",
		"/compare?run=" + open + "&run=" + ids["second-run"], "/models", "/models/x",
		"/ui/api/runs?experiment_id=0", "/ui/api/events?experiment=0", "/ui/api/metric-history?run_id=" + open + "&metric_key=score",
		"/static/app.css", "/static/app.js"}
	for _, p := range paths {
		for _, who := range []authClient{anon, {t, base, "reader", "wrong-password"}} {
			code, body, hd := who.call("GET", p, nil)
			if code != http.StatusUnauthorized || !strings.HasPrefix(hd.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("GET %s as %q: %d %q (WWW-Authenticate %q), want 401 with a Basic challenge", p, who.user, code, body, hd.Get("WWW-Authenticate"))
			}
		}
	}
	if code, _, _ := anon.call("POST", "/runs/lifecycle?"+url.Values{"run": {open}, "action": {"delete"}}.Encode(), nil); code != http.StatusUnauthorized {
		t.Errorf("POST /runs/lifecycle without credentials: %d, want 401", code)
	}

	// The reader may not see the secret experiment, nor anything of it.
	for _, p := range []string{"/experiments/" + secret, "/runs/" + sec, "/runs/" + sec + "/artifacts/notes.txt",
		"/compare?run=" + open + "&run=" + sec, "/ui/api/events?experiment=" + secret,
		"/ui/api/runs?experiment_id=" + secret, "/ui/api/metric-history?run_id=" + sec + "&metric_key=score"} {
		code, body, _ := reader.call("GET", p, nil)
		if code != http.StatusForbidden || !strings.Contains(body, "needs READ permission on experiment "+secret) {
			t.Errorf("GET %s as reader: %d %q, want 403 naming the permission", p, code, body)
		}
	}
	if _, body, _ := reader.call("GET", "/ui/api/runs", nil); strings.Contains(body, sec) || !strings.Contains(body, open) {
		t.Errorf("the reader's runs across experiments include the secret run or lack the open one:\n%s", body)
	}
	if code, body, _ := reader.call("GET", "/runs/"+open+"/artifacts/notes.txt", nil); code != 200 || body != "notes of open-run\n" {
		t.Errorf("the reader's artifact preview: %d %q", code, body)
	}

	// In the browser, as the reader: signed in, sees what it may read.
	b.login("reader", "reader-password")
	b.do("reader: experiments", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("experiments")))
	if s := b.text("#signed-in"); s != "reader" {
		t.Errorf("signed in as %q, want reader", s)
	}
	if s := b.text("#experiments"); !strings.Contains(s, "Default") || strings.Contains(s, "secret") {
		t.Errorf("the reader's experiments:\n%s", s)
	}
	// READ only: no rename, delete or restore offered.
	if n := b.eval(`String(document.querySelectorAll("#experiments .actions form, #experiments .actions details").length)`); n != "0" {
		t.Errorf("the reader is offered %s rename/delete/restore controls on the experiments page", n)
	}
	b.do("reader: runs", chromedp.Click(chromedp.Search(`//a[text()="Default"]`)), chromedp.WaitVisible(chromedp.ID("runs")))
	for _, view := range []string{"", "?view=all", "?view=deleted"} {
		b.do("reader: runs"+view, chromedp.Navigate(base+"/experiments/0"+view), chromedp.WaitVisible(chromedp.ID("runs-form")))
		if n := b.eval(`String(document.querySelectorAll("#delete-btn, #restore-btn").length)`); n != "0" {
			t.Errorf("the reader is offered %s delete/restore buttons on the runs page%s", n, view)
		}
	}
	b.do("reader: artifact preview", chromedp.Navigate(base+"/runs/"+open+"?artifact=notes.txt"), chromedp.WaitVisible(chromedp.CSS("#preview pre.text")))
	// Posted anyway (the form with the button's action added, as a stale
	// page or a hand-made request would), the server refuses. The refusal
	// is a 403 page, which the browser reports on its console (with the
	// favicon it then looks for): those errors are expected.
	if err := chromedp.Do(b.ctx,
		chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.ID("runs")),
		chromedp.Click(chromedp.CSS(`tr[data-run="`+open+`"] input[name=run]`)),
		chromedp.Evaluate[chromedp.Void](`(function () {
			const f = document.getElementById("runs-form"), a = document.createElement("input");
			a.type = "hidden"; a.name = "action"; a.value = "delete"; f.appendChild(a); f.submit();
		})()`),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(text(), "Permission denied")]`))); err != nil {
		t.Fatalf("reader: delete a run: %v", err)
	}
	b.forgetErrors("status of 403")
	b.forgetErrors("favicon.ico")
	b.checkConsole("reader: delete a run")
	if s := b.eval(`document.body.innerText`); !strings.Contains(s, `user "reader" needs MANAGE permission on experiment 0`) {
		t.Errorf("the refusal does not say which permission is missing:\n%s", s)
	}
	b.screenshot("auth-refused")
	b.do("reader: the run is still there", chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.CSS(`tr[data-run="`+open+`"]`)))

	// As the admin: everything, and the delete goes through.
	b.login("admin", "admin-password")
	b.do("admin: experiments", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("experiments")))
	if s := b.text("#experiments"); !strings.Contains(s, "secret") {
		t.Errorf("the admin does not see the secret experiment:\n%s", s)
	}
	if s := b.text("#signed-in"); s != "admin" {
		t.Errorf("signed in as %q, want admin", s)
	}
	b.do("admin: delete a run",
		chromedp.Navigate(base+"/experiments/0"), chromedp.WaitVisible(chromedp.ID("runs")),
		chromedp.Click(chromedp.CSS(`tr[data-run="`+open+`"] input[name=run]`)),
		chromedp.Click(chromedp.ID("delete-btn")),
		chromedp.WaitVisible(chromedp.ID("runs")),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-run="`+open+`"]`)))
	if got := admin.ok("GET", "/api/2.0/mlflow/runs/get?run_id="+open, nil)["run"].(map[string]any)["info"].(map[string]any)["lifecycle_stage"]; got != "deleted" {
		t.Errorf("after the admin's delete the run is %v", got)
	}
	b.checkConsole("end")
}
