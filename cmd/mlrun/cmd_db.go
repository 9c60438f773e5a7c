package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlrun/mlrun/errs"
	"github.com/mlrun/mlrun/internal/sqlstore"
	"github.com/mlrun/mlrun/tracking"
)

// versioned is a store whose schema has a version (the SQL stores).
type versioned interface {
	SchemaVersion(ctx context.Context) (current, latest int, err error)
}

func (a *app) dbCommand() *cobra.Command {
	c := &cobra.Command{Use: "db", Short: "Upgrade or copy the tracking database"}
	upgrade := &cobra.Command{
		Use:   "upgrade",
		Short: "Apply the schema migrations this mlrun knows to the store",
		Long: `Upgrade the tracking store's schema to the latest version this mlrun knows,
as 'mlflow db upgrade' does. Migrations are applied in order, in one
transaction, while other processes wait (a lock); every command also applies
them when it opens the store. A store migrated by a newer mlrun is refused.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			st, loc, err := a.openStore(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			v, ok := st.(versioned)
			if !ok {
				return errs.Errorf(errs.Invalid, "the store %s has no schema that mlrun manages", loc)
			}
			current, latest, err := v.SchemaVersion(c.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "store %s is at schema version %d (the latest this mlrun knows: %d)\n", loc, current, latest)
			return nil
		},
	}
	var from, to string
	cp := &cobra.Command{
		Use:   "copy --from URI --to URI",
		Short: "Copy a whole store into a new, empty one",
		Long: `Copy every experiment, run, param, metric point, tag, registered model,
version, alias, schedule, fire and step cache entry from one store to another,
for example from a SQLite file to the team's PostgreSQL database:

  mlrun db copy --from sqlite:///mlruns/mlrun.db --to postgresql://me@db:5432/mlrun

The destination must be new (no runs, models or schedules). Artifact URIs are
copied as they are: the artifacts stay where they are. The copy is checked by
comparing each table's row count and checksum on both sides.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return errs.Errorf(errs.Invalid, "give both --from and --to")
			}
			ctx := c.Context()
			open := func(uri string) (tracking.Store, sqlstore.DB, error) {
				loc, err := a.stores.Parse(uri, a.artifacts)
				if err != nil {
					return nil, nil, err
				}
				st, err := a.stores.Open(ctx, loc)
				if err != nil {
					return nil, nil, err
				}
				db, ok := st.(sqlstore.DB)
				if !ok {
					st.Close()
					return nil, nil, errs.Errorf(errs.Invalid, "store %s is not a SQL database; db copy moves SQLite and PostgreSQL stores", loc)
				}
				return st, db, nil
			}
			src, srcDB, err := open(from)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, dstDB, err := open(to)
			if err != nil {
				return err
			}
			defer dst.Close()
			sums, err := sqlstore.Copy(ctx, srcDB, dstDB)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "TABLE\tROWS\tCHECKSUM (both sides)")
			for _, s := range sums {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Table, s.Rows, s.Checksum[:16])
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "copied; every table's rows and checksum match")
			return nil
		},
	}
	cp.Flags().StringVar(&from, "from", "", "the store to copy (tracking URI)")
	cp.Flags().StringVar(&to, "to", "", "the new store to fill (tracking URI)")
	c.AddCommand(upgrade, cp)
	return c
}
