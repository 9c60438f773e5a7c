package httpstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/httpstore"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/sqlite"
)

// Under --auth the store API answers admins only; a wrong password and a
// non-admin user are one clear errs.Invalid naming the credentials.
func TestAuth(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	env := map[string]string{server.AdminUserEnv: "admin", server.AdminPasswordEnv: "admin-password"}
	au, err := server.OpenAuth(ctx, filepath.Join(dir, "auth.db"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer au.Close()
	srv, err := server.New(db, server.Options{Auth: au})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	admin, err := httpstore.Open(ctx, hs.URL, httpstore.Options{Username: "admin", Password: "admin-password"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	exp, err := admin.CreateExperiment(ctx, "guarded", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.SetExperimentTag(ctx, exp.ID, "k", "v"); err != nil {
		t.Fatalf("admin through MLflow's API: %v", err)
	}

	req, _ := http.NewRequest("POST", hs.URL+"/api/2.0/mlflow/users/create", strings.NewReader(`{"username": "bob", "password": "bob-password"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", "admin-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create user bob: %v %v", resp, err)
	}
	resp.Body.Close()

	for _, opts := range []httpstore.Options{{}, {Username: "admin", Password: "wrong"}, {Username: "bob", Password: "bob-password"}} {
		_, err := httpstore.Open(ctx, hs.URL, opts)
		if errs.Code(err) != errs.Invalid || !strings.Contains(err.Error(), "MLFLOW_TRACKING_USERNAME") {
			t.Fatalf("open as %q: %v; want errs.Invalid naming the credentials", opts.Username, err)
		}
	}
}
