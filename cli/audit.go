package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"yiku/audit"
	"yiku/audit/verify"
	"yiku/cryptosuite"
	"yiku/storage"
)

func init() { extraCommands = append(extraCommands, newAuditCmd) }

func newAuditCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Prove the audit trail"}
	cmd.AddCommand(newAuditVerifyCmd(stdout, stderr))
	return cmd
}

func newAuditVerifyCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		dbURL, pubHex, secretFile string
		asJSON, quiet             bool
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Walk every audit chain, checkpoint and subject index row and report what is broken",
		Long: `verify recomputes every audit event's hash over its stored columns and the
previous event's hash, chain by chain, checks each signed checkpoint of a
chain head, and checks that the subject search index holds exactly one row
per subject of every verified event. It exits 0 when the trail is intact, 1
when it found a problem (the first broken link of each chain, and the
missing, stray or misdated index rows — all counted, the first 1,000
listed — each with its chain, position and event id), 2 on bad usage.

Checkpoint signatures are checked against --public-key (hex; several
separated by commas, one per cryptographic suite the trail was written
with), or the keys of both suites derived from --secret-key-file (the hub's
secret); without either, against the key stored with each checkpoint, which
shows integrity but not authorship. Each chain is verified with the suite
it was written with (default: SHA-256 and Ed25519; sm: SM3 and SM2), and
the report counts the chains of each suite.`,
		Args: cobra.NoArgs,
	}
	def := os.Getenv("YIKU_DATABASE_URL")
	if def == "" {
		def = "sqlite:./.yiku/yiku.db"
	}
	cmd.Flags().StringVar(&dbURL, "database-url", def, "postgres://… or sqlite:PATH (env YIKU_DATABASE_URL)")
	cmd.Flags().StringVar(&pubHex, "public-key", os.Getenv("YIKU_AUDIT_PUBLIC_KEY"), "trusted checkpoint key, hex (env YIKU_AUDIT_PUBLIC_KEY)")
	cmd.Flags().StringVar(&secretFile, "secret-key-file", "", "derive the checkpoint key from the hub's secret file instead")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		pub, err := trustedKey(pubHex, secretFile)
		if err != nil {
			return usageError{err}
		}
		ctx := cmd.Context()
		db, err := storage.Open(ctx, dbURL)
		if err != nil {
			return usageError{fmt.Errorf("--database-url: %w", err)}
		}
		defer db.Close()
		opt := verify.Options{Trusted: pub}
		var bar *progressbar.ProgressBar
		if !quiet {
			total, err := verify.Count(ctx, db.SQL())
			if err != nil {
				return err
			}
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("verifying"),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			opt.Progress = func(done int64) { _ = bar.Set64(done) }
		}
		rep, err := verify.Run(ctx, db.SQL(), opt)
		if bar != nil {
			_ = bar.Finish()
		}
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(stdout, "verified %d events in %d chain(s), %d checkpoint(s), %d subject index row(s) in %s (%.0f events/s)\n",
				rep.Events, rep.Chains, rep.Checkpoints, rep.IndexRows, rep.Elapsed.Round(time.Millisecond), rep.Rate())
			for _, name := range cryptosuite.Names() {
				if n := rep.Suites[name]; n > 0 {
					fmt.Fprintf(stdout, "%d chain(s) written with the %s suite\n", n, name)
				}
			}
			if rep.Unanchored > 0 {
				fmt.Fprintf(stdout, "%d event(s) newer than their chain's last checkpoint (hash-chained, not yet signed)\n", rep.Unanchored)
			}
			if pub == nil {
				fmt.Fprintln(stdout, "checkpoint signatures checked against their stored keys only (give --public-key or --secret-key-file)")
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(stdout, "BROKEN: "+p.String())
			}
			if rep.IndexProblems > 0 {
				fmt.Fprintf(stdout, "%d subject index problem(s)", rep.IndexProblems)
				if rep.IndexProblems > verify.MaxListedIndexProblems {
					fmt.Fprintf(stdout, ", the first %d listed", verify.MaxListedIndexProblems)
				}
				fmt.Fprintln(stdout)
			}
		}
		if !rep.OK() {
			return fmt.Errorf("audit trail broken: %d problem(s)", rep.ProblemCount())
		}
		if !asJSON {
			fmt.Fprintln(stdout, "audit trail intact")
		}
		return nil
	}
	return cmd
}

func trustedKey(pubHex, secretFile string) ([][]byte, error) {
	switch {
	case pubHex != "" && secretFile != "":
		return nil, errors.New("give --public-key or --secret-key-file, not both")
	case pubHex != "":
		var keys [][]byte
		for _, h := range strings.Split(pubHex, ",") {
			b, err := hex.DecodeString(strings.TrimSpace(h))
			if err != nil || (len(b) != 32 && len(b) != 65) {
				return nil, errors.New("--public-key: want hex keys of 32 bytes (Ed25519) or 65 bytes (SM2), separated by commas")
			}
			keys = append(keys, b)
		}
		return keys, nil
	case secretFile != "":
		data, err := os.ReadFile(secretFile)
		if err != nil {
			return nil, fmt.Errorf("--secret-key-file: %w", err)
		}
		secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
		if err != nil {
			return nil, fmt.Errorf("--secret-key-file: not hex")
		}
		k, err := audit.DeriveKeys(secret, cryptosuite.Default)
		if err != nil {
			return nil, fmt.Errorf("--secret-key-file: %w", err)
		}
		return k.Trusted, nil
	}
	return nil, nil
}
