package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
)

// stepsCommand documents every step kind from its own declarations.
func (a *app) stepsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "steps [KIND]",
		Short: "List the built-in step kinds with their inputs and defaults",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := a.checkOutput(); err != nil {
				return err
			}
			reg := a.kinds()
			kinds := reg.Kinds()
			if len(args) == 1 {
				k, ok := reg.Lookup(args[0])
				if !ok {
					return unknownKind(args[0], reg.Names())
				}
				kinds = kinds[:0]
				kinds = append(kinds, k)
			}
			if a.output == "json" {
				type in struct {
					Name     string `json:"name"`
					Type     string `json:"type"`
					Default  any    `json:"default,omitempty"`
					Required bool   `json:"required,omitempty"`
					Doc      string `json:"doc"`
				}
				type out struct {
					Name string `json:"name"`
					Type string `json:"type"`
					Doc  string `json:"doc"`
				}
				type kind struct {
					Name    string `json:"name"`
					Doc     string `json:"doc"`
					Inputs  []in   `json:"inputs"`
					Outputs []out  `json:"outputs"`
				}
				var list []kind
				for _, k := range kinds {
					kk := kind{Name: k.Name(), Doc: k.Doc(), Inputs: []in{}, Outputs: []out{}}
					for _, i := range k.Inputs() {
						kk.Inputs = append(kk.Inputs, in{i.Name, string(i.Type), i.Default, i.Required, i.Doc})
					}
					for _, o := range k.Outputs() {
						kk.Outputs = append(kk.Outputs, out{o.Name, string(o.Type), o.Doc})
					}
					list = append(list, kk)
				}
				return a.printJSON(map[string]any{"steps": list})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
			for i, k := range kinds {
				if i > 0 {
					fmt.Fprintln(tw)
				}
				fmt.Fprintf(tw, "%s\t%s\n", k.Name(), k.Doc())
				for _, in := range k.Inputs() {
					def := ""
					switch {
					case in.Required:
						def = "required"
					case in.Default != nil:
						def = fmt.Sprintf("default %v", in.Default)
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", in.Name, in.Type, def, in.Doc)
				}
				for _, o := range k.Outputs() {
					fmt.Fprintf(tw, "  -> %s\t%s\t\t%s\n", o.Name, o.Type, o.Doc)
				}
			}
			return tw.Flush()
		},
	}
	a.addOutputFlag(c)
	return c
}

func unknownKind(name string, known []string) error {
	return errs.Errorf(errs.NotFound, "unknown step kind %q (known: %s)", name, strings.Join(known, ", "))
}
