package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/artifact"
	"github.com/mlrun/mlrun/gc"
	"github.com/mlrun/mlrun/tracking"
)

func (a *app) gcCommand() *cobra.Command {
	var o gc.Options
	var olderThan string
	c := &cobra.Command{
		Use:   "gc",
		Short: "Permanently remove deleted runs and their artifacts",
		Long: `Permanently remove runs in the deleted stage, with their params, metrics,
tags and artifacts, as 'mlflow gc' does. --older-than keeps runs deleted more
recently; --run-ids names the runs (they must be deleted). A run that a
registered model version points to is kept unless --force. --dry-run shows
what would go. Safe while other processes use the store: a run restored in
the meantime is kept.`,
		Example: `  mlrun gc --dry-run
  mlrun gc --older-than 30d
  mlrun gc --run-ids 3f59347d,9a24db1b`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if olderThan != "" {
				d, err := gc.ParseAge(olderThan)
				if err != nil {
					return err
				}
				o.OlderThan = d
			}
			return a.withStore(c, func(st tracking.Store) error {
				items, err := gc.Collect(c.Context(), st, artifact.SchemesFor(st), o)
				if a.output == "json" && err == nil {
					return a.printJSON(map[string]any{"runs": items})
				}
				var runs int
				var freed int64
				for _, it := range items {
					switch {
					case it.Kept != "":
						fmt.Fprintf(a.stdout, "kept    %s: %s\n", it.RunID, it.Kept)
					case o.DryRun:
						fmt.Fprintf(a.stdout, "would remove %s (%s)\n", it.RunID, byteSize(it.Bytes))
						runs, freed = runs+1, freed+it.Bytes
					default:
						fmt.Fprintf(a.stdout, "removed %s (%s)\n", it.RunID, byteSize(it.Bytes))
						runs, freed = runs+1, freed+it.Bytes
					}
					if it.Warning != "" {
						fmt.Fprintf(a.stderr, "mlrun: run %s: %s\n", it.RunID, strings.TrimSpace(it.Warning))
					}
				}
				verb := "removed"
				if o.DryRun {
					verb = "would remove"
				}
				fmt.Fprintf(a.stdout, "%s %d run(s), %s of artifacts\n", verb, runs, byteSize(freed))
				return err
			})
		},
	}
	c.Flags().StringVar(&olderThan, "older-than", "", "only runs deleted longer ago than this (30d, 12h, 90m)")
	c.Flags().StringSliceVar(&o.RunIDs, "run-ids", nil, "only these deleted runs (ids or unique prefixes, comma-separated)")
	c.Flags().BoolVar(&o.DryRun, "dry-run", false, "show what would be removed; remove nothing")
	c.Flags().BoolVar(&o.Force, "force", false, "also remove runs that registered model versions point to")
	a.addOutputFlag(c)
	return c
}

// byteSize renders a byte count for people.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
