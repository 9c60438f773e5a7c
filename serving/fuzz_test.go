package serving

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
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

// FuzzFastFrame: whenever the fast JSON decoder takes a body, encoding/json
// (stdFrame) decodes it to the same frame and the same predict_proba, so the
// fast path never changes what a request means; and it gives up on every
// body stdFrame refuses, so errors keep their wording.
func FuzzFastFrame(f *testing.F) {
	cols := `"sepal_length_cm","sepal_width_cm","petal_length_cm","petal_width_cm"`
	for _, s := range []string{
		`{"data": [[5.1, 3.5, 1.4, 0.2]]}`,
		`{"data": [[5.1, 3.5, 1.4, 0.2]], "columns": [` + cols + `], "index": [7]}`,
		`{"dataframe_split": {"columns": [` + cols + `], "data": [[5.1,3.5,1.4,0.2],[1,2,3,4e-3]], "index": [0, 1]}}`,
		`{"dataframe_split": {"data": [[5.1,3.5,1.4,0.2]]}, "params": {"predict_proba": true}}`,
		`{"dataframe_records": [{"sepal_length_cm": 5.1, "sepal_width_cm": 1, "petal_length_cm": 2, "petal_width_cm": -0.5}]}`,
		`{"instances": [[1,2,3,4], {"sepal_length_cm": 1, "sepal_width_cm": 1, "petal_length_cm": 2, "petal_width_cm": 3}], "params": {"predict_proba": null}}`,
		`{"inputs": {"sepal_length_cm": [1, 2], "sepal_width_cm": [1, 2], "petal_length_cm": [1, 2], "petal_width_cm": [1, 2]}}`,
		`{"inputs": [[1,2,3,4]]}`,
		` {"data":[[1,2,3,4]],"data":[[5,6,7,8]]} `,
		`{"d\u0061ta": [[1,2,3,4]]}`,
		`{"data": [[1,2,3,1e999]]}`,
		`{"data": [[1,2,3,"4"]]}`,
		`{"data": [[1,2,3,4]]} x`,
		`{"data": [[1,2,3,4],]}`,
	} {
		f.Add(s)
	}
	dir, _ := irisModel(f)
	s, _ := newTestServer(f, dir, Options{})
	mdl := s.cur.Load()
	f.Fuzz(func(t *testing.T, body string) {
		fast, fastProba, ok := mdl.fastFrame([]byte(body))
		std, stdProba, aerr := mdl.stdFrame([]byte(body))
		if !ok {
			return
		}
		if aerr != nil {
			t.Fatalf("fast decoder took %q, which encoding/json refuses: %s", body, aerr.message)
		}
		if fastProba != stdProba || !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q: fast decoder read %+v (proba %v), encoding/json %+v (proba %v)", body, fast, fastProba, std, stdProba)
		}
	})
}

// TestFastFrameTakesEveryFormat: the fast decoder reads each of MLflow's
// input formats (else FuzzFastFrame would check nothing), and gives up on
// the bodies whose meaning or error only encoding/json should decide.
func TestFastFrameTakesEveryFormat(t *testing.T) {
	dir, _ := irisModel(t)
	s, _ := newTestServer(t, dir, Options{})
	mdl := s.cur.Load()
	cols := `"sepal_length_cm","sepal_width_cm","petal_length_cm","petal_width_cm"`
	rec := `{"sepal_length_cm": 5.1, "sepal_width_cm": 1, "petal_length_cm": 2, "petal_width_cm": -0.5}`
	for _, body := range []string{
		`{"data": [[5.1, 3.5, 1.4, 0.2]]}`,
		"\n{\"columns\": [" + cols + "], \"data\": [[5.1, 3.5, 1.4, 0.2]]}\r\n",
		`{"dataframe_split": {"columns": [` + cols + `], "data": [[5.1,3.5,1.4,0.2]], "index": [0]}, "params": {"predict_proba": true}}`,
		`{"dataframe_records": [` + rec + `]}`,
		`{"instances": [[1,2,3,4], ` + rec + `]}`,
		`{"inputs": {"sepal_length_cm": [1], "sepal_width_cm": [1], "petal_length_cm": [1], "petal_width_cm": [1]}}`,
		`{"inputs": [[1,2,3,4]]}`,
	} {
		if _, _, ok := mdl.fastFrame([]byte(body)); !ok {
			t.Errorf("the fast decoder gave up on %s", body)
		}
	}
	for _, body := range []string{
		`{"data": [[1,2,3,4]], "data": [[5,6,7,8]]}`, // duplicate key: encoding/json keeps the last
		`{"d\u0061ta": [[1,2,3,4]]}`,                 // escaped key
		`{"data": [[1,2,3,4]]`,                       // syntax error
		`{"data": [[1,2,3]]}`,                        // wrong width
		`{"data": [[1,2,3,4]], "params": {"predict_proba": 1}}`,
		`{"dataframe_records": [{"sepal_length_cm": 5.1}]}`,
	} {
		if _, _, ok := mdl.fastFrame([]byte(body)); ok {
			t.Errorf("the fast decoder took %s", body)
		}
	}
}
