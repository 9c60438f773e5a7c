package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/ml/onnx/onnxrt"
	"github.com/mlrun/mlrun/registry"
	"github.com/mlrun/mlrun/serving"
)

type serveOptions struct {
	host        string
	port        int
	reloadEvery time.Duration
	maxBody     string
	onnxLib     string
	backend     string
}

// serveCommand is `mlrun serve MODEL_URI`.
func (a *app) serveCommand() *cobra.Command {
	var o serveOptions
	c := &cobra.Command{
		Use:   "serve MODEL_URI",
		Short: "Serve a model over HTTP with MLflow's scoring protocol",
		Long: `Serve a model over HTTP as 'mlflow models serve' does: POST /invocations
with a JSON body (dataframe_split, dataframe_records, instances, inputs, or the
classic {"data": [[...]]}) or CSV, GET /ping, /health, /version, /metadata.

MODEL_URI is runs:/<run-id>/<path>, models:/<name>/<version>,
models:/<name>@<alias>, models:/<name>/<stage> or models:/<name>/latest. A
models:/ URI is looked up again every --reload-every: when the alias or stage
points to another version, the server loads it and swaps it in without
failing a request. SIGINT or SIGTERM stops the server gracefully (exit 0).

A model directory with MLflow's onnx flavor (model.onnx, which the train step
writes, or one logged by mlflow.onnx.log_model) is served through ONNX Runtime
when it has no mlrun flavor, or with --backend onnx. ONNX Runtime 1.30's
libonnxruntime.so is found at --onnxruntime, $MLRUN_ONNXRUNTIME_LIB, or where
.ci/install-onnx.sh installs it.`,
		Example: `  mlrun serve models:/iris@champion --port 1234
  curl -s localhost:1234/invocations -H 'Content-Type: application/json' \
       -d '{"data": [[5.1, 3.5, 1.4, 0.2]]}'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error { return a.serve(c, args[0], o) },
	}
	f := c.Flags()
	f.StringVar(&o.host, "host", serving.DefaultHost, "address to listen on (0.0.0.0 for every interface)")
	f.IntVarP(&o.port, "port", "p", 1234, "TCP port; 0 picks a free one")
	f.DurationVar(&o.reloadEvery, "reload-every", serving.DefaultReloadEvery, "how often to look the model URI up again; 0 never")
	f.StringVar(&o.maxBody, "max-body", "8MiB", "largest request body, e.g. 512KiB, 8MiB, 1GiB or bytes")
	f.StringVar(&o.onnxLib, "onnxruntime", "", "ONNX Runtime shared library (libonnxruntime.so) for ONNX models (default $"+onnxrt.EnvLibrary+")")
	f.StringVar(&o.backend, "backend", serving.BackendAuto, "auto (model.json when there is one, else model.onnx), native or onnx")
	return c
}

func (a *app) serve(c *cobra.Command, uri string, o serveOptions) error {
	ctx := c.Context()
	maxBody, err := parseByteSize(o.maxBody)
	if err != nil {
		return err
	}
	if o.port < 0 || o.port > 65535 {
		return errs.Errorf(errs.Invalid, "--port must be between 0 and 65535, not %d", o.port)
	}
	if o.reloadEvery < 0 {
		return errs.Errorf(errs.Invalid, "--reload-every must not be negative, not %s", o.reloadEvery)
	}
	st, _, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := registry.NewSource(st, artifact.SchemesFor(st), uri)
	if err != nil {
		return err
	}
	defer src.Close() // a model downloaded from an mlrun server
	if dir, _, err := src.Resolve(ctx); err == nil && writtenByMLflow(dir) {
		return a.serveWithMLflow(c, dir, uri, o)
	}
	srv, err := serving.New(ctx, src, serving.Options{
		Host:         o.host,
		Port:         o.port,
		MaxBodyBytes: maxBody,
		ReloadEvery:  o.reloadEvery,
		Version:      a.version,
		Logger:       slog.New(slog.NewTextHandler(a.stderr, nil)),
		Specs:        catalog.Builtin().Lookup,
		ONNX:         serving.ONNXOptions{Library: o.onnxLib, Backend: o.backend},
	})
	if err != nil {
		return err
	}
	return srv.Serve(ctx, func(addr string) {
		fmt.Fprintf(a.stderr, "serving %s on http://%s\n", uri, addr)
	})
}

// parseByteSize parses a size such as 8MiB, 512KiB, 1GiB, 8MB or 1048576.
func parseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	}
	num, mult := s, int64(1)
	for _, u := range units {
		if len(s) > len(u.suffix) && s[len(s)-len(u.suffix):] == u.suffix {
			num, mult = s[:len(s)-len(u.suffix)], u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(num, &n); err != nil || n <= 0 || fmt.Sprint(n) != num || n > (1<<40)/mult {
		return 0, errs.Errorf(errs.Invalid, "--max-body %q is not a size such as 8MiB, 512KiB or 1048576", s)
	}
	return n * mult, nil
}
