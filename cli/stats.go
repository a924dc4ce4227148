package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"yiku/audit"
)

func init() { extraCommands = append(extraCommands, newStatsCmd) }

func newStatsCmd(stdout, _ io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "stats", Short: "Statistics from a running hub"}
	var (
		hub, token, from, to, dept string
		asJSON                     bool
	)
	reuse := &cobra.Command{
		Use:   "reuse",
		Short: "Materials supplied from the library instead of asked from applicants (一证通办)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				return usageError{fmt.Errorf("--token (or YIKU_TOKEN) is required")}
			}
			q := url.Values{}
			for k, v := range map[string]string{"from": from, "to": to, "department": dept} {
				if v != "" {
					q.Set(k, v)
				}
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, strings.TrimRight(hub, "/")+"/api/v1/stats/reuse?"+q.Encode(), nil)
			if err != nil {
				return usageError{fmt.Errorf("--hub: %w", err)}
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
			if err != nil {
				return fmt.Errorf("stats: %w", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			if err != nil {
				return fmt.Errorf("stats: read: %w", err)
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("stats: hub answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
			if asJSON {
				_, err := stdout.Write(body)
				return err
			}
			var out struct {
				From  time.Time        `json:"from"`
				To    time.Time        `json:"to"`
				Stats audit.ReuseStats `json:"stats"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				return fmt.Errorf("stats: decode: %w", err)
			}
			printReuse(stdout, out.From, out.To, out.Stats)
			return nil
		},
	}
	reuse.Flags().StringVar(&hub, "hub", envOr("YIKU_HUB", "http://127.0.0.1:8080"), "hub base URL (env YIKU_HUB)")
	reuse.Flags().StringVar(&token, "token", os.Getenv("YIKU_TOKEN"), "bearer credential (env YIKU_TOKEN)")
	reuse.Flags().StringVar(&from, "from", "", "start (RFC 3339 or YYYY-MM-DD; default a year ago)")
	reuse.Flags().StringVar(&to, "to", "", "end (default now)")
	reuse.Flags().StringVar(&dept, "department", "", "only this department's lookups")
	reuse.Flags().BoolVar(&asJSON, "json", false, "print the hub's JSON")
	cmd.AddCommand(reuse)
	return cmd
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func printReuse(w io.Writer, from, to time.Time, st audit.ReuseStats) {
	fmt.Fprintf(w, "Reuse from %s to %s\n", from.Format(time.DateOnly), to.Format(time.DateOnly))
	fmt.Fprintf(w, "  materials supplied from the library: %d\n  lookups: %d (denied %d)\n", st.Supplied, st.Lookups, st.LookupsDenied)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, sec := range []struct {
		title string
		rows  []audit.Count
	}{{"by service item", st.ByServiceItem}, {"by department", st.ByDepartment}, {"by resource", st.ByResource},
		{"by month", st.ByMonth}, {"most reused certificates", st.MostReusedCert}} {
		if len(sec.rows) == 0 {
			continue
		}
		fmt.Fprintf(tw, "\n%s\t\n", sec.title)
		for _, r := range sec.rows {
			fmt.Fprintf(tw, "  %s\t%d\n", r.Key, r.Count)
		}
	}
	_ = tw.Flush()
}
