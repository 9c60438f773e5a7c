package server

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
)

// datasetJSON is one MLflow DatasetInput message with a context input tag.
func datasetJSON(name, digest, context string) string {
	return fmt.Sprintf(`{"tags": [{"key": "mlflow.data.context", "value": %q}],
		"dataset": {"name": %q, "digest": %q, "source_type": "local", "source": "{\"uri\": \"/data/%s.csv\"}", "schema": "{}"}}`,
		context, name, digest, name)
}

// datasetNames returns the names of the run's inputs.dataset_inputs, sorted,
// checking each has MLflow's DatasetInput shape.
func datasetNames(t *testing.T, run map[string]any) []string {
	t.Helper()
	inputs, ok := run["inputs"].(map[string]any)
	if !ok {
		t.Fatalf("run without inputs: %v", run)
	}
	list, _ := inputs["dataset_inputs"].([]any)
	var names []string
	for _, x := range list {
		in := x.(map[string]any)
		d, _ := in["dataset"].(map[string]any)
		tags, _ := in["tags"].([]any)
		if d == nil || len(tags) != 1 || d["digest"] == nil || d["source_type"] != "local" {
			t.Errorf("dataset input not in MLflow's shape: %v", in)
			continue
		}
		names = append(names, d["name"].(string))
	}
	sort.Strings(names)
	return names
}

// TestLogInputsShowInRunsGetAndSearch checks that the datasets given to
// runs/log-inputs come back in runs/get and runs/search under
// inputs.dataset_inputs (and not as tags), that a dataset logged twice is
// kept once, and that bad datasets are refused.
func TestLogInputsShowInRunsGetAndSearch(t *testing.T) {
	f := newFixture(t, Options{})
	run := f.createRun("0")
	f.mustPost("/api/2.0/mlflow/runs/log-inputs", `{"run_id": "`+run+`", "datasets": [`+datasetJSON("train", "d1", "training")+`]}`)
	f.mustPost("/api/2.0/mlflow/runs/log-inputs", `{"run_id": "`+run+`", "datasets": [`+datasetJSON("eval", "d2", "eval")+`, `+datasetJSON("train", "d1", "again")+`]}`)

	got := f.getRun(run)
	if names := datasetNames(t, got); fmt.Sprint(names) != "[eval train]" {
		t.Errorf("runs/get datasets = %v, want [eval train]", names)
	}
	if tags, _ := got["data"].(map[string]any)["tags"].([]any); len(tags) != 0 {
		for _, tg := range tags {
			if k := tg.(map[string]any)["key"].(string); len(k) > 13 && k[:13] == "mlrun.inputs." {
				t.Errorf("dataset kept as a visible tag: %v", tg)
			}
		}
	}
	runs := f.mustPost("/api/2.0/mlflow/runs/search", `{"experiment_ids": ["0"]}`)["runs"].([]any)
	if len(runs) != 1 || fmt.Sprint(datasetNames(t, runs[0].(map[string]any))) != "[eval train]" {
		t.Errorf("runs/search = %v, want the run with datasets [eval train]", runs)
	}

	code, body := f.post("/api/2.0/mlflow/runs/log-inputs", `{"run_id": "`+run+`", "datasets": [{"tags": []}]}`)
	wantError(t, "a dataset input without dataset", code, body, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	code, body = f.post("/api/2.0/mlflow/runs/log-inputs", `{"run_id": "`+run+`", "datasets": [{"dataset": {"name": "x"}}]}`)
	wantError(t, "a dataset without digest", code, body, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	big := `{"dataset": {"name": "wide", "digest": "d3", "source_type": "local", "source": "s", "schema": "` + strings.Repeat("c", 9000) + `"}}`
	code, body = f.post("/api/2.0/mlflow/runs/log-inputs", `{"run_id": "`+run+`", "datasets": [`+big+`]}`)
	wantError(t, "a dataset too large to keep", code, body, http.StatusBadRequest, "INVALID_PARAMETER_VALUE")
	if msg, _ := body["message"].(string); !strings.Contains(msg, `datasets[0] (dataset "wide")`) {
		t.Errorf("the error does not name the dataset: %q", msg)
	}
}

// TestConcurrentLogInputsLoseNothing logs many datasets to one run from
// concurrent requests: every one of them must be in runs/get afterwards
// (a read-modify-write of one shared tag loses some).
func TestConcurrentLogInputsLoseNothing(t *testing.T) {
	f := newFixture(t, Options{})
	run := f.createRun("0")
	const n = 24
	var wg sync.WaitGroup
	errc := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code, out := f.post("/api/2.0/mlflow/runs/log-inputs", `{"run_id": "`+run+`", "datasets": [`+datasetJSON(fmt.Sprintf("ds%02d", i), fmt.Sprint("digest", i), "training")+`]}`)
			if code != 200 {
				errc <- fmt.Sprintf("dataset %d: %d %v", i, code, out)
			}
		}(i)
	}
	wg.Wait()
	close(errc)
	for e := range errc {
		t.Error(e)
	}
	got := f.getRun(run)
	if names := datasetNames(t, got); len(names) != n {
		t.Errorf("runs/get has %d datasets after %d concurrent log-inputs: %v", len(names), n, names)
	}
}

// getRun returns runs/get's run.
func (f *fixture) getRun(id string) map[string]any {
	f.t.Helper()
	code, out := f.call("GET", "/api/2.0/mlflow/runs/get?run_id="+id, "", "")
	if code != 200 {
		f.t.Fatalf("runs/get %s: %d %v", id, code, out)
	}
	return out["run"].(map[string]any)
}
