package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"yiku/audit"
	"yiku/audit/journal"
	auditstore "yiku/audit/store"
	"yiku/cryptosuite"
	"yiku/fault"
	"yiku/hub"
	"yiku/identity"
	"yiku/identity/bootstrap"
	"yiku/identity/identityapi"
	"yiku/policies"
	"yiku/storage"
)

func init() { extraCommands = append(extraCommands, newAdminCmd) }

// newAdminCmd holds the operator's commands that work on the database
// directly, before any administrator exists to use the API.
func newAdminCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Operator commands on the hub's database (first administrator)"}
	var (
		dbURL, jwtKey, secretFile   string
		deptCode, deptName, divCode string
		name, display, suite        string
		ttl                         time.Duration
	)
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Create the first catalog admin of a production hub and print its token once",
		Long: `Creates the e-government office's department (when missing) and its first
catalog admin, records the act in the audit trail, and prints a bearer token
for that admin once on stdout. Refuses when an active catalog admin exists:
further principals and tokens are made through the API by that admin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range []struct{ flag, v string }{{"--database-url", dbURL}, {"--jwt-key-file", jwtKey}, {"--secret-key-file", secretFile}} {
				if f.v == "" {
					return usageError{fmt.Errorf("%s is required (the same value yiku serve uses)", f.flag)}
				}
			}
			if _, err := cryptosuite.Get(suite); err != nil {
				return usageError{fmt.Errorf("--crypto: %q is not default or sm", suite)}
			}
			ctx := cmd.Context()
			db, err := storage.Open(ctx, dbURL)
			if err != nil {
				return usageError{fmt.Errorf("--database-url: %w", err)}
			}
			defer db.Close()
			if err := db.MigrateUp(ctx); err != nil {
				return err
			}
			cs := cryptosuite.Must(cryptosuite.Name(suite))
			key, err := identity.LoadOrCreateKey(jwtKey, cs, false)
			if err != nil {
				return usageError{fmt.Errorf("--jwt-key-file: %w", err)}
			}
			secret, err := hub.LoadSecret(secretFile, false)
			if err != nil {
				return usageError{err}
			}
			keys, err := audit.DeriveKeys(secret, cs.Name())
			if err != nil {
				return err
			}
			trail, err := journal.New(ctx, auditstore.New(db.Gorm), keys)
			if err != nil {
				return err
			}
			enf, err := policies.NewEnforcer(ctx, db.Gorm)
			if err != nil {
				return err
			}
			auth := identity.NewAuthenticator(identity.NewStore(db.Gorm), cs, key, ttl)
			res, err := bootstrap.FirstAdmin(ctx, bootstrap.Deps{Store: auth.Store(), Creator: identityapi.New(auth, enf), Tokens: auth, Audit: trail},
				bootstrap.Request{
					Department: identity.Department{Code: deptCode, Name: deptName, Level: identity.LevelDistrict, DivisionCode: divCode},
					Name:       name, Display: display, TokenTTL: ttl,
				})
			if fe, ok := fault.As(err); ok && (fe.Kind == fault.Conflict || fe.Kind == fault.Invalid) {
				return usageError{errors.New(fe.Message)}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, res.Token)
			fmt.Fprintf(stderr, "created catalog admin %s (id %s) in department %s; the token above is shown once and is valid until %s.\n"+
				"Use it as 'Authorization: Bearer <token>' to create further principals (POST /api/v1/admin/principals) and their credentials.\n",
				res.Principal.Name, res.Principal.ID, res.Principal.DepartmentCode, res.Expires.Format(time.RFC3339))
			return nil
		},
	}
	f := initCmd.Flags()
	f.StringVar(&dbURL, "database-url", envOr("YIKU_DATABASE_URL", ""), "postgres://… (env YIKU_DATABASE_URL)")
	f.StringVar(&jwtKey, "jwt-key-file", envOr("YIKU_JWT_KEY_FILE", ""), "the PEM Ed25519 key yiku serve signs tokens with (env YIKU_JWT_KEY_FILE)")
	f.StringVar(&secretFile, "secret-key-file", envOr("YIKU_SECRET_KEY_FILE", ""), "the hub's secret file, for the audit trail's keys (env YIKU_SECRET_KEY_FILE)")
	f.StringVar(&deptCode, "department-code", "egov", "code of the e-government office's department")
	f.StringVar(&deptName, "department-name", "电子政务办公室", "name of that department, when it is created")
	f.StringVar(&divCode, "division-code", "", "GB/T 2260 division code of the district, e.g. 431302")
	f.StringVar(&name, "name", "egov-admin", "principal name of the first catalog admin")
	f.StringVar(&display, "display-name", "", "display name of the first catalog admin")
	f.DurationVar(&ttl, "token-ttl", 12*time.Hour, "lifetime of the printed token")
	f.StringVar(&suite, "crypto", envOr("YIKU_CRYPTO", "default"), "the cryptographic suite yiku serve runs with (env YIKU_CRYPTO)")
	cmd.AddCommand(initCmd)
	return cmd
}
