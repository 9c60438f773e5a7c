package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/server"
	"github.com/mlrun/mlrun/ui"
)

// serverOptions are the flags of `mlrun server` and `mlrun ui`, named as
// `mlflow server`'s.
type serverOptions struct {
	host             string
	port             int
	backendStoreURI  string
	artifactsDest    string
	noServeArtifacts bool
	serveArtifacts   bool
	workers          int
	auth             bool
	maxUpload        string
}

// serverCommand is `mlrun server`.
func (a *app) serverCommand() *cobra.Command {
	var o serverOptions
	c := &cobra.Command{
		Use:   "server",
		Short: "Serve the store over MLflow's REST API, for the MLflow client and its users' scripts",
		Long: `Serve the tracking store over the REST API of MLflow 2.x, so that scripts using
the MLflow client log into mlrun unchanged:

  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py

Runs, params, metrics, tags, artifacts and registered models the client logs
are the ones 'mlrun runs', 'mlrun models' and 'mlrun serve' see, and the
runs 'mlrun run' records are visible to the client's search_runs and get_run.

Artifacts are proxied (as 'mlflow server --serve-artifacts', the default): runs
get mlflow-artifacts:/ URIs and the files are stored under
--artifacts-destination (default: the store's artifacts directory). With
--no-serve-artifacts runs keep file:// URIs, which only clients on this machine
can write.

The server binds 127.0.0.1 unless --host says otherwise; binding another
address without --auth prints a warning, since anyone who reaches the port can
then read and change every run. --auth requires HTTP basic authentication (the
client's MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD) with users and
per-experiment and per-model permissions (READ, EDIT, MANAGE), kept with
bcrypt-hashed passwords in auth.db beside the store; the first admin comes from
MLRUN_AUTH_ADMIN_USERNAME and MLRUN_AUTH_ADMIN_PASSWORD. See
docs/mlflow-server.md.

SIGINT or SIGTERM stops accepting connections and finishes the requests in
flight (up to 30 s) before exiting.`,
		Example: `  mlrun server --port 5000
  mlrun server --host 0.0.0.0 --auth --backend-store-uri sqlite:////data/mlrun.db --artifacts-destination /data/artifacts`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return a.runServer(c, o, false) },
	}
	a.serverFlags(c, &o)
	return c
}

// uiCommand is `mlrun ui`: the server on the local store, as `mlflow ui`.
func (a *app) uiCommand() *cobra.Command {
	var o serverOptions
	c := &cobra.Command{
		Use:   "ui",
		Short: "Serve the local store on 127.0.0.1 (as 'mlflow ui') and print its URL",
		Long: `Serve the web interface and the same API as 'mlrun server' on the local store
(--tracking-uri, else $MLRUN_TRACKING_URI, else ./mlruns), on 127.0.0.1:5000 by
default, and print the URL, the store it serves and how many runs it holds.
Every page names the store, so a UI started in the wrong folder shows it.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return a.runServer(c, o, true) },
	}
	a.serverFlags(c, &o)
	return c
}

func (a *app) serverFlags(c *cobra.Command, o *serverOptions) {
	f := c.Flags()
	f.StringVarP(&o.host, "host", "h", "127.0.0.1", "address to listen on (0.0.0.0 for every interface)")
	f.IntVarP(&o.port, "port", "p", 5000, "TCP port; 0 picks a free one")
	f.StringVar(&o.backendStoreURI, "backend-store-uri", "", "tracking store (default --tracking-uri, $MLRUN_TRACKING_URI or ./mlruns)")
	f.StringVar(&o.artifactsDest, "artifacts-destination", "", "directory of proxied artifacts (default: the store's artifacts directory)")
	f.BoolVar(&o.noServeArtifacts, "no-serve-artifacts", false, "do not proxy artifacts: runs get file:// URIs")
	f.BoolVar(&o.serveArtifacts, "serve-artifacts", true, "proxy artifacts (the default)")
	f.IntVarP(&o.workers, "workers", "w", 1, "accepted for compatibility with mlflow server and otherwise ignored (must be at least 1): one mlrun process serves all requests concurrently on GOMAXPROCS threads")
	f.BoolVar(&o.auth, "auth", false, "require HTTP basic authentication with per-experiment permissions")
	f.StringVar(&o.maxUpload, "max-upload", "8GiB", "largest artifact upload, e.g. 512MiB or 8GiB")
	c.Flags().BoolP("help", "", false, "help for "+c.Name()) // -h is --host, as in mlflow server
}

func (a *app) runServer(c *cobra.Command, o serverOptions, uiOnly bool) error {
	ctx := c.Context()
	if o.port < 0 || o.port > 65535 {
		return errs.Errorf(errs.Invalid, "--port must be between 0 and 65535, not %d", o.port)
	}
	if o.workers < 1 {
		return errs.Errorf(errs.Invalid, "--workers must be at least 1, not %d", o.workers)
	}
	maxUpload, err := parseSize("--max-upload", o.maxUpload)
	if err != nil {
		return err
	}
	if o.backendStoreURI != "" {
		a.trackingURI = o.backendStoreURI
	}
	if o.artifactsDest != "" {
		a.artifacts = o.artifactsDest
	}
	loc, err := a.storeLocation()
	if err != nil {
		return err
	}
	artifacts, err := artifact.LocalDir(loc.ArtifactRoot)
	if err != nil {
		return errs.Errorf(errs.Invalid, "the server's artifact root %s is not a local directory: %v", loc.ArtifactRoot, err)
	}
	if loc.Path != "" {
		if err := os.MkdirAll(filepath.Dir(loc.Path), 0o755); err != nil {
			return errs.Errorf(errs.Invalid, "cannot create the store directory %s: %v", filepath.Dir(loc.Path), err)
		}
	}
	st, err := a.stores.Open(ctx, loc)
	if err != nil {
		return err
	}
	defer st.Close()
	host, _ := os.Hostname()
	if _, err := st.ReapDeadRuns(ctx, host, provenance.ProcessAlive, 2*time.Minute); err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(a.stderr, nil))
	opts := server.Options{
		ServeArtifacts: o.serveArtifacts && !o.noServeArtifacts,
		ArtifactRoot:   artifacts,
		MaxUploadBytes: maxUpload,
		Version:        a.version,
		Logger:         logger,
	}
	if o.auth {
		au, err := server.OpenAuth(ctx, filepath.Join(loc.Dir, "auth.db"), os.Getenv)
		if err != nil {
			return err
		}
		defer au.Close()
		opts.Auth = au
	}
	uiOpts := ui.Options{Store: st, Registry: st, ArtifactRoot: artifacts, StoreLabel: loc.String()}
	if opts.Auth != nil {
		uiOpts.Access = opts.Auth // the pages ask for login and keep to each user's permissions
	}
	if opts.UI, err = ui.New(uiOpts); err != nil {
		return err
	}
	srv, err := server.New(st, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port)))
	if err != nil {
		return errs.Errorf(errs.Invalid, "cannot listen on %s port %d: %v", o.host, o.port, err)
	}
	if !server.IsLoopback(o.host) && !o.auth {
		fmt.Fprintf(a.stderr, "mlrun: warning: listening on %s without --auth: anyone who can reach this port can read and change every run\n", o.host)
	}
	url := "http://" + ln.Addr().String()
	store := loc.String()
	if loc.Scheme == "sqlite" {
		store = loc.URI // sqlite:////abs/path, as --backend-store-uri takes it
	}
	if uiOnly {
		n, err := st.CountRuns(ctx)
		if err != nil {
			ln.Close()
			return err
		}
		fmt.Fprintf(a.stdout, "mlrun ui: %s\nstore: %s\nartifacts: %s\nthe store holds %d run(s)\n", url, store, artifacts, n)
	} else {
		fmt.Fprintf(a.stderr, "mlrun server: listening on %s (store %s, artifacts %s)\n", url, store, artifacts)
	}
	return srv.Serve(ctx, ln)
}

// parseSize parses a byte size such as 8GiB for the flag named flag.
func parseSize(flag, s string) (int64, error) {
	n, err := parseByteSize(s)
	if err != nil {
		return 0, errs.Errorf(errs.Invalid, "%s %q is not a size such as 512MiB, 8GiB or 1048576", flag, s)
	}
	return n, nil
}
