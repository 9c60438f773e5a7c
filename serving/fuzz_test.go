package serving

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzInvocations: whatever the body, /invocations answers 200 or a 4xx
// with MLflow's JSON error, never a 500 or a panic.
func FuzzInvocations(f *testing.F) {
	dir, _ := irisModel(f)
	srv, _ := newTestServer(f, dir, Options{})
	h := srv.Handler()
	for _, s := range []string{
		`{"data": [[5.1, 3.5, 1.4, 0.2]]}`,
		`{"dataframe_split": {"columns": ["sepal_length_cm","sepal_width_cm","petal_length_cm","petal_width_cm"], "data": [[5.1,3.5,1.4,0.2]]}}`,
		`{"dataframe_records": [{"sepal_length_cm": 5.1}]}`,
		`{"instances": [[1,2,3,4]], "params": {"predict_proba": true}}`,
		`{"inputs": {"sepal_length_cm": [1]}}`,
		"sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n1,2,3,4\n",
	} {
		f.Add(s, strings.HasPrefix(s, "{"))
	}
	f.Fuzz(func(t *testing.T, body string, isJSON bool) {
		ct := "text/csv"
		if isJSON {
			ct = "application/json"
		}
		req := httptest.NewRequest(http.MethodPost, "/invocations", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			return
		}
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		var e struct {
			Code    string `json:"error_code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("status %d for %q: not an MLflow error: %s", rec.Code, body, rec.Body.String())
		}
	})
}
