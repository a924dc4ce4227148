package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"yiku/audit"
	"yiku/casefile"
)

func init() { extraCommands = append(extraCommands, newStatsCmd) }

func newStatsCmd(stdout, _ io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "stats", Short: "Statistics from a running hub"}
	cl := newHubClient()
	cl.bind(cmd)
	var (
		from, to, dept string
		asJSON         bool
	)
	reuse := &cobra.Command{
		Use:   "reuse",
		Short: "Materials supplied from the library instead of asked from applicants (一证通办)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"from": from, "to": to, "department": dept} {
				if v != "" {
					q.Set(k, v)
				}
			}
			body, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/stats/reuse?"+q.Encode(), nil)
			if err != nil {
				return fmt.Errorf("stats: %w", err)
			}
			if asJSON {
				_, err := stdout.Write(body)
				return err
			}
			var out struct {
				From       time.Time            `json:"from"`
				To         time.Time            `json:"to"`
				Stats      audit.ReuseStats     `json:"stats"`
				Processing []casefile.ItemTimes `json:"processing"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				return fmt.Errorf("stats: decode: %w", err)
			}
			printReuse(stdout, out.From, out.To, out.Stats)
			printProcessing(stdout, out.Processing)
			return nil
		},
	}
	reuse.Flags().StringVar(&from, "from", "", "start (RFC 3339 or YYYY-MM-DD; default a year ago)")
	reuse.Flags().StringVar(&to, "to", "", "end (default now)")
	reuse.Flags().StringVar(&dept, "department", "", "only this department's statistics: materials it was supplied and its records supplied to others")
	reuse.Flags().BoolVar(&asJSON, "json", false, "print the hub's JSON")
	cmd.AddCommand(reuse)
	return cmd
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

// printProcessing writes the case records' processing per service item
// against its time limit.
func printProcessing(w io.Writer, items []casefile.ItemTimes) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "\ncase processing (working days)\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ITEM\tLIMIT\tOPENED\tDECIDED\tFINISHED\tWITHIN LIMIT\tOVERDUE\tMEDIAN\tP90")
	days := func(p *int) string {
		if p == nil {
			return "-"
		}
		return strconv.Itoa(*p)
	}
	for _, it := range items {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", it.ServiceItem, it.TimeLimitDays, it.Opened, it.Decided, it.Finished,
			it.WithinLimit, it.Overdue, days(it.MedianDays), days(it.P90Days))
	}
	_ = tw.Flush()
}
