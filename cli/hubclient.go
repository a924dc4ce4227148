package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// hubClient is what every client command (catalog, share, lookup, stats)
// uses to talk to a running hub: the --hub and --token flags with their
// YIKU_HUB and YIKU_TOKEN defaults, and one request function that turns the
// hub's JSON error shape into a readable command error.
type hubClient struct {
	hub   string
	token string
	http  *http.Client
}

func newHubClient() *hubClient {
	return &hubClient{http: &http.Client{Timeout: time.Minute}}
}

// bind adds --hub and --token to cmd (persistent, for command groups) and
// checks them before any subcommand runs.
func (cl *hubClient) bind(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&cl.hub, "hub", envOr("YIKU_HUB", "http://127.0.0.1:8080"), "hub base URL (env YIKU_HUB)")
	f.StringVar(&cl.token, "token", os.Getenv("YIKU_TOKEN"), "bearer credential (env YIKU_TOKEN)")
	next := cmd.PersistentPreRunE
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if err := cl.check(); err != nil {
			return err
		}
		if next != nil {
			return next(c, args)
		}
		return nil
	}
}

func (cl *hubClient) check() error {
	if cl.token == "" {
		return usageError{fmt.Errorf("--token (or YIKU_TOKEN) is required")}
	}
	u, err := url.Parse(cl.hub)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{fmt.Errorf("--hub %q is not an http(s) URL", cl.hub)}
	}
	cl.hub = strings.TrimRight(cl.hub, "/")
	return nil
}

// do sends a request (body, if not nil, as JSON) and returns the answer's
// body and status. A non-2xx answer is an error carrying the hub's code,
// message and per-field details.
func (cl *hubClient) do(ctx context.Context, method, path string, body any) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, 0, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, cl.hub+path, rd)
	if err != nil {
		return nil, 0, usageError{fmt.Errorf("--hub: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+cl.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("hub %s: %w", cl.hub, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("hub %s: read answer: %w", cl.hub, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, resp.StatusCode, nil
	}
	return nil, resp.StatusCode, hubError(resp, data)
}

func hubError(resp *http.Response, data []byte) error {
	var e struct {
		Error struct {
			Code, Message string
			Details       []struct{ Field, Pointer, Rule, Reason string }
		}
	}
	if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
		return fmt.Errorf("hub answered %s", resp.Status)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hub answered %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
	for _, d := range e.Error.Details {
		at := d.Pointer
		if at == "" {
			at = d.Field
		}
		fmt.Fprintf(&b, "\n  %s %s: %s", at, d.Rule, d.Reason)
	}
	return fmt.Errorf("%s", b.String())
}

// printJSON writes data indented, or as it is when it is not JSON.
func printJSON(w io.Writer, data []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		_, werr := w.Write(data)
		return werr
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
