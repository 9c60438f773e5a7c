package serving

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/ml/dataset"
	"github.com/mlrun/mlrun/ml/modelfile"
)

// testRows are Iris rows: the tutorial's row, one row of each class from
// the file, and a made-up row between classes.
var testRows = [][]float64{
	{5.1, 3.5, 1.4, 0.2},
	{6.1, 2.8, 4.7, 1.2},
	{6.3, 3.3, 6.0, 2.5},
	{5.9, 3.0, 5.1, 1.8},
	{6, 2.9, 4.9, 1.6},
}

// TestClassicRequest sends the tutorial's curl request and checks the exact answer.
func TestClassicRequest(t *testing.T) {
	dir, _ := irisModel(t)
	_, base := newTestServer(t, dir, Options{})
	status, body := post(t, base+"/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]]}`)
	if status != http.StatusOK || string(body) != "{\"predictions\": [0]}\n" {
		t.Fatalf("got %d %q, want 200 {\"predictions\": [0]}", status, body)
	}
}

// TestShapesAgreeWithPredict sends the same rows in every accepted shape and
// checks that each answer is what Model.Predict gives in Go.
func TestShapesAgreeWithPredict(t *testing.T) {
	dir, m := irisModel(t)
	_, base := newTestServer(t, dir, Options{})

	p, err := m.Predict(frameOf(irisColumns, testRows))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]any, len(p.Labels))
	for i, l := range p.Labels {
		k, err := strconv.Atoi(l.(string)) // Iris classes are "0", "1", "2": served as integers
		if err != nil {
			t.Fatal(err)
		}
		want[i] = float64(k) // as encoding/json decodes a number into any
	}
	if want[0] != 0.0 {
		t.Fatalf("the tutorial row predicts %v in Go, want class 0", want[0])
	}
	if fmt.Sprint(want) == fmt.Sprint(want[:1]) || want[1] == want[0] && want[2] == want[0] {
		t.Fatalf("predictions %v do not vary; the rows do not test much", want)
	}

	// permuted column order, to check that names, not positions, count
	perm := []int{2, 0, 3, 1}
	permNames := make([]string, 4)
	permRows := make([][]float64, len(testRows))
	for j, k := range perm {
		permNames[j] = irisColumns[k]
	}
	for i, r := range testRows {
		permRows[i] = make([]float64, 4)
		for j, k := range perm {
			permRows[i][j] = r[k]
		}
	}
	records := make([]map[string]float64, len(testRows))
	columnar := map[string][]float64{}
	for i, r := range testRows {
		records[i] = map[string]float64{}
		for j, name := range irisColumns {
			records[i][name] = r[j]
			columnar[name] = append(columnar[name], r[j])
		}
	}
	recJSON, _ := json.Marshal(records)
	colJSON, _ := json.Marshal(columnar)
	namesJSON, _ := json.Marshal(permNames)
	var csv strings.Builder
	csv.WriteString(strings.Join(permNames, ",") + "\n")
	for _, r := range permRows {
		for j, v := range r {
			if j > 0 {
				csv.WriteString(", ")
			}
			csv.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		csv.WriteString("\r\n")
	}
	// integers are numbers too
	intRows := strings.ReplaceAll(jsonRows(testRows), "6,2.9", "6.0,2.9")

	cases := []struct {
		name, contentType, body string
	}{
		{"legacy data", "application/json", `{"data": ` + jsonRows(testRows) + `}`},
		{"legacy data with columns", "application/json", `{"columns": ` + string(namesJSON) + `, "data": ` + jsonRows(permRows) + `}`},
		{"dataframe_split", "application/json", `{"dataframe_split": {"columns": ` + string(namesJSON) + `, "data": ` + jsonRows(permRows) + `, "index": [0, 1, 2, 3, 4]}}`},
		{"dataframe_split without columns", "application/json", `{"dataframe_split": {"data": ` + jsonRows(testRows) + `}}`},
		{"dataframe_records", "application/json", `{"dataframe_records": ` + string(recJSON) + `}`},
		{"instances of objects", "application/json", `{"instances": ` + string(recJSON) + `}`},
		{"instances of lists", "application/json", `{"instances": ` + jsonRows(testRows) + `}`},
		{"inputs of lists", "application/json", `{"inputs": ` + intRows + `}`},
		{"inputs columnar", "application/json", `{"inputs": ` + string(colJSON) + `}`},
		{"charset and params", "application/json; charset=UTF-8", `{"params": {"predict_proba": false}, "instances": ` + jsonRows(testRows) + `}`},
		{"csv", "text/csv", csv.String()},
		{"csv with charset", "text/csv; charset=utf-8", csv.String()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := score(t, base+"/invocations", c.contentType, c.body)
			if fmt.Sprint(got.Predictions) != fmt.Sprint(want) {
				t.Fatalf("predictions %v, want %v (Model.Predict)", got.Predictions, want)
			}
			if got.Probabilities != nil || got.Classes != nil {
				t.Fatalf("probabilities %v without asking", got.Probabilities)
			}
		})
	}
}

// TestProbabilities asks for probabilities in the body and in the query,
// and checks them against Model.Predict.
func TestProbabilities(t *testing.T) {
	dir, m := irisModel(t)
	_, base := newTestServer(t, dir, Options{})
	p, err := m.Predict(frameOf(irisColumns, testRows))
	if err != nil {
		t.Fatal(err)
	}
	csv := strings.Join(irisColumns, ",") + "\n" + strings.ReplaceAll(strings.ReplaceAll(strings.Trim(jsonRows(testRows), "[]"), "], [", "\n"), " ", "") + "\n"
	for _, c := range []struct{ name, url, contentType, body string }{
		{"params", base + "/invocations", "application/json", `{"instances": ` + jsonRows(testRows) + `, "params": {"predict_proba": true}}`},
		{"query", base + "/invocations?proba=true", "application/json", `{"data": ` + jsonRows(testRows) + `}`},
		{"query csv", base + "/invocations?proba=1", "text/csv", csv},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := score(t, c.url, c.contentType, c.body)
			if fmt.Sprint(got.Classes) != "[0 1 2]" {
				t.Fatalf("classes %v, want [0 1 2]", got.Classes)
			}
			if len(got.Probabilities) != len(p.Proba) {
				t.Fatalf("%d probability rows, want %d", len(got.Probabilities), len(p.Proba))
			}
			for i := range p.Proba {
				if len(got.Probabilities[i]) != 3 {
					t.Fatalf("probabilities[%d] = %v, want 3 values", i, got.Probabilities[i])
				}
				for k := range p.Proba[i] {
					if got.Probabilities[i][k] != p.Proba[i][k] { // shortest exact float text round-trips
						t.Fatalf("probabilities[%d][%d] = %v, want %v", i, k, got.Probabilities[i][k], p.Proba[i][k])
					}
				}
			}
			if got.Probabilities[0][0] < 0.9 {
				t.Fatalf("P(class 0 | tutorial row) = %v, want > 0.9", got.Probabilities[0][0])
			}
		})
	}
}

// TestBadRequests sends every kind of bad request and checks the status,
// the MLflow error code and the message, and that a good request still
// works after each.
func TestBadRequests(t *testing.T) {
	dir, _ := irisModel(t)
	_, base := newTestServer(t, dir, Options{MaxBodyBytes: 4096})
	good := `{"data": [[5.1, 3.5, 1.4, 0.2]]}`
	header := strings.Join(irisColumns, ",")
	big := `{"data": [` + strings.Repeat("[5.1, 3.5, 1.4, 0.2], ", 300) + `[5.1, 3.5, 1.4, 0.2]]}`

	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string
		words                                 []string
	}{
		{"empty body", "POST", "/invocations", "application/json", "", 400, "BAD_REQUEST", []string{"empty"}},
		{"blank body", "POST", "/invocations", "application/json", " \n", 400, "BAD_REQUEST", []string{"empty"}},
		{"malformed json", "POST", "/invocations", "application/json", `{"data": [[5.1, 3.5,, 1.4]]}`, 400, "BAD_REQUEST", []string{"not valid JSON", "offset 21"}},
		{"truncated json", "POST", "/invocations", "application/json", `{"data": [[5.1`, 400, "BAD_REQUEST", []string{"not valid JSON", "offset"}},
		{"NaN literal", "POST", "/invocations", "application/json", `{"data": [[NaN, 3.5, 1.4, 0.2]]}`, 400, "BAD_REQUEST", []string{"not valid JSON", "offset 12"}},
		{"list body", "POST", "/invocations", "application/json", `[[5.1, 3.5, 1.4, 0.2]]`, 400, "BAD_REQUEST", []string{"JSON object", "not a list"}},
		{"null body", "POST", "/invocations", "application/json", `null`, 400, "BAD_REQUEST", []string{"JSON object", "null"}},
		{"no format key", "POST", "/invocations", "application/json", `{"params": {}}`, 400, "BAD_REQUEST", []string{"none of the keys", "dataframe_split"}},
		{"several format keys", "POST", "/invocations", "application/json", `{"instances": [[1, 2, 3, 4]], "inputs": [[1, 2, 3, 4]]}`, 400, "BAD_REQUEST", []string{"several", "instances, inputs"}},
		{"unknown key", "POST", "/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]], "parms": {}}`, 400, "BAD_REQUEST", []string{"unknown key", `"parms"`}},
		{"columns without data", "POST", "/invocations", "application/json", `{"columns": ["a"], "instances": [[1, 2, 3, 4]]}`, 400, "BAD_REQUEST", []string{`"columns"`, "without"}},
		{"missing column", "POST", "/invocations", "application/json", `{"dataframe_split": {"columns": ["sepal_length_cm", "sepal_width_cm", "petal_length_cm"], "data": [[5.1, 3.5, 1.4]]}}`, 400, "INVALID_PARAMETER_VALUE", []string{"missing", `"petal_width_cm"`}},
		{"missing column in record", "POST", "/invocations", "application/json", `{"dataframe_records": [{"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4}]}`, 400, "INVALID_PARAMETER_VALUE", []string{"row 0", "missing", `"petal_width_cm"`}},
		{"missing column columnar", "POST", "/invocations", "application/json", `{"inputs": {"sepal_length_cm": [5.1], "sepal_width_cm": [3.5], "petal_width_cm": [0.2]}}`, 400, "INVALID_PARAMETER_VALUE", []string{"missing", `"petal_length_cm"`}},
		{"extra column", "POST", "/invocations", "application/json", `{"dataframe_split": {"columns": ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm", "colour"], "data": [[5.1, 3.5, 1.4, 0.2, 1]]}}`, 400, "INVALID_PARAMETER_VALUE", []string{"unknown column", `"colour"`}},
		{"extra column in record", "POST", "/invocations", "application/json", `{"instances": [{"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2, "colour": "red"}]}`, 400, "INVALID_PARAMETER_VALUE", []string{"unknown column", `"colour"`}},
		{"duplicate column", "POST", "/invocations", "application/json", `{"columns": ["sepal_length_cm", "sepal_length_cm", "petal_length_cm", "petal_width_cm"], "data": [[5.1, 3.5, 1.4, 0.2]]}`, 400, "INVALID_PARAMETER_VALUE", []string{"twice", `"sepal_length_cm"`}},
		{"string in number column", "POST", "/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2], [5.1, "wide", 1.4, 0.2]]}`, 400, "INVALID_PARAMETER_VALUE", []string{`"sepal_width_cm"`, "row 1", `"wide"`, "number"}},
		{"boolean in number column", "POST", "/invocations", "application/json", `{"instances": [{"sepal_length_cm": true, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}]}`, 400, "INVALID_PARAMETER_VALUE", []string{`"sepal_length_cm"`, "row 0", "true", "number"}},
		{"overflowing number", "POST", "/invocations", "application/json", `{"data": [[5.1, 3.5, 1e999, 0.2]]}`, 400, "INVALID_PARAMETER_VALUE", []string{`"petal_length_cm"`, "1e999", "finite"}},
		{"null in number column", "POST", "/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, null]]}`, 400, "INVALID_PARAMETER_VALUE", []string{`"petal_width_cm"`, "row 0", "null"}},
		{"null in columnar", "POST", "/invocations", "application/json", `{"inputs": {"sepal_length_cm": [5.1, 5.0], "sepal_width_cm": [3.5, 3.0], "petal_length_cm": [1.4, 1.3], "petal_width_cm": [0.2, null]}}`, 400, "INVALID_PARAMETER_VALUE", []string{`"petal_width_cm"`, "row 1", "null"}},
		{"ragged row", "POST", "/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2], [5.1, 3.5, 1.4]]}`, 400, "INVALID_PARAMETER_VALUE", []string{"row 1", "3 values", "4 columns"}},
		{"ragged columnar", "POST", "/invocations", "application/json", `{"inputs": {"sepal_length_cm": [5.1, 5.0], "sepal_width_cm": [3.5], "petal_length_cm": [1.4, 1.3], "petal_width_cm": [0.2, 0.3]}}`, 400, "INVALID_PARAMETER_VALUE", []string{`"sepal_width_cm"`, "1 values", "2"}},
		{"scalars for a 4-column model", "POST", "/invocations", "application/json", `{"instances": [5.1, 3.5]}`, 400, "BAD_REQUEST", []string{"row 0", "a number", "object", "list"}},
		{"records not a list", "POST", "/invocations", "application/json", `{"dataframe_records": {"sepal_length_cm": 5.1}}`, 400, "BAD_REQUEST", []string{`"dataframe_records"`, "list of rows", "object"}},
		{"no rows", "POST", "/invocations", "application/json", `{"dataframe_split": {"columns": ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"], "data": []}}`, 400, "INVALID_PARAMETER_VALUE", []string{"no rows"}},
		{"split without data", "POST", "/invocations", "application/json", `{"dataframe_split": {"columns": ["sepal_length_cm"]}}`, 400, "BAD_REQUEST", []string{`"data"`}},
		{"unknown param", "POST", "/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]], "params": {"temperature": 0.5}}`, 400, "INVALID_PARAMETER_VALUE", []string{"unknown parameter", `"temperature"`}},
		{"bad predict_proba", "POST", "/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]], "params": {"predict_proba": "yes"}}`, 400, "INVALID_PARAMETER_VALUE", []string{"predict_proba", `"yes"`}},
		{"bad proba query", "POST", "/invocations?proba=maybe", "application/json", good, 400, "INVALID_PARAMETER_VALUE", []string{"proba", `"maybe"`}},
		{"oversized body", "POST", "/invocations", "application/json", big, 413, "BAD_REQUEST", []string{"larger", "4096 bytes"}},
		{"no content type", "POST", "/invocations", "", good, 415, "BAD_REQUEST", []string{"Content-Type"}},
		{"form content type", "POST", "/invocations", "application/x-www-form-urlencoded", good, 415, "BAD_REQUEST", []string{"Content-Type", "application/x-www-form-urlencoded"}},
		{"pandas-split format param", "POST", "/invocations", "application/json; format=pandas-split", good, 415, "BAD_REQUEST", []string{"Content-Type parameter", `"format"`}},
		{"latin-1 charset", "POST", "/invocations", "application/json; charset=latin-1", good, 415, "BAD_REQUEST", []string{"charset", `"latin-1"`}},
		{"csv missing value", "POST", "/invocations", "text/csv", header + "\n5.1,3.5,1.4,0.2\n5.1,,1.4,0.2\n", 400, "INVALID_PARAMETER_VALUE", []string{`"sepal_width_cm"`, "row 1", "line 3", "missing"}},
		{"csv NaN", "POST", "/invocations", "text/csv", header + "\n5.1,3.5,NaN,0.2\n", 400, "INVALID_PARAMETER_VALUE", []string{`"petal_length_cm"`, "row 0", "missing"}},
		{"csv text in number column", "POST", "/invocations", "text/csv", header + "\n5.1,3.5,long,0.2\n", 400, "INVALID_PARAMETER_VALUE", []string{`"petal_length_cm"`, "row 0", `"long"`, "number"}},
		{"csv ragged row", "POST", "/invocations", "text/csv", header + "\n5.1,3.5,1.4\n", 400, "INVALID_PARAMETER_VALUE", []string{"row 0", "line 2", "3 values", "4 columns"}},
		{"csv unknown column", "POST", "/invocations", "text/csv", header + ",colour\n5.1,3.5,1.4,0.2,red\n", 400, "INVALID_PARAMETER_VALUE", []string{"unknown column", `"colour"`}},
		{"csv missing column", "POST", "/invocations", "text/csv", "sepal_length_cm,sepal_width_cm,petal_length_cm\n5.1,3.5,1.4\n", 400, "INVALID_PARAMETER_VALUE", []string{"missing", `"petal_width_cm"`}},
		{"csv header only", "POST", "/invocations", "text/csv", header + "\n", 400, "INVALID_PARAMETER_VALUE", []string{"no data rows"}},
		{"csv bad quotes", "POST", "/invocations", "text/csv", header + "\n5.1,\"3.5,1.4,0.2\n", 400, "BAD_REQUEST", []string{"CSV", "malformed"}},
		{"wrong method", "GET", "/invocations", "", "", 405, "BAD_REQUEST", []string{"method GET", "POST"}},
		{"post to ping", "POST", "/ping", "application/json", good, 405, "BAD_REQUEST", []string{"method POST", "/ping"}},
		{"unknown path", "GET", "/predict", "", "", 404, "ENDPOINT_NOT_FOUND", []string{"/predict", "/invocations"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q, want application/json", ct)
			}
			var e struct {
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %s is not JSON: %v", body, err)
			}
			if e.ErrorCode != c.code {
				t.Fatalf("error_code %q, want %q (message %q)", e.ErrorCode, c.code, e.Message)
			}
			for _, w := range c.words {
				if !strings.Contains(e.Message, w) {
					t.Fatalf("message %q does not contain %q", e.Message, w)
				}
			}
			if strings.Count(e.Message, ". ") > 0 || strings.Contains(e.Message, "\n") {
				t.Fatalf("message %q is not one sentence", e.Message)
			}
			if c.status == 405 && resp.Header.Get("Allow") == "" {
				t.Fatalf("405 without an Allow header")
			}
			// the server keeps serving
			if got := score(t, base+"/invocations", "application/json", good); fmt.Sprint(got.Predictions) != "[0]" {
				t.Fatalf("after the bad request, predictions %v, want [0]", got.Predictions)
			}
		})
	}
}

// TestOversizedChunkedBody sends a body without Content-Length, so that
// only http.MaxBytesReader can stop it.
func TestOversizedChunkedBody(t *testing.T) {
	dir, _ := irisModel(t)
	_, base := newTestServer(t, dir, Options{MaxBodyBytes: 1000})
	body := `{"data": [` + strings.Repeat("[5.1, 3.5, 1.4, 0.2], ", 100) + `[5.1, 3.5, 1.4, 0.2]]}`
	req, err := http.NewRequest("POST", base+"/invocations", io.MultiReader(strings.NewReader(body))) // unknown length: chunked
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("request has Content-Length %d; the test needs a chunked body", req.ContentLength)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "larger than the limit of 1000 bytes") {
		t.Fatalf("got %d %s, want 413 naming the limit", resp.StatusCode, b)
	}
	if got := score(t, base+"/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]]}`); fmt.Sprint(got.Predictions) != "[0]" {
		t.Fatalf("after the large body, predictions %v, want [0]", got.Predictions)
	}
}

// TestInfoEndpoints checks /ping, /health, /version and /metadata.
func TestInfoEndpoints(t *testing.T) {
	dir, m := irisModel(t)
	before := time.Now().UTC().Add(-time.Second)
	_, base := newTestServer(t, dir, Options{Version: "1.2.3"})
	get := func(path string) (int, string, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, path := range []string{"/ping", "/health"} {
		if status, _, body := get(path); status != 200 || body != "\n" {
			t.Fatalf("GET %s: %d %q, want 200 \"\\n\"", path, status, body)
		}
	}
	if status, _, body := get("/version"); status != 200 || body != "1.2.3" {
		t.Fatalf("GET /version: %d %q, want 200 1.2.3", status, body)
	}
	status, ct, body := get("/metadata")
	if status != 200 || ct != "application/json" {
		t.Fatalf("GET /metadata: %d %s", status, ct)
	}
	var meta struct {
		ModelURI      string `json:"model_uri"`
		LoadedAt      string `json:"loaded_at"`
		Estimator     string `json:"estimator"`
		Task          string `json:"task"`
		Target        string `json:"target"`
		Classes       []any  `json:"classes"`
		Probabilities bool   `json:"probabilities"`
		Signature     struct {
			Inputs  []modelfile.ColumnSpec `json:"inputs"`
			Outputs []modelfile.ColumnSpec `json:"outputs"`
		} `json:"signature"`
		RunID         string `json:"run_id"`
		ModelUUID     string `json:"model_uuid"`
		ServerVersion string `json:"server_version"`
	}
	if err := json.Unmarshal([]byte(body), &meta); err != nil {
		t.Fatalf("metadata %s: %v", body, err)
	}
	// Where the model lies on the server's disk is not the client's business.
	var keys map[string]any
	if err := json.Unmarshal([]byte(body), &keys); err != nil {
		t.Fatal(err)
	}
	if _, ok := keys["directory"]; ok || strings.Contains(body, dir) {
		t.Errorf("metadata shows the model's directory %s: %s", dir, body)
	}
	loaded, err := time.Parse(time.RFC3339Nano, meta.LoadedAt)
	if err != nil || loaded.Before(before) || loaded.After(time.Now().Add(time.Second)) {
		t.Fatalf("loaded_at %q is not the load time (%v)", meta.LoadedAt, err)
	}
	var inputs []string
	for _, c := range meta.Signature.Inputs {
		if c.Type != "double" || !c.Required {
			t.Fatalf("input %+v, want a required double", c)
		}
		inputs = append(inputs, c.Name)
	}
	checks := []struct{ name, got, want string }{
		{"model_uri", meta.ModelURI, "models:/iris@champion"},
		{"estimator", meta.Estimator, "logistic_regression"},
		{"task", meta.Task, string(ml.Classification)},
		{"target", meta.Target, "target"},
		{"classes", fmt.Sprint(meta.Classes), "[0 1 2]"},
		{"probabilities", fmt.Sprint(meta.Probabilities), "true"},
		{"inputs", strings.Join(inputs, ","), strings.Join(irisColumns, ",")},
		{"outputs", fmt.Sprint(meta.Signature.Outputs), "[{target string true}]"},
		{"run_id", meta.RunID, "0123456789abcdef0123456789abcdef"},
		{"model_uuid", meta.ModelUUID, m.UUID},
		{"server_version", meta.ServerVersion, "1.2.3"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("metadata %s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

// TestStringColumnsAndLabels serves a model with a categorical input and
// string class names.
func TestStringColumnsAndLabels(t *testing.T) {
	sites := []string{"north", "south", "east"}
	path := rewriteCSV(t, strings.Join(irisColumns, ",")+",site,species", func(f []string, row int) []string {
		return append(f[:4], sites[row%3], speciesNames[f[4]])
	})
	dir, m := trainModel(t, path, dataset.LoadOptions{Target: "species"}, "logistic_regression", ml.Params{"max_iter": 300})
	_, base := newTestServer(t, dir, Options{})

	f := frameOf(irisColumns, testRows[:3])
	f.Columns = append(f.Columns, dataset.Column{Name: "site", Kind: dataset.Categorical, Str: []string{"south", "east", "north"}})
	p, err := m.Predict(f)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"dataframe_records": [
		{"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2, "site": "south"},
		{"sepal_length_cm": 6.1, "sepal_width_cm": 2.8, "petal_length_cm": 4.7, "petal_width_cm": 1.2, "site": "e\u0061st"},
		{"sepal_length_cm": 6.3, "sepal_width_cm": 3.3, "petal_length_cm": 6.0, "petal_width_cm": 2.5, "site": "north"}],
		"params": {"predict_proba": true}}`
	got := score(t, base+"/invocations", "application/json", body)
	if fmt.Sprint(got.Predictions) != fmt.Sprint(p.Labels) {
		t.Fatalf("predictions %v, want %v", got.Predictions, p.Labels)
	}
	if _, ok := got.Predictions[0].(string); !ok || got.Predictions[0] != "setosa" {
		t.Fatalf("prediction %#v, want the string \"setosa\"", got.Predictions[0])
	}
	if fmt.Sprint(got.Classes) != "[setosa versicolor virginica]" {
		t.Fatalf("classes %v", got.Classes)
	}
	csv := "site,sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\nsouth,5.1,3.5,1.4,0.2\neast,6.1,2.8,4.7,1.2\n\"north\",6.3,3.3,6.0,2.5\n"
	if got := score(t, base+"/invocations", "text/csv", csv); fmt.Sprint(got.Predictions) != fmt.Sprint(p.Labels) {
		t.Fatalf("CSV predictions %v, want %v", got.Predictions, p.Labels)
	}

	for _, c := range []struct {
		name, contentType, body string
		words                   []string
	}{
		{"csv unknown category", "text/csv", csv + "west,5.1,3.5,1.4,0.2\n", []string{`"site"`, "CSV row 3 (line 5)", `"west"`, "not seen in training"}},
		{"number in string column", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2, 7]]}`, []string{`"site"`, "row 0", "7", "string"}},
		{"unknown category", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2, "west"]]}`, []string{`"site"`, "row 0", `"west"`, "not seen in training", `"east", "north", "south"`}},
		{"null category", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2, null]]}`, []string{`"site"`, "null"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, b := post(t, base+"/invocations", c.contentType, c.body)
			var e struct {
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.Unmarshal(b, &e); err != nil || status != 400 || e.ErrorCode != "INVALID_PARAMETER_VALUE" {
				t.Fatalf("got %d %s, want 400 INVALID_PARAMETER_VALUE", status, b)
			}
			for _, w := range c.words {
				if !strings.Contains(e.Message, w) {
					t.Fatalf("message %q does not contain %q", e.Message, w)
				}
			}
		})
	}
}

// TestRegressor serves a regressor: numbers out, no probabilities.
func TestRegressor(t *testing.T) {
	dir, m := trainModel(t, irisCSV, dataset.LoadOptions{Target: "petal_width_cm", Drop: []string{"target"}}, "linear_regression", nil)
	_, base := newTestServer(t, dir, Options{})
	rows := [][]float64{{5.1, 3.5, 1.4}, {6.1, 2.8, 4.7}}
	p, err := m.Predict(frameOf(irisColumns[:3], rows))
	if err != nil {
		t.Fatal(err)
	}
	got := score(t, base+"/invocations", "application/json", `{"inputs": `+jsonRows(rows)+`}`)
	if len(got.Predictions) != 2 {
		t.Fatalf("predictions %v, want 2", got.Predictions)
	}
	for i, v := range got.Predictions {
		if v != p.Labels[i] {
			t.Fatalf("prediction %d = %v, want %v", i, v, p.Labels[i])
		}
	}
	status, b := post(t, base+"/invocations?proba=true", "application/json", `{"inputs": `+jsonRows(rows)+`}`)
	if status != 400 || !strings.Contains(string(b), "regressor") {
		t.Fatalf("probabilities of a regressor: %d %s, want 400 naming the regressor", status, b)
	}
}

// TestSingleColumnScalars sends bare values to a one-column model.
func TestSingleColumnScalars(t *testing.T) {
	path := rewriteCSV(t, "petal_length_cm,target", func(f []string, _ int) []string { return []string{f[2], f[4]} })
	dir, m := trainModel(t, path, dataset.LoadOptions{Target: "target"}, "logistic_regression", nil)
	_, base := newTestServer(t, dir, Options{})
	p, err := m.Predict(frameOf([]string{"petal_length_cm"}, [][]float64{{1.4}, {4.7}, {6.0}}))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(fmt.Sprint(p.Labels), " ", ", ")
	for _, body := range []string{`{"instances": [1.4, 4.7, 6]}`, `{"inputs": [1.4, 4.7, 6]}`, `{"data": [[1.4], [4.7], [6]]}`} {
		status, b := post(t, base+"/invocations", "application/json", body)
		if status != 200 || string(b) != `{"predictions": `+want+"}\n" {
			t.Fatalf("%s: got %d %s, want predictions %s", body, status, b, want)
		}
	}
}

// TestModelWithoutProbabilities serves an SVC fitted with probability=false
// (scikit-learn's default): it predicts, says it has no probabilities, and
// a request for them is a 400 that says so.
func TestModelWithoutProbabilities(t *testing.T) {
	dir, _ := trainModel(t, irisCSV, dataset.LoadOptions{Target: "target"}, "svc", ml.Params{"kernel": "linear"})
	_, base := newTestServer(t, dir, Options{})
	rows := `[[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]`
	r := score(t, base+"/invocations", "application/json", `{"inputs": `+rows+`}`)
	if fmt.Sprint(r.Predictions) != "[0 2]" || r.Probabilities != nil {
		t.Fatalf("predictions %v, probabilities %v; want [0 2] and none", r.Predictions, r.Probabilities)
	}
	for _, req := range []struct{ url, body string }{
		{base + "/invocations", `{"inputs": ` + rows + `, "params": {"predict_proba": true}}`},
		{base + "/invocations?proba=true", `{"inputs": ` + rows + `}`},
	} {
		status, b := post(t, req.url, "application/json", req.body)
		var e struct {
			Code    string `json:"error_code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil || status != http.StatusBadRequest || e.Code != "INVALID_PARAMETER_VALUE" || !strings.Contains(e.Message, "no probabilities") {
			t.Errorf("POST %s %s: %d %s, want 400 INVALID_PARAMETER_VALUE saying the model has no probabilities", req.url, req.body, status, b)
		}
	}
	resp, err := http.Get(base + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta struct {
		Probabilities *bool `json:"probabilities"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil || meta.Probabilities == nil || *meta.Probabilities {
		t.Errorf("metadata probabilities = %v (%v), want false", meta.Probabilities, err)
	}
}

// A panic while the model predicts (a bug in an estimator, on the request's
// goroutine or handed back from one of the estimator's own) answers a 500
// with MLflow's JSON error naming it, and the server goes on serving.
func TestAPanicInPredictIsA500(t *testing.T) {
	dir, _ := irisModel(t)
	s, url := newTestServer(t, dir, Options{})
	var panicking atomic.Bool
	panicking.Store(true)
	s.beforePredict = func() {
		if panicking.Load() {
			panic("boom in the estimator")
		}
	}
	status, body := post(t, url+"/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]]}`)
	var e struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); status != http.StatusInternalServerError || err != nil ||
		e.Code != "INTERNAL_ERROR" || !strings.Contains(e.Message, "boom in the estimator") {
		t.Fatalf("status %d, body %s; want a 500 INTERNAL_ERROR naming the panic", status, body)
	}
	panicking.Store(false)
	if status, body := post(t, url+"/invocations", "application/json", `{"data": [[5.1, 3.5, 1.4, 0.2]]}`); status != 200 {
		t.Errorf("after the panic: status %d, %s", status, body)
	}
}
