package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
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
	var paths []string
	var once bool
	var logLevel string
	run := &cobra.Command{
		Use:   "run -c adapter.yaml [-c other.yaml ...]",
		Short: "Run the pipelines of adapter configs until stopped (or drained, with --once)",
		Long: `Run the pipelines of one or more adapter configs in one process, with one
progress line and one summary. -c may be repeated and may name a folder
(every *.yaml in it). With --once the run ends when every source is drained;
a pipeline receiving from the hub (hub_subscription) then also waits until
the run's other pipelines have ended and the hub has applied what they
published, so publishers and receivers can run together:

  yiku adapter run -c adapters/examples --once`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfgs, err := loadAdapterConfigs(paths, stderr)
			if err != nil {
				return err
			}
			opt := runtime.Options{Once: once, Log: newLogger(stderr, logLevel, "text")}
			if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
				opt.Progress = stderr
			}
			var runners []*runtime.Runner
			for _, cfg := range cfgs {
				r, err := runtime.NewRunner(cfg, opt)
				if err != nil {
					return err
				}
				runners = append(runners, r)
			}
			g, err := runtime.NewGroup(runners...)
			if err != nil {
				return usageError{err}
			}
			stats := g.Run(c.Context())
			fmt.Fprint(stdout, runtime.Summary(stats))
			var failed []string
			for _, s := range stats {
				if s.Err != nil {
					failed = append(failed, s.Pipeline)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("adapter: pipeline(s) failed: %s", strings.Join(failed, ", "))
			}
			return nil
		},
	}
	run.Flags().StringArrayVarP(&paths, "config", "c", []string{"adapter.yaml"}, "adapter config file or folder of them (repeatable)")
	run.Flags().BoolVar(&once, "once", false, "stop when every source has nothing more to read")
	run.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")

	var lintPaths []string
	lint := &cobra.Command{
		Use:   "lint -c adapter.yaml [-c other.yaml ...]",
		Short: "Check adapter configs without connecting to anything; errors name the line",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			cfgs, err := loadAdapterConfigs(lintPaths, stderr)
			if err != nil {
				return err
			}
			for _, cfg := range cfgs {
				fmt.Fprintf(stdout, "%s: ok (%d pipelines)\n", cfg.Path(), len(cfg.Pipelines))
			}
			return nil
		},
	}
	lint.Flags().StringArrayVarP(&lintPaths, "config", "c", []string{"adapter.yaml"}, "adapter config file or folder of them (repeatable)")

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

// loadAdapterConfigs loads configs, expanding folders to the *.yaml files
// in them; every mistake of every file is printed with its line and they
// are usage errors (exit 2).
func loadAdapterConfigs(paths []string, stderr io.Writer) ([]*runtime.Config, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, usageError{fmt.Errorf("adapter config: %w", err)}
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := filepath.Glob(filepath.Join(p, "*.yaml"))
		if err != nil {
			return nil, usageError{err}
		}
		if len(found) == 0 {
			return nil, usageError{fmt.Errorf("adapter config: no *.yaml file in %s", p)}
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var (
		cfgs     []*runtime.Config
		problems int
	)
	for _, f := range files {
		cfg, err := runtime.Load(f)
		var errs runtime.Errors
		switch {
		case errors.As(err, &errs):
			for _, e := range errs {
				fmt.Fprintln(stderr, e.Error())
			}
			problems += len(errs)
		case err != nil:
			fmt.Fprintln(stderr, err.Error())
			problems++
		default:
			cfgs = append(cfgs, cfg)
		}
	}
	if problems > 0 {
		return nil, usageError{fmt.Errorf("%d problem(s) in the adapter config(s)", problems)}
	}
	return cfgs, nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
