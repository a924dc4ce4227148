package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newShareCmd) }

// shareClient talks to a running hub's sharing API.
type shareClient struct {
	*hubClient
	out io.Writer
}

func newShareCmd(stdout, _ io.Writer) *cobra.Command {
	cl := &shareClient{hubClient: newHubClient(), out: stdout}
	cmd := &cobra.Command{
		Use:   "share",
		Short: "Share requests (共享申请), grants and \"what may I read?\" on a running hub",
	}
	cl.bind(cmd)
	cmd.AddCommand(shareApplyCmd(cl), shareListCmd(cl), shareShowCmd(cl), shareApproveCmd(cl),
		shareReasonCmd(cl, "reject", "Reject a request with a reason (provider's department admin)", "/api/v1/share-requests/%s/reject", true),
		shareReasonCmd(cl, "withdraw", "Withdraw a pending request of your department", "/api/v1/share-requests/%s/withdraw", false),
		shareGrantsCmd(cl),
		shareReasonCmd(cl, "revoke", "Revoke a grant (provider's department admin)", "/api/v1/grants/%s/revoke", true),
		shareAccessCmd(cl))
	return cmd
}

func shareApplyCmd(cl *shareClient) *cobra.Command {
	var (
		resource, basis, until, from string
		fields, plain, purposes      []string
		items                        []string
		extend                       bool
	)
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Apply for fields of a resource, for purposes, under a legal basis, until a date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := parseWhen(until)
			if err != nil {
				return usageError{fmt.Errorf("--until: %w", err)}
			}
			body := map[string]any{"resource_id": resource, "fields": fields, "plain_fields": plain, "purposes": purposes,
				"legal_basis": basis, "service_items": items, "extend_to_subordinates": extend, "valid_until": u}
			if from != "" {
				f, err := parseWhen(from)
				if err != nil {
					return usageError{fmt.Errorf("--from: %w", err)}
				}
				body["valid_from"] = f
			}
			return cl.print(cmd.Context(), http.MethodPost, "/api/v1/share-requests", body)
		},
	}
	f := cmd.Flags()
	f.StringVar(&resource, "resource", "", "resource id (required)")
	f.StringSliceVar(&fields, "fields", nil, "fields asked for, comma separated (required)")
	f.StringSliceVar(&plain, "plain", nil, "fields needed in plain text")
	f.StringArrayVar(&purposes, "purpose", nil, "a purpose (事由); repeat for several (required)")
	f.StringVar(&basis, "legal-basis", "", "legal basis (required)")
	f.StringArrayVar(&items, "service-item", nil, "a service item or duty served; repeat for several (required)")
	f.StringVar(&from, "from", "", "start of validity (YYYY-MM-DD or RFC 3339; default now)")
	f.StringVar(&until, "until", "", "end of validity (YYYY-MM-DD or RFC 3339, required)")
	f.BoolVar(&extend, "extend-to-subordinates", false, "also for the department's township and community units")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		for _, n := range []string{"resource", "fields", "purpose", "legal-basis", "service-item", "until"} {
			if !cmd.Flags().Changed(n) {
				return usageError{fmt.Errorf("--%s is required", n)}
			}
		}
		return nil
	}
	return cmd
}

func shareListCmd(cl *shareClient) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:       "list mine|to-me|overdue|all",
		Short:     "List requests your department made, those addressed to it, those overdue, or (e-government office, reviewers) every department's",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"mine", "to-me", "overdue", "all"},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "mine", "to-me", "overdue", "all":
			default:
				return usageError{fmt.Errorf("list %q: use mine, to-me, overdue or all", args[0])}
			}
			q := url.Values{}
			if status != "" {
				q.Set("status", status)
			}
			return cl.print(cmd.Context(), http.MethodGet, "/api/v1/share-requests/"+args[0]+"?"+q.Encode(), nil)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "pending, approved, rejected or withdrawn")
	return cmd
}

func shareShowCmd(cl *shareClient) *cobra.Command {
	var history bool
	cmd := &cobra.Command{
		Use:   "show <request id>",
		Short: "Show a request (with --history every state change: who, when, why)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/share-requests/" + url.PathEscape(args[0])
			if history {
				path += "/history"
			}
			return cl.print(cmd.Context(), http.MethodGet, path, nil)
		},
	}
	cmd.Flags().BoolVar(&history, "history", false, "show the request's history")
	return cmd
}

func shareApproveCmd(cl *shareClient) *cobra.Command {
	var (
		fields, plain, purposes []string
		until, reason           string
		noExtend                bool
	)
	cmd := &cobra.Command{
		Use:   "approve <request id>",
		Short: "Approve a request, optionally for fewer fields, plain fields or purposes, or a shorter period",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{"reason": reason}
			if len(fields) > 0 {
				body["fields"] = fields
			}
			if cmd.Flags().Changed("plain") {
				body["plain_fields"] = plain
			}
			if len(purposes) > 0 {
				body["purposes"] = purposes
			}
			if until != "" {
				u, err := parseWhen(until)
				if err != nil {
					return usageError{fmt.Errorf("--until: %w", err)}
				}
				body["valid_until"] = u
			}
			if noExtend {
				body["extend_to_subordinates"] = false
			}
			return cl.print(cmd.Context(), http.MethodPost, "/api/v1/share-requests/"+url.PathEscape(args[0])+"/approve", body)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&fields, "fields", nil, "approve only these fields")
	f.StringSliceVar(&plain, "plain", nil, "fields in plain text (a subset of those asked; --plain= for none)")
	f.StringArrayVar(&purposes, "purpose", nil, "approve only these purposes")
	f.StringVar(&until, "until", "", "a shorter end of validity (YYYY-MM-DD or RFC 3339)")
	f.BoolVar(&noExtend, "no-subordinates", false, "do not extend to subordinate units even if asked")
	f.StringVar(&reason, "reason", "", "comment recorded with the decision")
	return cmd
}

func shareReasonCmd(cl *shareClient, name, short, pathf string, required bool) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   name + " <id>",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if required && strings.TrimSpace(reason) == "" {
				return usageError{fmt.Errorf("--reason is required")}
			}
			return cl.print(cmd.Context(), http.MethodPost, fmt.Sprintf(pathf, url.PathEscape(args[0])), map[string]any{"reason": reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required for reject and revoke)")
	return cmd
}

func shareGrantsCmd(cl *shareClient) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:   "grants [grant id]",
		Short: "List the grants your department gives or holds, or show one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return cl.print(cmd.Context(), http.MethodGet, "/api/v1/grants/"+url.PathEscape(args[0]), nil)
			}
			q := url.Values{}
			if status != "" {
				q.Set("status", status)
			}
			return cl.print(cmd.Context(), http.MethodGet, "/api/v1/grants?"+q.Encode(), nil)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "active, revoked or expired")
	return cmd
}

func shareAccessCmd(cl *shareClient) *cobra.Command {
	var purpose, caseNumber string
	cmd := &cobra.Command{
		Use:   "access [resource id]",
		Short: "What may I read? With a resource, ask the gate for one purpose (and case number)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cl.print(cmd.Context(), http.MethodGet, "/api/v1/access", nil)
			}
			q := url.Values{"purpose": {purpose}}
			if caseNumber != "" {
				q.Set("case_number", caseNumber)
			}
			return cl.print(cmd.Context(), http.MethodGet, "/api/v1/access/"+url.PathEscape(args[0])+"?"+q.Encode(), nil)
		},
	}
	cmd.Flags().StringVar(&purpose, "purpose", "", "purpose (事由) of the read")
	cmd.Flags().StringVar(&caseNumber, "case-number", "", "case number (办件编号), required for people")
	return cmd
}

// parseWhen reads a date (end of that day in China Standard Time is not
// implied: the date means its midnight, CST) or an RFC 3339 time.
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, time.FixedZone("CST", 8*3600))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", s)
	}
	return t, nil
}

// print sends a request and prints the JSON answer indented; an error
// answer becomes the command's error with the hub's code and message.
func (cl *shareClient) print(ctx context.Context, method, path string, body any) error {
	data, _, err := cl.do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("share: %w", err)
	}
	return printJSON(cl.out, data)
}
