package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/ml/catalog"
	"github.com/mlrun/mlrun/ml/modelfile"
	"github.com/mlrun/mlrun/ml/onnx"
	"github.com/mlrun/mlrun/registry"
	"github.com/mlrun/mlrun/tracking"
)

// modelsCommand is `mlrun models`: the model registry.
func (a *app) modelsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "models",
		Short: "Register models, list their versions, move aliases and stages",
		Long: `The model registry: named models with numbered versions (1, 2, 3...), each
pointing at a model directory in a run's artifacts. Aliases (champion, ...)
are movable pointers to versions; stages (None, Staging, Production,
Archived) are MLflow's older scheme. Models are named by URIs:

  runs:/<run-id>/<path>     a model directory in a run's artifacts
  models:/<name>/<version>  one version
  models:/<name>@<alias>    the version an alias points to now
  models:/<name>/<stage>    the highest version in a stage
  models:/<name>/latest     the highest version`,
	}
	alias := &cobra.Command{Use: "alias", Short: "Set or delete a model alias"}
	alias.AddCommand(a.modelsAliasSetCommand(), a.modelsAliasDeleteCommand())
	c.AddCommand(a.modelsListCommand(), a.modelsShowCommand(), a.modelsVersionsCommand(),
		a.modelsRegisterCommand(), alias, a.modelsStageCommand(), a.modelsDeleteCommand(), a.modelsExportCommand())
	return c
}

func (a *app) modelsListCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List registered models",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				models, err := st.ListRegisteredModels(c.Context())
				if err != nil {
					return err
				}
				if a.output == "json" {
					if models == nil {
						models = []*tracking.RegisteredModel{}
					}
					return a.printJSON(map[string]any{"registered_models": models})
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tLATEST\tALIASES\tSTAGES\tUPDATED")
				for _, m := range models {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termSafe(m.Name), latestOf(m), termSafe(aliasList(m.Aliases)), stageList(m), formatTime(m.LastUpdatedTime))
				}
				return tw.Flush()
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) modelsShowCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a registered model with its aliases, tags and versions",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				m, err := st.GetRegisteredModel(c.Context(), args[0])
				if err != nil {
					return err
				}
				versions, err := st.ListModelVersions(c.Context(), args[0])
				if err != nil {
					return err
				}
				if a.output == "json" {
					if versions == nil {
						versions = []*tracking.ModelVersion{}
					}
					return a.printJSON(map[string]any{"registered_model": m, "model_versions": versions})
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintf(tw, "Name\t%s\n", termSafe(m.Name))
				if m.Description != "" {
					fmt.Fprintf(tw, "Description\t%s\n", oneLine(m.Description, 100))
				}
				fmt.Fprintf(tw, "Created\t%s\n", formatTime(m.CreationTime))
				fmt.Fprintf(tw, "Updated\t%s\n", formatTime(m.LastUpdatedTime))
				fmt.Fprintf(tw, "Latest\t%s\n", latestOf(m))
				fmt.Fprintf(tw, "Aliases\t%s\n", termSafe(aliasList(m.Aliases)))
				tagKeys := make([]string, 0, len(m.Tags))
				for k := range m.Tags {
					tagKeys = append(tagKeys, k)
				}
				sort.Strings(tagKeys)
				for _, k := range tagKeys {
					fmt.Fprintf(tw, "Tag %s\t%s\n", termSafe(k), oneLine(m.Tags[k], 100))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout)
				return a.printVersions(versions)
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) modelsVersionsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "versions NAME",
		Short: "List the versions of a registered model",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				versions, err := st.ListModelVersions(c.Context(), args[0])
				if err != nil {
					return err
				}
				if a.output == "json" {
					if versions == nil {
						versions = []*tracking.ModelVersion{}
					}
					return a.printJSON(map[string]any{"model_versions": versions})
				}
				return a.printVersions(versions)
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

// printVersions prints a table of versions.
func (a *app) printVersions(versions []*tracking.ModelVersion) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTAGE\tALIASES\tRUN\tCREATED\tSOURCE")
	for _, v := range versions {
		run := v.RunID
		if len(run) > 12 {
			run = run[:12]
		}
		if run == "" {
			run = "-"
		}
		aliases := strings.Join(v.Aliases, ",")
		if aliases == "" {
			aliases = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.Version, v.Stage, termSafe(aliases), run, formatTime(v.CreationTime), termSafe(v.Source))
	}
	return tw.Flush()
}

type registerOptions struct {
	name, path, alias, stage, description string
}

func (a *app) modelsRegisterCommand() *cobra.Command {
	var o registerOptions
	c := &cobra.Command{
		Use:   "register RUN",
		Short: "Register a run's model as the next version of a registered model",
		Long: `Register the model directory at --path in a run's artifacts as the next
version of the registered model --name (created if missing). RUN is a run id
or unique prefix, or a model URI (runs:/... or models:/...). The name
defaults to the run's project name (tag mlrun.project).`,
		Example: `  mlrun models register 3f2a --name iris --alias champion
  mlrun models register runs:/3f2a.../model --name iris --stage Staging`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error { return a.registerModel(c, st, args[0], o) })
		},
	}
	f := c.Flags()
	f.StringVar(&o.name, "name", "", "registered model name (default: the run's project name)")
	f.StringVar(&o.path, "path", "model", "artifact path of the model directory in the run")
	f.StringVar(&o.alias, "alias", "", "point this alias at the new version")
	f.StringVar(&o.stage, "stage", "", "move the new version to this stage (None, Staging, Production, Archived)")
	f.StringVar(&o.description, "description", "", "description of the new version")
	a.addOutputFlag(c)
	return c
}

func (a *app) registerModel(c *cobra.Command, st tracking.Store, target string, o registerOptions) error {
	ctx := c.Context()
	uri, name := target, o.name
	if strings.HasPrefix(target, "runs:/") || strings.HasPrefix(target, "models:/") {
		if c.Flags().Changed("path") {
			return errs.Errorf(errs.Invalid, "--path applies to a run id, not to the model URI %q", target)
		}
		if name == "" {
			return errs.Errorf(errs.Invalid, "give the registered model's name with --name")
		}
	} else {
		run, err := resolveRun(ctx, st, target)
		if err != nil {
			return err
		}
		if name == "" {
			name, _ = run.Tag("mlrun.project")
			if name == "" {
				return errs.Errorf(errs.Invalid, "run %s has no project name (tag mlrun.project); give the registered model's name with --name", run.Info.ID)
			}
		}
		if _, err := artifact.Join(".", filepath.FromSlash(o.path)); err != nil {
			return err
		}
		uri = "runs:/" + run.Info.ID + "/" + strings.TrimSuffix(filepath.ToSlash(o.path), "/")
	}
	mv, err := registry.Register(ctx, st, artifact.SchemesFor(st), registry.Request{
		Name: name, ModelURI: uri, Alias: o.alias, Stage: o.stage, Description: o.description,
	})
	if err != nil {
		return err
	}
	if a.output == "json" {
		return a.printJSON(map[string]any{"model_version": mv})
	}
	fmt.Fprintf(a.stdout, "registered %s version %d (models:/%s/%d) from %s\n", mv.Name, mv.Version, mv.Name, mv.Version, uri)
	for _, al := range mv.Aliases {
		fmt.Fprintf(a.stdout, "alias %s now points to version %d (models:/%s@%s)\n", al, mv.Version, mv.Name, al)
	}
	if mv.Stage != tracking.StageNone {
		fmt.Fprintf(a.stdout, "version %d is in stage %s\n", mv.Version, mv.Stage)
	}
	return nil
}

func (a *app) modelsAliasSetCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "set NAME ALIAS VERSION",
		Short: "Point an alias at a version (moving it atomically if it exists)",
		Args:  cobra.ExactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			version, err := tracking.ParseVersion(args[2])
			if err != nil {
				return err
			}
			return a.withStore(c, func(st tracking.Store) error {
				ctx := c.Context()
				name, alias := args[0], args[1]
				previous := 0
				if old, err := st.GetVersionByAlias(ctx, name, alias); err == nil {
					previous = old.Version
				}
				if err := st.SetAlias(ctx, name, alias, version); err != nil {
					return err
				}
				mv, err := st.GetModelVersion(ctx, name, version)
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(map[string]any{"model_version": mv})
				}
				switch {
				case previous == 0:
					fmt.Fprintf(a.stdout, "alias %s of %s now points to version %d\n", alias, name, version)
				case previous == version:
					fmt.Fprintf(a.stdout, "alias %s of %s already points to version %d\n", alias, name, version)
				default:
					fmt.Fprintf(a.stdout, "alias %s of %s moved from version %d to version %d\n", alias, name, previous, version)
				}
				return nil
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) modelsAliasDeleteCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "delete NAME ALIAS",
		Short: "Delete an alias (the version stays)",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				if err := st.DeleteAlias(c.Context(), args[0], args[1]); err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(map[string]any{"deleted": map[string]any{"name": args[0], "alias": args[1]}})
				}
				fmt.Fprintf(a.stdout, "deleted alias %s of %s\n", args[1], args[0])
				return nil
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

func (a *app) modelsStageCommand() *cobra.Command {
	var archive bool
	c := &cobra.Command{
		Use:   "stage NAME VERSION STAGE",
		Short: "Move a version to a stage: None, Staging, Production or Archived",
		Args:  cobra.ExactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			version, err := tracking.ParseVersion(args[1])
			if err != nil {
				return err
			}
			stage, err := tracking.ParseStage(args[2])
			if err != nil {
				return err
			}
			return a.withStore(c, func(st tracking.Store) error {
				ctx := c.Context()
				var before []*tracking.ModelVersion
				if archive {
					if before, err = st.ListModelVersions(ctx, args[0]); err != nil {
						return err
					}
				}
				mv, err := st.TransitionStage(ctx, args[0], version, stage, archive)
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(map[string]any{"model_version": mv})
				}
				fmt.Fprintf(a.stdout, "%s version %d is now in stage %s\n", mv.Name, mv.Version, mv.Stage)
				for _, v := range before {
					if v.Version != version && v.Stage == stage {
						fmt.Fprintf(a.stdout, "%s version %d moved from %s to Archived\n", mv.Name, v.Version, stage)
					}
				}
				return nil
			})
		},
	}
	c.Flags().BoolVar(&archive, "archive-existing", false, "move the other versions in this stage (Staging or Production) to Archived")
	a.addOutputFlag(c)
	return c
}

func (a *app) modelsDeleteCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "delete NAME [VERSION]",
		Short: "Delete a registered model with all its versions, or one version (its aliases go too)",
		Long: `Delete a registered model with all its versions and aliases, or only one
version and the aliases pointing to it. Version numbers are never reused.
The model directories stay in the runs' artifacts.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			version := 0
			if len(args) == 2 {
				v, err := tracking.ParseVersion(args[1])
				if err != nil {
					return err
				}
				version = v
			}
			return a.withStore(c, func(st tracking.Store) error {
				var err error
				if version == 0 {
					err = st.DeleteRegisteredModel(c.Context(), args[0])
				} else {
					err = st.DeleteModelVersion(c.Context(), args[0], version)
				}
				if err != nil {
					return err
				}
				deleted := map[string]any{"name": args[0]}
				what := "registered model " + args[0]
				if version != 0 {
					deleted["version"] = version
					what = "version " + strconv.Itoa(version) + " of " + args[0]
				}
				if a.output == "json" {
					return a.printJSON(map[string]any{"deleted": deleted})
				}
				fmt.Fprintf(a.stdout, "deleted %s\n", what)
				return nil
			})
		},
	}
	a.addOutputFlag(c)
	return c
}

// latestOf returns the highest version of a model, or "-".
func latestOf(m *tracking.RegisteredModel) string {
	latest := 0
	for _, v := range m.LatestVersions {
		latest = max(latest, v.Version)
	}
	if latest == 0 {
		return "-"
	}
	return strconv.Itoa(latest)
}

// aliasList renders aliases as "champion=2, challenger=3", or "-".
func aliasList(aliases map[string]int) string {
	if len(aliases) == 0 {
		return "-"
	}
	names := make([]string, 0, len(aliases))
	for n := range aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + strconv.Itoa(aliases[n])
	}
	return strings.Join(parts, ", ")
}

// stageList renders the latest version of each stage other than None, as
// "Production=2, Staging=3", or "-".
func stageList(m *tracking.RegisteredModel) string {
	var parts []string
	for _, v := range m.LatestVersions {
		if v.Stage != tracking.StageNone {
			parts = append(parts, string(v.Stage)+"="+strconv.Itoa(v.Version))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

type exportOptions struct {
	format string
	out    string
	path   string
}

// modelsExportCommand is `mlrun models export`.
func (a *app) modelsExportCommand() *cobra.Command {
	var o exportOptions
	c := &cobra.Command{
		Use:   "export RUN_OR_MODEL_URI",
		Short: "Write a logged model in another format (ONNX)",
		Long: `Export a model directory that a run logged, or a registered version, to ONNX:
the preprocessing the model learned and the estimator in one graph that ONNX
Runtime runs (inputs named after the model's columns; outputs label and
probabilities, or variable for regressors). RUN_OR_MODEL_URI is a run id or
unique prefix (its --path model directory), runs:/... or models:/....`,
		Example: `  mlrun models export 3f2a --format onnx -o iris.onnx
  mlrun models export models:/iris@champion -o champion.onnx`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error { return a.exportModel(c, st, args[0], o) })
		},
	}
	f := c.Flags()
	f.StringVar(&o.format, "format", "onnx", "output format (only onnx)")
	f.StringVarP(&o.out, "output-file", "o", "model.onnx", "file to write")
	f.StringVar(&o.path, "path", "model", "artifact path of the model directory in the run")
	return c
}

func (a *app) exportModel(c *cobra.Command, st tracking.Store, target string, o exportOptions) error {
	ctx := c.Context()
	if o.format != "onnx" {
		return errs.Errorf(errs.Invalid, "--format must be onnx, not %q", o.format)
	}
	uri := target
	if !strings.HasPrefix(target, "runs:/") && !strings.HasPrefix(target, "models:/") {
		run, err := resolveRun(ctx, st, target)
		if err != nil {
			return err
		}
		uri = "runs:/" + run.Info.ID + "/" + strings.TrimSuffix(filepath.ToSlash(o.path), "/")
	} else if c.Flags().Changed("path") {
		return errs.Errorf(errs.Invalid, "--path applies to a run id, not to the model URI %q", target)
	}
	model, err := registry.Resolve(ctx, st, artifact.SchemesFor(st), uri)
	if err != nil {
		return err
	}
	defer model.Close()
	m, err := modelfile.Load(model.Dir, catalog.Builtin().Lookup)
	if err != nil {
		return err
	}
	data, err := onnx.Export(m)
	if err != nil {
		return err
	}
	if err := writeFileAtomically(o.out, data); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s (%d bytes, ONNX) from %s\n", o.out, len(data), uri)
	return nil
}

// writeFileAtomically writes data to a temporary file beside path and
// renames it to path, so that path is never half-written.
func writeFileAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return errs.Errorf(errs.Invalid, "cannot write %s in %s: %v", filepath.Base(path), filepath.Dir(path), err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
