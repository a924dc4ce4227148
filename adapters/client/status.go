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

// IngressLag is how far the hub's Kafka ingress is behind one department's
// ingress topic.
type IngressLag struct {
	Department string `json:"department"`
	Topic      string `json:"topic"`
	// EndOffset is the sum over partitions of the next offset Kafka writes,
	// that is, how many messages the department sent to the ingress.
	EndOffset int64 `json:"end_offset"`
	// Consumed is the sum over partitions of the next offset the ingress
	// handles.
	Consumed int64 `json:"consumed_offset"`
	// Lag is how many sent messages the ingress has not yet routed to
	// their resource topics or refused to the dead letters.
	Lag int64 `json:"lag"`
}

// ExchangeStatus is the hub's exchange status: the library's lag per
// resource and the Kafka ingress's lag per department.
type ExchangeStatus struct {
	Resources []ResourceLag `json:"resources"`
	// TotalLag is the library's lag alone; records still in the ingress
	// join it once routed.
	TotalLag int64 `json:"total_lag"`
	// Ingress lists the ingress lag of the departments the caller sees:
	// its own (every one for the e-government office and reviewers). A hub
	// older than the field leaves it empty.
	Ingress    []IngressLag `json:"ingress"`
	IngressLag int64        `json:"ingress_lag"`
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

// IngressOf returns the ingress lag of one department; ok is false when
// the status does not report it (the caller may not see it, or the hub
// does not report its ingress).
func (s ExchangeStatus) IngressOf(department string) (IngressLag, bool) {
	for _, l := range s.Ingress {
		if l.Department == department {
			return l, true
		}
	}
	return IngressLag{}, false
}

// ExchangeStatus reads the exchange status. A receiving adapter uses it to
// know the library has applied everything published so far, so a
// subscription pulled afterwards holds it; a sending adapter using the
// Kafka ingress, to know the hub has routed what it sent.
func (c *Client) ExchangeStatus(ctx context.Context) (ExchangeStatus, error) {
	var st ExchangeStatus
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/exchange/status", retry: true}, &st); err != nil {
		return st, fmt.Errorf("exchange status: %w", err)
	}
	return st, nil
}
