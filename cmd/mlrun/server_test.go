package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/internal/testenv"
	"github.com/mlrun/mlrun/tracking"
)

// The tests in this file are judged by the real MLflow 2.12.2 client,
// installed by ../shared/mlflow-client/setup.sh (.ci/install-mlflow.sh in
// CI): they start the built `mlrun server` on a free port and run the
// users' examples/train.py unchanged, and a script driving MlflowClient,
// against it, then read the store back through mlrun's own CLI.

// mlflowClient is where the MLflow client is: the Python to run, the
// PYTHONPATH that imports it, and the shared folder holding train.py.
type mlflowClient struct {
	python, pythonPath, shared string
}

// findMLflow locates the shared mlflow-client folder (beside the clone in
// CI, or /work/shared) and checks that the client imports; it ends the
// test with testenv.Missing otherwise.
func findMLflow(t *testing.T) mlflowClient {
	t.Helper()
	var shared string
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	for _, dir := range []string{os.Getenv("MLRUN_SHARED_DIR"), filepath.Join(repo, "..", "shared"), filepath.Join(repo, "..", "..", "shared"), "/work/shared"} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "mlflow-client", "examples", "train.py")); err == nil {
			shared = filepath.Join(dir, "mlflow-client")
			break
		}
	}
	if shared == "" {
		testenv.Missing(t, "the shared mlflow-client folder (with examples/train.py) is not beside the repository nor in /work/shared")
	}
	c := mlflowClient{python: "/usr/bin/python3", shared: shared}
	dest := os.Getenv("MLRUN_MLFLOW_DEST")
	if dest == "" {
		dest = "/opt/mlflow-2.12.2"
	}
	c.pythonPath = filepath.Join(dest, "src") + ":" + filepath.Join(dest, "shim")
	out, err := exec.Command("env", "PYTHONPATH="+c.pythonPath, c.python, "-c", "import mlflow, sklearn; print(mlflow.__version__)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "2.12.2" {
		testenv.Missing(t, "the MLflow 2.12.2 client does not import from %s (run .ci/install-mlflow.sh): %v %s", dest, err, lastLine(string(out)))
	}
	return c
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// env returns the environment of a client process pointed at url.
func (c mlflowClient) env(url string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MLFLOW_") || strings.HasPrefix(kv, "PYTHONPATH=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PYTHONPATH="+c.pythonPath, "MLFLOW_TRACKING_URI="+url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0",
		"MLFLOW_HTTP_REQUEST_TIMEOUT=60", "GIT_PYTHON_REFRESH=quiet")
}

// python runs a Python script with the client and returns its stdout.
func (c mlflowClient) run(t *testing.T, dir, url string, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.python, args...)
	cmd.Dir = dir
	cmd.Env = c.env(url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, stderr.String())
	}
	return string(out)
}

// liveServer is a running `mlrun server`.
type liveServer struct {
	url    string
	cmd    *exec.Cmd
	stderr *lineLog
	done   chan error
}

// lineLog keeps the lines a process printed, for failure messages.
type lineLog struct {
	ch   chan string
	text strings.Builder
}

// startServer starts `mlrun server` with args on a free port of 127.0.0.1
// and waits until it listens. The server is stopped with SIGTERM when the
// test ends.
func startServer(t *testing.T, e *env, args ...string) *liveServer {
	t.Helper()
	return startServerIn(t, e, t.TempDir(), append([]string{"server", "--port", "0"}, args...)...)
}

// drain returns the server's stderr lines read so far.
func (s *liveServer) drain() string {
	for {
		select {
		case l := <-s.stderr.ch:
			s.stderr.text.WriteString(l + "\n")
		default:
			return s.stderr.text.String()
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *liveServer) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("mlrun server exited with %v after SIGTERM\n%s", err, s.drain())
		}
	case <-time.After(40 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("mlrun server did not stop within 40s of SIGTERM")
	}
}

// runsByName lists the store's runs through the CLI, by name.
func runsByName(t *testing.T, e *env) map[string]*tracking.Run {
	out := map[string]*tracking.Run{}
	for _, r := range e.runs() {
		out[r.Info.Name] = r
	}
	return out
}

// storeEnvs are the stores the MLflow client's tests run against: the
// default SQLite store, and a PostgreSQL database with a shared artifact
// directory.
var storeEnvs = []struct {
	name string
	env  func(t *testing.T) *env
}{
	{"sqlite", newEnv},
	{"postgresql", func(t *testing.T) *env { e, _ := newPGEnv(t); return e }},
}

func TestMLflowClientTrainPyLogsIntoMlrunServer(t *testing.T) {
	t.Parallel() // minutes of Python: overlap with the package's other tests
	client := findMLflow(t)
	for _, st := range storeEnvs {
		t.Run(st.name, func(t *testing.T) { testTrainPy(t, client, st.env(t)) })
	}
}

func testTrainPy(t *testing.T, client mlflowClient, e *env) {
	srv := startServer(t, e)
	work := t.TempDir()
	out := client.run(t, work, srv.url, filepath.Join(client.shared, "examples", "train.py"))
	if !strings.Contains(out, "done") {
		t.Fatalf("train.py did not finish: %s", out)
	}

	runs := runsByName(t, e)
	for _, name := range []string{"logreg_iris", "logreg", "svc"} {
		r := runs[name]
		if r == nil {
			t.Fatalf("run %q is not in the store; runs: %v", name, runs)
		}
		if r.Info.Status != tracking.StatusFinished || r.Info.EndTime == 0 {
			t.Errorf("run %s: status %s end %d, want FINISHED with an end time", name, r.Info.Status, r.Info.EndTime)
		}
		acc, ok := r.Metric("accuracy")
		if !ok || acc < 0.9 || acc > 1 {
			t.Errorf("run %s: accuracy %v (%v), want a value in [0.9, 1]", name, acc, ok)
		}
		if _, ok := r.Param("model"); !ok {
			t.Errorf("run %s has no param model", name)
		}
		hist, _ := r.Tag("mlflow.log-model.history")
		if !strings.Contains(hist, `"sklearn"`) {
			t.Errorf("run %s: mlflow.log-model.history = %q, want the sklearn flavor", name, hist)
		}
		// The CLI sees the run's files where the client uploaded them.
		dir, err := artifact.DirFromURI(r.Info.ArtifactURI)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"model/MLmodel", "model/model.pkl", "model/requirements.txt"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("run %s: artifact %s: %v", name, f, err)
			}
		}
	}
	if p, _ := runs["logreg_iris"].Param("max_iter"); p != "200" {
		t.Errorf("logreg_iris max_iter = %q, want 200", p)
	}
	show := e.ok(t.TempDir(), "runs", "show", runs["logreg_iris"].Info.ID, "-o", "json")
	for _, want := range []string{"confusion_matrix.png", "model/MLmodel", "model/input_example.json"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("mlrun runs show lists no %s:\n%s", want, show.stdout)
		}
	}
	mlmodel, err := os.ReadFile(filepath.Join(mustDir(t, runs["logreg_iris"].Info.ArtifactURI), "model", "MLmodel"))
	if err != nil || !strings.Contains(string(mlmodel), "signature:") {
		t.Errorf("logreg_iris model/MLmodel has no signature: %v\n%s", err, mlmodel)
	}

	// MLflow's own CLI downloads the model through mlrun server and serves it.
	modelURI := "runs:/" + runs["logreg_iris"].Info.ID + "/model"
	port := freePort(t)
	serve := exec.Command(client.python, "-m", "mlflow", "models", "serve", "-m", modelURI, "--env-manager", "local", "-h", "127.0.0.1", "-p", port)
	serve.Dir = t.TempDir()
	serve.Env = client.env(srv.url)
	checkScoring(t, serve, port)

	// mlrun serve hands the model the Python client logged to MLflow's
	// scoring server when the configured Python imports mlflow...
	port = freePort(t)
	serve = e.command(t.TempDir(), "serve", modelURI, "--port", port)
	serve.Env = append(client.env(srv.url), e.vars...)
	serve.Env = append(serve.Env, "MLRUN_PYTHON="+client.python)
	checkScoring(t, serve, port)
	// ... and otherwise explains both ways to serve it.
	r := e.run(t.TempDir(), "serve", modelURI, "--port", freePort(t))
	if r.code != 2 || !strings.Contains(r.stderr, "logged by MLflow") || !strings.Contains(r.stderr, "mlflow models serve -m "+modelURI) || !strings.Contains(r.stderr, "MLRUN_PYTHON") {
		t.Errorf("mlrun serve of an MLflow model without mlflow: exit %d\n%s", r.code, r.stderr)
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// checkScoring starts a scoring server, waits for /ping, checks the
// predictions of two iris rows (a setosa and a virginica from the data set
// itself) and stops the server's whole process group.
func checkScoring(t *testing.T, cmd *exec.Cmd, port string) {
	t.Helper()
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(120 * time.Second)
	for {
		resp, err := http.Get(base + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("%v exited before serving: %v\n%s", cmd.Args, err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v did not answer /ping within 120s\n%s", cmd.Args, logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	resp, err := http.Post(base+"/invocations", "application/json",
		strings.NewReader(`{"dataframe_split": {"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Join(strings.Fields(string(body)), "") != `{"predictions":[0,2]}` {
		t.Errorf("%v /invocations: %d %s, want predictions [0, 2]", cmd.Args, resp.StatusCode, body)
	}
}

func mustDir(t *testing.T, uri string) string {
	t.Helper()
	dir, err := artifact.DirFromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMLflowClientAPIAgainstMlrunServer(t *testing.T) {
	t.Parallel() // minutes of Python: overlap with the package's other tests
	client := findMLflow(t)
	for _, st := range storeEnvs {
		t.Run(st.name, func(t *testing.T) { testClientAPI(t, client, st.env(t)) })
	}
}

func testClientAPI(t *testing.T, client mlflowClient, e *env) {
	// A run recorded by `mlrun run` must be visible to the client.
	dir, _ := gitProject(t)
	e.ok(dir, "run", ".", "-e", "script", "-P", "n=4", "--run-name", "from-cli")
	cliRun := runsByName(t, e)["from-cli"]
	if cliRun == nil {
		t.Fatal("mlrun run recorded no run named from-cli")
	}

	srv := startServer(t, e)
	work := t.TempDir()
	script, err := filepath.Abs(filepath.Join("testdata", "mlflow_client_api.py"))
	if err != nil {
		t.Fatal(err)
	}
	out := client.run(t, work, srv.url, script, work, cliRun.Info.ID)
	var got map[string]any
	if err := json.Unmarshal([]byte(lastLine(out)), &got); err != nil {
		t.Fatalf("client script output is not JSON: %v\n%s", err, out)
	}
	check := func(key string, want any) {
		t.Helper()
		g, _ := json.Marshal(got[key])
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s = %s, want %s", key, g, w)
		}
	}
	check("dup_experiment", "RESOURCE_ALREADY_EXISTS")
	check("exp_tags", map[string]string{"stage": "dev", "team": "vision"})
	check("exp_artifact_location", "mlflow-artifacts:/"+got["exp_id"].(string))
	check("renamed", "renamed-exp")
	check("search_exp_like", []string{"client-exp", "renamed-exp"})
	check("search_exp_tag", []string{"client-exp"})
	check("deleted_exp_stage", "deleted")
	check("active_exps", []string{"Default", "client-exp"})
	check("deleted_exps", []string{"renamed-exp"})
	check("missing_experiment_is_none", true)

	check("run2", map[string]any{
		"artifact_uri": fmt.Sprintf("mlflow-artifacts:/%s/%s/artifacts", got["exp_id"], got["run_ids"].([]any)[2]),
		"end_time_set": true,
		"metrics":      map[string]float64{"acc": 0.7, "loss": 1.0 / 3},
		"name":         "trial-2",
		"params":       map[string]string{"lr": "0.30000000000000004", "opt": "adam"},
		"status":       "FINISHED",
		"tags":         map[string]string{"index": "2", "kind": "sweep"},
	})
	hist := got["history"].([]any)
	if len(hist) != 11 {
		t.Errorf("loss history has %d points, want 11: %v", len(hist), hist)
	}
	for i, p := range hist {
		pt := p.([]any)
		if int(pt[0].(float64)) != i {
			t.Errorf("history point %d has step %v; want the points ordered by step", i, pt[0])
		}
	}
	check("search_filter", []string{"trial-4", "trial-2"})
	check("search_order", []string{"trial-4", "trial-3", "trial-2", "trial-1", "trial-0"})
	check("pages", [][]string{{"trial-0", "trial-1"}, {"trial-2", "trial-3"}, {"trial-4"}})
	check("bad_filter", "INVALID_PARAMETER_VALUE")
	check("run0_tags", map[string]string{"kind": "sweep", "note": "first"})
	check("delete_missing_tag", "RESOURCE_DOES_NOT_EXIST")
	check("param_change", "INVALID_PARAMETER_VALUE")
	check("missing_run", "RESOURCE_DOES_NOT_EXIST")
	check("deleted_runs", []string{"trial-4"})
	check("log_to_deleted", "INVALID_PARAMETER_VALUE")
	check("active_after_restore", 5)
	check("nonfinite", []bool{true, true})
	check("failed_status", "FAILED")
	check("inputs", []any{
		[]any{"eval", "d2", `{"uri": "/data/eval.csv"}`, map[string]string{"mlflow.data.context": "eval"}},
		[]any{"train", "d1", `{"uri": "/data/train.csv"}`, map[string]string{"mlflow.data.context": "training"}},
	})

	check("artifact_list", []any{[]any{"data", true, nil}, []any{"single.txt", false, 7}})
	check("artifact_list_data", []any{[]any{"data/a.txt", false}, []any{"data/sub", true}})
	check("downloaded_b", "beta\n")

	check("dup_model", "RESOURCE_ALREADY_EXISTS")
	check("versions", []string{"1", "2"})
	check("champion", "2")
	check("bad_alias", "INVALID_PARAMETER_VALUE")
	check("v2_stage", "Production")
	check("v1_stage", "Archived")
	check("latest_production", []string{"2"})
	check("v1_description", "changed")
	check("v2_tags", map[string]string{"validated": "yes"})
	check("model", map[string]any{"aliases": map[string]string{"champion": "2"}, "description": "updated", "tags": map[string]string{"team": "a"}})
	check("search_models", []string{"client-model"})
	check("search_versions", []string{"1", "2"})
	check("download_uri", got["artifact_uri"].(string)+"/data")
	check("v1_source", got["artifact_uri"].(string)+"/data")
	check("renamed_versions", []string{"1", "2"})
	check("renamed_alias", "2")
	check("missing_version", "RESOURCE_DOES_NOT_EXIST")
	check("missing_model", "RESOURCE_DOES_NOT_EXIST")

	check("pipeline_run", map[string]any{"params": map[string]string{"n": "4"}, "status": "FINISHED"})
	check("pipeline_in_search", true)

	// mlrun's CLI reads what the client wrote.
	runs := runsByName(t, e)
	for _, name := range []string{"trial-0", "trial-1", "trial-2", "trial-3", "trial-4", "nonfinite", "artifacts"} {
		if runs[name] == nil {
			t.Errorf("mlrun runs list does not show the client's run %q", name)
		}
	}
	if r := runs["trial-2"]; r != nil {
		if v, _ := r.Param("opt"); v != "adam" {
			t.Errorf("trial-2 param opt through the CLI = %q", v)
		}
		hist := e.ok(t.TempDir(), "runs", "history", r.Info.ID, "loss", "-o", "json")
		if strings.Count(hist.stdout, `"step"`) != 11 {
			t.Errorf("mlrun runs history shows %d points, want 11:\n%s", strings.Count(hist.stdout, `"step"`), hist.stdout)
		}
	}
	if r := runs["artifacts"]; r != nil {
		b, err := os.ReadFile(filepath.Join(mustDir(t, r.Info.ArtifactURI), "data", "sub", "b.txt"))
		if err != nil || string(b) != "beta\n" {
			t.Errorf("uploaded artifact through the CLI's file URI: %q, %v", b, err)
		}
	}
	models := e.ok(t.TempDir(), "models", "list", "-o", "json")
	if !strings.Contains(models.stdout, "renamed-model") {
		t.Errorf("mlrun models list does not show the client's model:\n%s", models.stdout)
	}
}

func TestMLflowClientBasicAuth(t *testing.T) {
	t.Parallel() // minutes of Python: overlap with the package's other tests
	client := findMLflow(t)
	e := newEnv(t)
	e.vars = append(e.vars, "MLRUN_AUTH_ADMIN_USERNAME=admin", "MLRUN_AUTH_ADMIN_PASSWORD=admin-password")
	srv := startServer(t, e, "--auth")
	script := `
import mlflow, sys
from mlflow.exceptions import MlflowException
mlflow.set_experiment("secured")
with mlflow.start_run(run_name="authed") as r:
    mlflow.log_metric("m", 1.5)
    mlflow.log_text("hello", "note.txt")
print(r.info.run_id)
`
	cmd := exec.Command(client.python, "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(client.env(srv.url), "MLFLOW_TRACKING_USERNAME=admin", "MLFLOW_TRACKING_PASSWORD=admin-password")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client with credentials: %v\n%s", err, out)
	}
	runs := runsByName(t, e)
	if r := runs["authed"]; r == nil || r.Info.Status != tracking.StatusFinished || r.Info.UserID != "admin" {
		t.Fatalf("run logged with credentials: %+v", r)
	}

	cmd = exec.Command(client.python, "-c", `
import mlflow
from mlflow.exceptions import MlflowException
try:
    mlflow.search_experiments()
    print("READ WITHOUT CREDENTIALS")
except MlflowException as e:
    print("refused", e.get_http_status_code())
`)
	cmd.Env = client.env(srv.url)
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "refused 401") {
		t.Fatalf("client without credentials: %v\n%s", err, out)
	}
}

func TestServerWarnsOnNonLoopbackWithoutAuth(t *testing.T) {
	e := newEnv(t)
	srv := startServer(t, e, "--host", "0.0.0.0")
	if log := srv.drain(); !strings.Contains(log, "warning: listening on 0.0.0.0 without --auth") {
		t.Errorf("no warning for a non-loopback bind without auth:\n%s", log)
	}
	local := startServer(t, e)
	if log := local.drain(); strings.Contains(log, "warning") || !strings.Contains(local.url, "127.0.0.1") {
		t.Errorf("default bind %s warned or is not loopback:\n%s", local.url, log)
	}
	if r := e.run(t.TempDir(), "server", "--auth", "--port", "0"); r.code != 2 || !strings.Contains(r.stderr, "MLRUN_AUTH_ADMIN_USERNAME") {
		t.Errorf("--auth without an admin: exit %d, stderr %q; want 2 naming MLRUN_AUTH_ADMIN_USERNAME", r.code, r.stderr)
	}
}

// A command step's MLflow script logs into the pipeline's store: the
// unchanged train.py's runs become children of the pipeline run, and a
// step with mlflow_run: true logs into the pipeline run itself.
func TestCommandStepMLflowScriptsLogIntoThePipeline(t *testing.T) {
	t.Parallel() // minutes of Python: overlap with the package's other tests
	client := findMLflow(t)
	e := newEnv(t)
	e.vars = append(e.vars, "PYTHONPATH="+client.pythonPath, "MLFLOW_HTTP_REQUEST_MAX_RETRIES=0", "GIT_PYTHON_REFRESH=quiet")
	train, err := os.ReadFile(filepath.Join(client.shared, "examples", "train.py"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"train.py": string(train),
		"attach.py": `import mlflow
with mlflow.start_run() as r:
    mlflow.log_param("attached", "yes")
    mlflow.log_metric("attached_metric", 2.5)
    mlflow.log_text("hi", "attached.txt")
print("attached to", r.info.run_id)
`,
		"MLproject": `name: mlflowsteps
entry_points:
  main:
    steps:
      - name: train
        uses: command
        with:
          run: "` + client.python + ` train.py"
      - name: attach
        uses: command
        with:
          run: "` + client.python + ` attach.py"
          mlflow_run: true
      - name: after
        uses: command
        with:
          run: "echo after"
`,
	})
	e.ok(dir, "run", ".", "--run-name", "pipeline", "--experiment", "steps-exp")
	runs := runsByName(t, e)
	p := runs["pipeline"]
	if p == nil || p.Info.Status != tracking.StatusFinished {
		t.Fatalf("pipeline run: %+v", p)
	}
	if v, _ := p.Param("attached"); v != "yes" {
		t.Errorf("the mlflow_run step's param is not on the pipeline run: %q", v)
	}
	if m, _ := p.Metric("attached_metric"); m != 2.5 {
		t.Errorf("the mlflow_run step's metric on the pipeline run = %v, want 2.5", m)
	}
	if b, err := os.ReadFile(filepath.Join(mustDir(t, p.Info.ArtifactURI), "attached.txt")); err != nil || string(b) != "hi" {
		t.Errorf("the mlflow_run step's artifact in the pipeline run: %q %v", b, err)
	}
	for _, name := range []string{"logreg_iris", "logreg", "svc"} {
		r := runs[name]
		if r == nil {
			t.Fatalf("train.py's run %q is not in the store", name)
		}
		if parent, _ := r.Tag("mlflow.parentRunId"); parent != p.Info.ID {
			t.Errorf("run %s: mlflow.parentRunId = %q, want the pipeline run %s", name, parent, p.Info.ID)
		}
		if r.Info.ExperimentID != p.Info.ExperimentID || r.Info.Status != tracking.StatusFinished {
			t.Errorf("run %s: experiment %s status %s; want the pipeline's experiment %s, FINISHED", name, r.Info.ExperimentID, r.Info.Status, p.Info.ExperimentID)
		}
		if _, ok := r.Metric("accuracy"); !ok {
			t.Errorf("run %s has no accuracy", name)
		}
		if _, err := os.Stat(filepath.Join(mustDir(t, r.Info.ArtifactURI), "model", "MLmodel")); err != nil {
			t.Errorf("run %s: model: %v", name, err)
		}
	}
}

// kill -9 of the server loses no point it acknowledged.
func TestServerKill9LosesNothingAcknowledged(t *testing.T) {
	e := newEnv(t)
	srv := startServer(t, e)
	resp, err := http.Post(srv.url+"/api/2.0/mlflow/runs/create", "application/json", strings.NewReader(`{"experiment_id": "0", "run_name": "crash"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			}
		}
	}
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	id := created.Run.Info.RunID
	var acked [4]int
	stop := time.Now().Add(1500 * time.Millisecond)
	done := make(chan struct{})
	for g := range acked {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for i := 0; ; i++ {
				if time.Now().After(stop) {
					srv.cmd.Process.Kill() // any goroutine may be first
				}
				body := fmt.Sprintf(`{"run_id": %q, "key": "g%d", "value": %d, "timestamp": 1, "step": %d}`, id, g, i, i)
				resp, err := http.Post(srv.url+"/api/2.0/mlflow/runs/log-metric", "application/json", strings.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return
				}
				acked[g]++
			}
		}(g)
	}
	for range acked {
		<-done
	}
	<-srv.done
	for g, n := range acked {
		out := e.ok(t.TempDir(), "runs", "history", id, fmt.Sprintf("g%d", g), "-o", "json")
		if got := strings.Count(out.stdout, `"step"`); got < n || n == 0 {
			t.Errorf("metric g%d: %d points acknowledged before kill -9, %d stored", g, n, got)
		}
	}
}

// mlrun ui serves the local store and prints its URL and the store.
func TestUIPrintsURLAndStore(t *testing.T) {
	e := newEnv(t)
	c := e.command(t.TempDir(), "ui", "--port", "0")
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		c.Process.Signal(syscall.SIGTERM)
		if err := c.Wait(); err != nil {
			t.Errorf("mlrun ui after SIGTERM: %v", err)
		}
	}()
	sc := bufio.NewScanner(stdout)
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "mlrun ui: http://127.0.0.1:") || lines[1] != "store: sqlite:///"+filepath.Join(e.store, "mlrun.db") {
		t.Fatalf("mlrun ui printed %q", lines)
	}
	url := strings.TrimPrefix(lines[0], "mlrun ui: ")
	resp, err := http.Get(url + "/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"experiment_id":"0"`) {
		t.Errorf("mlrun ui's API: %d %s", resp.StatusCode, body)
	}
}
