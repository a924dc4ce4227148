package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
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

// Resources lists the catalog's resources visible to the caller, reading
// every page.
func (c *Client) Resources(ctx context.Context) ([]Resource, error) {
	var all []Resource
	for {
		var page struct {
			Resources []Resource `json:"resources"`
			Total     int        `json:"total"`
		}
		q := url.Values{"limit": {"100"}, "offset": {strconv.Itoa(len(all))}}
		if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/catalog/resources", query: q, retry: true}, &page); err != nil {
			return nil, fmt.Errorf("list resources: %w", err)
		}
		all = append(all, page.Resources...)
		if len(page.Resources) == 0 || len(all) >= page.Total {
			return all, nil
		}
	}
}

// Resource reads one catalog resource by ID or catalog code.
func (c *Client) Resource(ctx context.Context, id string) (Resource, error) {
	var r Resource
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/catalog/resources/" + url.PathEscape(id), retry: true}, &r); err != nil {
		return r, fmt.Errorf("read resource %s: %w", id, err)
	}
	return r, nil
}

// LookupRequest asks the hub, for one service item (政务服务事项) and one
// case, which of the applicant's materials it can supply instead of the
// applicant bringing them (一次办、免提交).
type LookupRequest struct {
	// Applicant is the resident ID number or unified social credit code.
	Applicant   string `json:"applicant"`
	ServiceItem string `json:"service_item"`
	CaseNumber  string `json:"case_number"`
	Purpose     string `json:"purpose"`
}

// LookupResult answers a lookup: each material's status and, for supplied
// ones, the projected and masked record; ToBring lists what the applicant
// must still bring.
type LookupResult struct {
	Applicant     string           `json:"applicant"`
	ApplicantType string           `json:"applicant_type"`
	ServiceItem   string           `json:"service_item"`
	ItemName      string           `json:"service_item_name"`
	CaseNumber    string           `json:"case_number"`
	Purpose       string           `json:"purpose"`
	Materials     []LookupMaterial `json:"materials"`
	Summary       map[string]int   `json:"summary"`
	ToBring       []string         `json:"to_bring"`
	At            time.Time        `json:"at"`
}

// LookupMaterial is one material's answer.
type LookupMaterial struct {
	Code     string          `json:"code"`
	Name     string          `json:"name"`
	Status   string          `json:"status"`
	Resource string          `json:"resource,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Record   json.RawMessage `json:"record,omitempty"`
	Fields   []string        `json:"fields,omitempty"`
	Basis    string          `json:"basis,omitempty"`
	Version  int             `json:"version,omitempty"`
}

// Lookup performs a reuse lookup. The hub audits it; it is retried only
// when the hub says it did not process it (503/429) or the connection failed.
func (c *Client) Lookup(ctx context.Context, req LookupRequest) (LookupResult, error) {
	var out LookupResult
	body, err := jsonBody(req)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{method: http.MethodPost, path: "/api/v1/lookups", body: body, contentType: "application/json", retry: true}, &out)
	if err != nil {
		return out, fmt.Errorf("lookup: %w", err)
	}
	return out, nil
}
