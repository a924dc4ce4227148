// Package cli is the `yiku` command line: one cobra command tree whose
// subcommands start the hub (dev, serve), migrate its database and talk to a
// running hub. Run is the whole program; cmd/yiku only sets up signals.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"yiku/config"
)

// usageError marks command-line mistakes, which exit with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Run executes the yiku command line and returns the process exit status:
// 0 on success, 2 for bad usage or configuration, 1 for any other failure.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "yiku: "+oneLine(err))
	var ue usageError
	if config.IsError(err) || errors.As(err, &ue) {
		return 2
	}
	return 1
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "yiku",
		Short:         "Yiku (一库): government data-sharing exchange hub",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newDevCmd(stdout, stderr),
		newServeCmd(stderr),
		newMigrateCmd(stdout),
		newVersionCmd(stdout),
	)
	for _, add := range extraCommands {
		root.AddCommand(add(stdout, stderr))
	}
	// Unknown subcommands are usage errors; no subcommand prints help.
	root.Args = cobra.ArbitraryArgs
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError{fmt.Errorf("unknown command %q (see yiku --help)", args[0])}
		}
		return cmd.Help()
	}
	wrapArgs(root)
	return root
}

// extraCommands are added by the files that define the client commands
// (catalog, share, audit, adapter …), each in its own init.
var extraCommands []func(stdout, stderr io.Writer) *cobra.Command

// wrapArgs makes every argument-validation failure a usage error.
func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		orig := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				// Cobra's message counts arguments but does not name them;
				// the usage line does.
				return usageError{fmt.Errorf("%w (usage: %s)", err, cmd.UseLine())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
