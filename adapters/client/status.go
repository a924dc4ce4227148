package client

import (
	"context"
	"fmt"
	"net/http"
)

// ResourceLag is how far the hub's library is behind one resource's topic.
type ResourceLag struct {
	Resource string `json:"resource"`
	Topic    string `json:"topic"`
	// EndOffset is the sum over partitions of the next offset Kafka writes,
	// that is, how many messages the resource's topic has received.
	EndOffset int64 `json:"end_offset"`
	// Applied is the sum over partitions of the next offset the library
	// reads.
	Applied int64 `json:"applied_offset"`
	// Lag is how many published messages the library has not applied yet.
	Lag      int64 `json:"lag"`
	Subjects int64 `json:"subjects"`
	Versions int64 `json:"versions"`
}

// ExchangeStatus is the hub's exchange status: the library's lag per
// resource.
type ExchangeStatus struct {
	Resources []ResourceLag `json:"resources"`
	TotalLag  int64         `json:"total_lag"`
}

// Resource returns the lag of one resource; ok is false when nothing was
// ever published to it (it has no topic yet).
func (s ExchangeStatus) Resource(id string) (ResourceLag, bool) {
	for _, r := range s.Resources {
		if r.Resource == id {
			return r, true
		}
	}
	return ResourceLag{}, false
}

// ExchangeStatus reads the exchange status. A receiving adapter uses it to
// know the library has applied everything published so far, so a
// subscription pulled afterwards holds it.
func (c *Client) ExchangeStatus(ctx context.Context) (ExchangeStatus, error) {
	var st ExchangeStatus
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/exchange/status", retry: true}, &st); err != nil {
		return st, fmt.Errorf("exchange status: %w", err)
	}
	return st, nil
}
