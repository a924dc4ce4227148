package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newObjectionCmd) }

// objectionClient talks to a running hub's objections API.
type objectionClient struct {
	*hubClient
	out io.Writer
}

func newObjectionCmd(stdout, _ io.Writer) *cobra.Command {
	cl := &objectionClient{hubClient: newHubClient(), out: stdout}
	cmd := &cobra.Command{
		Use:   "objection",
		Short: "Data objections (疑义校核): dispute a shared record, answer, follow on a running hub",
	}
	cl.bind(cmd)
	cmd.AddCommand(objectionRaiseCmd(cl), objectionListCmd(cl), objectionShowCmd(cl),
		objectionReasonCmd(cl, "reject", "Reject an objection with a reason (the providing department)", "/api/v1/objections/%s/reject", true),
		objectionReasonCmd(cl, "withdraw", "Withdraw an objection you raised", "/api/v1/objections/%s/withdraw", false))
	return cmd
}

func objectionRaiseCmd(cl *objectionClient) *cobra.Command {
	var (
		resource, subject, problem, evidence, purpose, caseNo string
		version                                               int
		fields                                                []string
	)
	cmd := &cobra.Command{
		Use:   "raise",
		Short: "Dispute fields of the current version of a record you may read",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"resource": resource, "subject": subject, "version": version, "fields": fields,
				"problem": problem, "evidence": evidence, "purpose": purpose, "case_number": caseNo}
			return cl.print(cmd.Context(), http.MethodPost, "/api/v1/objections", body)
		},
	}
	f := cmd.Flags()
	f.StringVar(&resource, "resource", "", "resource id (required)")
	f.StringVar(&subject, "subject", "", "the record's subject key: ID number or credit code (required)")
	f.IntVar(&version, "version", 0, "the record version you dispute, as a read returned it (required)")
	f.StringSliceVar(&fields, "fields", nil, "the fields in question, comma separated (required)")
	f.StringVar(&problem, "problem", "", "what is wrong (required)")
	f.StringVar(&evidence, "evidence", "", "evidence, as text")
	f.StringVar(&purpose, "purpose", "", "the purpose (事由) under which you read the record (required)")
	f.StringVar(&caseNo, "case-number", "", "case number (办件编号), required for officers")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		for _, n := range []string{"resource", "subject", "version", "fields", "problem", "purpose"} {
			if !cmd.Flags().Changed(n) {
				return usageError{fmt.Errorf("--%s is required", n)}
			}
		}
		return nil
	}
	return cmd
}

func objectionListCmd(cl *objectionClient) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:       "list mine|to-me|overdue",
		Short:     "List objections your department raised, those against its records, or the overdue ones",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"mine", "to-me", "overdue"},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "mine", "to-me", "overdue":
			default:
				return usageError{fmt.Errorf("list %q: use mine, to-me or overdue", args[0])}
			}
			q := url.Values{}
			if status != "" {
				q.Set("status", status)
			}
			return cl.print(cmd.Context(), http.MethodGet, "/api/v1/objections/"+args[0]+"?"+q.Encode(), nil)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "open, corrected, rejected or withdrawn")
	return cmd
}

func objectionShowCmd(cl *objectionClient) *cobra.Command {
	var history bool
	cmd := &cobra.Command{
		Use:   "show <objection id>",
		Short: "Show an objection (with --history every step: who, when, why)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/objections/" + url.PathEscape(args[0])
			if history {
				path += "/history"
			}
			return cl.print(cmd.Context(), http.MethodGet, path, nil)
		},
	}
	cmd.Flags().BoolVar(&history, "history", false, "show the objection's history")
	return cmd
}

func objectionReasonCmd(cl *objectionClient, name, short, pathf string, required bool) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   name + " <objection id>",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if required && strings.TrimSpace(reason) == "" {
				return usageError{fmt.Errorf("--reason is required")}
			}
			return cl.print(cmd.Context(), http.MethodPost, fmt.Sprintf(pathf, url.PathEscape(args[0])), map[string]any{"reason": reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required for reject)")
	return cmd
}

func (cl *objectionClient) print(ctx context.Context, method, path string, body any) error {
	data, _, err := cl.do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("objection: %w", err)
	}
	return printJSON(cl.out, data)
}
