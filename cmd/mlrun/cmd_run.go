package main

import (
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/pipeline"
	"github.com/mlrun/mlrun/project"
)

type runOptions struct {
	entryPoint string
	params     []string
	experiment string
	runName    string
	seed       int64
	tags       []string
}

func (a *app) runCommand() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run [DIR]",
		Short: "Run an entry point of the MLproject in DIR (default .) as a tracked run",
		Long: `Run an entry point of the MLproject in DIR (default: the current directory).

Parameters are given with -P name=value (repeatable). Declared parameters are
typed and checked before the run is created; undeclared ones are appended to a
command entry point as --name value. Every run records its params, metrics,
tags (git state, dataset versions, seeds, lockfile, versions) and artifacts.`,
		Example: `  mlrun run examples/iris
  mlrun run examples/iris -P C=0.5 -P max_iter=300 --run-name tuned`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.runProject(c, dir, o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.entryPoint, "entry-point", "e", "main", "entry point to run")
	// StringArray, not StringSlice: a value such as C=0.1,1,10 keeps its commas.
	f.StringArrayVarP(&o.params, "param", "P", nil, "parameter name=value (repeatable)")
	f.StringVar(&o.experiment, "experiment", "", "experiment name, created if missing (default: Default, or $MLRUN_EXPERIMENT_NAME)")
	f.StringVar(&o.runName, "run-name", "", "run name (default: a random adjective-noun-NNN)")
	f.StringArrayVar(&o.tags, "tag", nil, "extra run tag key=value (repeatable)")
	f.Int64Var(&o.seed, "seed", 0, "the run's seed for steps given no random_state (default: the param seed, else random; always recorded)")
	return c
}

func (a *app) runProject(c *cobra.Command, dir string, o runOptions) error {
	ctx := c.Context()
	kinds := a.kinds()
	proj, err := project.Load(dir, kinds)
	if err != nil {
		return err
	}
	kvs, err := parseParams(o.params)
	if err != nil {
		return err
	}
	req := pipeline.Request{
		Project:    proj,
		EntryPoint: o.entryPoint,
		Params:     kvs,
		Experiment: o.experiment,
		RunName:    o.runName,
	}
	for _, t := range o.tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			return errs.Errorf(errs.Invalid, "--tag %q must be written key=value", t)
		}
		if req.Tags == nil {
			req.Tags = map[string]string{}
		}
		req.Tags[k] = v
	}
	if req.Experiment == "" {
		req.Experiment = envOr("MLRUN_EXPERIMENT_NAME", "")
	}
	if c.Flags().Changed("seed") {
		req.Seed = &o.seed
	}
	// Everything that can be checked is checked before the store is touched.
	plan, err := pipeline.Prepare(req, kinds)
	if err != nil {
		return err
	}
	st, uri, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r := &pipeline.Runner{
		Store:       st,
		Kinds:       kinds,
		TrackingURI: uri,
		Version:     a.version,
		StoreDir:    filepath.Dir(st.Path()),
		Stdout:      a.stdout,
		Stderr:      a.stderr,
	}
	_, err = r.RunPlan(ctx, req, plan)
	return err
}

// parseParams splits each -P name=value on its first '='; a name given
// twice is an error.
func parseParams(raw []string) ([]project.KV, error) {
	seen := map[string]bool{}
	out := make([]project.KV, 0, len(raw))
	for _, p := range raw {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errs.Errorf(errs.Invalid, "parameter %q must be written name=value", p)
		}
		if seen[k] {
			return nil, errs.Errorf(errs.Invalid, "parameter %q is given more than once", k)
		}
		seen[k] = true
		out = append(out, project.KV{Key: k, Value: v})
	}
	return out, nil
}
