package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Field is one information item of a resource.
type Field struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	DataType    string `json:"data_type"`
	Sensitivity string `json:"sensitivity"`
	Mask        string `json:"mask,omitempty"`
}

// Resource is a catalog entry as the hub lists it.
type Resource struct {
	ID            string  `json:"id"`
	Code          string  `json:"code"`
	Name          string  `json:"name"`
	ProviderCode  string  `json:"provider_code"`
	ShareType     string  `json:"share_type"`
	SubjectType   string  `json:"subject_type"`
	SubjectKey    string  `json:"subject_key,omitempty"`
	Status        string  `json:"status"`
	LatestVersion int     `json:"latest_version"`
	Fields        []Field `json:"fields"`
}

// Resources lists the catalog's resources visible to the caller.
func (c *Client) Resources(ctx context.Context) ([]Resource, error) {
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/catalog/resources", retry: true}, &raw); err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	// The list comes either bare or wrapped as {"resources": [...]}.
	var list []Resource
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var wrapped struct {
		Resources []Resource `json:"resources"`
		Items     []Resource `json:"items"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("list resources: decode: %w", err)
	}
	if wrapped.Resources != nil {
		return wrapped.Resources, nil
	}
	return wrapped.Items, nil
}

// Resource reads one catalog resource by ID or catalog code.
func (c *Client) Resource(ctx context.Context, id string) (Resource, error) {
	var r Resource
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/catalog/resources/" + url.PathEscape(id), retry: true}, &r); err != nil {
		return r, fmt.Errorf("read resource %s: %w", id, err)
	}
	return r, nil
}

// LookupRequest asks the hub for what it holds on one subject for a
// stated purpose (a reuse lookup by an officer or a system).
type LookupRequest struct {
	SubjectKey string   `json:"subject_key"`
	Resources  []string `json:"resources,omitempty"`
	Purpose    string   `json:"purpose"`
	CaseNumber string   `json:"case_number,omitempty"`
}

// Lookup performs a reuse lookup and returns the hub's answer as JSON. It
// is retried only when the hub says it did not process it (503/429).
func (c *Client) Lookup(ctx context.Context, req LookupRequest) (json.RawMessage, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out json.RawMessage
	err = c.do(ctx, request{method: http.MethodPost, path: "/api/v1/lookups", body: body, contentType: "application/json", retry: true}, &out)
	if err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	return out, nil
}
