package server

import (
	"net/http"
	"testing"
)

// TestStoreAPIErrors checks the store API's answers to bad calls: MLflow's
// error JSON with the right code and status.
func TestStoreAPIErrors(t *testing.T) {
	f := newFixture(t, Options{})
	const json = "application/json"
	tests := []struct {
		path, body string
		status     int
		code       string
	}{
		{"/api/2.0/mlrun/store/NoSuchMethod", `{"args":[]}`, http.StatusNotFound, codeEndpointNotFound},
		{"/api/2.0/mlrun/store/GetRun", `{"args":["0123456789abcdef0123456789abcdef"]}`, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST"},
		{"/api/2.0/mlrun/store/GetRun", `{"args":[42]}`, http.StatusBadRequest, "INVALID_PARAMETER_VALUE"},
		{"/api/2.0/mlrun/store/GetRun", `{"args":["a","b"]}`, http.StatusBadRequest, "INVALID_PARAMETER_VALUE"},
		{"/api/2.0/mlrun/store/CreateExperiment", `{"args":["Default"]}`, http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS"},
		{"/api/2.0/mlrun/store/GetRun", `{"args":`, http.StatusBadRequest, "INVALID_PARAMETER_VALUE"},
	}
	for _, tt := range tests {
		status, body := f.call("POST", tt.path, json, tt.body)
		if status != tt.status || body["error_code"] != tt.code || body["message"] == "" {
			t.Errorf("POST %s %s: %d %v; want %d %s", tt.path, tt.body, status, body, tt.status, tt.code)
		}
	}
	status, body := f.call("POST", "/api/2.0/mlrun/store/GetExperiment", json, `{"args":["0"]}`)
	res, _ := body["result"].(map[string]any)
	if status != http.StatusOK || res["name"] != "Default" {
		t.Fatalf("GetExperiment(0): %d %v", status, body)
	}
}
