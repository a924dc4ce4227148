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

	"yiku/federation/peer"
)

func init() { extraCommands = append(extraCommands, newPeerCmd) }

// peerClient talks to a running hub's federation API.
type peerClient struct {
	*hubClient
	out io.Writer
}

func newPeerCmd(stdout, _ io.Writer) *cobra.Command {
	cl := &peerClient{hubClient: newHubClient(), out: stdout}
	cmd := &cobra.Command{
		Use:   "peer",
		Short: "Vertical federation (纵向共享): the hub's certificate, peerings with other levels' hubs, upward sharing, cross-level share requests",
	}
	cl.bind(cmd)
	get := func(use, short, path string) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
			return cl.print(cmd.Context(), http.MethodGet, path, nil)
		}}
	}
	cmd.AddCommand(peerCertCmd(stdout),
		get("status", "Show this hub in the federation: id, level, certificate fingerprint, upstream hub", "/api/v1/federation"),
		get("list", "List this hub's peerings", "/api/v1/federation/peerings"),
		&cobra.Command{Use: "request", Short: "Ask the configured upstream hub to peer (the e-government office)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return cl.print(cmd.Context(), http.MethodPost, "/api/v1/federation/peerings", nil)
			}},
		peerApproveCmd(cl),
		peerStepCmd(cl, "suspend", "Suspend a peering: nothing crosses it until resumed"),
		peerStepCmd(cl, "resume", "Resume a suspended peering"),
		peerStepCmd(cl, "end", "End a peering for good"),
		peerUpwardCmd(cl),
		peerDirectoryCmd(cl),
		get("share-requests", "List the cross-level share requests filed here and their state upstream", "/api/v1/federation/share-requests"),
		peerShareCmd(cl))
	return cmd
}

func peerCertCmd(stdout io.Writer) *cobra.Command {
	var certFile, keyFile, name, host string
	var days int
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Make this hub's self-signed certificate and key for hub-to-hub mutual TLS and print its fingerprint (what the other office pins)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if certFile == "" || keyFile == "" || name == "" {
				return usageError{fmt.Errorf("--cert-file, --key-file and --name are required")}
			}
			if days < 1 || days > 3650 {
				return usageError{fmt.Errorf("--days: from 1 to 3650")}
			}
			fp, err := peer.Generate(certFile, keyFile, name, host, time.Duration(days)*24*time.Hour)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "certificate %s\nkey         %s\nfingerprint %s\n", certFile, keyFile, fp)
			return err
		},
	}
	// Local: no hub is asked, so --hub and --token are not needed.
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error { return nil }
	f := cmd.Flags()
	f.StringVar(&certFile, "cert-file", "", "where to write the certificate (PEM)")
	f.StringVar(&keyFile, "key-file", "", "where to write the private key (PEM, mode 0600)")
	f.StringVar(&name, "name", "", "the certificate's common name, e.g. yiku-431302")
	f.StringVar(&host, "host", "", "a host name or IP address the peer API is reached at, added to the certificate")
	f.IntVar(&days, "days", 825, "validity in days")
	return cmd
}

func peerApproveCmd(cl *peerClient) *cobra.Command {
	var fp string
	cmd := &cobra.Command{
		Use:   "approve <peering id>",
		Short: "Approve a downstream hub's pending peering, with its certificate fingerprint as its office gave it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fp == "" {
				return usageError{fmt.Errorf("--fingerprint is required")}
			}
			return cl.print(cmd.Context(), http.MethodPost, "/api/v1/federation/peerings/"+url.PathEscape(args[0])+"/approve", map[string]string{"fingerprint": fp})
		},
	}
	cmd.Flags().StringVar(&fp, "fingerprint", "", "SHA-256 fingerprint of the downstream hub's certificate (required)")
	return cmd
}

func peerStepCmd(cl *peerClient, name, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   name + " <peering id>",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cl.print(cmd.Context(), http.MethodPost, "/api/v1/federation/peerings/"+url.PathEscape(args[0])+"/"+name, map[string]string{"reason": reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}

func peerUpwardCmd(cl *peerClient) *cobra.Command {
	var remove bool
	cmd := &cobra.Command{
		Use:   "upward [resource id]",
		Short: "Mark a resource for upward sharing (--remove: stop); without an id, list the marks",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cl.print(cmd.Context(), http.MethodGet, "/api/v1/federation/upward", nil)
			}
			method := http.MethodPut
			if remove {
				method = http.MethodDelete
			}
			return cl.print(cmd.Context(), method, "/api/v1/federation/upward/"+url.PathEscape(args[0]), nil)
		},
	}
	cmd.Flags().BoolVar(&remove, "remove", false, "stop sharing the resource upward")
	return cmd
}

func peerDirectoryCmd(cl *peerClient) *cobra.Command {
	var downstream, retired bool
	cmd := &cobra.Command{
		Use:   "directory",
		Short: "List the upstream hub's entries shown here (--downstream: downstream hubs' upward-shared entries)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"direction": {"upstream"}}
			if downstream {
				q.Set("direction", "downstream")
			}
			if retired {
				q.Set("retired", "true")
			}
			return cl.print(cmd.Context(), http.MethodGet, "/api/v1/federation/directory?"+q.Encode(), nil)
		},
	}
	cmd.Flags().BoolVar(&downstream, "downstream", false, "downstream hubs' entries")
	cmd.Flags().BoolVar(&retired, "retired", false, "include retired entries")
	return cmd
}

func peerShareCmd(cl *peerClient) *cobra.Command {
	var resource, basis, until string
	var fields, plain, purposes, items []string
	cmd := &cobra.Command{
		Use:   "share-request",
		Short: "File a share request for a resource of the upstream hub (a department admin); it is decided there",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if resource == "" || len(fields) == 0 || len(purposes) == 0 || strings.TrimSpace(basis) == "" || len(items) == 0 || until == "" {
				return usageError{fmt.Errorf("--resource, --fields, --purposes, --legal-basis, --service-items and --valid-until are required")}
			}
			t, err := time.Parse(time.DateOnly, until)
			if err != nil {
				if t, err = time.Parse(time.RFC3339, until); err != nil {
					return usageError{fmt.Errorf("--valid-until: a date (2027-12-31) or RFC 3339 time")}
				}
			}
			body := map[string]any{"resource_id": resource, "fields": fields, "plain_fields": plain, "purposes": purposes,
				"legal_basis": basis, "service_items": items, "valid_until": t.UTC().Format(time.RFC3339)}
			return cl.print(cmd.Context(), http.MethodPost, "/api/v1/federation/share-requests", body)
		},
	}
	f := cmd.Flags()
	f.StringVar(&resource, "resource", "", "the upstream resource's id")
	f.StringSliceVar(&fields, "fields", nil, "fields asked for, comma separated")
	f.StringSliceVar(&plain, "plain-fields", nil, "of those, fields asked for unmasked")
	f.StringSliceVar(&purposes, "purposes", nil, "purposes (事由), comma separated")
	f.StringVar(&basis, "legal-basis", "", "legal basis")
	f.StringSliceVar(&items, "service-items", nil, "service items the data serves")
	f.StringVar(&until, "valid-until", "", "end of the validity asked for (date or RFC 3339)")
	return cmd
}

func (cl *peerClient) print(ctx context.Context, method, path string, body any) error {
	data, _, err := cl.do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("peer: %w", err)
	}
	return printJSON(cl.out, data)
}
