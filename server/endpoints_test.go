package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// artifactFixture is a server with the artifact proxy on, one run with
// notes.txt and model/MLmodel uploaded through the proxy, and version 1 of
// the registered model "m" made from the run's model directory, aliased
// "champion".
func artifactFixture(t *testing.T) (f *fixture, exp, run string) {
	t.Helper()
	f = newFixture(t, Options{ServeArtifacts: true})
	exp = f.mustPost("/api/2.0/mlflow/experiments/create", `{"name": "e"}`)["experiment_id"].(string)
	run = f.createRun(exp)
	for name, content := range map[string]string{"notes.txt": "notes\n", "model/MLmodel": "flavors: {}\n"} {
		if code, out := f.call("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+run+"/artifacts/"+name, "", content); code != 200 {
			t.Fatalf("upload %s: %d %v", name, code, out)
		}
	}
	uri := f.getRun(run)["info"].(map[string]any)["artifact_uri"].(string)
	f.mustPost("/api/2.0/mlflow/registered-models/create", `{"name": "m"}`)
	f.mustPost("/api/2.0/mlflow/model-versions/create", `{"name": "m", "source": "`+uri+`/model", "run_id": "`+run+`"}`)
	f.mustPost("/api/2.0/mlflow/registered-models/alias", `{"name": "m", "alias": "champion", "version": "1"}`)
	f.mustPost("/api/2.0/mlflow/runs/log-metric", `{"run_id": "`+run+`", "key": "loss", "value": 0.5, "timestamp": 1, "step": 3}`)
	return f, exp, run
}

// raw sends a request and returns the status and the body as text.
func (f *fixture) raw(method, path string) (int, string) {
	f.t.Helper()
	code, out := f.call(method, path, "", "")
	if s, ok := out["_raw"].(string); ok {
		return code, s
	}
	b, _ := json.Marshal(out)
	return code, string(b)
}

// TestGetArtifactDownloads checks the UI's download endpoints: a run's
// artifact through /get-artifact (and its /ajax-api/ form) and a model
// version's through /model-versions/get-artifact, as MLflow serves them.
func TestGetArtifactDownloads(t *testing.T) {
	f, _, run := artifactFixture(t)
	for _, p := range []string{"/get-artifact", "/ajax-api/2.0/mlflow/get-artifact"} {
		if code, body := f.raw("GET", p+"?run_id="+run+"&path=notes.txt"); code != 200 || body != "notes\n" {
			t.Errorf("GET %s notes.txt: %d %q, want 200 %q", p, code, body, "notes\n")
		}
		code, out := f.call("GET", p+"?run_id="+run+"&path=missing.txt", "", "")
		wantError(t, p+" of a missing file", code, out, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	}
	for _, p := range []string{"/model-versions/get-artifact", "/ajax-api/2.0/mlflow/model-versions/get-artifact"} {
		if code, body := f.raw("GET", p+"?name=m&version=1&path=MLmodel"); code != 200 || body != "flavors: {}\n" {
			t.Errorf("GET %s MLmodel: %d %q, want 200 the uploaded MLmodel", p, code, body)
		}
	}
}

// TestArtifactProxyDelete deletes an uploaded artifact through the proxy:
// the file is gone from disk, from the proxy's listing and from downloads.
func TestArtifactProxyDelete(t *testing.T) {
	f, exp, run := artifactFixture(t)
	path := "/api/2.0/mlflow-artifacts/artifacts/" + exp + "/" + run + "/artifacts/notes.txt"
	if code, out := f.call("DELETE", path, "", ""); code != 200 {
		t.Fatalf("DELETE %s: %d %v", path, code, out)
	}
	if _, err := os.Stat(filepath.Join(f.root, exp, run, "artifacts", "notes.txt")); !os.IsNotExist(err) {
		t.Errorf("notes.txt is still on disk after DELETE: %v", err)
	}
	if code, body := f.raw("GET", path); code != 404 {
		t.Errorf("GET after DELETE: %d %s, want 404", code, body)
	}
	code, out := f.call("POST", "/api/2.0/mlflow-artifacts/mpu/create/"+exp+"/"+run+"/artifacts/big.bin", "application/json", `{}`)
	wantError(t, "a multipart upload", code, out, http.StatusNotImplemented, "NOT_IMPLEMENTED")
	_, out = f.call("GET", "/api/2.0/mlflow-artifacts/artifacts?path="+url.QueryEscape(exp+"/"+run+"/artifacts"), "", "")
	if b, _ := json.Marshal(out); strings.Contains(string(b), "notes.txt") || !strings.Contains(string(b), "model") {
		t.Errorf("listing after DELETE = %s, want model and no notes.txt", b)
	}
}

// TestDeleteRegisteredModelAlias deletes an alias: the alias no longer
// resolves and the model lists none.
func TestDeleteRegisteredModelAlias(t *testing.T) {
	f, _, _ := artifactFixture(t)
	if code, out := f.call("DELETE", "/api/2.0/mlflow/registered-models/alias", "application/json", `{"name": "m", "alias": "champion"}`); code != 200 {
		t.Fatalf("DELETE alias: %d %v", code, out)
	}
	code, out := f.call("GET", "/api/2.0/mlflow/registered-models/alias?name=m&alias=champion", "", "")
	wantError(t, "the deleted alias", code, out, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST")
	_, out = f.call("GET", "/api/2.0/mlflow/registered-models/get?name=m", "", "")
	if aliases := out["registered_model"].(map[string]any)["aliases"]; aliases != nil {
		t.Errorf("registered model still lists aliases %v", aliases)
	}
	_, out = f.call("GET", "/api/2.0/mlflow/model-versions/get?name=m&version=1", "", "")
	if aliases := out["model_version"].(map[string]any)["aliases"]; aliases != nil {
		t.Errorf("model version still lists aliases %v", aliases)
	}
}

// TestEndpointsOnBothPrefixes reads through every read endpoint under both
// /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/ (what MLflow's web UI calls):
// each answers 200 with the same JSON on both.
func TestEndpointsOnBothPrefixes(t *testing.T) {
	f, exp, run := artifactFixture(t)
	table := []struct {
		method, path, body, want string // want: a substring of the answer
	}{
		{"GET", "/experiments/get?experiment_id=" + exp, "", `"name":"e"`},
		{"GET", "/experiments/get-by-name?experiment_name=e", "", `"experiment_id":"` + exp + `"`},
		{"POST", "/experiments/search", `{"max_results": 10}`, `"name":"e"`},
		{"GET", "/runs/get?run_id=" + run, "", `"run_id":"` + run + `"`},
		{"POST", "/runs/search", `{"experiment_ids": ["` + exp + `"]}`, `"run_id":"` + run + `"`},
		{"GET", "/metrics/get-history?run_id=" + run + "&metric_key=loss", "", `"step":3`},
		{"GET", "/artifacts/list?run_id=" + run, "", `"path":"notes.txt"`},
		{"GET", "/registered-models/get?name=m", "", `"alias":"champion"`},
		{"GET", "/registered-models/search", "", `"name":"m"`},
		{"POST", "/registered-models/get-latest-versions", `{"name": "m"}`, `"version":"1"`},
		{"GET", "/registered-models/alias?name=m&alias=champion", "", `"version":"1"`},
		{"GET", "/model-versions/get?name=m&version=1", "", `"run_id":"` + run + `"`},
		{"GET", "/model-versions/search?filter=" + url.QueryEscape("name='m'"), "", `"version":"1"`},
		{"GET", "/model-versions/get-download-uri?name=m&version=1", "", `"artifact_uri":"mlflow-artifacts:/`},
	}
	for _, tc := range table {
		var answers []string
		for _, prefix := range []string{"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"} {
			ct := ""
			if tc.body != "" {
				ct = "application/json"
			}
			code, out := f.call(tc.method, prefix+tc.path, ct, tc.body)
			b, _ := json.Marshal(out)
			if code != 200 || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s %s%s: %d %s, want 200 with %s", tc.method, prefix, tc.path, code, b, tc.want)
			}
			answers = append(answers, string(b))
		}
		if answers[0] != answers[1] {
			t.Errorf("%s %s answers differ between prefixes:\n%s\n%s", tc.method, tc.path, answers[0], answers[1])
		}
	}
}
