package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"yiku/adapters"
	"yiku/adapters/runtime"
)

func init() { extraCommands = append(extraCommands, newAdapterCmd) }

func newAdapterCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "adapter",
		Short: "Run a department's adapter pipelines (legacy systems to and from the hub)",
	}
	var path string
	var once bool
	var logLevel string
	run := &cobra.Command{
		Use:   "run -c adapter.yaml",
		Short: "Run the pipelines of an adapter config until stopped (or drained, with --once)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := loadAdapterConfig(path, stderr)
			if err != nil {
				return err
			}
			opt := runtime.Options{Once: once, Log: newLogger(stderr, logLevel, "text")}
			if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
				opt.Progress = stderr
			}
			r, err := runtime.NewRunner(cfg, opt)
			if err != nil {
				return err
			}
			stats := r.Run(c.Context())
			fmt.Fprint(stdout, runtime.Summary(stats))
			for _, s := range stats {
				if s.Err != nil {
					return fmt.Errorf("adapter: pipeline %s failed", s.Pipeline)
				}
			}
			return nil
		},
	}
	run.Flags().StringVarP(&path, "config", "c", "adapter.yaml", "adapter config file")
	run.Flags().BoolVar(&once, "once", false, "stop when every source has nothing more to read")
	run.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")

	var lintPath string
	lint := &cobra.Command{
		Use:   "lint -c adapter.yaml",
		Short: "Check an adapter config without connecting to anything; errors name the line",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			cfg, err := loadAdapterConfig(lintPath, stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: ok (%d pipelines)\n", lintPath, len(cfg.Pipelines))
			return nil
		},
	}
	lint.Flags().StringVarP(&lintPath, "config", "c", "adapter.yaml", "adapter config file")

	conns := &cobra.Command{
		Use:   "connectors",
		Short: "List the sources and sinks with their config spec",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			fmt.Fprintln(stdout, "SOURCES")
			for _, n := range adapters.SourceNames() {
				s, _ := adapters.LookupSource(n)
				fmt.Fprintf(stdout, "\n%s\n", indent(s.Doc))
			}
			fmt.Fprintln(stdout, "\nSINKS")
			for _, n := range adapters.SinkNames() {
				s, _ := adapters.LookupSink(n)
				fmt.Fprintf(stdout, "\n%s\n", indent(s.Doc))
			}
			return nil
		},
	}
	cmd.AddCommand(run, lint, conns)
	return cmd
}

// loadAdapterConfig loads a config; its mistakes are usage errors (exit 2),
// printed one per line with the line they are on.
func loadAdapterConfig(path string, stderr io.Writer) (*runtime.Config, error) {
	cfg, err := runtime.Load(path)
	var errs runtime.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
		return nil, usageError{fmt.Errorf("%s: %d problem(s) in the adapter config", path, len(errs))}
	}
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
