package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/steps"
	"github.com/mlrun/mlrun/tracking"
)

// recordForStep appends what was logged to $MLRUN_STEP_LOG, when a command
// step set it, so that the step cache can replay it on a later run.
func recordForStep(rec steps.ChildRecord) error {
	path := os.Getenv("MLRUN_STEP_LOG")
	if path == "" {
		return nil
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("record for the step cache: %w", err)
	}
	defer f.Close()
	_, err = f.Write(append(line, '\n'))
	return err
}

// logCommand lets a command step (or any script) log to a run: the run in
// $MLRUN_RUN_ID unless --run-id names another.
func (a *app) logCommand() *cobra.Command {
	var runID string
	c := &cobra.Command{
		Use:   "log",
		Short: "Log a param, metric, tag or artifact to a run (the run in $MLRUN_RUN_ID by default)",
		Example: `  mlrun log metric loss 0.25 --step 3
  mlrun log param layers 4
  mlrun log artifact plots/loss.png --path plots`,
	}
	c.PersistentFlags().StringVar(&runID, "run-id", "", "run to log to (default $MLRUN_RUN_ID)")

	withRun := func(c *cobra.Command, fn func(st tracking.Store, id string) error) error {
		id := runID
		if id == "" {
			id = os.Getenv("MLRUN_RUN_ID")
		}
		if id == "" {
			return errs.Errorf(errs.Invalid, "no run to log to: set --run-id or MLRUN_RUN_ID (command steps have it set)")
		}
		st, _, err := a.openStore(c.Context())
		if err != nil {
			return err
		}
		defer st.Close()
		full, err := st.ResolveRunID(c.Context(), id)
		if err != nil {
			return err
		}
		return fn(st, full)
	}

	param := &cobra.Command{
		Use: "param KEY VALUE", Short: "Log a param (immutable once logged)", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return withRun(c, func(st tracking.Store, id string) error {
				if err := st.LogBatch(c.Context(), id, nil, []tracking.Param{{Key: args[0], Value: args[1]}}, nil); err != nil {
					return err
				}
				return recordForStep(steps.ChildRecord{Type: "param", Key: args[0], Value: args[1]})
			})
		},
	}
	var step int64
	metric := &cobra.Command{
		Use: "metric KEY VALUE", Short: "Log a metric point", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			v, err := strconv.ParseFloat(args[1], 64)
			if err != nil || math.IsInf(v, 0) {
				return errs.Errorf(errs.Invalid, "metric %s: %q is not a number", args[0], args[1])
			}
			return withRun(c, func(st tracking.Store, id string) error {
				m := tracking.Metric{Key: args[0], Value: v, Step: step, Timestamp: time.Now().UnixMilli()}
				if err := st.LogBatch(c.Context(), id, []tracking.Metric{m}, nil, nil); err != nil {
					return err
				}
				return recordForStep(steps.ChildRecord{Type: "metric", Key: m.Key, Number: m.Value, Step: m.Step, Timestamp: m.Timestamp})
			})
		},
	}
	metric.Flags().Int64Var(&step, "step", 0, "step of the point")
	tag := &cobra.Command{
		Use: "tag KEY VALUE", Short: "Set a tag", Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return withRun(c, func(st tracking.Store, id string) error {
				if err := st.LogBatch(c.Context(), id, nil, nil, []tracking.Tag{{Key: args[0], Value: args[1]}}); err != nil {
					return err
				}
				return recordForStep(steps.ChildRecord{Type: "tag", Key: args[0], Value: args[1]})
			})
		},
	}
	var dstDir string
	art := &cobra.Command{
		Use: "artifact PATH", Short: "Copy a file or directory into the run's artifacts", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err != nil {
				return errs.Errorf(errs.Invalid, "artifact %s: %v", args[0], err)
			}
			return withRun(c, func(st tracking.Store, id string) error {
				run, err := st.GetRun(c.Context(), id)
				if err != nil {
					return err
				}
				repo, err := artifact.SchemesFor(st).Open(run.Info.ArtifactURI)
				if err != nil {
					return err
				}
				rel := path.Join(filepath.ToSlash(dstDir), filepath.Base(filepath.Clean(args[0])))
				if err := repo.Put(c.Context(), args[0], rel); err != nil {
					return err
				}
				if err := recordForStep(steps.ChildRecord{Type: "artifact", Path: rel}); err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "logged %s to run %s\n", args[0], id)
				return nil
			})
		},
	}
	art.Flags().StringVar(&dstDir, "path", "", "directory inside the run's artifacts")
	c.AddCommand(param, metric, tag, art)
	return c
}
