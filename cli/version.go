package cli

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"yiku/hub"
)

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(stdout, "yiku %s (%s, %s/%s)\n", hub.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
