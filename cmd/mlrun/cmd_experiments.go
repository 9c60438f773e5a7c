package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/tracking"
)

func (a *app) experimentsCommand() *cobra.Command {
	c := &cobra.Command{Use: "experiments", Short: "List and create experiments"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List experiments",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				exps, err := st.ListExperiments(c.Context(), tracking.ActiveOnly)
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(map[string]any{"experiments": exps})
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tCREATED\tARTIFACT LOCATION")
				for _, e := range exps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.ID, termSafe(e.Name), formatTime(e.CreationTime), termSafe(e.ArtifactLocation))
				}
				return tw.Flush()
			})
		},
	}
	a.addOutputFlag(list)
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an experiment",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.withStore(c, func(st tracking.Store) error {
				e, err := st.CreateExperiment(c.Context(), args[0], nil)
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(e)
				}
				fmt.Fprintf(a.stdout, "created experiment %s (id %s)\n", e.Name, e.ID)
				return nil
			})
		},
	}
	a.addOutputFlag(create)
	c.AddCommand(list, create)
	return c
}
