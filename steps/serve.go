package steps

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml"
	"github.com/mlrun/mlrun/registry"
	"github.com/mlrun/mlrun/serving"
	"github.com/mlrun/mlrun/tracking"
)

// Serve is the step kind that serves a model over HTTP in MLflow's scoring
// protocol (POST /invocations) at the end of a pipeline.
//
// It blocks: the step, and so the run, lasts until the run is interrupted
// (Ctrl-C or SIGTERM cancels the run's context). Serve treats that as the
// normal end of serving: it shuts the server down gracefully (requests in
// flight finish) and returns nil, so the step is reported finished, not
// failed. The run itself was interrupted, and the runner marks it KILLED
// (exit status 130) as it does every interrupted run; steps after serve
// never run, so put serve last.
//
// The address is printed to the run's stderr and recorded in the tag
// mlrun.serve.<step>. A models:/ URI is looked up again every 2 s, so the
// server follows a moved alias or stage.
type Serve struct {
	Specs   func(name string) (ml.Spec, bool) // estimators, to load models; nil: the built-in catalog
	Version string                            // mlrun's version, for GET /version
}

// Name implements Kind.
func (Serve) Name() string { return "serve" }

// Doc implements Kind.
func (Serve) Doc() string {
	return "serve a model over HTTP (MLflow's /invocations); blocks until Ctrl-C, which stops it cleanly and ends the run KILLED"
}

// Inputs implements Kind.
func (Serve) Inputs() []Input {
	return []Input{
		{Name: "model_uri", Type: String, Doc: "model to serve: runs:/... or models:/...; default runs:/<this run>/model"},
		{Name: "host", Type: String, Default: serving.DefaultHost, Doc: "address to listen on (0.0.0.0 for every interface)"},
		{Name: "port", Type: Int, Default: 1234, Doc: "TCP port; 0 picks a free one"},
	}
}

// Outputs implements Kind.
func (Serve) Outputs() []Output { return nil }

// Check implements Kind.
func (Serve) Check(in Values) error {
	if uri, ok := in["model_uri"].(string); ok && uri != "" {
		if _, err := tracking.ParseModelURI(uri); err != nil {
			return fmt.Errorf("input \"model_uri\": %s", errs.Message(err))
		}
	}
	if port, ok := in["port"].(int); ok && (port < 0 || port > 65535) {
		return fmt.Errorf("input \"port\" must be between 0 and 65535, not %d", port)
	}
	return nil
}

// Run implements Kind.
func (s Serve) Run(ctx context.Context, env *Env, in Values) (*Result, error) {
	if err := s.Check(in); err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %v", env.Step, err)
	}
	st := env.Store
	uri, _ := in["model_uri"].(string)
	if uri == "" {
		uri = "runs:/" + env.RunID + "/model"
	}
	host, _ := in["host"].(string)
	port, _ := in["port"].(int)
	src, err := registry.NewSource(st, nil, uri)
	if err != nil {
		return nil, errs.Errorf(errs.Invalid, "step %s: %w", env.Step, err)
	}
	defer src.Close() // a model downloaded from an mlrun server
	stderr := env.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	srv, err := serving.New(ctx, src, serving.Options{
		Host:        host,
		Port:        port,
		ReloadEvery: serving.DefaultReloadEvery,
		Version:     s.Version,
		Logger:      slog.New(slog.NewTextHandler(stderr, nil)),
		Specs:       s.Specs,
	})
	if err != nil {
		if errs.Code(err) == errs.Internal {
			return nil, fmt.Errorf("step %s: %w", env.Step, err)
		}
		return nil, errs.Errorf(errs.Code(err), "step %s: %w", env.Step, err)
	}
	var tagErr error
	err = srv.Serve(ctx, func(addr string) {
		fmt.Fprintf(stderr, "mlrun: serving %s on http://%s (Ctrl-C to stop)\n", uri, addr)
		tagErr = env.Log.SetTags(ctx, map[string]string{"mlrun.serve." + env.Step: "served " + uri + " on http://" + addr})
	})
	if err != nil {
		if errs.Code(err) == errs.Internal {
			return nil, fmt.Errorf("step %s: %w", env.Step, err)
		}
		return nil, errs.Errorf(errs.Code(err), "step %s: %w", env.Step, err)
	}
	if tagErr != nil && ctx.Err() == nil {
		return nil, tagErr
	}
	return &Result{}, nil
}
