package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newKafkaCmd) }

// kafkaClient talks to a running hub's Kafka principal API.
type kafkaClient struct {
	*hubClient
	out io.Writer
}

func newKafkaCmd(stdout, _ io.Writer) *cobra.Command {
	cl := &kafkaClient{hubClient: newHubClient(), out: stdout}
	cmd := &cobra.Command{
		Use:   "kafka",
		Short: "Kafka principals on a running hub: a department's Kafka ingress credentials, an egress subscription's",
		Long: `Each department that publishes over Kafka and each Kafka-egress subscription has
its own SCRAM-SHA-512 principal; the hub's ACLs let it write its own ingress
topic, or read its own egress topic and group, and nothing else. Passwords
are printed once, when issued or rotated; the hub keeps no copy.`,
	}
	cl.bind(cmd)
	ingress := &cobra.Command{Use: "ingress", Short: "A department's Kafka ingress credentials (department admin, or the e-government office)"}
	for _, op := range []struct {
		use, short, method, suffix string
	}{
		{"enable", "Issue the department's Kafka principal; prints its password once", http.MethodPost, ""},
		{"rotate", "Replace the department's Kafka password; prints the new one once", http.MethodPost, "/rotate"},
		{"revoke", "Delete the department's Kafka credentials and ACLs", http.MethodDelete, ""},
		{"status", "Show the department's Kafka credentials (never the password)", http.MethodGet, ""},
	} {
		ingress.AddCommand(&cobra.Command{
			Use:   op.use + " <department>",
			Short: op.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return cl.print(cmd.Context(), op.method, "/api/v1/departments/"+url.PathEscape(args[0])+"/kafka-ingress"+op.suffix)
			},
		})
	}
	egress := &cobra.Command{Use: "egress", Short: "A Kafka-egress subscription's credentials (issued when it is created)"}
	egress.AddCommand(&cobra.Command{
		Use:   "rotate <subscription id>",
		Short: "Replace the subscription's Kafka password; prints the new one once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cl.print(cmd.Context(), http.MethodPost, "/api/v1/subscriptions/"+url.PathEscape(args[0])+"/kafka-credentials/rotate")
		},
	})
	cmd.AddCommand(ingress, egress)
	return cmd
}

func (cl *kafkaClient) print(ctx context.Context, method, path string) error {
	data, _, err := cl.do(ctx, method, path, nil)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return printJSON(cl.out, data)
}
