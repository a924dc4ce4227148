package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"yiku/migrations"
	"yiku/storage"
)

func newMigrateCmd(stdout io.Writer) *cobra.Command {
	var dbURL string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back or list database migrations",
	}
	cmd.PersistentFlags().StringVar(&dbURL, "database-url", envOr("YIKU_DATABASE_URL", "sqlite:./.yiku/yiku.db"), "postgres://… or sqlite:PATH (env YIKU_DATABASE_URL)")
	// run opens the database, hands its migration runner to fn, and closes it.
	run := func(fn func(ctx context.Context, dialect migrations.Dialect, r *migrations.Runner) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			db, err := storage.Open(cmd.Context(), dbURL)
			if err != nil {
				return usageError{fmt.Errorf("--database-url: %w", err)}
			}
			defer db.Close()
			r, err := db.Migrator()
			if err != nil {
				return err
			}
			return fn(cmd.Context(), db.Dialect, r)
		}
	}
	cmd.AddCommand(&cobra.Command{
		Use: "up", Short: "Apply every pending migration", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, d migrations.Dialect, r *migrations.Runner) error {
			n, err := r.Up(ctx)
			if err != nil {
				return err
			}
			v, _ := r.Version(ctx)
			fmt.Fprintf(stdout, "applied %d migration(s); %s schema at version %d\n", n, d, v)
			return nil
		}),
	})
	var to int64 = -1
	down := &cobra.Command{
		Use: "down", Short: "Roll back the latest migration (or down to --to)", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, d migrations.Dialect, r *migrations.Runner) error {
			var err error
			if to >= 0 {
				err = r.DownTo(ctx, to)
			} else {
				err = r.Down(ctx)
			}
			if err != nil {
				return err
			}
			v, _ := r.Version(ctx)
			fmt.Fprintf(stdout, "%s schema at version %d\n", d, v)
			return nil
		}),
	}
	down.Flags().Int64Var(&to, "to", -1, "roll back to this version (0 = everything)")
	cmd.AddCommand(down)
	cmd.AddCommand(&cobra.Command{
		Use: "status", Short: "List migrations and whether each is applied", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, _ migrations.Dialect, r *migrations.Runner) error {
			st, err := r.Status(ctx)
			if err != nil {
				return err
			}
			for _, s := range st {
				state := "pending"
				if s.Applied {
					state = "applied"
				}
				fmt.Fprintf(stdout, "%05d  %-8s %s\n", s.Version, state, s.Name)
			}
			return nil
		}),
	})
	return cmd
}
