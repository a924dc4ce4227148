package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"yiku/cryptosuite"
	"yiku/keyring"
)

func init() { extraCommands = append(extraCommands, newKeysCmd) }

// newKeysCmd manages the data key file (package keyring): the
// key-encryption keys that wrap the data keys of what the hub encrypts at
// rest. It works on the file alone; no hub need run.
func newKeysCmd(stdout, _ io.Writer) *cobra.Command {
	var path, suite string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the data key file (init, rotate, status)",
		Long: `The data key file holds the key-encryption keys that wrap the data key of
everything the hub encrypts at rest. It is never overwritten: losing a key
loses what it wrapped. Rotation adds a key that wraps new data keys; the older
keys stay and keep what they wrapped readable.`,
	}
	cmd.PersistentFlags().StringVar(&path, "data-key-file", envOr("YIKU_DATA_KEY_FILE", ""), "the data key file (env YIKU_DATA_KEY_FILE)")
	need := func() error {
		if path == "" {
			return usageError{errors.New("--data-key-file is required (or YIKU_DATA_KEY_FILE)")}
		}
		return nil
	}
	checkSuite := func() (cryptosuite.Name, error) {
		s, err := cryptosuite.Get(suite)
		if err != nil || suite == "" {
			return "", usageError{fmt.Errorf("--crypto %q is not default or sm", suite)}
		}
		return s.Name(), nil
	}
	initCmd := &cobra.Command{
		Use: "init", Short: "Create the data key file with one key (mode 0600)", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := need(); err != nil {
				return err
			}
			s, err := checkSuite()
			if err != nil {
				return err
			}
			k, err := keyring.Init(path, s)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created %s with key %s (%s); keep a copy where backups of the data are not\n", path, k.ID, k.Suite)
			return nil
		},
	}
	rotateCmd := &cobra.Command{
		Use: "rotate", Short: "Add a key that wraps new data keys; older keys stay for what they wrapped", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := need(); err != nil {
				return err
			}
			s, err := checkSuite()
			if err != nil {
				return err
			}
			k, err := keyring.Rotate(path, s)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "added key %s (%s) to %s; restart the hub instances to wrap new data keys with it\n", k.ID, k.Suite, path)
			return nil
		},
	}
	for _, c := range []*cobra.Command{initCmd, rotateCmd} {
		c.Flags().StringVar(&suite, "crypto", envOr("YIKU_CRYPTO", string(cryptosuite.Default)), "crypto suite of the new key: default (AES-256-GCM) or sm (SM4-GCM)")
	}
	statusCmd := &cobra.Command{
		Use: "status", Short: "List the keys (id, suite, created, fingerprint) and check the file's mode", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := need(); err != nil {
				return err
			}
			r, err := keyring.Load(path)
			if err != nil {
				return err
			}
			st := r.Status()
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"file": path, "keys": st})
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSUITE\tCREATED\tFINGERPRINT\t")
			for _, k := range st {
				mark := ""
				if k.Newest {
					mark = "wraps new data keys"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Suite, k.Created.Format("2006-01-02 15:04:05Z"), k.Fingerprint, mark)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %d key(s), mode 0600 or stricter\n", path, len(st))
			return nil
		},
	}
	statusCmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(initCmd, rotateCmd, statusCmd)
	return cmd
}
