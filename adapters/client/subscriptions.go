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
	Seq      int64           `json:"seq"`
	Resource string          `json:"resource"`
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
