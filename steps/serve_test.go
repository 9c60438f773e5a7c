package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/steps"
)

// lockedWriter is a bytes.Buffer safe for a writer and a reader goroutine.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runStep resolves, checks and runs one step.
func runStep(t *testing.T, ctx context.Context, k steps.Kind, env *steps.Env, with map[string]any) *steps.Result {
	t.Helper()
	in, err := steps.Resolve(k, with)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Check(in); err != nil {
		t.Fatal(err)
	}
	env.Step = k.Name()
	res, err := k.Run(ctx, env, in)
	if err != nil {
		t.Fatalf("step %s: %v", k.Name(), err)
	}
	return res
}

// TestServeStep trains a model on Iris, serves it with the serve step on a
// free port, scores a row, then cancels the run's context: the step ends
// normally and records where it served.
func TestServeStep(t *testing.T) {
	st, env := newIrisEnv(t)
	stderr := &lockedWriter{}
	env.Stderr = stderr
	ctx := context.Background()
	loaded := runStep(t, ctx, steps.Load{}, env, map[string]any{"path": "iris.csv", "target": "target",
		"class_names": []any{"setosa", "versicolor", "virginica"}})
	// The helper's run already has a fake model at "model": train elsewhere.
	runStep(t, ctx, steps.Train{Estimators: catalog.Builtin()}, env, map[string]any{
		"data": loaded.Outputs["dataset"], "artifact_path": "iris_model", "random_state": 1})

	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		k := steps.Serve{Specs: catalog.Builtin().Lookup, Version: "test"}
		in, err := steps.Resolve(k, map[string]any{"model_uri": "runs:/" + env.RunID + "/iris_model", "port": 0})
		if err == nil {
			env.Step = "serve"
			_, err = k.Run(serveCtx, env, in)
		}
		done <- err
	}()
	addrRE := regexp.MustCompile(`serving runs:/\S+ on (http://\S+)`)
	var url string
	deadline := time.Now().Add(10 * time.Second)
	for url == "" {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address printed:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Post(url+"/invocations", "application/json",
		strings.NewReader(`{"dataframe_split": {"columns": ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"], "data": [[5.1, 3.5, 1.4, 0.2]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Predictions []any }
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(body.Predictions) != 1 || body.Predictions[0] != "setosa" {
		t.Fatalf("POST /invocations: %d %+v %v", resp.StatusCode, body, err)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancellation returned %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	run, _ := st.GetRun(ctx, env.RunID)
	if got, _ := run.Tag("mlrun.serve.serve"); got != "served runs:/"+env.RunID+"/iris_model on "+url {
		t.Fatalf("tag mlrun.serve.serve = %q", got)
	}
}

func TestServeStepChecks(t *testing.T) {
	k := steps.Serve{}
	for _, tc := range []struct {
		with     map[string]any
		contains string
	}{
		{map[string]any{"model_uri": "models:/iris"}, `model URI "models:/iris"`},
		{map[string]any{"port": 70000}, "between 0 and 65535"},
	} {
		in, err := steps.Resolve(k, tc.with)
		if err == nil {
			err = k.Check(in)
		}
		if err == nil || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("Check(%v) = %v, want an error containing %q", tc.with, err, tc.contains)
		}
	}
}
