package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/provenance"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/storeuri"
	"github.com/mlrun/mlrun/tracking"
)

// app holds what every command shares: the options that name the store,
// the output streams, and the wiring of step kinds.
type app struct {
	trackingURI string // --tracking-uri, else MLRUN_TRACKING_URI, else ./mlruns
	artifacts   string // --artifacts-destination, else MLRUN_ARTIFACTS_DESTINATION
	stores      *storeuri.Registry
	output      string // table or json
	stdout      io.Writer
	stderr      io.Writer
	version     string
}

// run parses args and executes the command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, version: version, stores: storeuri.New()}
	root := a.rootCommand(a.onlyCommand(args))
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if errors.Is(err, syscall.EPIPE) {
		// Whoever read the output has stopped (mlrun runs list | head -1):
		// nothing failed that the reader still cares about.
		return 0
	}
	if errs.Code(err) == errs.Internal && isUsageError(err) {
		// Point at the help of the command that was misused.
		path := root.CommandPath()
		if cmd != nil {
			path = cmd.CommandPath()
		}
		err = errs.Errorf(errs.Invalid, "%v (see '%s --help')", err, path)
	}
	if ctx.Err() != nil && errs.Code(err) == errs.Internal {
		err = errs.Errorf(errs.Killed, "interrupted")
	}
	fmt.Fprintf(stderr, "mlrun: %s\n", termSafeLines(errs.Message(err)))
	return errs.ExitCode(errs.Code(err))
}

// rootCommand builds the command tree: every top-level command, or only
// the one named only (see onlyCommand).
func (a *app) rootCommand(only string) *cobra.Command {
	root := &cobra.Command{
		Use:   "mlrun",
		Short: "Run ML pipelines declared in MLproject files and track every run",
		Long: `mlrun runs MLflow-style projects (an MLproject file with entry points,
typed parameters and commands or pipelines of built-in steps) and records every
run in an embedded SQLite store: params, metric histories, tags, artifacts and
models, with git state, data versions, seeds and lockfiles captured automatically.

The store is --tracking-uri, else $MLRUN_TRACKING_URI, else ./mlruns/mlrun.db:
a directory, sqlite:///path/to/mlrun.db or postgresql://user@host:port/db.
Artifacts go to --artifacts-destination (a directory or file:// URI), else
$MLRUN_ARTIFACTS_DESTINATION, else beside a SQLite file (./mlruns/artifacts for
a database server).

EXIT STATUS: 0 success, 1 a run failed, 2 bad input, 3 not found,
130 interrupted, 70 internal error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       a.version,
	}
	root.PersistentFlags().StringVar(&a.trackingURI, "tracking-uri", "", "tracking store: a directory, sqlite:///path/to/mlrun.db, postgresql://user@host:port/db or http://host:port (an mlrun server) (default $MLRUN_TRACKING_URI or ./mlruns)")
	root.PersistentFlags().StringVar(&a.artifacts, "artifacts-destination", "", "artifact root for new experiments: a directory or file:// URI (default $MLRUN_ARTIFACTS_DESTINATION, else beside the store)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return errs.Errorf(errs.Invalid, "%v (see '%s --help')", err, c.CommandPath())
	})
	for _, sub := range a.subcommands() {
		if only == "" || sub.name == only {
			root.AddCommand(sub.build())
		}
	}
	return root
}

// subcommand is a top-level command: its name, and how to build it.
type subcommand struct {
	name  string
	build func() *cobra.Command
}

// subcommands lists the top-level commands.
func (a *app) subcommands() []subcommand {
	return []subcommand{
		{"run", a.runCommand},
		{"runs", a.runsCommand},
		{"experiments", a.experimentsCommand},
		{"log", a.logCommand},
		{"steps", a.stepsCommand},
		{"reproduce", a.reproduceCommand},
		{"schedule", a.scheduleCommand},
		{"scheduler", a.schedulerCommand},
		{"models", a.modelsCommand},
		{"serve", a.serveCommand},
		{"db", a.dbCommand},
		{"gc", a.gcCommand},
		{"exec-run", a.execRunCommand},
		{"server", a.serverCommand},
		{"ui", a.uiCommand},
	}
}

// onlyCommand returns the top-level command that args run, when it is one
// of subcommands, so that run builds that one alone: building the whole
// tree of commands and flags costs each mlrun process about 70 page faults
// (0.5 ms or more). It returns "" (build them all) for anything else: no
// command (mlrun --help), help, completion, or a name that is not a
// command (for cobra's suggestions). For mlrun --version alone it returns
// "--version": no command is built.
func (a *app) onlyCommand(args []string) string {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-v") {
		return "--version"
	}
	name := commandName(args)
	for _, sub := range a.subcommands() {
		if sub.name == name {
			return name
		}
	}
	return ""
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

// storeLocation resolves the tracking URI and the artifact destination.
func (a *app) storeLocation() (*storeuri.Location, error) {
	uri := a.trackingURI
	if uri == "" {
		uri = os.Getenv("MLRUN_TRACKING_URI")
	}
	dest := a.artifacts
	if dest == "" {
		dest = os.Getenv("MLRUN_ARTIFACTS_DESTINATION")
	}
	return a.stores.Parse(uri, dest)
}

// openStore opens (creating if needed) the tracking store, and marks FAILED
// any run whose process died, so that no run stays RUNNING forever.
func (a *app) openStore(ctx context.Context) (tracking.Store, *storeuri.Location, error) {
	return a.openStoreFrom(ctx, nil)
}

// openStoreFrom is openStore, taking the store early is opening when it is
// not nil.
func (a *app) openStoreFrom(ctx context.Context, early *storeOpening) (tracking.Store, *storeuri.Location, error) {
	var st tracking.Store
	var loc *storeuri.Location
	var err error
	if early != nil {
		st, loc, err = early.take()
	} else if loc, err = a.storeLocation(); err == nil {
		st, err = a.openAndReap(ctx, loc)
	}
	if err != nil {
		return nil, nil, err
	}
	return st, loc, nil
}

// openAndReap opens the store at loc and marks FAILED any run whose
// process died.
func (a *app) openAndReap(ctx context.Context, loc *storeuri.Location) (tracking.Store, error) {
	st, err := a.stores.Open(ctx, loc)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	if _, err := st.ReapDeadRuns(ctx, host, provenance.ProcessAlive, 2*time.Minute); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// storeOpening is the tracking store being opened (and its dead runs
// reaped) on another goroutine while the command reads and checks its
// input.
type storeOpening struct {
	done  chan struct{}
	st    tracking.Store
	loc   *storeuri.Location
	err   error
	taken bool
}

// openStoreEarly starts opening the store, unless that would create it (a
// new SQLite file): a command refused for bad input leaves nothing behind.
// It returns nil when it does not.
func (a *app) openStoreEarly(ctx context.Context) *storeOpening {
	loc, err := a.storeLocation()
	if err != nil {
		return nil
	}
	if loc.Path != "" {
		if _, err := os.Stat(loc.Path); err != nil {
			return nil
		}
	}
	o := &storeOpening{done: make(chan struct{}), loc: loc}
	go func() {
		defer close(o.done)
		o.st, o.err = a.openAndReap(ctx, loc)
	}()
	return o
}

// take waits for the store and hands it over.
func (o *storeOpening) take() (tracking.Store, *storeuri.Location, error) {
	<-o.done
	o.taken = true
	return o.st, o.loc, o.err
}

// discard closes the store unless it was taken; o may be nil.
func (o *storeOpening) discard() {
	if o == nil || o.taken {
		return
	}
	<-o.done
	if o.err == nil {
		o.st.Close()
	}
}

// withStore checks --output, opens the store, calls fn with it and closes it.
func (a *app) withStore(c *cobra.Command, fn func(st tracking.Store) error) error {
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
