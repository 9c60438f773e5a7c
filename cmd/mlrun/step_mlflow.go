package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/steps"
)

// mlflowEndpoint serves the run's store over MLflow's REST API on a free
// loopback port while a command step runs, so that a script using the
// MLflow client logs into the pipeline's store unchanged: it gets
// MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID, the runs it starts become
// children of the pipeline run (mlflow.parentRunId), and with ownRun it
// gets MLFLOW_RUN_ID and logs into the pipeline run itself (whose status
// stays the pipeline's to set). A step's own env: input can still point
// MLFLOW_TRACKING_URI elsewhere. Stores that cannot be served get no
// endpoint.
func mlflowEndpoint(ctx context.Context, env *steps.Env, ownRun bool) ([]string, func(), error) {
	st, ok := env.Store.(server.Store)
	if !ok || env.RunID == "" {
		return nil, func() {}, nil
	}
	opts := server.Options{
		ServeArtifacts: true,
		ParentRunID:    env.RunID,
		OwnedRunID:     env.RunID,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if ownRun {
		opts.ParentRunID = "" // its runs are the pipeline run itself
	}
	srv, err := server.New(st, opts)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("listen on loopback: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	vars := []string{
		"MLFLOW_TRACKING_URI=http://" + ln.Addr().String(),
		"MLFLOW_EXPERIMENT_ID=" + env.ExperimentID,
	}
	if ownRun {
		vars = append(vars, "MLFLOW_RUN_ID="+env.RunID)
	}
	stop := func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) && env.Stderr != nil {
			fmt.Fprintf(env.Stderr, "mlrun: step %s: MLflow endpoint: %v\n", env.Step, err)
		}
	}
	return vars, stop, nil
}
