package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func init() { extraCommands = append(extraCommands, newCatalogCmd) }

// catalogClient talks to a running hub's catalog API.
type catalogClient struct{ *hubClient }

func newCatalogCmd(stdout, _ io.Writer) *cobra.Command {
	cl := &catalogClient{newHubClient()}
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Browse and manage the resource directory of a running hub",
	}
	cl.bind(cmd)
	cmd.AddCommand(catalogListCmd(cl, stdout), catalogShowCmd(cl, stdout), catalogRegisterCmd(cl, stdout), catalogExportCmd(cl, stdout))
	return cmd
}

func catalogListCmd(cl *catalogClient, stdout io.Writer) *cobra.Command {
	var (
		provider, library, share, status, keyword string
		limit, offset                             int
		asJSON                                    bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List resources (filters: provider, base library, share type, status, keyword)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"provider": provider, "base_library": library, "share_type": share, "status": status, "q": keyword} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", strconv.Itoa(limit))
			q.Set("offset", strconv.Itoa(offset))
			body, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/catalog/resources?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(stdout, body)
			}
			var page struct {
				Resources []struct {
					ID, Code, Name, Status string
					ProviderCode           string `json:"provider_code"`
					ShareType              string `json:"share_type"`
					LatestVersion          int    `json:"latest_version"`
				}
				Total int
			}
			if err := json.Unmarshal(body, &page); err != nil {
				return fmt.Errorf("catalog list: decode response: %w", err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCODE\tSTATUS\tSHARE\tVERSION\tPROVIDER\tNAME")
			for _, r := range page.Resources {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tv%d\t%s\t%s\n", r.ID, r.Code, r.Status, r.ShareType, r.LatestVersion, r.ProviderCode, r.Name)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%d of %d resources\n", len(page.Resources), page.Total)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&provider, "provider", "", "provider department code")
	f.StringVar(&library, "base-library", "", "base library (population, legal_entity, …, theme, department)")
	f.StringVar(&share, "share-type", "", "unconditional, conditional or not_shared")
	f.StringVar(&status, "status", "", "draft, published, deprecated or retired")
	f.StringVarP(&keyword, "query", "q", "", "keyword in the ID, code, name or summary")
	f.IntVar(&limit, "limit", 100, "page size (1-500)")
	f.IntVar(&offset, "offset", 0, "resources to skip")
	f.BoolVar(&asJSON, "json", false, "print the hub's JSON answer")
	return cmd
}

func catalogShowCmd(cl *catalogClient, stdout io.Writer) *cobra.Command {
	var versions, changes bool
	cmd := &cobra.Command{
		Use:   "show <id or code>",
		Short: "Show one resource (with --versions its schema versions, with --changes its history)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := cl.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			path := "/api/v1/catalog/resources/" + url.PathEscape(id)
			switch {
			case versions:
				path += "/versions"
			case changes:
				path += "/changes"
			}
			body, _, err := cl.do(cmd.Context(), http.MethodGet, path, nil)
			if err != nil {
				return err
			}
			return printJSON(stdout, body)
		},
	}
	cmd.Flags().BoolVar(&versions, "versions", false, "show the schema versions")
	cmd.Flags().BoolVar(&changes, "changes", false, "show the change history")
	cmd.MarkFlagsMutuallyExclusive("versions", "changes")
	return cmd
}

func catalogRegisterCmd(cl *catalogClient, stdout io.Writer) *cobra.Command {
	var file string
	var publish bool
	cmd := &cobra.Command{
		Use:   "register -f resource.yaml",
		Short: "Register a resource from a YAML or JSON file (schema inline or in schema_file)",
		Long: `Register a resource described in a YAML or JSON file with the fields of
POST /api/v1/catalog/resources (see docs/catalog.md). The schema may be given
inline under "schema" or as a path under "schema_file", relative to the file.
With --publish the resource is published right after registration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("-f resource.yaml is required")}
			}
			doc, err := loadCatalogResourceFile(file)
			if err != nil {
				return err
			}
			body, _, err := cl.do(cmd.Context(), http.MethodPost, "/api/v1/catalog/resources", doc)
			if err != nil {
				return err
			}
			var r struct {
				ID, Code, Status string
				LatestVersion    int `json:"latest_version"`
			}
			if err := json.Unmarshal(body, &r); err != nil {
				return fmt.Errorf("catalog register: decode response: %w", err)
			}
			fmt.Fprintf(stdout, "registered %s as %s (%s, schema v%d)\n", r.ID, r.Code, r.Status, r.LatestVersion)
			if publish {
				if _, _, err := cl.do(cmd.Context(), http.MethodPost, "/api/v1/catalog/resources/"+url.PathEscape(r.ID)+"/lifecycle", map[string]string{"status": "published", "reason": "registered with yiku catalog register --publish"}); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "published %s\n", r.ID)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "resource description (YAML or JSON)")
	cmd.Flags().BoolVar(&publish, "publish", false, "publish the resource after registering it")
	return cmd
}

// resolve turns a catalog code into the resource's ID: URLs address
// resources by ID, since a code's "/" cannot be a path segment.
func (cl *catalogClient) resolve(ctx context.Context, idOrCode string) (string, error) {
	if !strings.Contains(idOrCode, "/") {
		return idOrCode, nil
	}
	body, _, err := cl.do(ctx, http.MethodGet, "/api/v1/catalog/resources?limit=500&q="+url.QueryEscape(idOrCode), nil)
	if err != nil {
		return "", err
	}
	var page struct{ Resources []struct{ ID, Code string } }
	if err := json.Unmarshal(body, &page); err != nil {
		return "", fmt.Errorf("catalog: decode response: %w", err)
	}
	for _, r := range page.Resources {
		if r.Code == idOrCode {
			return r.ID, nil
		}
	}
	return "", fmt.Errorf("no resource has the catalog code %s", idOrCode)
}

// loadCatalogResourceFile reads a resource description and inlines its
// schema_file.
func loadCatalogResourceFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("read %s: %w", path, err)}
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	if doc == nil {
		return nil, usageError{fmt.Errorf("%s is empty", path)}
	}
	if sf, ok := doc["schema_file"]; ok {
		name, ok := sf.(string)
		if !ok || name == "" {
			return nil, usageError{fmt.Errorf("%s: schema_file must be a path", path)}
		}
		if _, both := doc["schema"]; both {
			return nil, usageError{fmt.Errorf("%s: give either schema or schema_file, not both", path)}
		}
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(path), name)
		}
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, usageError{fmt.Errorf("read schema %s: %w", name, err)}
		}
		var schema any
		if err := yaml.Unmarshal(raw, &schema); err != nil {
			return nil, usageError{fmt.Errorf("schema %s: %w", name, err)}
		}
		delete(doc, "schema_file")
		doc["schema"] = schema
	}
	return doc, nil
}

func catalogExportCmd(cl *catalogClient, stdout io.Writer) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the whole directory as JSON or CSV (the catalog guide's metadata elements as columns)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "json" && format != "csv" {
				return usageError{fmt.Errorf("--format must be json or csv")}
			}
			body, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/catalog/export?format="+format, nil)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := stdout.Write(body)
				return err
			}
			if err := os.WriteFile(out, body, 0o644); err != nil {
				return fmt.Errorf("catalog export: %w", err)
			}
			fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", out, len(body))
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "json", "json or csv")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

// do sends a request with the bearer credential and returns the body of a
// 2xx answer; any other answer becomes an error with the hub's code,
// message and details.
