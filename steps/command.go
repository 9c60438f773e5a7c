package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/timerslack"
	"github.com/mlrun/mlrun/tracking"
)

// Command is the step kind that runs a shell command in the project
// directory. Its output is streamed to the terminal and saved as the
// artifact logs/<step>.txt; a non-zero exit fails the run. The command sees
// MLRUN_RUN_ID, MLRUN_TRACKING_URI and MLRUN_EXPERIMENT_ID, so that
// `mlrun log ...` inside it attaches to the run, and may declare metrics
// files (JSON objects of numbers) that are read after it exits.
//
// When MLflowEndpoint is set, the command also sees MLFLOW_TRACKING_URI (an
// MLflow tracking server on loopback, for the step's life) and
// MLFLOW_EXPERIMENT_ID, so that an unchanged script using the MLflow client
// logs into the run's store; the runs it starts are children of the
// pipeline run. With the input mlflow_run: true it also sees MLFLOW_RUN_ID
// and logs into the pipeline run itself, as under `mlflow run`.
type Command struct {
	// KillGrace is how long a cancelled command has between SIGTERM and
	// SIGKILL. Zero means five seconds.
	KillGrace time.Duration
	// MLflowEndpoint, when set, starts the MLflow endpoint of a step and
	// returns the environment variables that point the command at it, and
	// a function that stops it once the command has exited. ownRun asks for
	// MLFLOW_RUN_ID.
	MLflowEndpoint func(ctx context.Context, env *Env, ownRun bool) (vars []string, stop func(), err error)
}

// Name implements Kind.
func (Command) Name() string { return "command" }

// Doc implements Kind.
func (Command) Doc() string {
	return "run a shell command in the project directory; its output becomes logs/<step>.txt"
}

// Inputs implements Kind.
func (Command) Inputs() []Input {
	return []Input{
		{Name: "run", Type: String, Required: true, Shell: true, Doc: "the command, run with bash -c (sh -c where bash is missing); each ${{ }} in it is shell-quoted as one word, ${{ raw(expr) }} is pasted as is"},
		{Name: "metrics", Type: List, Doc: "JSON files the command writes, read after it exits: {\"name\": number, ...}; nested objects give dotted names"},
		{Name: "env", Type: Map, Doc: "extra environment variables for the command"},
		{Name: "mlflow_run", Type: Bool, Doc: "give the command MLFLOW_RUN_ID, so that an MLflow script logs into this run instead of starting child runs"},
	}
}

// Outputs implements Kind.
func (Command) Outputs() []Output {
	return []Output{{Name: "exit_code", Type: Int, Doc: "the command's exit status (0: the step only succeeds on 0)"}}
}

// Check implements Kind.
func (Command) Check(in Values) error {
	if s, ok := in["run"].(string); ok && strings.TrimSpace(s) == "" {
		return fmt.Errorf("input \"run\" is empty")
	}
	if m, ok := in["metrics"].([]any); ok {
		for i, f := range m {
			if _, ok := f.(string); !ok {
				return fmt.Errorf("input \"metrics\"[%d] must be a file name, not %v", i, f)
			}
		}
	}
	return nil
}

// Run implements Kind.
func (c Command) Run(ctx context.Context, env *Env, in Values) (*Result, error) {
	script, _ := in["run"].(string)
	shell := "bash"
	if _, err := exec.LookPath(shell); err != nil {
		shell = "sh"
	}
	cmd := exec.Command(shell, "-c", script)
	cmd.Dir = env.ProjectDir
	cmd.Env = append(os.Environ(),
		"MLRUN_RUN_ID="+env.RunID,
		"MLRUN_TRACKING_URI="+env.TrackingURI,
		"MLRUN_EXPERIMENT_ID="+env.ExperimentID,
		"MLRUN_STEP="+env.Step,
		fmt.Sprintf("MLRUN_SEED=%d", env.Seed),
	)
	if env.ChildLog != "" {
		cmd.Env = append(cmd.Env, "MLRUN_STEP_LOG="+env.ChildLog)
	}
	if c.MLflowEndpoint != nil {
		own, _ := in["mlflow_run"].(bool)
		vars, stop, err := c.MLflowEndpoint(ctx, env, own)
		if err != nil {
			return nil, fmt.Errorf("step %s: start the MLflow endpoint: %w", env.Step, err)
		}
		defer stop()
		cmd.Env = append(cmd.Env, vars...)
	}
	if extra, ok := in["env"].(map[string]any); ok {
		keys := make([]string, 0, len(extra))
		for k := range extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%v", k, extra[k]))
		}
	}
	// Its own process group, so that cancelling ends the command's children
	// too; and SIGKILL if mlrun itself dies, so nothing is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	logPath, err := env.Log.ArtifactPath(filepath.Join("logs", env.Step+".txt"))
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create step log: %w", err)
	}
	defer logFile.Close()
	stdout, stderr := env.Stdout, env.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	// One file gets both streams, in the order they were written. A
	// terminal or pipe that goes away (mlrun run . | head -1) fails neither
	// the command nor its log.
	shared := &lockedWriter{w: logFile}
	cmd.Stdout = io.MultiWriter(droppingWriter{stdout}, shared)
	cmd.Stderr = io.MultiWriter(droppingWriter{stderr}, shared)

	if err := timerslack.Start(cmd); err != nil {
		return nil, errs.Errorf(errs.Failed, "step %s: cannot start %s: %v", env.Step, shell, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		grace := c.KillGrace
		if grace == 0 {
			grace = 5 * time.Second
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(grace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		return nil, ctx.Err()
	}
	code := 0
	if waitErr != nil {
		var exit *exec.ExitError
		if !errors.As(waitErr, &exit) {
			return nil, fmt.Errorf("step %s: wait: %w", env.Step, waitErr)
		}
		code = exit.ExitCode()
		if code < 0 {
			return nil, errs.Errorf(errs.Failed, "step %s: command was killed by %v (output in artifact logs/%s.txt)", env.Step, exit.Sys(), env.Step)
		}
		return nil, errs.Errorf(errs.Failed, "step %s: command exited with status %d (output in artifact logs/%s.txt)", env.Step, code, env.Step)
	}

	res := &Result{Outputs: map[string]any{"exit_code": code}, Metrics: map[string]float64{}}
	files, _ := in["metrics"].([]any)
	var points []tracking.Metric
	now := time.Now().UnixMilli()
	for _, f := range files {
		name := f.(string)
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(env.ProjectDir, name)
		}
		values, err := ReadMetricsFile(path)
		if err != nil {
			return nil, errs.Errorf(errs.Failed, "step %s: %v", env.Step, err)
		}
		for _, k := range slices.Sorted(maps.Keys(values)) {
			hist := values[k]
			for i, v := range hist {
				points = append(points, tracking.Metric{Key: k, Value: v, Step: int64(i), Timestamp: now})
			}
			res.Metrics[k] = hist[len(hist)-1]
		}
	}
	if len(points) > 0 {
		if err := env.Log.LogMetrics(ctx, points); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// droppingWriter writes to w and reports every write done, even when w
// failed: what a person would have seen is lost, nothing else.
type droppingWriter struct{ w io.Writer }

// Write implements io.Writer.
func (d droppingWriter) Write(p []byte) (int, error) {
	_, _ = d.w.Write(p)
	return len(p), nil
}

// CacheFiles implements Cacheable: the files the command names (a word of
// the command that is an existing file in the project, such as train.py)
// and its metrics files are part of what it depends on.
func (Command) CacheFiles(projectDir string, in Values) []string {
	var files []string
	script, _ := in["run"].(string)
	for _, word := range strings.FieldsFunc(script, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == ';' || r == '|' || r == '&' || r == '(' || r == ')' || r == '<' || r == '>' || r == '"' || r == '\''
	}) {
		if word == "" || strings.HasPrefix(word, "-") || !filepath.IsLocal(word) {
			continue
		}
		if fi, err := os.Stat(filepath.Join(projectDir, word)); err == nil && fi.Mode().IsRegular() {
			files = append(files, word)
		}
	}
	return files
}

// ReadMetricsFile reads a JSON object of metrics. A number is one point; a
// list of numbers is a history, its index the step. Nested objects give
// dotted names ({"val": {"acc": 0.9}} is val.acc); anything else is an
// error naming the file and the key.
func ReadMetricsFile(path string) (map[string][]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("metrics file %s was not written by the command", path)
		}
		return nil, fmt.Errorf("read metrics file %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("metrics file %s is not a JSON object: %v", path, err)
	}
	out := map[string][]float64{}
	number := func(key string, v any) (float64, error) {
		n, ok := v.(json.Number)
		if !ok {
			return 0, fmt.Errorf("metrics file %s: %q must be a number or a list of numbers, not %v", path, key, v)
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) {
			return 0, fmt.Errorf("metrics file %s: %q is not a finite number", path, key)
		}
		return f, nil
	}
	var walk func(prefix string, m map[string]any) error
	walk = func(prefix string, m map[string]any) error {
		for k, v := range m {
			key := prefix + k
			switch x := v.(type) {
			case map[string]any:
				if err := walk(key+".", x); err != nil {
					return err
				}
			case []any:
				if len(x) == 0 {
					return fmt.Errorf("metrics file %s: %q is an empty list", path, key)
				}
				for _, item := range x {
					f, err := number(key, item)
					if err != nil {
						return err
					}
					out[key] = append(out[key], f)
				}
			default:
				f, err := number(key, v)
				if err != nil {
					return err
				}
				out[key] = []float64{f}
			}
		}
		return nil
	}
	if err := walk("", raw); err != nil {
		return nil, err
	}
	return out, nil
}
