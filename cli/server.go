package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/text/width"

	"yiku/config"
	"yiku/demo"
	"yiku/hub"
)

func newDevCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the hub with everything embedded (SQLite, in-process Kafka-protocol broker) and demo data",
		Args:  cobra.NoArgs,
	}
	config.Flags(cmd.Flags(), config.ModeDev)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := config.Load(cmd.Flags(), config.ModeDev)
		if err != nil {
			return err
		}
		log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
		ctx := cmd.Context()
		h, err := hub.Open(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer h.Close()
		// Under go run, the PID a user sees is go run's, and a SIGTERM to
		// it leaves the hub running; the file names the hub's own.
		pidFile := filepath.Join(cfg.DataDir, "yiku.pid")
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
			return fmt.Errorf("dev: write %s: %w", pidFile, err)
		}
		defer os.Remove(pidFile)
		creds, seeded, err := demo.Seed(ctx, cfg.DataDir, h.Auth, h.Identity, 30*24*3600e9, demoSeeders(h)...)
		if err != nil {
			return err
		}
		// The embedded broker's login goes into credentials.json next to
		// the API keys: kcat and department adapters read it from there.
		k := h.DevKafka
		if creds, err = demo.AddCredentials(cfg.DataDir, creds, demo.Credential{
			Principal: k.Username, DisplayName: "Kafka super user of the embedded broker", Kind: demo.KindKafkaSASL,
			Role: "kafka-superuser", Secret: k.Password, Brokers: k.Brokers, SecurityProtocol: k.Protocol, SASLMechanism: k.Mechanism,
		}); err != nil {
			return err
		}
		ready := make(chan string, 1)
		go func() {
			addr, ok := <-ready
			if !ok {
				return
			}
			printWelcome(stdout, cfg, addr, h.DevKafka, creds, seeded)
		}()
		return h.Run(ctx, ready)
	}
	return cmd
}

func newServeCmd(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hub on real PostgreSQL and Kafka",
		Args:  cobra.NoArgs,
	}
	config.Flags(cmd.Flags(), config.ModeServe)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := config.Load(cmd.Flags(), config.ModeServe)
		if err != nil {
			return err
		}
		log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
		h, err := hub.Open(cmd.Context(), cfg, log)
		if err != nil {
			return err
		}
		defer h.Close()
		log.Info("yiku serving", "http", cfg.HTTPAddr, "kafka", strings.Join(cfg.KafkaBrokers, ","), "version", hub.Version)
		return h.Run(cmd.Context(), nil)
	}
	return cmd
}

func printWelcome(w io.Writer, cfg *config.Config, addr string, kafka *hub.KafkaLogin, creds []demo.Credential, seeded bool) {
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	base := scheme + "://" + addr
	credPath, _ := filepath.Abs(filepath.Join(cfg.DataDir, "credentials.json"))
	state := "restarted with existing data"
	if seeded {
		state = "seeded demo data for Louxing District (娄星区)"
	}
	fmt.Fprintf(w, "\nYiku (一库) dev hub is up — %s\n", state)
	fmt.Fprintf(w, "  HTTP API      %s   (OpenAPI: %s/openapi.json, reference: %s/docs)\n", base, base, base)
	fmt.Fprintf(w, "  Web console   %s/console/   (工作台: sign in by pasting a demo secret)\n", base)
	fmt.Fprintf(w, "  Kafka broker  %s   (embedded, %s %s; user %s, password in credentials.json)\n",
		strings.Join(kafka.Brokers, ","), kafka.Protocol, kafka.Mechanism, kafka.Username)
	fmt.Fprintf(w, "  Data dir      %s\n", cfg.DataDir)
	fmt.Fprintf(w, "  Credentials   %s (mode 0600)\n", credPath)
	pidPath, _ := filepath.Abs(filepath.Join(cfg.DataDir, "yiku.pid"))
	fmt.Fprintf(w, "  PID           %d   (also in %s; stop with Ctrl-C or kill %d)\n\n", os.Getpid(), pidPath, os.Getpid())
	fmt.Fprintln(w, "Demo principals (send as  Authorization: Bearer <secret>):")
	for _, c := range creds {
		if c.Kind == demo.KindKafkaSASL {
			continue
		}
		secret := c.Secret
		if len(secret) > 24 {
			secret = secret[:24] + "…"
		}
		fmt.Fprintf(w, "  %-14s %-18s %-13s %-8s %s\n", c.Principal, c.Role, c.DepartmentCode, c.Kind, secret)
	}
	fmt.Fprintln(w, "\nWeb console sign-in (paste the principal's secret from credentials.json):")
	for _, line := range consoleRoles(creds) {
		fmt.Fprintln(w, "  "+line)
	}
	jq := fmt.Sprintf(`$(jq -r '.[] | select(.principal=="%%s") | .secret' %s)`, credPath)
	fmt.Fprintln(w, "\nTry it:")
	for _, t := range tryIts(base, jq) {
		fmt.Fprintln(w, "  "+t)
	}
	fmt.Fprintln(w, "  "+kcatTry(kafka, credPath))
	fmt.Fprintln(w)
	if f, ok := w.(*os.File); ok {
		_ = f.Sync()
	}
}

// consoleRoles says which demo credential signs in to the console as which
// role, one line per role that people hold.
func consoleRoles(creds []demo.Credential) []string {
	roles := []struct{ role, label string }{
		{"officer", "approval officer (窗口人员)"},
		{"department_admin", "department admin (部门管理员)"},
		{"catalog_admin", "catalog admin (电子政务办)"},
		{"security_reviewer", "security reviewer (安全审计员)"},
		{"citizen", "citizen (市民)"},
	}
	var out []string
	for _, r := range roles {
		var names []string
		for _, c := range creds {
			if c.Role == r.role {
				names = append(names, c.Principal)
			}
		}
		if len(names) > 0 {
			out = append(out, padded(r.label, 34)+strings.Join(names, ", "))
		}
	}
	return out
}

// padded pads s with spaces to n terminal columns (CJK characters take two).
func padded(s string, n int) string {
	cols := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			cols += 2
		default:
			cols++
		}
	}
	if cols >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-cols)
}

func demoSeeders(h *hub.Hub) []demo.Seeder {
	var out []demo.Seeder
	for _, s := range h.DemoSeeders() {
		out = append(out, s)
	}
	return out
}
