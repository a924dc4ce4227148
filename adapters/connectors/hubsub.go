package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"yiku/adapters"
	"yiku/adapters/client"
)

const hubSubDoc = `hub_subscription — receive the records of one of the department's
subscriptions from the hub (the receiving side).

  type: hub_subscription
  subscription: <subscription id>   # or, instead, resource + purpose:
  resource: business-licence         # subscribe (once) to this resource...
  purpose: 企业开办审批核验            # ...for this purpose; an active subscription
                                     # of the department for both is reused

Records are pulled with the hub's cursor, written to the sink, and the
cursor is acknowledged to the hub only after the local checkpoint is saved,
so a crash re-delivers rather than loses. A deletion reaches the sink as
a delete carrying the subject's last version (masked like every delivery),
so a sink keyed on another field (licence_id rather than the masked
holder_id) finds the row to remove.`

func init() {
	adapters.RegisterSource(adapters.SourceSpec{Name: "hub_subscription", Doc: hubSubDoc, New: newHubSub})
}

// HubSubConfig is the hub_subscription source's settings.
type HubSubConfig struct {
	Subscription string `yaml:"subscription"`
	Resource     string `yaml:"resource"`
	Purpose      string `yaml:"purpose"`
}

type hubSub struct {
	cfg      HubSubConfig
	hub      *client.Client
	resource string
	cursor   string
	open     bool
}

var _ adapters.Upstream = (*hubSub)(nil)

func newHubSub(decode adapters.Decoder, env adapters.Env) (adapters.Source, error) {
	var cfg HubSubConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return NewHubSub(cfg, env)
}

// NewHubSub builds a hub_subscription source.
func NewHubSub(cfg HubSubConfig, env adapters.Env) (adapters.Source, error) {
	if (cfg.Subscription == "") == (cfg.Resource == "") {
		return nil, adapters.Fieldf("subscription", "set either subscription or resource (with purpose)")
	}
	if cfg.Resource != "" && cfg.Purpose == "" {
		return nil, adapters.Fieldf("purpose", "subscribing to a resource needs a purpose (事由)")
	}
	if env.Hub == nil {
		return nil, adapters.Fieldf("subscription", "a hub subscription needs the hub block (url and token) in the config")
	}
	return &hubSub{cfg: cfg, hub: env.Hub}, nil
}

func (h *hubSub) Connect(ctx context.Context, from string) error {
	if h.resource == "" {
		id, resource, err := h.subscribe(ctx)
		if err != nil {
			return err
		}
		h.cfg.Subscription, h.resource = id, resource
	}
	h.cursor = from
	h.open = true
	return nil
}

// subscribe finds the configured subscription, or the department's active
// subscription for the resource and purpose, or creates one from the
// beginning of the library; it returns its id and resource.
func (h *hubSub) subscribe(ctx context.Context) (string, string, error) {
	subs, err := h.hub.Subscriptions(ctx)
	if err != nil {
		return "", "", hubErr(err)
	}
	if h.cfg.Subscription != "" {
		for _, s := range subs {
			if s.ID == h.cfg.Subscription {
				return s.ID, s.Resource, nil
			}
		}
		return "", "", adapters.Permanent(fmt.Errorf("hub_subscription: the department has no subscription %s", h.cfg.Subscription))
	}
	for _, s := range subs {
		if s.Resource == h.cfg.Resource && s.Purpose == h.cfg.Purpose && s.Status == "active" && s.WebhookURL == "" {
			return s.ID, s.Resource, nil
		}
	}
	sub, err := h.hub.Subscribe(ctx, client.SubscribeRequest{Resource: h.cfg.Resource, Purpose: h.cfg.Purpose, Start: "beginning"})
	if err != nil {
		return "", "", hubErr(err)
	}
	return sub.ID, sub.Resource, nil
}

// CaughtUp reports whether the hub's library has applied every record
// published to the subscription's resource so far (its lag is zero), so
// that a pull now sees them all.
func (h *hubSub) CaughtUp(ctx context.Context) (bool, error) {
	if !h.open {
		return false, adapters.ErrNotConnected
	}
	st, err := h.hub.ExchangeStatus(ctx)
	if err != nil {
		return false, hubErr(err)
	}
	lag, ok := st.Resource(h.resource)
	// No topic yet: nothing was ever published to the resource.
	return !ok || lag.Lag == 0, nil
}

func (h *hubSub) Read(ctx context.Context, max int) (adapters.Batch, error) {
	if !h.open {
		return adapters.Batch{}, adapters.ErrNotConnected
	}
	page, err := h.hub.Pull(ctx, h.cfg.Subscription, h.cursor, max)
	if err != nil {
		var he *client.Error
		if errors.As(err, &he) && !he.Temporary() && he.Status != 408 {
			return adapters.Batch{}, adapters.Permanent(err)
		}
		return adapters.Batch{}, err
	}
	if len(page.Records) == 0 {
		return adapters.Batch{}, adapters.ErrNoData
	}
	b := adapters.Batch{From: h.cursor, To: page.Cursor}
	for i, d := range page.Records {
		msg := adapters.Message{Deleted: d.Deleted, Origin: fmt.Sprintf("subscription %s seq %d", h.cfg.Subscription, d.Seq)}
		if len(d.Record) > 0 && !bytes.Equal(d.Record, []byte("null")) {
			dec := json.NewDecoder(bytes.NewReader(d.Record))
			dec.UseNumber()
			if err := dec.Decode(&msg.Record); err != nil {
				msg.Err = fmt.Errorf("delivery %d: %w", i, err)
			}
		}
		if msg.Record == nil {
			msg.Record = adapters.Record{}
		}
		b.Messages = append(b.Messages, msg)
	}
	sub, cursor := h.cfg.Subscription, page.Cursor
	b.Ack = func(ctx context.Context) error { return h.hub.Ack(ctx, sub, cursor) }
	h.cursor = page.Cursor
	return b, nil
}

func (h *hubSub) Close() error {
	h.open = false
	return nil
}
