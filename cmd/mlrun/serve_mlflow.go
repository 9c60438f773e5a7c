package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/timerslack"
)

// pythonEnv names the Python that `mlrun serve` hands MLflow-written models
// to; the default is python3 on PATH.
const pythonEnv = "MLRUN_PYTHON"

// mlflowFlavors returns the flavors of the MLmodel in dir when it was
// written by MLflow (it has flavors but no mlrun flavor), else nil.
func mlflowFlavors(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "MLmodel"))
	if err != nil {
		return nil
	}
	var doc struct {
		Flavors map[string]any `yaml:"flavors"`
	}
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Flavors) == 0 {
		return nil
	}
	if _, ok := doc.Flavors["mlrun"]; ok {
		return nil
	}
	var names []string
	for k := range doc.Flavors {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// writtenByMLflow reports whether the model in dir was logged by the MLflow
// client (a python_function model, e.g. a pickled scikit-learn estimator)
// rather than by mlrun.
func writtenByMLflow(dir string) bool { return len(mlflowFlavors(dir)) > 0 }

// serveWithMLflow hands a model logged by the MLflow client to MLflow's own
// scoring server (`python -m mlflow models serve --env-manager local`) when
// the configured Python imports mlflow, and otherwise explains both ways
// to serve it. SIGINT or SIGTERM stops the scoring server.
func (a *app) serveWithMLflow(c *cobra.Command, dir, uri string, o serveOptions) error {
	ctx := c.Context()
	python := os.Getenv(pythonEnv)
	if python == "" {
		python = "python3"
	}
	flavors := strings.Join(mlflowFlavors(dir), ", ")
	check := exec.CommandContext(ctx, python, "-c", "import mlflow")
	if out, err := check.CombinedOutput(); err != nil {
		why := strings.TrimSpace(string(out))
		if i := strings.LastIndex(why, "\n"); i >= 0 {
			why = why[i+1:]
		}
		if why == "" {
			why = err.Error()
		}
		return errs.Errorf(errs.Invalid, "model %s was logged by MLflow (flavors %s), which mlrun's scoring server cannot load, and %s cannot import mlflow (%s); "+
			"either install the mlflow package for that Python (or set %s to one that has it) and run mlrun serve again, "+
			"or serve it with MLflow directly: MLFLOW_TRACKING_URI=<this store's mlrun server URL> mlflow models serve -m %s --env-manager local",
			uri, flavors, python, why, pythonEnv, uri)
	}
	port := o.port
	if port == 0 {
		port = 1234
	}
	cmd := exec.Command(python, "-m", "mlflow", "models", "serve", "-m", dir, "--env-manager", "local",
		"-h", o.host, "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = a.stderr, a.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := timerslack.Start(cmd); err != nil {
		return fmt.Errorf("start MLflow's scoring server: %w", err)
	}
	fmt.Fprintf(a.stderr, "serving %s (an MLflow model: %s) with MLflow's scoring server on http://%s\n", uri, flavors, joinHostPort(o.host, port))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return errs.Errorf(errs.Failed, "MLflow's scoring server exited with status %d", ee.ExitCode())
		}
		if err != nil {
			return fmt.Errorf("run MLflow's scoring server: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	// Stop the whole group: mlflow execs gunicorn, which has workers.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return nil
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}
