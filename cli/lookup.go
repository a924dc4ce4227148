package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"yiku/lookup"
)

func init() { extraCommands = append(extraCommands, newLookupCmd) }

func newLookupCmd(stdout, _ io.Writer) *cobra.Command {
	cl := newHubClient()
	var (
		req     lookup.Request
		asJSON  bool
		records bool
	)
	cmd := &cobra.Command{
		Use:   "lookup",
		Short: "Reuse lookup (一证通办): which of an applicant's materials for a service item the library supplies",
		Long: "Asks a running hub (POST /api/v1/lookups) which materials of a service item it can supply from the\n" +
			"library for an applicant (resident ID number or unified social credit code), for a case and purpose.\n" +
			"The hub audits the lookup. Exit status 1 if the hub refuses the call, 2 for a usage error.",
		Example: "  yiku lookup --applicant 431302198506159913 --item social-security-card --case GSC-2026-0001 --purpose 社会保障卡申领",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The hub checks the same rules; checking first turns a typo into
			// a usage error instead of an audited failed call.
			if _, _, err := lookup.Check(req); err != nil {
				return usageError{err}
			}
			data, _, err := cl.do(cmd.Context(), http.MethodPost, "/api/v1/lookups", req)
			if err != nil {
				return fmt.Errorf("lookup: %w", err)
			}
			if asJSON {
				_, err := stdout.Write(append(data, '\n'))
				return err
			}
			var res lookup.Result
			if err := json.Unmarshal(data, &res); err != nil {
				return fmt.Errorf("lookup: decode: %w", err)
			}
			return printLookup(stdout, res, records)
		},
	}
	cl.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&req.Applicant, "applicant", "", "applicant's resident ID number or unified social credit code (required)")
	f.StringVar(&req.ServiceItem, "item", "", "service item code, e.g. social-security-card (required)")
	f.StringVar(&req.CaseNumber, "case", "", "case number (办件编号) the lookup serves (required)")
	f.StringVar(&req.Purpose, "purpose", "", "purpose (事由) of the lookup (required)")
	f.BoolVar(&asJSON, "json", false, "print the hub's JSON answer")
	f.BoolVar(&records, "records", false, "also print each supplied record (projected and masked)")
	return cmd
}

// printLookup writes a lookup answer as a table, one row per material,
// followed by the summary and what the applicant must bring.
func printLookup(w io.Writer, res lookup.Result, records bool) error {
	fmt.Fprintf(w, "%s (%s) for %s, case %s, purpose %s\n\n", res.ItemName, res.ServiceItem, res.Applicant, res.CaseNumber, res.Purpose)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MATERIAL\tSTATUS\tRESOURCE\tDETAIL")
	for _, m := range res.Materials {
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", m.Code, m.Name, m.Status, dash(m.Resource), materialDetail(m))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nsupplied %d, not available %d, not permitted %d\n",
		res.Summary[lookup.Supplied], res.Summary[lookup.NotAvailable], res.Summary[lookup.NotPermitted])
	if len(res.ToBring) > 0 {
		fmt.Fprintf(w, "the applicant brings: %s\n", strings.Join(res.ToBring, "、"))
	} else {
		fmt.Fprintln(w, "the applicant brings nothing")
	}
	if records {
		for _, m := range res.Materials {
			if m.Status != lookup.Supplied || len(m.Record) == 0 {
				continue
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, m.Record, "  ", "  "); err != nil {
				return fmt.Errorf("lookup: record of %s: %w", m.Code, err)
			}
			fmt.Fprintf(w, "\n%s (%s, version %d):\n  %s\n", m.Code, m.Resource, m.Version, buf.String())
		}
	}
	return nil
}

func materialDetail(m lookup.MaterialResult) string {
	switch m.Status {
	case lookup.Supplied:
		d := m.Basis + "; fields " + strings.Join(m.Fields, ",")
		if c := m.Certificate; c != nil {
			d = "certificate " + strings.ToUpper(c.Validity)
			if c.ValidUntil != "" {
				d += " (valid until " + c.ValidUntil + ")"
			}
			if c.Reason != "" {
				d += ": " + c.Reason
			}
			d += "; " + m.Basis
		}
		return d
	default:
		return m.Reason
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
