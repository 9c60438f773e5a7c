package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/sqlite"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// app holds what every command shares: the options that name the store,
// the output streams, and the wiring of step kinds.
type app struct {
	trackingURI string // --tracking-uri, else MLRUN_TRACKING_URI, else ./mlruns
	output      string // table or json
	stdout      io.Writer
	stderr      io.Writer
	version     string
}

// run parses args and executes the command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, version: version}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if errs.Code(err) == errs.Internal && isUsageError(err) {
		err = errs.Errorf(errs.Invalid, "%v (see 'mlrun --help')", err)
	}
	if ctx.Err() != nil && errs.Code(err) == errs.Internal {
		err = errs.Errorf(errs.Killed, "interrupted")
	}
	fmt.Fprintf(stderr, "mlrun: %s\n", errs.Message(err))
	return errs.ExitCode(errs.Code(err))
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "mlrun",
		Short: "Run ML pipelines declared in MLproject files and track every run",
		Long: `mlrun runs MLflow-style projects (an MLproject file with entry points,
typed parameters and commands or pipelines of built-in steps) and records every
run in an embedded SQLite store: params, metric histories, tags, artifacts and
models, with git state, data versions, seeds and lockfiles captured automatically.

The store is --tracking-uri, else $MLRUN_TRACKING_URI, else ./mlruns/mlrun.db.

EXIT STATUS: 0 success, 1 a run failed, 2 bad input, 3 not found,
130 interrupted, 70 internal error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       a.version,
	}
	root.PersistentFlags().StringVar(&a.trackingURI, "tracking-uri", "", "tracking store: sqlite:///path/to/mlrun.db or a directory (default $MLRUN_TRACKING_URI or ./mlruns)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return errs.Errorf(errs.Invalid, "%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(
		a.runCommand(),
		a.runsCommand(),
		a.experimentsCommand(),
		a.logCommand(),
		a.stepsCommand(),
		a.reproduceCommand(),
		a.scheduleCommand(), a.schedulerCommand(),
	)
	root.AddCommand(a.modelsCommand(), a.serveCommand(), a.uiCommand())
	return root
}

// isUsageError reports whether err is cobra's complaint about the command
// line (an unknown command, a wrong number of arguments).
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "requires exactly", "invalid argument", "unknown flag", "unknown shorthand flag", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// addOutputFlag declares --output on a command that prints data.
func (a *app) addOutputFlag(c *cobra.Command) {
	c.Flags().StringVarP(&a.output, "output", "o", "table", "output format: table or json")
}

func (a *app) checkOutput() error {
	if a.output != "table" && a.output != "json" {
		return errs.Errorf(errs.Invalid, "--output must be table or json, not %q", a.output)
	}
	return nil
}

// storeLocation resolves the tracking URI to a database path and an
// artifact root.
func (a *app) storeLocation() (dbPath, artifactRoot string, err error) {
	uri := a.trackingURI
	if uri == "" {
		uri = os.Getenv("MLRUN_TRACKING_URI")
	}
	if uri == "" {
		uri = "mlruns"
	}
	path := uri
	switch {
	case strings.HasPrefix(uri, "sqlite:///"):
		path = strings.TrimPrefix(uri, "sqlite:///") // sqlite:////abs or sqlite:///rel, as SQLAlchemy
	case strings.Contains(uri, "://"):
		return "", "", errs.Errorf(errs.Invalid, "tracking URI %q is not supported: use sqlite:///path/to/mlrun.db or a directory", uri)
	case !strings.HasSuffix(uri, ".db"):
		path = filepath.Join(uri, "mlrun.db")
	}
	if path == "" {
		return "", "", errs.Errorf(errs.Invalid, "tracking URI %q names no file", uri)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("resolve %s: %w", path, err)
	}
	return abs, filepath.Join(filepath.Dir(abs), "artifacts"), nil
}

// openStore opens (creating if needed) the tracking store, and marks FAILED
// any run whose process died, so that no run stays RUNNING forever.
func (a *app) openStore(ctx context.Context) (*sqlite.Store, string, error) {
	dbPath, artifacts, err := a.storeLocation()
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
		return nil, "", errs.Errorf(errs.Invalid, "cannot create the store directory %s: %v", filepath.Dir(dbPath), err)
	}
	st, err := sqlite.Open(ctx, dbPath, artifacts)
	if err != nil {
		return nil, "", err
	}
	host, _ := os.Hostname()
	if _, err := st.ReapDeadRuns(ctx, host, provenance.ProcessAlive, 2*time.Minute); err != nil {
		st.Close()
		return nil, "", err
	}
	return st, "sqlite:///" + dbPath, nil
}

// withStore checks --output, opens the store, calls fn with it and closes it.
func (a *app) withStore(c *cobra.Command, fn func(st *sqlite.Store) error) error {
	if err := a.checkOutput(); err != nil {
		return err
	}
	st, _, err := a.openStore(c.Context())
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// kinds returns the registry of built-in step kinds.
func (a *app) kinds() *steps.Registry {
	return steps.NewRegistry(builtinKinds(a.version)...)
}

// resolveRun expands a run id or unique prefix.
func resolveRun(ctx context.Context, st tracking.Store, idOrPrefix string) (*tracking.Run, error) {
	id, err := st.ResolveRunID(ctx, idOrPrefix)
	if err != nil {
		return nil, err
	}
	return st.GetRun(ctx, id)
}

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// formatTime renders Unix milliseconds for tables.
func formatTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).Local().Format("2006-01-02 15:04:05")
}
