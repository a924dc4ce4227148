package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newReportCmd) }

func newReportCmd(stdout, _ io.Writer) *cobra.Command {
	cl := newHubClient()
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Supervision reports from a running hub: the assessment (考核通报) and resource freshness",
	}
	cl.bind(cmd)
	cmd.AddCommand(reportAssessCmd(cl, stdout), reportFreshnessCmd(cl, stdout))
	return cmd
}

func reportAssessCmd(cl *hubClient, stdout io.Writer) *cobra.Command {
	var period, format, out string
	cmd := &cobra.Command{
		Use:   "assess",
		Short: "The assessment of a month (2026-11), quarter (2026-Q4) or year (2026) as JSON, CSV or an Excel workbook",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "json", "csv", "xlsx":
			default:
				return usageError{fmt.Errorf("--format %q: use json, csv or xlsx", format)}
			}
			if format == "xlsx" && out == "" {
				return usageError{fmt.Errorf("--format xlsx needs -o FILE")}
			}
			q := url.Values{"period": {period}, "format": {format}}
			data, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/supervision/reports?"+q.Encode(), nil)
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if out == "" {
				if format == "json" {
					return printJSON(stdout, data)
				}
				_, err := stdout.Write(data)
				return err
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			_, err = fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", out, len(data))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&period, "period", "", "2026-11, 2026-Q4 or 2026 (required)")
	f.StringVar(&format, "format", "json", "json, csv or xlsx")
	f.StringVarP(&out, "output", "o", "", "write to FILE instead of standard output")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if period == "" {
			return usageError{fmt.Errorf("--period is required")}
		}
		return nil
	}
	return cmd
}

func reportFreshnessCmd(cl *hubClient, stdout io.Writer) *cobra.Command {
	var provider string
	var stale bool
	cmd := &cobra.Command{
		Use:   "freshness",
		Short: "Resources against their update cycle: last publish, due, stale and overdue by how long",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if provider != "" {
				q.Set("provider", provider)
			}
			if stale {
				q.Set("stale", "true")
			}
			data, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/supervision/freshness?"+q.Encode(), nil)
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			return printJSON(stdout, data)
		},
	}
	cmd.Flags().StringVar(&provider, "provider", "", "one providing department's resources")
	cmd.Flags().BoolVar(&stale, "stale", false, "stale resources only")
	return cmd
}
