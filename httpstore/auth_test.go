package httpstore_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/httpstore"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/tracking"
)

// authServer is an httptest server under --auth with the admin
// admin/admin-password; post makes an admin request to MLflow's API.
type authServer struct {
	url string
	t   *testing.T
	db  *sqlite.Store
}

func startAuthServer(t *testing.T) *authServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env := map[string]string{server.AdminUserEnv: "admin", server.AdminPasswordEnv: "admin-password"}
	au, err := server.OpenAuth(ctx, filepath.Join(dir, "auth.db"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { au.Close() })
	srv, err := server.New(db, server.Options{Auth: au})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &authServer{url: hs.URL, t: t, db: db}
}

// post sends an admin's JSON request to MLflow's API and checks it succeeds.
func (a *authServer) post(path, body string) {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.url+"/api/2.0/mlflow"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", "admin-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		a.t.Fatalf("%s %s: %s", path, body, resp.Status)
	}
}

// open opens the store as a user.
func (a *authServer) open(user, pass string) *httpstore.Store {
	a.t.Helper()
	st, err := httpstore.Open(context.Background(), a.url, httpstore.Options{Username: user, Password: pass})
	if err != nil {
		a.t.Fatalf("open as %s: %v", user, err)
	}
	a.t.Cleanup(func() { st.Close() })
	return st
}

// denied checks that err is the server's permission refusal.
func denied(t *testing.T, what string, err error) {
	t.Helper()
	if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), "PERMISSION_DENIED") {
		t.Fatalf("%s: %v; want PERMISSION_DENIED", what, err)
	}
}

// A wrong password or none is one clear errs.Invalid naming the
// credentials.
func TestAuthCredentials(t *testing.T) {
	a := startAuthServer(t)
	for _, opts := range []httpstore.Options{{}, {Username: "admin", Password: "wrong"}} {
		_, err := httpstore.Open(context.Background(), a.url, opts)
		if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), "MLFLOW_TRACKING_USERNAME") {
			t.Fatalf("open as %q: %v; want errs.Invalid naming the credentials", opts.Username, err)
		}
	}
}

// Under --auth the store API applies the users' permissions as MLflow's
// endpoints do: EDIT on an experiment lets a user run in it, READ lets it
// read but not write, NO_PERMISSIONS neither; global methods are for
// admins, and a non-admin's reaping fails no run.
func TestAuthPermissions(t *testing.T) {
	ctx := context.Background()
	a := startAuthServer(t)
	admin := a.open("admin", "admin-password")
	exp, err := admin.CreateExperiment(ctx, "shared", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"editor", "reader", "stranger"} {
		a.post("/users/create", `{"username": "`+u+`", "password": "`+u+`-password"}`)
	}
	a.post("/experiments/permissions/create", `{"experiment_id": "`+exp.ID+`", "username": "editor", "permission": "EDIT"}`)
	a.post("/experiments/permissions/create", `{"experiment_id": "`+exp.ID+`", "username": "reader", "permission": "READ"}`)
	a.post("/experiments/permissions/create", `{"experiment_id": "`+exp.ID+`", "username": "stranger", "permission": "NO_PERMISSIONS"}`)

	editor := a.open("editor", "editor-password")
	e, err := editor.EnsureExperiment(ctx, "shared")
	if err != nil || e.ID != exp.ID {
		t.Fatalf("editor's EnsureExperiment: %v %v", e, err)
	}
	info, err := editor.CreateRun(ctx, tracking.NewRun{ExperimentID: exp.ID, Params: []tracking.Param{{Key: "lr", Value: "0.1"}}, Host: "h", PID: 1})
	if err != nil {
		t.Fatalf("editor creates a run: %v", err)
	}
	if err := editor.LogBatch(ctx, info.ID, []tracking.Metric{{Key: "acc", Value: 0.9, Timestamp: 1}}, nil, nil); err != nil {
		t.Fatalf("editor logs: %v", err)
	}
	if err := editor.Heartbeat(ctx, info.ID); err != nil {
		t.Fatalf("editor's heartbeat: %v", err)
	}
	// The editor's client reports pid 1 dead: nothing is reaped.
	reaped, err := editor.ReapDeadRuns(ctx, "h", func(int) bool { return false }, 0)
	if err != nil || len(reaped) != 0 {
		t.Fatalf("editor's reap: %v %v; want nothing reaped", reaped, err)
	}
	denied(t, "editor purges", editor.PurgeRun(ctx, info.ID))
	denied(t, "editor deletes the run (needs MANAGE)", editor.DeleteRun(ctx, info.ID))
	_, err = editor.DeletedRuns(ctx, 0)
	denied(t, "editor lists deleted runs", err)
	if n, err := editor.CountRuns(ctx); err != nil || n != 1 {
		t.Fatalf("editor counts runs: %d %v", n, err)
	}
	_, err = editor.ListSchedules(ctx)
	denied(t, "editor lists schedules", err)

	reader := a.open("reader", "reader-password")
	r, err := reader.GetRun(ctx, info.ID)
	if err != nil || r.Info.Status != tracking.StatusRunning || len(r.Metrics) != 1 {
		t.Fatalf("reader reads the run: %+v %v", r, err)
	}
	if _, _, err := reader.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp.ID}}); err != nil {
		t.Fatalf("reader searches: %v", err)
	}
	_, err = reader.CreateRun(ctx, tracking.NewRun{ExperimentID: exp.ID})
	denied(t, "reader creates a run", err)
	if !strings.Contains(err.Error(), `user "reader" has READ on experiment "`+exp.ID+`" and needs EDIT`) {
		t.Fatalf("reader's refusal does not say why: %v", err)
	}
	denied(t, "reader logs", reader.LogBatch(ctx, info.ID, []tracking.Metric{{Key: "acc", Value: 1}}, nil, nil))

	// Credentials in the URI work and stay out of messages.
	stranger, err := httpstore.Open(ctx, strings.Replace(a.url, "http://", "http://stranger:stranger-password@", 1), httpstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	_, err = stranger.GetRun(ctx, info.ID)
	denied(t, "stranger reads the run", err)
	if strings.Contains(err.Error(), "stranger-password") {
		t.Fatalf("the message shows the password: %v", err)
	}
	_, _, err = stranger.SearchRuns(ctx, tracking.SearchRuns{ExperimentIDs: []string{exp.ID}})
	denied(t, "stranger searches the experiment", err)
	// Searching every experiment searches those the user may read.
	if runs, _, err := stranger.SearchRuns(ctx, tracking.SearchRuns{}); err != nil || len(runs) != 0 {
		t.Fatalf("stranger searches every experiment: %d runs, %v; want none", len(runs), err)
	}
	if runs, _, err := reader.SearchRuns(ctx, tracking.SearchRuns{}); err != nil || len(runs) != 1 {
		t.Fatalf("reader searches every experiment: %d runs, %v; want 1", len(runs), err)
	}
	_, err = stranger.MetricHistory(ctx, info.ID, "acc")
	denied(t, "stranger reads a metric", err)
	_, err = stranger.ResolveRunID(ctx, info.ID[:8])
	denied(t, "stranger resolves a run id", err)
	_, err = stranger.GetExperimentByName(ctx, "shared")
	denied(t, "stranger reads the experiment", err)
	// The stranger's own experiment is its to manage; the list hides the other.
	own, err := stranger.EnsureExperiment(ctx, "own")
	if err != nil {
		t.Fatal(err)
	}
	if err := stranger.RenameExperiment(ctx, own.ID, "own2"); err != nil {
		t.Fatalf("creator renames its experiment: %v", err)
	}
	list, err := stranger.ListExperiments(ctx, tracking.ActiveOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.ID == exp.ID {
			t.Fatalf("stranger's list shows experiment %s", exp.ID)
		}
	}
	if err := stranger.DeleteExperiment(ctx, own.ID); err != nil {
		t.Fatalf("creator deletes its experiment: %v", err)
	}

	// A first version creates its model, which its creator then manages;
	// another user may read it but not add versions.
	source := strings.TrimSuffix(info.ArtifactURI, "/") + "/model"
	if _, err := editor.CreateModelVersion(ctx, "clf", source, info.ID, "", nil); err != nil {
		t.Fatalf("editor registers a new model: %v", err)
	}
	if err := editor.SetAlias(ctx, "clf", "champion", 1); err != nil {
		t.Fatalf("creator sets an alias: %v", err)
	}
	if _, err := reader.GetVersionByAlias(ctx, "clf", "champion"); err != nil {
		t.Fatalf("reader reads the model: %v", err)
	}
	_, err = reader.CreateModelVersion(ctx, "clf", source, info.ID, "", nil)
	denied(t, "reader adds a version", err)
	if err := editor.DeleteRegisteredModel(ctx, "clf"); err != nil {
		t.Fatalf("creator deletes its model: %v", err)
	}

	// The run is still RUNNING: no one's reaping failed it.
	if r, err := admin.GetRun(ctx, info.ID); err != nil || r.Info.Status != tracking.StatusRunning {
		t.Fatalf("run after the non-admins' calls: %+v %v", r, err)
	}
	// A malformed argument is a bad request (400), not a refusal (403).
	req, _ := http.NewRequest("POST", a.url+"/api/2.0/mlrun/store/SearchRuns", strings.NewReader(`{"args": [42]}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("reader", "reader-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "INVALID_PARAMETER_VALUE") {
		t.Fatalf("malformed SearchRuns: %s %s; want 400 INVALID_PARAMETER_VALUE", resp.Status, body)
	}

	// Once its heartbeat is older than two minutes, a non-admin's reaping
	// fails it, as the store's own evidence says its owner is gone.
	old := time.Now().Add(-3 * time.Minute).UnixMilli()
	if _, err := a.db.DB().ExecContext(ctx, `UPDATE runs SET heartbeat = ?, start_time = ? WHERE run_id = ?`, old, old, info.ID); err != nil {
		t.Fatal(err)
	}
	reaped, err = stranger.ReapDeadRuns(ctx, "elsewhere", func(int) bool { return true }, 0)
	if err != nil || len(reaped) != 1 || reaped[0] != info.ID {
		t.Fatalf("stranger's reap of a silent run: %v %v", reaped, err)
	}
}
