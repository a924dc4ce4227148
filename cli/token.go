package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"yiku/cryptosuite"
	"yiku/hub"
	"yiku/identity"
	"yiku/storage"
)

func init() { extraCommands = append(extraCommands, newTokenCmd) }

// newTokenCmd issues a bearer token for a principal of an embedded hub,
// reading the database and signing key from its data dir. Production
// tokens come from POST /api/v1/admin/principals/{id}/tokens.
func newTokenCmd(stdout, _ io.Writer) *cobra.Command {
	var (
		dataDir   string
		principal string
		ttl       time.Duration
		suite     string
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Issue a bearer token for a principal of the embedded (dev) hub",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if principal == "" {
				return usageError{fmt.Errorf("--principal is required")}
			}
			ctx := cmd.Context()
			db, err := storage.Open(ctx, "sqlite:"+filepath.Join(dataDir, "yiku.db"))
			if err != nil {
				return usageError{fmt.Errorf("--data-dir: %w", err)}
			}
			defer db.Close()
			s, err := cryptosuite.Get(suite)
			if err != nil {
				return usageError{fmt.Errorf("--crypto: %w", err)}
			}
			key, err := identity.LoadOrCreateKey(filepath.Join(dataDir, hub.DevTokenKeyFile(s.Name())), s, false)
			if err != nil {
				return usageError{fmt.Errorf("--data-dir: %w", err)}
			}
			auth := identity.NewAuthenticator(identity.NewStore(db.Gorm), s, key, ttl)
			p, err := auth.Store().PrincipalByName(ctx, principal)
			if err != nil {
				return err
			}
			tok, exp, err := auth.IssueToken(p, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, tok)
			fmt.Fprintf(cmd.ErrOrStderr(), "token for %s (%s, %s) valid until %s\n", p.Name, p.Role, p.DepartmentCode, exp.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./.yiku", "data dir of the embedded hub")
	cmd.Flags().StringVar(&principal, "principal", "", "principal name, e.g. officer-gsc")
	cmd.Flags().DurationVar(&ttl, "ttl", 12*time.Hour, "token lifetime")
	cmd.Flags().StringVar(&suite, "crypto", envOr("YIKU_CRYPTO", "default"), "the cryptographic suite the dev hub runs with (env YIKU_CRYPTO)")
	return cmd
}
