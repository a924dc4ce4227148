package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"yiku/adapters"
	"yiku/adapters/client"
)

const hubSinkDoc = `hub — publish records to a catalog resource of the hub over HTTP.

  type: hub
  resource: marriage-registration   # resource id (or catalog code)
  version: 0                        # schema version to validate against (0 = latest)
  delete_reason: 源系统删除          # reason sent with deletes (tombstones)

Each batch is one publish with an Idempotency-Key derived from the batch's
source position and content, so a batch re-sent after a crash or a timeout
is applied once. Records the hub refuses go to the reject file with the
hub's reasons (JSON pointer, rule, message); the rest are accepted. When the
hub answers 503 the sink waits as Retry-After says and tries again.
Deletes are sent one by one as the record's subject key (the resource's
subject_key field) with delete_reason.`

func init() {
	adapters.RegisterSink(adapters.SinkSpec{Name: "hub", Doc: hubSinkDoc, New: newHubSink})
}

// HubSinkConfig is the hub sink's settings.
type HubSinkConfig struct {
	Resource     string `yaml:"resource"`
	Version      int    `yaml:"version"`
	DeleteReason string `yaml:"delete_reason"`
}

type hubSink struct {
	cfg        HubSinkConfig
	hub        *client.Client
	subjectKey string
	open       bool
}

func newHubSink(decode adapters.Decoder, env adapters.Env) (adapters.Sink, error) {
	var cfg HubSinkConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return NewHubSink(cfg, env)
}

// NewHubSink builds a hub sink.
func NewHubSink(cfg HubSinkConfig, env adapters.Env) (adapters.Sink, error) {
	if cfg.Resource == "" {
		return nil, adapters.Fieldf("resource", "the resource id is required")
	}
	if cfg.Version < 0 {
		return nil, adapters.Fieldf("version", "must be 0 (latest) or a published version")
	}
	if cfg.DeleteReason == "" {
		cfg.DeleteReason = "deleted in the source system"
	}
	if env.Hub == nil {
		return nil, adapters.Fieldf("resource", "a hub sink needs the hub block (url and token) in the config")
	}
	return &hubSink{cfg: cfg, hub: env.Hub}, nil
}

func (h *hubSink) Connect(ctx context.Context) error {
	res, err := h.hub.Resource(ctx, h.cfg.Resource)
	if err != nil {
		return hubErr(err)
	}
	h.subjectKey = res.SubjectKey
	h.open = true
	return nil
}

// hubErr marks refusals retrying cannot fix as permanent.
func hubErr(err error) error {
	var he *client.Error
	if errors.As(err, &he) && !he.Temporary() && he.Status != http.StatusRequestTimeout {
		return adapters.Permanent(err)
	}
	return err
}

func (h *hubSink) Write(ctx context.Context, msgs []adapters.Message, key string) (adapters.Result, error) {
	if !h.open {
		return adapters.Result{}, adapters.ErrNotConnected
	}
	var (
		res     adapters.Result
		records []json.RawMessage
		index   []int
	)
	for i, m := range msgs {
		if m.Deleted {
			continue
		}
		data, err := json.Marshal(m.Record)
		if err != nil {
			res.Rejected = append(res.Rejected, adapters.Rejection{Index: i, Reasons: []adapters.Reason{{Rule: "json", Message: err.Error()}}})
			continue
		}
		records = append(records, data)
		index = append(index, i)
	}
	if len(records) > 0 {
		pr, err := h.hub.Publish(ctx, h.cfg.Resource, records, client.PublishOptions{IdempotencyKey: key, Version: h.cfg.Version})
		if err != nil {
			return adapters.Result{}, hubErr(err)
		}
		res.Written += pr.Accepted
		byIdx := map[int]int{}
		for _, e := range pr.Errors {
			if e.Index < 0 || e.Index >= len(index) {
				return adapters.Result{}, fmt.Errorf("hub sink: the hub reported record %d of a batch of %d", e.Index, len(index))
			}
			at := index[e.Index]
			j, ok := byIdx[at]
			if !ok {
				j = len(res.Rejected)
				byIdx[at] = j
				res.Rejected = append(res.Rejected, adapters.Rejection{Index: at})
			}
			res.Rejected[j].Reasons = append(res.Rejected[j].Reasons, adapters.Reason{Pointer: e.Pointer, Rule: e.Rule, Message: e.Message})
		}
	}
	for i, m := range msgs {
		if !m.Deleted {
			continue
		}
		subject, _ := m.Record[h.subjectKey].(string)
		if subject == "" {
			res.Rejected = append(res.Rejected, adapters.Rejection{Index: i, Reasons: []adapters.Reason{{Pointer: "/" + h.subjectKey, Rule: "required", Message: "a delete needs the subject key"}}})
			continue
		}
		if _, err := h.hub.Delete(ctx, h.cfg.Resource, subject, h.cfg.DeleteReason); err != nil {
			var he *client.Error
			if errors.As(err, &he) && he.Status == http.StatusNotFound && he.Code != "resource_not_found" {
				res.Written++ // already gone: deleting is idempotent
				continue
			}
			if errors.As(err, &he) && he.Status == http.StatusBadRequest {
				res.Rejected = append(res.Rejected, adapters.Rejection{Index: i, Reasons: []adapters.Reason{{Rule: he.Code, Message: he.Message}}})
				continue
			}
			return adapters.Result{}, hubErr(err)
		}
		res.Written++
	}
	return res, nil
}

func (h *hubSink) Close() error {
	h.open = false
	return nil
}
