package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/sqlite"
)

// These tests run the server on 127.0.0.1 over a real SQLite store in a
// temporary directory. The MLflow client's own view is tested end to end in
// cmd/mlrun/server_test.go.

type fixture struct {
	t     *testing.T
	st    *sqlite.Store
	srv   *Server
	url   string
	root  string
	user  string
	pass  string
	httpc *http.Client
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	root, err := artifact.LocalDir(st.ArtifactRoot())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, st: st, srv: srv, url: hs.URL, root: root, httpc: hs.Client()}
}

// call sends a request and returns the status and the decoded JSON body.
func (f *fixture) call(method, path, contentType string, body string) (int, map[string]any) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if f.user != "" {
		req.SetBasicAuth(f.user, f.pass)
	}
	resp, err := f.httpc.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			f.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	} else {
		out["_raw"] = string(raw)
	}
	return resp.StatusCode, out
}

func (f *fixture) post(path, body string) (int, map[string]any) {
	f.t.Helper()
	return f.call("POST", path, "application/json", body)
}

func (f *fixture) mustPost(path, body string) map[string]any {
	f.t.Helper()
	code, out := f.post(path, body)
	if code != 200 {
		f.t.Fatalf("POST %s %s: %d %v", path, body, code, out)
	}
	return out
}

func (f *fixture) createRun(exp string) string {
	f.t.Helper()
	out := f.mustPost("/api/2.0/mlflow/runs/create", `{"experiment_id": "`+exp+`"}`)
	return out["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
}

func wantError(t *testing.T, what string, code int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if code != wantStatus || body["error_code"] != wantCode {
		t.Errorf("%s: %d %v, want %d %s", what, code, body, wantStatus, wantCode)
	}
	if msg, _ := body["message"].(string); msg == "" {
		t.Errorf("%s: error without a message: %v", what, body)
	}
}

func TestErrorsInMLflowShape(t *testing.T) {
	f := newFixture(t, Options{ServeArtifacts: true, MaxRequestBytes: 1 << 16})
	run := f.createRun("0")

	code, body := f.call("GET", "/api/2.0/mlflow/runs/get?run_id=0123456789abcdef0123456789abcdef", "", "")
	wantError(t, "unknown run", code, body, 404, "RESOURCE_DOES_NOT_EXIST")
	code, body = f.call("GET", "/api/2.0/mlflow/runs/get", "", "")
	wantError(t, "no run id", code, body, 400, "INVALID_PARAMETER_VALUE")
	if !strings.Contains(body["message"].(string), "Missing value for required parameter 'run_id'") {
		t.Errorf("missing run_id message = %q", body["message"])
	}
	code, body = f.post("/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "m", "value": 1`)
	wantError(t, "truncated JSON", code, body, 400, "INVALID_PARAMETER_VALUE")
	code, body = f.post("/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "m", "value": true, "timestamp": 1}`)
	wantError(t, "boolean metric", code, body, 400, "INVALID_PARAMETER_VALUE")
	code, body = f.call("POST", "/api/2.0/mlflow/runs/log-metric", "text/plain", `{"run_id": "`+run+`", "key": "m", "value": 1, "timestamp": 1}`)
	wantError(t, "wrong content type", code, body, 400, "INVALID_PARAMETER_VALUE")
	code, body = f.call("GET", "/api/2.0/mlflow/no-such-endpoint", "", "")
	wantError(t, "unknown endpoint", code, body, 404, "ENDPOINT_NOT_FOUND")
	code, body = f.post("/api/2.0/mlflow/runs/search", `{"experiment_ids": ["0"], "max_results": 50001}`)
	wantError(t, "max_results too large", code, body, 400, "INVALID_PARAMETER_VALUE")
	code, body = f.post("/api/2.0/mlflow/runs/search", `{"experiment_ids": ["0"], "page_token": "garbage!"}`)
	wantError(t, "bad page token", code, body, 400, "INVALID_PARAMETER_VALUE")
	code, body = f.post("/api/2.0/mlflow/experiments/create", `{"name": "Default"}`)
	wantError(t, "duplicate experiment", code, body, 400, "RESOURCE_ALREADY_EXISTS")

	var metrics []string
	for i := 0; i < 1001; i++ {
		metrics = append(metrics, fmt.Sprintf(`{"key": "m", "value": %d, "timestamp": 1, "step": %d}`, i, i))
	}
	code, body = f.post("/api/2.0/mlflow/runs/log-batch", `{"run_id": "`+run+`", "metrics": [`+strings.Join(metrics, ",")+`]}`)
	wantError(t, "1001 metrics in a batch", code, body, 400, "INVALID_PARAMETER_VALUE")
	code, body = f.post("/api/2.0/mlflow/runs/set-tag", `{"run_id": "`+run+`", "key": "k", "value": "`+strings.Repeat("x", 1<<17)+`"}`)
	wantError(t, "body over the limit", code, body, 400, "INVALID_PARAMETER_VALUE")

	// Old clients: a JSON body double-encoded as a string, and numbers and
	// strings where proto-JSON allows either.
	f.mustPost("/api/2.0/mlflow/runs/log-metric", `"{\"run_id\": \"`+run+`\", \"key\": \"m\", \"value\": \"NaN\", \"timestamp\": \"5\", \"step\": \"2\"}"`)
	code, body = f.call("GET", "/ajax-api/2.0/mlflow/metrics/get-history?run_id="+run+"&metric_key=m", "", "")
	if code != 200 {
		t.Fatalf("get-history: %d %v", code, body)
	}
	pts := body["metrics"].([]any)
	if len(pts) != 1 || pts[0].(map[string]any)["value"] != "NaN" || pts[0].(map[string]any)["step"] != float64(2) {
		t.Errorf("history = %v, want one NaN point at step 2", pts)
	}
}

// A store failure answers 500 INTERNAL_ERROR without leaking the cause.
func TestStoreFailureHidesDetails(t *testing.T) {
	f := newFixture(t, Options{})
	f.st.Close()
	code, body := f.call("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", "", "")
	wantError(t, "closed store", code, body, 500, "INTERNAL_ERROR")
	if msg := body["message"].(string); strings.Contains(msg, "sql") || strings.Contains(msg, f.root) || strings.Contains(msg, "goroutine") {
		t.Errorf("500 message leaks details: %q", msg)
	}
}

func TestArtifactProxyPathEscapes(t *testing.T) {
	f := newFixture(t, Options{ServeArtifacts: true, MaxUploadBytes: 1 << 20})
	run := f.createRun("0")
	base := "/api/2.0/mlflow-artifacts/artifacts/0/" + run + "/artifacts/"
	code, body := f.call("PUT", base+"dir/ok.txt", "", "fine")
	if code != 200 {
		t.Fatalf("upload: %d %v", code, body)
	}
	if b, err := os.ReadFile(filepath.Join(f.root, "0", run, "artifacts", "dir", "ok.txt")); err != nil || string(b) != "fine" {
		t.Fatalf("uploaded file: %q %v", b, err)
	}
	code, body = f.call("GET", base+"dir/ok.txt", "", "")
	if code != 200 || body["_raw"] != "fine" {
		t.Fatalf("download: %d %v", code, body)
	}

	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret"), 0o644)
	if err := os.Symlink(outside, filepath.Join(f.root, "0", run, "artifacts", "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		base + "%2e%2e/%2e%2e/%2e%2e/escaped.txt",
		base + "%252e%252e/%252e%252e/%252e%252e/%252e%252e/escaped.txt",
		base + "..%2f..%2f..%2f..%2fescaped.txt",
		base + "link/escaped.txt",
		"/api/2.0/mlflow-artifacts/artifacts/%2ftmp%2fescaped.txt",
	} {
		code, body := f.call("PUT", p, "", "evil")
		if code < 400 && code != http.StatusMovedPermanently {
			t.Errorf("PUT %s: %d %v; want it refused", p, code, body)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "escaped.txt")); err == nil {
		t.Fatal("an upload escaped through a symbolic link")
	}
	filepath.Walk(filepath.Dir(f.root), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Name() == "escaped.txt" {
			t.Errorf("an upload escaped the artifact root: %s", p)
		}
		return nil
	})
	code, body = f.call("GET", base+"link/secret", "", "")
	if code != 400 || strings.Contains(fmt.Sprint(body), "s3cret") {
		t.Errorf("download through a link out of the root: %d %v", code, body)
	}
	code, body = f.call("GET", "/get-artifact?run_id="+run+"&path=link/secret", "", "")
	if code != 400 {
		t.Errorf("get-artifact through a link out of the root: %d %v", code, body)
	}
	code, body = f.call("GET", "/api/2.0/mlflow/artifacts/list?run_id="+run+"&path=../..", "", "")
	if code != 400 {
		t.Errorf("artifacts/list of ../..: %d %v", code, body)
	}
	code, body = f.call("PUT", base+"big.bin", "", strings.Repeat("x", 1<<20+1))
	wantError(t, "upload over the limit", code, body, 400, "INVALID_PARAMETER_VALUE")
	if _, err := os.Stat(filepath.Join(f.root, "0", run, "artifacts", "big.bin")); err == nil {
		t.Error("an upload over the limit left a file")
	}

	noProxy := newFixture(t, Options{ServeArtifacts: false})
	code, _ = noProxy.call("GET", "/api/2.0/mlflow-artifacts/artifacts?path=0", "", "")
	if code != 503 {
		t.Errorf("proxy with ServeArtifacts off: %d, want 503", code)
	}
	run2 := noProxy.createRun("0")
	_, got := noProxy.call("GET", "/api/2.0/mlflow/runs/get?run_id="+run2, "", "")
	if uri := got["run"].(map[string]any)["info"].(map[string]any)["artifact_uri"].(string); !strings.HasPrefix(uri, "file:///") {
		t.Errorf("artifact_uri without the proxy = %q, want a file:// URI", uri)
	}
}

func TestBasicAuthPermissions(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{AdminUserEnv: "admin", AdminPasswordEnv: "admin-password"}
	if _, err := OpenAuth(context.Background(), filepath.Join(dir, "none.db"), func(string) string { return "" }); err == nil {
		t.Fatal("OpenAuth with no user and no admin in the environment succeeded")
	}
	au, err := OpenAuth(context.Background(), filepath.Join(dir, "auth.db"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer au.Close()
	f := newFixture(t, Options{Auth: au, ServeArtifacts: true})

	code, body := f.call("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", "", "")
	wantError(t, "no credentials", code, body, 401, "UNAUTHENTICATED")
	f.user, f.pass = "admin", "wrong-password"
	code, body = f.call("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", "", "")
	wantError(t, "wrong password", code, body, 401, "UNAUTHENTICATED")

	f.user, f.pass = "admin", "admin-password"
	f.mustPost("/api/2.0/mlflow/users/create", `{"username": "bob", "password": "bob-password"}`)
	f.mustPost("/api/2.0/mlflow/users/create", `{"username": "alice", "password": "alice-password"}`)
	var hash string
	if err := au.db.QueryRow(`SELECT password_hash FROM users WHERE username = 'bob'`).Scan(&hash); err != nil || !strings.HasPrefix(hash, "$2") || strings.Contains(hash, "bob-password") {
		t.Fatalf("bob's stored password = %q, %v; want a bcrypt hash", hash, err)
	}

	f.user, f.pass = "bob", "bob-password"
	exp := f.mustPost("/api/2.0/mlflow/experiments/create", `{"name": "bobs"}`)["experiment_id"].(string)
	run := f.createRun(exp)
	f.mustPost("/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "m", "value": 1, "timestamp": 1}`)
	code, _ = f.call("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+run+"/artifacts/a.txt", "", "a")
	if code != 200 {
		t.Fatalf("bob uploads to his run: %d", code)
	}

	f.user, f.pass = "alice", "alice-password"
	if code, body := f.call("GET", "/api/2.0/mlflow/runs/get?run_id="+run, "", ""); code != 200 {
		t.Fatalf("alice reads bob's run with the default READ: %d %v", code, body)
	}
	code, body = f.post("/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "m", "value": 2, "timestamp": 2}`)
	wantError(t, "alice logs to bob's run", code, body, 403, "PERMISSION_DENIED")
	code, _ = f.call("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+run+"/artifacts/b.txt", "", "b")
	if code != 403 {
		t.Errorf("alice uploads to bob's run: %d, want 403", code)
	}
	code, body = f.post("/api/2.0/mlflow/experiments/permissions/create", `{"experiment_id": "`+exp+`", "username": "alice", "permission": "MANAGE"}`)
	wantError(t, "alice grants herself", code, body, 403, "PERMISSION_DENIED")
	code, body = f.post("/api/2.0/mlflow/users/create", `{"username": "eve", "password": "eve-password"}`)
	wantError(t, "alice creates a user", code, body, 403, "PERMISSION_DENIED")

	f.user, f.pass = "bob", "bob-password"
	f.mustPost("/api/2.0/mlflow/experiments/permissions/create", `{"experiment_id": "`+exp+`", "username": "alice", "permission": "EDIT"}`)
	f.user, f.pass = "alice", "alice-password"
	f.mustPost("/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "m", "value": 2, "timestamp": 2}`)
	code, body = f.post("/api/2.0/mlflow/runs/delete", `{"run_id": "`+run+`"}`)
	wantError(t, "alice deletes with EDIT", code, body, 403, "PERMISSION_DENIED")

	f.user, f.pass = "bob", "bob-password"
	f.mustPost("/api/2.0/mlflow/experiments/permissions/create", `{"experiment_id": "`+exp+`", "username": "alice", "permission": "NO_PERMISSIONS"}`)
	f.user, f.pass = "alice", "alice-password"
	_, body = f.post("/api/2.0/mlflow/experiments/search", `{}`)
	if strings.Contains(fmt.Sprint(body), "bobs") {
		t.Errorf("alice with NO_PERMISSIONS sees bob's experiment in search: %v", body)
	}
	code, body = f.call("GET", "/api/2.0/mlflow/runs/get?run_id="+run, "", "")
	wantError(t, "alice reads with NO_PERMISSIONS", code, body, 403, "PERMISSION_DENIED")
	// Regression: the run named in a GET body (old clients) or in a
	// double-encoded body is checked too.
	code, body = f.call("GET", "/api/2.0/mlflow/runs/get", "application/json", `{"run_id": "`+run+`"}`)
	wantError(t, "alice reads through a GET body", code, body, 403, "PERMISSION_DENIED")
	code, body = f.post("/api/2.0/mlflow/runs/log-metric", `"{\"run_id\": \"`+run+`\", \"key\": \"m\", \"value\": 3, \"timestamp\": 3}"`)
	wantError(t, "alice logs through a double-encoded body", code, body, 403, "PERMISSION_DENIED")
	f.user = ""
	if code, _ := f.call("GET", "/health", "", ""); code != 200 {
		t.Errorf("/health without credentials: %d", code)
	}
}

// Serve finishes the requests in flight when its context ends.
func TestServeDrainsRequestsInFlight(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mlrun.db"), filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(st, Options{ServeArtifacts: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", "http://"+ln.Addr().String()+"/api/2.0/mlflow-artifacts/artifacts/0/slow.bin", pr)
	resp := make(chan *http.Response, 1)
	go func() {
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("upload in flight failed: %v", err)
			resp <- nil
			return
		}
		resp <- r
	}()
	pw.Write(bytes.Repeat([]byte("a"), 1000))
	time.Sleep(200 * time.Millisecond) // the request is now being served
	cancel()
	time.Sleep(200 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the server still accepts connections after its context ended")
	}
	pw.Write(bytes.Repeat([]byte("b"), 1000))
	pw.Close()
	r := <-resp
	if r == nil || r.StatusCode != 200 {
		t.Fatalf("upload in flight: %v", r)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if info, err := os.Stat(filepath.Join(strings.TrimPrefix(st.ArtifactRoot(), "file://"), "0", "slow.bin")); err != nil || info.Size() != 2000 {
		t.Fatalf("drained upload: %v %v", info, err)
	}
}

func TestFilterGrammar(t *testing.T) {
	f, err := parseFilter(`name LIKE 'exp-%' AND tags."my key" != 'x' and creation_time >= 5`, []string{"name"}, []string{"creation_time"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(name, tag string, ct float64) func(bool, string) field {
		return func(isTag bool, key string) field {
			switch {
			case isTag && key == "my key" && tag != "":
				return field{str: tag, ok: true}
			case isTag:
				return field{}
			case key == "name":
				return field{str: name, ok: true}
			}
			return field{num: ct, isNum: true, ok: true}
		}
	}
	for _, c := range []struct {
		name, tag string
		ct        float64
		want      bool
	}{
		{"exp-1", "y", 5, true},
		{"exp-1", "x", 5, false},
		{"exp-1", "", 5, false}, // a missing tag never matches
		{"Exp-1", "y", 5, false},
		{"exp-1", "y", 4, false},
	} {
		if got := f.match(get(c.name, c.tag, c.ct)); got != c.want {
			t.Errorf("match(%+v) = %v, want %v", c, got, c.want)
		}
	}
	for _, bad := range []string{"name = ", "name ~ 'a'", "size = 'a'", "name = 'a' OR name = 'b'", "creation_time = 'x'", "name IN ('a'"} {
		if _, err := parseFilter(bad, []string{"name"}, []string{"creation_time"}); err == nil {
			t.Errorf("filter %q parsed", bad)
		}
	}
}
