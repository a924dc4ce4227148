package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PublishOptions adjust one publish call.
type PublishOptions struct {
	// IdempotencyKey makes a retried publish harmless: the hub answers a
	// repeated key with the first call's result and writes nothing twice.
	// Empty means the client derives one from the records' bytes.
	IdempotencyKey string
	// Atomic asks the hub to accept all records or none.
	Atomic bool
	// Version pins the schema version the records follow (0 = latest).
	Version int
}

// PublishResult is the hub's answer to a publish.
type PublishResult struct {
	Resource      string `json:"resource"`
	Topic         string `json:"topic"`
	SchemaVersion int    `json:"schema_version"`
	Accepted      int    `json:"accepted"`
	// Rejected counts the refused records; Errors says why, one entry per
	// broken rule (a record may have several).
	Rejected int              `json:"rejected"`
	Errors   []RejectedRecord `json:"errors,omitempty"`
	Offsets  []PartitionRange `json:"offsets"`
	// Replayed is true when the hub answered from an earlier request with
	// the same Idempotency-Key and wrote nothing.
	Replayed bool `json:"replayed,omitempty"`
}

// PartitionRange is the offsets one partition gave to accepted records.
type PartitionRange struct {
	Partition   int   `json:"partition"`
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
	Count       int   `json:"count"`
}

// RejectedRecord is one rule one record in the batch broke.
type RejectedRecord struct {
	Index   int    `json:"index"`
	Pointer string `json:"pointer"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Publish sends records (each a JSON object, as json.RawMessage or any
// value that marshals to one) to resource in one request. Records the hub
// refuses one by one come back in Rejected; the call fails only when the
// whole batch is refused or the hub stays unavailable through the retries.
func (c *Client) Publish(ctx context.Context, resource string, records []json.RawMessage, opt PublishOptions) (PublishResult, error) {
	var res PublishResult
	if len(records) == 0 {
		return res, nil
	}
	body := make([]byte, 0, 256*len(records))
	body = append(body, '[')
	for i, r := range records {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, r...)
	}
	body = append(body, ']')
	key := opt.IdempotencyKey
	if key == "" {
		sum := sha256.Sum256(body)
		key = "sha256-" + hex.EncodeToString(sum[:16])
	}
	q := url.Values{}
	if opt.Atomic {
		q.Set("atomic", "true")
	}
	if opt.Version > 0 {
		q.Set("version", strconv.Itoa(opt.Version))
	}
	err := c.do(ctx, request{
		method: http.MethodPost, path: "/api/v1/resources/" + url.PathEscape(resource) + "/records",
		query: q, body: body, contentType: "application/json",
		header: http.Header{"Idempotency-Key": {key}}, retry: true,
	}, &res)
	if err != nil {
		return res, fmt.Errorf("publish to %s: %w", resource, err)
	}
	return res, nil
}

// PublishAll sends values in batches of the client's batch size, each
// batch with a key derived from keyPrefix and the batch's index (or from
// its bytes if keyPrefix is empty), and sums the results; indexes in
// Errors refer to values.
func (c *Client) PublishAll(ctx context.Context, resource string, values []any, keyPrefix string) (PublishResult, error) {
	var total PublishResult
	for start := 0; start < len(values); start += c.batchSize {
		end := min(start+c.batchSize, len(values))
		batch := make([]json.RawMessage, 0, end-start)
		for _, v := range values[start:end] {
			data, err := json.Marshal(v)
			if err != nil {
				return total, fmt.Errorf("publish to %s: record %d: %w", resource, start+len(batch), err)
			}
			batch = append(batch, data)
		}
		opt := PublishOptions{}
		if keyPrefix != "" {
			opt.IdempotencyKey = fmt.Sprintf("%s-%d-%d", keyPrefix, start, end)
		}
		res, err := c.Publish(ctx, resource, batch, opt)
		if err != nil {
			return total, err
		}
		total.Resource, total.Topic, total.SchemaVersion = res.Resource, res.Topic, res.SchemaVersion
		total.Accepted += res.Accepted
		total.Rejected += res.Rejected
		total.Offsets = append(total.Offsets, res.Offsets...)
		for _, r := range res.Errors {
			r.Index += start
			total.Errors = append(total.Errors, r)
		}
	}
	return total, nil
}

// ReadOptions state why a record is read; the hub audits every read.
type ReadOptions struct {
	Purpose    string
	CaseNumber string
	// History asks for every version, not only the current one.
	History bool
}

// RecordView is one record version as a reader receives it.
type RecordView struct {
	Resource      string          `json:"resource"`
	RecordID      string          `json:"record_id"`
	Version       int             `json:"version"`
	SchemaVersion int             `json:"schema_version"`
	Publisher     string          `json:"publisher"`
	Deleted       bool            `json:"deleted,omitempty"`
	DeleteReason  string          `json:"delete_reason,omitempty"`
	Record        json.RawMessage `json:"record"`
	PublishedAt   time.Time       `json:"published_at"`
	AppliedAt     time.Time       `json:"applied_at"`
}

// ReadResult is the hub's answer to a record read: the current version
// (projected and masked as the caller's grant says), the versions when
// history was asked for, the fields shown and the legal basis of the read.
type ReadResult struct {
	Current  *RecordView  `json:"current,omitempty"`
	Versions []RecordView `json:"versions,omitempty"`
	Fields   []string     `json:"fields"`
	Basis    string       `json:"basis"`
}

// Record reads one subject's record (by ID number or credit code) of resource.
func (c *Client) Record(ctx context.Context, resource, subjectKey string, opt ReadOptions) (ReadResult, error) {
	q := url.Values{}
	if opt.Purpose != "" {
		q.Set("purpose", opt.Purpose)
	}
	if opt.CaseNumber != "" {
		q.Set("case_number", opt.CaseNumber)
	}
	if opt.History {
		q.Set("history", "true")
	}
	var out ReadResult
	err := c.do(ctx, request{
		method: http.MethodGet, path: "/api/v1/resources/" + url.PathEscape(resource) + "/records/" + url.PathEscape(subjectKey),
		query: q, retry: true,
	}, &out)
	if err != nil {
		return out, fmt.Errorf("read %s record: %w", resource, err)
	}
	return out, nil
}

// Delete publishes a tombstone: the subject's record of resource is
// deleted from the hub's library, for reason. Only the provider may delete.
func (c *Client) Delete(ctx context.Context, resource, subjectKey, reason string) (PublishResult, error) {
	var res PublishResult
	err := c.do(ctx, request{
		method: http.MethodDelete, path: "/api/v1/resources/" + url.PathEscape(resource) + "/records/" + url.PathEscape(subjectKey),
		query: url.Values{"reason": {reason}}, retry: true,
	}, &res)
	if err != nil {
		return res, fmt.Errorf("delete %s record: %w", resource, err)
	}
	return res, nil
}
