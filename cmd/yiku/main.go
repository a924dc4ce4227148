// Command yiku is the Yiku data-sharing hub: `yiku dev` for the embedded
// quick start, `yiku serve` for production, and client and admin commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"yiku/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
