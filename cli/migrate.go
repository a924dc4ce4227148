package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"yiku/storage"
)

func newMigrateCmd(stdout io.Writer) *cobra.Command {
	var dbURL string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back or list database migrations",
	}
	def := os.Getenv("YIKU_DATABASE_URL")
	if def == "" {
		def = "sqlite:./.yiku/yiku.db"
	}
	cmd.PersistentFlags().StringVar(&dbURL, "database-url", def, "postgres://… or sqlite:PATH (env YIKU_DATABASE_URL)")
	open := func(cmd *cobra.Command) (*storage.DB, error) {
		db, err := storage.Open(cmd.Context(), dbURL)
		if err != nil {
			return nil, usageError{fmt.Errorf("--database-url: %w", err)}
		}
		return db, nil
	}
	cmd.AddCommand(&cobra.Command{
		Use: "up", Short: "Apply every pending migration", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := open(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := db.Migrator()
			if err != nil {
				return err
			}
			n, err := r.Up(cmd.Context())
			if err != nil {
				return err
			}
			v, _ := r.Version(cmd.Context())
			fmt.Fprintf(stdout, "applied %d migration(s); %s schema at version %d\n", n, db.Dialect, v)
			return nil
		},
	})
	var to int64 = -1
	down := &cobra.Command{
		Use: "down", Short: "Roll back the latest migration (or down to --to)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := open(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := db.Migrator()
			if err != nil {
				return err
			}
			if to >= 0 {
				err = r.DownTo(cmd.Context(), to)
			} else {
				err = r.Down(cmd.Context())
			}
			if err != nil {
				return err
			}
			v, _ := r.Version(cmd.Context())
			fmt.Fprintf(stdout, "%s schema at version %d\n", db.Dialect, v)
			return nil
		},
	}
	down.Flags().Int64Var(&to, "to", -1, "roll back to this version (0 = everything)")
	cmd.AddCommand(down)
	cmd.AddCommand(&cobra.Command{
		Use: "status", Short: "List migrations and whether each is applied", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := open(cmd)
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := db.Migrator()
			if err != nil {
				return err
			}
			st, err := r.Status(cmd.Context())
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
		},
	})
	return cmd
}
