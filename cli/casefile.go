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

	"yiku/casefile"
	"yiku/serviceitem"
)

func init() { extraCommands = append(extraCommands, newMaterialTypeCmd, newCaseCmd) }

// newMaterialTypeCmd is `yiku material-type list|show|put`: the material
// directory (材料目录) of a running hub.
func newMaterialTypeCmd(stdout, _ io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "material-type", Short: "The material directory (材料目录): material types with stable codes"}
	cl := newHubClient()
	cl.bind(cmd)
	var asJSON bool
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the hub's JSON")
	list := &cobra.Command{
		Use: "list", Short: "List the material types", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/material-types?limit=1000", nil)
			if err != nil {
				return fmt.Errorf("material-type: %w", err)
			}
			if asJSON {
				_, err := stdout.Write(append(body, '\n'))
				return err
			}
			var out struct {
				Types []serviceitem.MaterialType `json:"material_types"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				return fmt.Errorf("material-type: decode: %w", err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CODE\tNAME\tRESOURCE")
			for _, t := range out.Types {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Code, t.Name, dash(t.Resource))
			}
			return tw.Flush()
		},
	}
	show := &cobra.Command{
		Use: "show CODE", Short: "Show one material type", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/material-types/"+url.PathEscape(args[0]), nil)
			if err != nil {
				return fmt.Errorf("material-type: %w", err)
			}
			_, err = stdout.Write(append(body, '\n'))
			return err
		},
	}
	var t serviceitem.MaterialType
	put := &cobra.Command{
		Use: "put CODE", Short: "Create or replace a material type (catalog administrators)", Args: cobra.ExactArgs(1),
		Example: "  yiku material-type put marriage-certificate --name 结婚证\n  yiku material-type put resident-id-card --name 居民身份证 --resource population",
		RunE: func(cmd *cobra.Command, args []string) error {
			if t.Name == "" {
				return usageError{fmt.Errorf("--name is required")}
			}
			body, _, err := cl.do(cmd.Context(), http.MethodPut, "/api/v1/material-types/"+url.PathEscape(args[0]),
				map[string]string{"name": t.Name, "resource": t.Resource, "description": t.Description})
			if err != nil {
				return fmt.Errorf("material-type: %w", err)
			}
			_, err = stdout.Write(append(body, '\n'))
			return err
		},
	}
	put.Flags().StringVar(&t.Name, "name", "", "name, e.g. 结婚证 (required)")
	put.Flags().StringVar(&t.Resource, "resource", "", "catalog resource that supplies it from the library (empty: the applicant brings it)")
	put.Flags().StringVar(&t.Description, "description", "", "description")
	cmd.AddCommand(list, show, put)
	return cmd
}

// newCaseCmd is `yiku case list|show|move`: case records (办件) of a
// running hub.
func newCaseCmd(stdout, _ io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "case", Short: "Case records (办件): list, show, move a case's state"}
	cl := newHubClient()
	cl.bind(cmd)
	var asJSON bool
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the hub's JSON")
	var state, item, dept string
	var limit, offset int
	list := &cobra.Command{
		Use: "list", Short: "List the cases the credential may see, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
			for k, v := range map[string]string{"state": state, "service_item": item, "department": dept} {
				if v != "" {
					q.Set(k, v)
				}
			}
			body, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/cases?"+q.Encode(), nil)
			if err != nil {
				return fmt.Errorf("case: %w", err)
			}
			if asJSON {
				_, err := stdout.Write(append(body, '\n'))
				return err
			}
			var out struct {
				Cases []casefile.Case `json:"cases"`
				Total int             `json:"total"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				return fmt.Errorf("case: decode: %w", err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CASE\tSTATE\tITEM\tAPPLICANT\tOPENED\tWORKING DAYS\tLIMIT")
			for _, c := range out.Cases {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\n", c.Number, c.State, c.ServiceItem, c.Applicant,
					c.OpenedAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04"), c.WorkingDays, c.TimeLimitDays)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\n%d of %d\n", len(out.Cases), out.Total)
			return nil
		},
	}
	list.Flags().StringVar(&state, "state", "", "only cases in this state (opened, accepted, approved, rejected, finished)")
	list.Flags().StringVar(&item, "item", "", "only cases of this service item")
	list.Flags().StringVar(&dept, "department", "", "only this department's cases (the e-government office and reviewers)")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many (1-500)")
	list.Flags().IntVar(&offset, "offset", 0, "skip this many")
	show := &cobra.Command{
		Use: "show CASE_NUMBER", Short: "Show a case with its materials and their sources", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/cases/"+url.PathEscape(args[0]), nil)
			if err != nil {
				return fmt.Errorf("case: %w", err)
			}
			if asJSON {
				_, err := stdout.Write(append(body, '\n'))
				return err
			}
			var c casefile.Case
			if err := json.Unmarshal(body, &c); err != nil {
				return fmt.Errorf("case: decode: %w", err)
			}
			return printCase(stdout, c)
		},
	}
	var note, at string
	move := &cobra.Command{
		Use: "move CASE_NUMBER STATE", Short: "Move a case to accepted, approved, rejected or finished (the handling department)", Args: cobra.ExactArgs(2),
		Example: "  yiku case move LX-SB-2026-0001 accepted --note 材料齐全，予以受理",
		RunE: func(cmd *cobra.Command, args []string) error {
			t := map[string]string{"state": args[1], "note": note}
			if at != "" {
				if _, err := time.Parse(time.RFC3339, at); err != nil {
					return usageError{fmt.Errorf("--at must be an RFC 3339 time")}
				}
				t["at"] = at
			}
			body, _, err := cl.do(cmd.Context(), http.MethodPatch, "/api/v1/cases/"+url.PathEscape(args[0]), t)
			if err != nil {
				return fmt.Errorf("case: %w", err)
			}
			_, err = stdout.Write(append(body, '\n'))
			return err
		},
	}
	move.Flags().StringVar(&note, "note", "", "note (at most 500 characters)")
	move.Flags().StringVar(&at, "at", "", "when it happened (RFC 3339; default now)")
	cmd.AddCommand(list, show, move)
	return cmd
}

// printCase writes one case for people: its head, its dates (China Standard
// Time) and each material with where it came from.
func printCase(w io.Writer, c casefile.Case) error {
	cst := time.FixedZone("CST", 8*3600)
	fmt.Fprintf(w, "case %s: %s (%s) for %s, department %s\n", c.Number, c.ItemName, c.ServiceItem, c.Applicant, c.Department)
	limit := "no time limit"
	if c.TimeLimitDays > 0 {
		limit = fmt.Sprintf("time limit %d working days", c.TimeLimitDays)
	}
	overdue := ""
	if c.Overdue {
		overdue = ", overdue"
	}
	fmt.Fprintf(w, "state %s, %d working days so far, %s%s\n", c.State, c.WorkingDays, limit, overdue)
	fmt.Fprintf(w, "opened %s", c.OpenedAt.In(cst).Format("2006-01-02 15:04"))
	for _, d := range []struct {
		name string
		at   *time.Time
	}{{"accepted", c.AcceptedAt}, {"decided", c.DecidedAt}, {"finished", c.FinishedAt}} {
		if d.at != nil {
			fmt.Fprintf(w, ", %s %s", d.name, d.at.In(cst).Format("2006-01-02 15:04"))
		}
	}
	fmt.Fprintln(w)
	if c.Note != "" {
		fmt.Fprintf(w, "note: %s\n", c.Note)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MATERIAL\tTYPE\tSOURCE\tRESOURCE")
	for _, m := range c.Materials {
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", m.Code, m.Name, dash(m.Type), m.Source, dash(m.Resource))
	}
	return tw.Flush()
}
