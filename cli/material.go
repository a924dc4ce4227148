package cli

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"yiku/material"
)

func init() { extraCommands = append(extraCommands, newMaterialCmd) }

func newMaterialCmd(stdout, _ io.Writer) *cobra.Command {
	cl := newHubClient()
	cmd := &cobra.Command{
		Use:   "material",
		Short: "The material library (材料库): upload what an applicant brought, list, read and download uploads",
		Long: "Talks to a running hub under /api/v1/materials. Uploads stream the file (PDF, JPEG or PNG, judged by content);\n" +
			"reads and downloads name their purpose and case number, and the sharing gate decides. Every call is audited.",
	}
	cl.bind(cmd)
	cmd.AddCommand(materialUploadCmd(cl, stdout), materialListCmd(cl, stdout), materialGetCmd(cl, stdout), materialDownloadCmd(cl, stdout))
	return cmd
}

func materialUploadCmd(cl *hubClient, stdout io.Writer) *cobra.Command {
	var m material.Meta
	cmd := &cobra.Command{
		Use:     "upload FILE",
		Short:   "Upload a scanned material for an applicant",
		Example: "  yiku material upload hukou.pdf --applicant 431302198506159913 --type household-register --case GSC-2026-0001 --purpose 结婚登记",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := material.CheckMeta(m); err != nil {
				return usageError{err}
			}
			f, err := os.Open(args[0])
			if err != nil {
				return usageError{err}
			}
			defer f.Close()
			data, err := cl.upload(cmd.Context(), m, filepath.Base(args[0]), f)
			if err != nil {
				return fmt.Errorf("material upload: %w", err)
			}
			return printJSON(stdout, data)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&m.Applicant, "applicant", "", "applicant's resident ID number or unified social credit code (required)")
	fl.StringVar(&m.MaterialType, "type", "", "material type code, e.g. household-register (required)")
	fl.StringVar(&m.IssuingAuthority, "authority", "", "issuing authority")
	fl.StringVar(&m.IssueDate, "issued", "", "issue date YYYY-MM-DD")
	fl.StringVar(&m.ValidUntil, "valid-until", "", "end of validity YYYY-MM-DD")
	fl.StringVar(&m.CaseNumber, "case", "", "case number (required)")
	fl.StringVar(&m.Purpose, "purpose", "", "purpose (required)")
	return cmd
}

// upload streams a multipart body (fields, then the file) through a pipe.
func (cl *hubClient) upload(ctx context.Context, m material.Meta, name string, file io.Reader) ([]byte, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, kv := range [][2]string{{"applicant", m.Applicant}, {"material_type", m.MaterialType}, {"issuing_authority", m.IssuingAuthority},
				{"issue_date", m.IssueDate}, {"valid_until", m.ValidUntil}, {"case_number", m.CaseNumber}, {"purpose", m.Purpose}} {
				if kv[1] == "" {
					continue
				}
				if err := mw.WriteField(kv[0], kv[1]); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile("file", name)
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, file); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cl.hub+"/api/v1/materials", pr)
	if err != nil {
		return nil, usageError{fmt.Errorf("--hub: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+cl.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := cl.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hub %s: %w", cl.hub, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, hubError(resp, data)
	}
	return data, nil
}

func readQuery(purpose, caseNo string) url.Values {
	q := url.Values{}
	if purpose != "" {
		q.Set("purpose", purpose)
	}
	if caseNo != "" {
		q.Set("case_number", caseNo)
	}
	return q
}

func materialListCmd(cl *hubClient, stdout io.Writer) *cobra.Command {
	var applicant, typ, purpose, caseNo string
	var all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List an applicant's uploads (a citizen: their own, without --applicant)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := readQuery(purpose, caseNo)
			if applicant != "" {
				q.Set("applicant", applicant)
			}
			if typ != "" {
				q.Set("material_type", typ)
			}
			if all {
				q.Set("all", "true")
			}
			data, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/materials?"+q.Encode(), nil)
			if err != nil {
				return fmt.Errorf("material list: %w", err)
			}
			return printJSON(stdout, data)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&applicant, "applicant", "", "applicant's ID number or credit code")
	fl.StringVar(&typ, "type", "", "only this material type")
	fl.StringVar(&purpose, "purpose", "", "purpose of the read")
	fl.StringVar(&caseNo, "case", "", "case number of the read")
	fl.BoolVar(&all, "all", false, "also superseded, removed and expired uploads")
	return cmd
}

func materialGetCmd(cl *hubClient, stdout io.Writer) *cobra.Command {
	var purpose, caseNo string
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Print one upload's metadata",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, _, err := cl.do(cmd.Context(), http.MethodGet, "/api/v1/materials/"+url.PathEscape(args[0])+"?"+readQuery(purpose, caseNo).Encode(), nil)
			if err != nil {
				return fmt.Errorf("material get: %w", err)
			}
			return printJSON(stdout, data)
		},
	}
	cmd.Flags().StringVar(&purpose, "purpose", "", "purpose of the read")
	cmd.Flags().StringVar(&caseNo, "case", "", "case number of the read")
	return cmd
}

func materialDownloadCmd(cl *hubClient, stdout io.Writer) *cobra.Command {
	var purpose, caseNo, out string
	cmd := &cobra.Command{
		Use:   "download ID",
		Short: "Download an upload's file (to --out, or standard output)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet,
				cl.hub+"/api/v1/materials/"+url.PathEscape(args[0])+"/content?"+readQuery(purpose, caseNo).Encode(), nil)
			if err != nil {
				return usageError{err}
			}
			req.Header.Set("Authorization", "Bearer "+cl.token)
			resp, err := cl.http.Do(req)
			if err != nil {
				return fmt.Errorf("hub %s: %w", cl.hub, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				return fmt.Errorf("material download: %w", hubError(resp, data))
			}
			w := stdout
			if out != "" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				w = f
			}
			if _, err := io.Copy(w, resp.Body); err != nil {
				return fmt.Errorf("material download: %w", err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&purpose, "purpose", "", "purpose of the download (required for officers)")
	fl.StringVar(&caseNo, "case", "", "case number of the download")
	fl.StringVar(&out, "out", "", "file to create (not overwritten)")
	return cmd
}
