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

// Delivery is one record version delivered through a subscription,
// projected and masked as the subscription's grant says.
type Delivery struct {
	Seq      int64  `json:"seq"`
	Resource string `json:"resource"`
	// RecordID identifies the record version: stable across pulls,
	// webhooks and egress, keyed by the hub so that it reveals nothing
	// about fields the subscriber does not receive (the provider's own
	// subscriptions see the library's content hash).
	RecordID string          `json:"record_id"`
	Version  int             `json:"version"`
	Deleted  bool            `json:"deleted,omitempty"`
	Reason   string          `json:"delete_reason,omitempty"`
	Record   json.RawMessage `json:"record"`
	// PublishedAt is when the provider published it.
	PublishedAt time.Time `json:"published_at"`
}

// Page is one pull from a subscription.
type Page struct {
	Subscription string     `json:"subscription"`
	Records      []Delivery `json:"records"`
	// Cursor is where the next pull continues; acknowledge it once the
	// records are safely stored so the hub can report the delivery.
	Cursor string `json:"next_cursor"`
	// Fields are the fields the records carry.
	Fields []string `json:"fields"`
}

// Pull reads up to limit records of subscription id after cursor ("" =
// from the last acknowledged position).
func (c *Client) Pull(ctx context.Context, id, cursor string, limit int) (Page, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var p Page
	err := c.do(ctx, request{
		method: http.MethodGet, path: "/api/v1/subscriptions/" + url.PathEscape(id) + "/records", query: q, retry: true,
	}, &p)
	if err != nil {
		return p, fmt.Errorf("pull subscription %s: %w", id, err)
	}
	return p, nil
}

// Ack acknowledges everything of subscription id up to cursor.
func (c *Client) Ack(ctx context.Context, id, cursor string) error {
	body, err := jsonBody(map[string]string{"cursor": cursor})
	if err != nil {
		return err
	}
	err = c.do(ctx, request{
		method: http.MethodPost, path: "/api/v1/subscriptions/" + url.PathEscape(id) + "/ack",
		body: body, contentType: "application/json", retry: true,
	}, nil)
	if err != nil {
		return fmt.Errorf("ack subscription %s: %w", id, err)
	}
	return nil
}

// SubscribeRequest asks for a new subscription of the caller's department.
type SubscribeRequest struct {
	Resource   string `json:"resource"`
	Purpose    string `json:"purpose"`
	CaseNumber string `json:"case_number,omitempty"`
	// Filter keeps records whose string field starts with a prefix.
	Filter     *SubscriptionFilter `json:"filter,omitempty"`
	WebhookURL string              `json:"webhook_url,omitempty"`
	Egress     bool                `json:"egress,omitempty"`
	// Start is "beginning" (every record the library holds) or "now".
	Start string `json:"start,omitempty"`
}

// SubscriptionFilter keeps records whose Field starts with Prefix.
type SubscriptionFilter struct {
	Field  string `json:"field"`
	Prefix string `json:"prefix"`
}

// Subscription is a department's standing order for a resource's records.
type Subscription struct {
	ID             string `json:"id"`
	DepartmentCode string `json:"department_code"`
	Resource       string `json:"resource"`
	Purpose        string `json:"purpose"`
	Status         string `json:"status"`
	PullCursor     int64  `json:"pull_cursor"`
	WebhookURL     string `json:"webhook_url,omitempty"`
	// WebhookSecret signs webhook deliveries; the hub shows it only once.
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

// Subscribe creates a subscription; the hub checks the department may read
// the resource for the purpose (an approved share request for conditional
// resources).
func (c *Client) Subscribe(ctx context.Context, req SubscribeRequest) (Subscription, error) {
	body, err := jsonBody(req)
	if err != nil {
		return Subscription{}, err
	}
	var sub Subscription
	err = c.do(ctx, request{method: http.MethodPost, path: "/api/v1/subscriptions", body: body, contentType: "application/json"}, &sub)
	if err != nil {
		return sub, fmt.Errorf("subscribe to %s: %w", req.Resource, err)
	}
	return sub, nil
}

// Subscriptions lists the caller's department's subscriptions.
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	var out struct {
		Subscriptions []Subscription `json:"subscriptions"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/subscriptions", retry: true}, &out); err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out.Subscriptions, nil
}
