package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/tracking"
	"github.com/mlrun/mlrun/ui"
)

// TestAuthPermissionsOnWrites serves the UI behind the server's real
// authentication (server.Auth, as `mlrun server --auth` does): a READ user
// sees a model but may not move its alias or change a stage, nor rename an
// experiment; it manages the experiment it creates; a model it has no
// permission on is not listed; the admin may do it all.
func TestAuthPermissionsOnWrites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, name := range []string{"m", "hidden"} {
		info := f.run(name, nil, nil)
		dir := f.artifactDir(info)
		must(t, os.MkdirAll(filepath.Join(dir, "model"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, "model", "MLmodel"), []byte("flavors: {}\n"), 0o644))
		if _, err := f.st.CreateModelVersion(ctx, name, info.ArtifactURI+"/model", info.ID, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{server.AdminUserEnv: "admin", server.AdminPasswordEnv: "admin-password"}
	au, err := server.OpenAuth(ctx, filepath.Join(f.dir, "auth.db"), func(k string) string { return env[k] })
	must(t, err)
	t.Cleanup(func() { au.Close() })
	h, err := ui.New(ui.Options{Store: f.st, Registry: f.st, Access: au})
	must(t, err)
	srv, err := server.New(f.st, server.Options{Auth: au, UI: h})
	must(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	do := func(user, method, path string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, ts.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		if path[:5] == "/api/" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.SetBasicAuth(user, user+"-password")
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	api := func(path, json string) {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(json))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("admin", "admin-password")
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	api("/api/2.0/mlflow/users/create", `{"username": "reader", "password": "reader-password"}`)
	api("/api/2.0/mlflow/registered-models/permissions/create", `{"name": "hidden", "username": "reader", "permission": "NO_PERMISSIONS"}`)

	if code, body := do("reader", "GET", "/models", nil); code != 200 || !strings.Contains(body, `href="/models/m"`) || strings.Contains(body, `href="/models/hidden"`) {
		t.Errorf("the reader's models list: %d, m shown and hidden not expected", code)
	}
	// A short run id of a run the reader may not read is not expanded.
	secret, err := f.st.CreateExperiment(ctx, "secret", nil)
	must(t, err)
	api("/api/2.0/mlflow/experiments/permissions/create", `{"experiment_id": "`+secret.ID+`", "username": "reader", "permission": "NO_PERMISSIONS"}`)
	hidden, err := f.st.CreateRun(ctx, tracking.NewRun{ExperimentID: secret.ID, Name: "hidden-run"})
	must(t, err)
	if code, body := do("reader", "GET", "/runs/"+hidden.ID[:8], nil); code == http.StatusSeeOther || strings.Contains(body, hidden.ID) {
		t.Errorf("the reader's GET /runs/<short id> of a secret run: %d, revealing its full id", code)
	}
	if code, _ := do("admin", "GET", "/runs/"+hidden.ID[:8], nil); code != http.StatusSeeOther {
		t.Errorf("the admin's GET /runs/<short id>: %d, want a redirect", code)
	}
	if code, _ := do("reader", "GET", "/models/hidden", nil); code != 403 {
		t.Errorf("the reader's GET /models/hidden: %d, want 403", code)
	}
	if code, body := do("reader", "GET", "/models/m", nil); code != 200 || !strings.Contains(body, `Signed in as <strong id="signed-in">reader</strong>`) {
		t.Errorf("the reader's model page: %d, or the user is not shown", code)
	}
	for _, c := range []struct{ path, need string }{
		{"/models/m/alias", `user &#34;reader&#34; needs EDIT permission on registered model m`},
		{"/models/m/stage", `user &#34;reader&#34; needs EDIT permission on registered model m`},
		{"/experiments/0/rename", `user &#34;reader&#34; needs EDIT permission on experiment 0`},
		{"/experiments/0/delete", `user &#34;reader&#34; needs MANAGE permission on experiment 0`},
	} {
		form := url.Values{"alias": {"champion"}, "version": {"1"}, "stage": {"Production"}, "confirm": {"yes"}, "name": {"renamed"}}
		if code, body := do("reader", "POST", c.path, form); code != 403 || !strings.Contains(body, c.need) {
			t.Errorf("the reader's POST %s: %d, want 403 saying %s\n%s", c.path, code, c.need, body)
		}
	}
	if _, err := f.st.GetVersionByAlias(ctx, "m", "champion"); err == nil {
		t.Error("the reader moved an alias")
	}
	if e, _ := f.st.GetExperiment(ctx, "0"); e.Name != "Default" {
		t.Errorf("the reader renamed the experiment to %q", e.Name)
	}
	// What the reader creates, it manages.
	code, _ := do("reader", "POST", "/experiments/create", url.Values{"name": {"mine"}})
	e, err := f.st.GetExperimentByName(ctx, "mine")
	if code != 303 || err != nil {
		t.Fatalf("the reader's create: %d %v", code, err)
	}
	if code, body := do("reader", "POST", "/experiments/"+e.ID+"/rename", url.Values{"name": {"mine-2"}}); code != 303 {
		t.Errorf("the reader's rename of its own experiment: %d\n%s", code, body)
	}
	// The admin may.
	if code, body := do("admin", "POST", "/models/m/alias", url.Values{"alias": {"champion"}, "version": {"1"}, "confirm": {"yes"}}); code != 303 {
		t.Errorf("the admin's alias move: %d\n%s", code, body)
	}
	if v, err := f.st.GetVersionByAlias(ctx, "m", "champion"); err != nil || v.Version != 1 {
		t.Errorf("after the admin's move: %v %v", v, err)
	}
}
