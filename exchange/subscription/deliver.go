package subscription

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"yiku/audit"
	"yiku/catalog"
	"yiku/exchange"
	"yiku/fault"
	"yiku/identity"
	"yiku/objection"
	"yiku/policies/sharing"
)

// Egress produces to a subscription's own topic (exchange.Router).
type Egress interface {
	Produce(ctx context.Context, topic string, msgs []kafka.Message) ([]exchange.Placement, error)
}

// DeliverConfig tunes the delivery worker.
type DeliverConfig struct {
	Poll      time.Duration
	BatchSize int
	// MaxAttempts failed webhook attempts park the subscription's push.
	MaxAttempts int
	// BackoffBase doubles with every failed attempt, up to BackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	HTTPTimeout time.Duration
	// Lease is how long an instance holds a subscription while it delivers
	// one round (default three HTTP timeouts, at least a minute).
	Lease time.Duration
	// Instance names this hub instance in leases (default host name, pid
	// and a random suffix).
	Instance string
	// Webhooks decides which destinations may be called; it is checked
	// again for every connection.
	Webhooks WebhookPolicy
	Log      *slog.Logger
}

// Deliverer pushes library records to webhooks and egress topics.
type Deliverer struct {
	cfg        DeliverConfig
	store      *Store
	lib        Library
	dir        catalog.Directory
	gate       sharing.Gate
	principals Principals
	egress     Egress
	recorder   audit.Recorder
	secret     []byte
	client     *http.Client
	delivered  *prometheus.CounterVec
	failures   *prometheus.CounterVec
	// Objections flags deliveries whose record is under open objection
	// (nil: no flags).
	Objections objection.Flags
}

// NewDeliverer builds the worker. recorder records every push and egress
// delivery before it leaves the hub.
func NewDeliverer(cfg DeliverConfig, store *Store, lib Library, dir catalog.Directory, gate sharing.Gate, principals Principals, egress Egress, recorder audit.Recorder, secret []byte, reg prometheus.Registerer) *Deliverer {
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 200
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Minute
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 10 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = max(3*cfg.HTTPTimeout, time.Minute)
	}
	if cfg.Instance == "" {
		cfg.Instance = instanceName()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	d := &Deliverer{
		cfg: cfg, store: store, lib: lib, dir: dir, gate: gate, principals: principals, egress: egress, recorder: recorder, secret: secret,
		client:    cfg.Webhooks.Client(cfg.HTTPTimeout),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_subscription_delivered_records_total", Help: "Records delivered to subscribers, by mode."}, []string{"mode"}),
		failures:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_subscription_delivery_failures_total", Help: "Failed webhook or egress deliveries, by mode."}, []string{"mode"}),
	}
	if reg != nil {
		reg.MustRegister(d.delivered, d.failures)
	}
	return d
}

// Name names the worker.
func (d *Deliverer) Name() string { return "subscription-delivery" }

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := d.Once(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Log.Warn("subscription delivery", "err", err)
		}
	}
}

// Once runs one delivery round over every due subscription no other
// instance is delivering. Each is claimed first (a lease in the
// subscriptions table), so with several hub instances every batch is sent
// by one of them; the cursor updates are compare-and-set, so an instance
// whose lease ran out mid-delivery cannot move a cursor back.
func (d *Deliverer) Once(ctx context.Context) error {
	subs, err := d.store.Deliverable(ctx, time.Now())
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, cand := range subs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sub, ok, err := d.store.Claim(ctx, cand.ID, d.cfg.Instance, time.Now(), d.cfg.Lease)
			if err != nil {
				d.cfg.Log.Warn("subscription delivery: claim", "subscription", cand.ID, "err", err)
				return
			}
			if !ok {
				return
			}
			defer func() {
				// Released even when ctx ended, so another instance need not wait out the lease.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := d.store.Release(rctx, sub.ID, d.cfg.Instance); err != nil {
					d.cfg.Log.Warn("subscription delivery: release", "subscription", sub.ID, "err", err)
				}
			}()
			d.deliver(ctx, sub)
		}()
	}
	wg.Wait()
	return nil
}

func instanceName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

func (d *Deliverer) deliver(ctx context.Context, sub Subscription) {
	log := d.cfg.Log.With("subscription", sub.ID, "resource", sub.ResourceID)
	p, err := d.principals.Principal(ctx, sub.PrincipalID)
	if err != nil && fault.KindOf(err) != fault.NotFound {
		log.Warn("subscription delivery: principal", "err", err)
		return
	}
	if err != nil || p.DisabledAt != nil {
		if sub.StoppedReason != reasonOwnerDisabled {
			_ = d.store.Stopped(ctx, sub.ID, reasonOwnerDisabled)
		}
		return
	}
	res, err := d.dir.Resource(ctx, sub.ResourceID)
	if err != nil {
		log.Warn("subscription delivery: resource", "err", err)
		return
	}
	// Asked on every round: a revoked grant stops delivery at the next round.
	dec, err := Decide(ctx, d.gate, p, res, sub.Purpose, sub.CaseNumber)
	if err != nil {
		if k := fault.KindOf(err); k == fault.Forbidden || k == fault.Invalid {
			if sub.StoppedReason != err.Error() {
				_ = d.store.Stopped(ctx, sub.ID, err.Error())
			}
			return
		}
		log.Warn("subscription delivery: gate", "err", err)
		return
	}
	// The grant may have been narrowed since the filter was accepted.
	if err := CheckFilter(sub, dec); err != nil {
		if sub.StoppedReason != err.Error() {
			_ = d.store.Stopped(ctx, sub.ID, err.Error())
		}
		return
	}
	if sub.WebhookURL != "" && (sub.PushState == PushActive || sub.PushState == PushRetrying) &&
		(sub.PushNextAt == nil || !sub.PushNextAt.After(time.Now())) {
		if err := d.push(ctx, sub, res, dec, auditFor(sub, p)); err != nil {
			log.Warn("subscription delivery: webhook", "err", err)
		}
	}
	if sub.EgressTopic != "" {
		if err := d.produce(ctx, sub, res, dec, auditFor(sub, p)); err != nil {
			log.Warn("subscription delivery: egress", "err", err)
		}
	}
}

type auditFn func(action string, b Batch) audit.Event

func auditFor(sub Subscription, p identity.Principal) auditFn {
	return func(action string, b Batch) audit.Event { return auditEvent(sub, p, action, b) }
}

// WebhookBody is what a webhook receives.
type WebhookBody struct {
	Subscription string     `json:"subscription"`
	Resource     string     `json:"resource"`
	Records      []Delivery `json:"records"`
	Cursor       string     `json:"cursor"`
}

func (d *Deliverer) push(ctx context.Context, sub Subscription, res catalog.Resource, dec sharing.Decision, ev auditFn) error {
	b, err := Collect(ctx, d.lib, sub, res, dec, sub.PushCursor, d.cfg.BatchSize)
	if err != nil {
		return err
	}
	if err := FlagObjections(ctx, d.Objections, &b); err != nil {
		return err
	}
	if len(b.Deliveries) == 0 {
		if b.Next > sub.PushCursor {
			return d.store.PushDelivered(ctx, sub.ID, d.cfg.Instance, sub.PushCursor, b.Next)
		}
		return nil
	}
	body, err := json.Marshal(WebhookBody{Subscription: sub.ID, Resource: sub.ResourceID, Records: b.Deliveries, Cursor: strconv.FormatInt(b.Next, 10)})
	if err != nil {
		return fmt.Errorf("encode webhook body: %w", err)
	}
	// The URL was checked at creation; the policy may have been tightened
	// since (http no longer allowed): park until the URL is changed.
	// Addresses are checked on every connection.
	if _, err := d.cfg.Webhooks.parse(sub.WebhookURL); err != nil {
		d.failures.WithLabelValues("webhook").Inc()
		if err := d.store.PushFailed(ctx, sub.ID, d.cfg.Instance, sub.PushCursor, sub.PushAttempts+1, time.Now(), true, err.Error()); err != nil {
			return err
		}
		return fmt.Errorf("parked: %w", err)
	}
	if d.recorder != nil {
		if err := d.recorder.Record(ctx, ev("record.deliver.webhook", b)); err != nil {
			return fmt.Errorf("audit webhook delivery: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return d.pushFailed(ctx, sub, err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Yiku-Subscription", sub.ID)
	req.Header.Set("X-Yiku-Delivery", fmt.Sprintf("%s:%d-%d", sub.ID, b.Deliveries[0].Seq, b.Next))
	req.Header.Set("X-Yiku-Signature", Sign(WebhookKey(d.secret, sub.ID), time.Now(), body))
	resp, err := d.client.Do(req)
	if err != nil {
		return d.pushFailed(ctx, sub, "request failed: "+err.Error())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return d.pushFailed(ctx, sub, "receiver answered "+resp.Status)
	}
	d.delivered.WithLabelValues("webhook").Add(float64(len(b.Deliveries)))
	return d.store.PushDelivered(ctx, sub.ID, d.cfg.Instance, sub.PushCursor, b.Next)
}

func (d *Deliverer) pushFailed(ctx context.Context, sub Subscription, reason string) error {
	d.failures.WithLabelValues("webhook").Inc()
	attempts := sub.PushAttempts + 1
	wait := min(d.cfg.BackoffBase<<min(attempts-1, 20), d.cfg.BackoffMax)
	park := attempts >= d.cfg.MaxAttempts
	if err := d.store.PushFailed(ctx, sub.ID, d.cfg.Instance, sub.PushCursor, attempts, time.Now().Add(wait), park, reason); err != nil {
		return err
	}
	return fmt.Errorf("attempt %d: %s", attempts, reason)
}

func (d *Deliverer) produce(ctx context.Context, sub Subscription, res catalog.Resource, dec sharing.Decision, ev auditFn) error {
	b, err := Collect(ctx, d.lib, sub, res, dec, sub.EgressCursor, d.cfg.BatchSize)
	if err != nil {
		return err
	}
	if err := FlagObjections(ctx, d.Objections, &b); err != nil {
		return err
	}
	if len(b.Deliveries) == 0 {
		if b.Next > sub.EgressCursor {
			return d.store.EgressDelivered(ctx, sub.ID, d.cfg.Instance, sub.EgressCursor, b.Next)
		}
		return nil
	}
	if d.recorder != nil {
		if err := d.recorder.Record(ctx, ev("record.deliver.egress", b)); err != nil {
			return fmt.Errorf("audit egress delivery: %w", err)
		}
	}
	key := WebhookKey(d.secret, "egress\x00"+sub.ID)
	msgs := make([]kafka.Message, len(b.Deliveries))
	for i, del := range b.Deliveries {
		val, err := json.Marshal(del)
		if err != nil {
			return fmt.Errorf("encode egress record: %w", err)
		}
		// The key is a per-subscription pseudonym of the subject: it keeps
		// a subject's records on one partition without exposing its id.
		m := hmac.New(sha256.New, key)
		m.Write([]byte(b.Subjects[i]))
		msgs[i] = kafka.Message{Key: []byte(hex.EncodeToString(m.Sum(nil))[:32]), Value: val, Headers: []kafka.Header{
			{Key: "yiku-subscription", Value: []byte(sub.ID)},
			{Key: exchange.HeaderResource, Value: []byte(sub.ResourceID)},
			{Key: exchange.HeaderRecordID, Value: []byte(del.RecordID)},
			{Key: "yiku-seq", Value: []byte(strconv.FormatInt(del.Seq, 10))},
		}}
	}
	if _, err := d.egress.Produce(ctx, sub.EgressTopic, msgs); err != nil {
		d.failures.WithLabelValues("egress").Inc()
		return err
	}
	d.delivered.WithLabelValues("egress").Add(float64(len(b.Deliveries)))
	return d.store.EgressDelivered(ctx, sub.ID, d.cfg.Instance, sub.EgressCursor, b.Next)
}
