package server

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Route classes of TestAuthGuardsEveryRoute.
const (
	routePublic = "public" // answers without credentials
	routeOpen   = "open"   // any signed-in user (results filtered, or checked in the handler)
	routeGuard  = "guard"  // needs a permission on the experiment or model named, or admin
)

// routeClass gives, for every route (method and path after the API
// prefix), what a user without permissions may do. A route missing here
// fails the test, so a new route cannot be left unchecked.
var routeClass = map[string]string{
	"GET /health":  routePublic,
	"GET /version": routePublic,
	// Catch-alls: the UI root and the API's "no such endpoint".
	" /":     routeOpen,
	" /api/": routeOpen, " /ajax-api/": routeOpen,

	"POST /experiments/create": routeOpen, "GET /experiments/search": routeOpen, "POST /experiments/search": routeOpen,
	"POST /registered-models/create": routeOpen, "GET /registered-models/search": routeOpen, "GET /model-versions/search": routeOpen,
	"GET /users/get": routeOpen, "PATCH /users/update-password": routeOpen,

	"GET /experiments/get": routeGuard, "GET /experiments/get-by-name": routeGuard,
	"POST /experiments/update": routeGuard, "POST /experiments/set-experiment-tag": routeGuard,
	"POST /experiments/delete": routeGuard, "POST /experiments/restore": routeGuard,
	"POST /runs/create": routeGuard, "GET /runs/get": routeGuard, "POST /runs/update": routeGuard,
	"POST /runs/delete": routeGuard, "POST /runs/restore": routeGuard, "POST /runs/search": routeGuard,
	"POST /runs/log-metric": routeGuard, "POST /runs/log-parameter": routeGuard, "POST /runs/set-tag": routeGuard,
	"POST /runs/delete-tag": routeGuard, "POST /runs/log-batch": routeGuard, "POST /runs/log-model": routeGuard,
	"POST /runs/log-inputs": routeGuard, "GET /metrics/get-history": routeGuard, "GET /artifacts/list": routeGuard,
	"GET /get-artifact": routeGuard, "GET /model-versions/get-artifact": routeGuard,

	"GET /registered-models/get": routeGuard, "POST /registered-models/rename": routeGuard,
	"PATCH /registered-models/update": routeGuard, "DELETE /registered-models/delete": routeGuard,
	"GET /registered-models/get-latest-versions": routeGuard, "POST /registered-models/get-latest-versions": routeGuard,
	"POST /registered-models/set-tag": routeGuard, "DELETE /registered-models/delete-tag": routeGuard,
	"GET /registered-models/alias": routeGuard, "POST /registered-models/alias": routeGuard, "DELETE /registered-models/alias": routeGuard,
	"POST /model-versions/create": routeGuard, "GET /model-versions/get": routeGuard, "PATCH /model-versions/update": routeGuard,
	"DELETE /model-versions/delete": routeGuard, "POST /model-versions/transition-stage": routeGuard,
	"POST /model-versions/set-tag": routeGuard, "DELETE /model-versions/delete-tag": routeGuard,
	"GET /model-versions/get-download-uri": routeGuard,

	"GET /artifacts": routeGuard, "GET /artifacts/{path...}": routeGuard, "PUT /artifacts/{path...}": routeGuard,
	"DELETE /artifacts/{path...}": routeGuard, "POST /mpu/{op}/{path...}": routeGuard,

	// Admins only.
	"POST /users/create": routeGuard, "PATCH /users/update-admin": routeGuard, "DELETE /users/delete": routeGuard,
	"POST /experiments/permissions/create": routeGuard, "PATCH /experiments/permissions/update": routeGuard,
	"GET /experiments/permissions/get": routeGuard, "DELETE /experiments/permissions/delete": routeGuard,
	"POST /registered-models/permissions/create": routeGuard, "PATCH /registered-models/permissions/update": routeGuard,
	"GET /registered-models/permissions/get": routeGuard, "DELETE /registered-models/permissions/delete": routeGuard,
	"POST /store/{method}": routeGuard,
}

// routeKey strips the API prefix off pattern ("GET /api/2.0/mlflow/runs/get"
// → "GET /runs/get") and returns it with the method and the bare path.
func routeKey(pattern string) (key, method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	rest := path
	prefixes := append(append(append([]string{}, artifactPrefixes...), apiPrefixes...), MlrunAPIPrefix)
	sort.Slice(prefixes, func(i, j int) bool { return len(prefixes[i]) > len(prefixes[j]) })
	for _, p := range prefixes {
		if r, ok := strings.CutPrefix(path, p+"/"); ok {
			rest = "/" + r
			break
		}
	}
	return method + " " + rest, method, path
}

// TestAuthGuardsEveryRoute walks every route the server registered (read
// from its mux, not a hand list) under --auth: without credentials each
// answers 401 UNAUTHENTICATED (but /health and /version); a user with
// NO_PERMISSIONS on the experiment and the model the request names gets
// 403 PERMISSION_DENIED on every guarded route; the admin is let through
// (and no route fails with a server error).
func TestAuthGuardsEveryRoute(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{AdminUserEnv: "admin", AdminPasswordEnv: "admin-password"}
	au, err := OpenAuth(context.Background(), filepath.Join(dir, "auth.db"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer au.Close()
	f := newFixture(t, Options{Auth: au, ServeArtifacts: true})

	f.user, f.pass = "admin", "admin-password"
	f.mustPost("/api/2.0/mlflow/users/create", `{"username": "nobody", "password": "nobody-password"}`)
	exp := f.mustPost("/api/2.0/mlflow/experiments/create", `{"name": "secret"}`)["experiment_id"].(string)
	run := f.createRun(exp)
	if code, out := f.call("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+run+"/artifacts/a.txt", "", "secret"); code != 200 {
		t.Fatalf("upload: %d %v", code, out)
	}
	f.mustPost("/api/2.0/mlflow/registered-models/create", `{"name": "m"}`)
	f.mustPost("/api/2.0/mlflow/model-versions/create", `{"name": "m", "source": "runs:/`+run+`/a.txt", "run_id": "`+run+`"}`)
	f.mustPost("/api/2.0/mlflow/experiments/permissions/create", `{"experiment_id": "`+exp+`", "username": "nobody", "permission": "NO_PERMISSIONS"}`)
	f.mustPost("/api/2.0/mlflow/registered-models/permissions/create", `{"name": "m", "username": "nobody", "permission": "NO_PERMISSIONS"}`)

	// Every field any endpoint reads names the secret experiment, run or model.
	fields := map[string]any{
		"experiment_id": exp, "experiment_ids": []string{exp}, "experiment_name": "secret",
		"run_id": run, "run_uuid": run, "name": "m", "new_name": "m2", "version": "1", "alias": "champion",
		"key": "k", "value": "v", "metric_key": "k", "path": "a.txt", "username": "nobody",
		"password": "nobody-password", "permission": "READ", "stage": "Staging", "timestamp": 1,
		"args": []string{run}, // the store API's GetRun
	}
	type request struct{ key, method, target, body string }
	var reqs []request
	seen := map[string]bool{}
	for _, pattern := range f.srv.mux.patterns {
		key, method, path := routeKey(pattern)
		seen[key] = true
		if _, ok := routeClass[key]; !ok {
			t.Errorf("route %q (%s) has no expectation in routeClass: add it", key, pattern)
			continue
		}
		target := strings.NewReplacer("{path...}", exp+"/"+run+"/artifacts/a.txt", "{op}", "create", "{method}", "GetRun").Replace(path)
		if method == "" {
			method = "GET"
			if strings.HasSuffix(target, "/") {
				target += "no-such-endpoint"
			}
		}
		var body string
		if method == "GET" {
			q := url.Values{}
			for k, v := range fields {
				if s, ok := v.(string); ok {
					q.Set(k, s)
				}
			}
			if strings.HasSuffix(path, "-artifacts/artifacts") {
				q.Set("path", exp+"/"+run+"/artifacts")
			}
			target += "?" + q.Encode()
		} else if method == "PUT" {
			body = "x"
		} else {
			b, _ := json.Marshal(fields)
			body = string(b)
		}
		reqs = append(reqs, request{key, method, target, body})
	}
	for key := range routeClass {
		if !seen[key] {
			t.Errorf("routeClass lists %q, which the server does not register", key)
		}
	}
	if len(reqs) < 100 {
		t.Fatalf("walked only %d routes: the mux records fewer than expected", len(reqs))
	}

	// Denials first, so that the admin's deletes cannot change them.
	for _, rq := range reqs {
		class := routeClass[rq.key]
		f.user, f.pass = "", ""
		code, body := f.call(rq.method, rq.target, "application/json", rq.body)
		if class == routePublic {
			if code != 200 {
				t.Errorf("%s %s without credentials: %d, want 200", rq.method, rq.target, code)
			}
			continue
		}
		if code != 401 || body["error_code"] != "UNAUTHENTICATED" {
			t.Errorf("%s %s without credentials: %d %v, want 401 UNAUTHENTICATED", rq.method, rq.target, code, body)
		}
		f.user, f.pass = "nobody", "nobody-password"
		code, body = f.call(rq.method, rq.target, "application/json", rq.body)
		switch class {
		case routeGuard:
			if code != 403 || body["error_code"] != "PERMISSION_DENIED" || body["message"] == "" {
				t.Errorf("%s %s as a user with NO_PERMISSIONS: %d %v, want 403 PERMISSION_DENIED", rq.method, rq.target, code, body)
			}
		case routeOpen:
			if code == 401 || code == 403 {
				t.Errorf("%s %s as a signed-in user: %d %v, want it let through", rq.method, rq.target, code, body)
			}
		}
	}
	f.user, f.pass = "admin", "admin-password"
	for _, rq := range reqs {
		// The admin passes; the generic request may still be a 4xx for the
		// handler (a duplicate name, a missing field), never a 5xx.
		code, body := f.call(rq.method, rq.target, "application/json", rq.body)
		if code == 401 || code == 403 || (code >= 500 && body["error_code"] != "NOT_IMPLEMENTED") {
			t.Errorf("%s %s as admin: %d %v", rq.method, rq.target, code, body)
		}
	}
}
