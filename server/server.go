// Package server is mlrun's MLflow tracking server: the REST API that the
// MLflow 2.x Python client speaks (experiments, runs, metric histories,
// artifacts, the model registry), served from a tracking.Store, so that an
// unchanged script using mlflow.set_tracking_uri("http://...") logs into
// the same store that mlrun's CLI reads.
//
// Every endpoint of MLflow's service.proto, model_registry.proto and
// mlflow_artifacts.proto that a 2.x client calls is served under
// /api/2.0/mlflow/, /ajax-api/2.0/mlflow/ (the web UI's prefix) and
// /api/2.0/preview/mlflow/, with MLflow's proto-JSON (snake_case, enums as
// names, "NaN"/"Infinity" for non-finite doubles), its error body
// {"error_code": ..., "message": ...} and HTTP statuses, and its opaque
// offset page tokens.
//
// With ServeArtifacts (the default of `mlrun server`), runs and experiments
// are given mlflow-artifacts:/<exp>/<run>/artifacts URIs, which the client
// resolves to the artifact proxy /api/2.0/mlflow-artifacts/artifacts/...;
// the files live under the store's artifact root, where the CLI finds them
// as file:// URIs. Every artifact path is checked so that it cannot leave
// the root: no "..", no absolute path, no percent-encoded traversal, and no
// symbolic link pointing outside.
//
// Server.Handler returns an http.Handler; Options.UI, when set, serves
// every path the API does not (a web UI mounts its pages there).
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/tracking"
)

// Store is what the server serves: runs and experiments, and the model
// registry.
type Store interface {
	tracking.Store
	tracking.Registry
}

// Defaults of Options.
const (
	DefaultMaxRequestBytes = 16 << 20 // JSON bodies; MLflow's log-batch is at most 1 MB
	DefaultMaxUploadBytes  = 8 << 30  // one artifact upload
	DefaultShutdownGrace   = 30 * time.Second
	// DefaultReadHeaderTimeout is how long a client may take to send its
	// request headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout is how long an idle keep-alive connection stays open.
	DefaultIdleTimeout = 2 * time.Minute
)

// Options configures a Server.
type Options struct {
	// ServeArtifacts turns on the artifact proxy and gives runs
	// mlflow-artifacts:/ URIs; otherwise runs keep their file:// URIs and
	// the proxy answers 503, as mlflow server --no-serve-artifacts does.
	ServeArtifacts bool
	// ArtifactRoot is the directory the proxy serves; "" is the store's
	// artifact root.
	ArtifactRoot string
	// MaxRequestBytes limits JSON request bodies (0: DefaultMaxRequestBytes).
	MaxRequestBytes int64
	// MaxUploadBytes limits one artifact upload (0: DefaultMaxUploadBytes).
	MaxUploadBytes int64
	// Auth, when set, requires HTTP basic authentication and checks each
	// request's permission.
	Auth *Auth
	// UI, when set, serves every path that is not part of the API.
	UI http.Handler
	// ParentRunID, when set, is recorded as the mlflow.parentRunId tag of
	// every run created without one: the endpoint a pipeline step's script
	// logs to makes the script's runs children of the pipeline run.
	ParentRunID string
	// OwnedRunID, when set, names a run whose status and end time belong to
	// its owner (the pipeline): runs/update may not change them, so that a
	// script attached to it with MLFLOW_RUN_ID cannot end it early.
	OwnedRunID string
	// ReadHeaderTimeout cuts off a client that has not sent its request
	// headers in time (slowloris); 0 is DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle that long; 0 is
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Version is what GET /version answers.
	Version string
	// Logger receives request failures; nil discards them.
	Logger *slog.Logger
}

// Server answers MLflow's REST API from a Store.
type Server struct {
	store Store
	opts  Options
	root  string // absolute artifact root
	mux   *routeMux
	// bodies recycles the buffers request bodies are read into.
	bodies sync.Pool
	// answers recycles the buffers large answers are built in.
	answers sync.Pool
}

// New returns a server of st.
func New(st Store, opts Options) (*Server, error) {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	root := opts.ArtifactRoot
	if root == "" {
		// The store's root is a file:// URI; the proxy serves its directory.
		dir, err := artifact.LocalDir(st.ArtifactRoot())
		if err != nil {
			return nil, errs.Errorf(errs.Invalid, "the store's artifact root %s is not a local directory the artifact proxy can serve: %v", st.ArtifactRoot(), err)
		}
		root = dir
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolve artifact root %s: %w", root, err)
	}
	s := &Server{store: st, opts: opts, root: abs, mux: &routeMux{ServeMux: http.NewServeMux()}}
	s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	if s.opts.Auth != nil {
		h = s.opts.Auth.wrap(s, h)
	}
	return h
}

// apiPrefixes are the prefixes every MLflow endpoint is served under.
var apiPrefixes = []string{"/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/2.0/preview/mlflow"}

// handle registers h for method and path under every API prefix.
func (s *Server) handle(method, path string, h http.HandlerFunc) {
	for _, p := range apiPrefixes {
		s.mux.HandleFunc(method+" "+p+path, h)
	}
}

func (s *Server) routes() {
	s.trackingRoutes()
	s.registryRoutes()
	s.artifactRoutes()
	s.authRoutes()
	s.mlrunRoutes()
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") })
	s.mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s.opts.Version) })
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeCodeError(w, codeEndpointNotFound, fmt.Sprintf("no API endpoint %s %s", r.Method, r.URL.Path))
	}
	for _, p := range []string{"/api/", "/ajax-api/"} {
		s.mux.HandleFunc(p, notFound)
	}
	if s.opts.UI != nil {
		s.mux.Handle("/", s.opts.UI)
	} else {
		s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "mlrun tracking server: the MLflow REST API is under /api/2.0/mlflow/\n")
		})
	}
}

// IsLoopback reports whether host (a name or an address, no port) only
// accepts connections from this machine.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Serve answers requests on ln until ctx ends, then stops accepting and
// waits (up to DefaultShutdownGrace) for the requests in flight to finish.
// ready, when not nil, is called once the server accepts connections.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain requests in flight: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}
