package exchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/semaphore"

	"yiku/catalog"
	"yiku/fault"
	"yiku/fieldcrypt"
	"yiku/identity"
)

// IdempotencyStore remembers the response to a publish made with an
// Idempotency-Key, so a retried batch is answered without publishing again.
// A key is reserved before its batch is produced, so two requests with the
// same key never both produce: the second finds the reservation.
type IdempotencyStore interface {
	// ReserveIdempotencyKey claims key in scope for a request with
	// requestHash at now. claimed is true when the caller holds the key: it
	// was new, or only a reservation older than staleBefore held it (its
	// request died before completing). Otherwise entry is what holds it.
	ReserveIdempotencyKey(ctx context.Context, scope, key, requestHash string, now, staleBefore time.Time) (entry IdempotentEntry, claimed bool, err error)
	// CompleteIdempotencyKey stores the response of the caller's
	// reservation; later requests with the key get it replayed.
	CompleteIdempotencyKey(ctx context.Context, scope, key, requestHash string, response []byte) error
	// ReleaseIdempotencyKey drops the caller's reservation of a request
	// that failed, so the key can be used again; a completed key stays.
	ReleaseIdempotencyKey(ctx context.Context, scope, key, requestHash string) error
}

// IdempotentEntry is what holds an idempotency key: a completed request's
// response, or a reservation (Pending) of one still being published.
type IdempotentEntry struct {
	RequestHash string
	Response    []byte
	Pending     bool
}

// IdempotencyLease is how long a reservation holds its key without being
// completed before another request with the key may take it over. It is
// well above the longest a publish waits for capacity (2 s) and for Kafka
// (15 s), and short enough that a client retrying after a hub crash is
// answered within half a minute. Should a takeover ever race a first
// request stalled past the lease, the batch is produced twice. The library
// skips a record equal to its subject's current one, so the second copy
// changes nothing when each subject appears once in the batch and no newer
// record came between; otherwise it adds the same contents again as new
// versions, and subscribers see them once more.
const IdempotencyLease = 30 * time.Second

// Producer places messages on a topic and reports where (Router).
type Producer interface {
	Produce(ctx context.Context, topic string, msgs []kafka.Message) ([]Placement, error)
}

// TopicRegistry records the resource topics the hub writes to, so the
// library sink knows what to consume.
type TopicRegistry interface {
	RegisterTopic(ctx context.Context, resource, topic string) error
}

// DefaultMaxBacklog is the library backlog above which publishes are
// refused with 503 unless configured otherwise.
const DefaultMaxBacklog = 2_000_000

// PublishConfig bounds the publisher.
type PublishConfig struct {
	MaxRecords int
	// MaxInflightRecords bounds records being produced at once across all
	// requests; beyond it publishes wait up to AcquireWait and then get 503.
	MaxInflightRecords int64
	AcquireWait        time.Duration
	// ProduceTimeout bounds the wait for Kafka's acknowledgement.
	ProduceTimeout time.Duration
	// MaxBacklog is the library backlog (records in Kafka not yet applied)
	// above which publishes get 503, so a slow database pushes back on
	// publishers instead of letting Kafka grow without bound. 0 disables.
	MaxBacklog   int64
	RateLimitRPS float64
}

// Publisher accepts publish batches: it checks the publisher, validates the
// records, produces the valid ones and answers once Kafka has them.
type Publisher struct {
	cfg     PublishConfig
	dir     catalog.Directory
	prod    Producer
	topics  Topics
	idem    IdempotencyStore
	reg     TopicRegistry
	known   sync.Map // topics already registered
	limits  *RateLimits
	sem     *semaphore.Weighted
	backlog func() int64
	now     func() time.Time
	// Sealer encrypts the sensitive fields of every record produced (nil:
	// records go to Kafka in clear, a hub without a data key file).
	Sealer Sealer
}

// NewPublisher builds a publisher. backlog may be nil.
func NewPublisher(cfg PublishConfig, dir catalog.Directory, prod Producer, topics Topics, idem IdempotencyStore, reg TopicRegistry, backlog func() int64) *Publisher {
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = 5000
	}
	if cfg.MaxInflightRecords <= 0 {
		cfg.MaxInflightRecords = 50000
	}
	if cfg.AcquireWait <= 0 {
		cfg.AcquireWait = 2 * time.Second
	}
	if cfg.ProduceTimeout <= 0 {
		cfg.ProduceTimeout = 15 * time.Second
	}
	return &Publisher{
		cfg: cfg, dir: dir, prod: prod, topics: topics, idem: idem, reg: reg,
		limits: NewRateLimits(cfg.RateLimitRPS), sem: semaphore.NewWeighted(cfg.MaxInflightRecords),
		backlog: backlog, now: time.Now,
	}
}

// Config returns the publisher's limits.
func (p *Publisher) Config() PublishConfig { return p.cfg }

// PublishRequest is one publish batch.
type PublishRequest struct {
	Principal identity.Principal
	Resource  string // resource id or catalog code
	// Version is the schema version to validate against; 0 = latest published.
	Version        int
	Atomic         bool
	IdempotencyKey string
	Format         string // FormatJSON or FormatNDJSON
	Body           []byte
	TraceID        string
}

// PartitionRange is the offsets one partition gave to accepted records.
type PartitionRange struct {
	Partition   int   `json:"partition"`
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
	Count       int   `json:"count"`
}

// PublishResult answers a publish.
type PublishResult struct {
	Resource      string           `json:"resource"`
	Topic         string           `json:"topic"`
	SchemaVersion int              `json:"schema_version"`
	Accepted      int              `json:"accepted"`
	Rejected      int              `json:"rejected"`
	Errors        []Rejection      `json:"errors,omitempty"`
	Offsets       []PartitionRange `json:"offsets"`
	// Replayed is true when the answer is the stored response to an earlier
	// request with the same Idempotency-Key.
	Replayed bool `json:"replayed,omitempty"`
}

// Publish runs one batch. Client mistakes are fault errors; when Kafka or
// the library is too slow the error is fault Unavailable with RetryAfter.
func (p *Publisher) Publish(ctx context.Context, req PublishRequest) (PublishResult, error) {
	dept := req.Principal.DepartmentCode
	if err := p.limits.Allow(dept); err != nil {
		return PublishResult{}, err
	}
	res, id, err := p.providedResource(ctx, dept, req.Resource, "publishes")
	if err != nil {
		return PublishResult{}, err
	}
	if req.IdempotencyKey != "" {
		if len(req.IdempotencyKey) > 200 {
			return PublishResult{}, fault.Invalidf("invalid_idempotency_key", "Idempotency-Key is longer than 200 characters")
		}
		scope, reqHash := dept+"/"+id, requestHash(req)
		now := p.now()
		entry, claimed, err := p.idem.ReserveIdempotencyKey(ctx, scope, req.IdempotencyKey, reqHash, now, now.Add(-IdempotencyLease))
		if err != nil {
			return PublishResult{}, err
		}
		if !claimed {
			return replay(entry, reqHash, req.IdempotencyKey)
		}
		// From here the batch is produced and its result stored even if
		// the client goes away (a killed adapter): its retry with the same
		// key must find the result rather than publish the batch again.
		ctx = context.WithoutCancel(ctx)
		completed := false
		defer func() {
			if !completed {
				// The request failed before producing anything it could
				// answer for: free the key for the client's retry. If this
				// fails too, the reservation lapses after IdempotencyLease.
				_ = p.idem.ReleaseIdempotencyKey(ctx, scope, req.IdempotencyKey, reqHash)
			}
		}()
		out, err := p.publish(ctx, req, res, id, dept)
		if err != nil {
			return PublishResult{}, err
		}
		data, err := json.Marshal(out)
		if err != nil {
			return PublishResult{}, fmt.Errorf("exchange: encode result: %w", err)
		}
		if err := p.idem.CompleteIdempotencyKey(ctx, scope, req.IdempotencyKey, reqHash, data); err != nil {
			return PublishResult{}, err
		}
		completed = true
		return out, nil
	}
	return p.publish(ctx, req, res, id, dept)
}

// replay answers a request whose idempotency key is held by entry.
func replay(entry IdempotentEntry, reqHash, key string) (PublishResult, error) {
	if entry.RequestHash != reqHash {
		return PublishResult{}, fault.Conflictf("idempotency_key_reused", "Idempotency-Key %q was used for a different batch", key)
	}
	if entry.Pending {
		// Not a conflict the client must resolve: the same batch is on its
		// way (or its hub died and the reservation lapses); retrying gets the
		// stored answer, so answer as "try again shortly".
		e := fault.New(fault.Unavailable, "idempotency_in_progress", "a request with Idempotency-Key %q is still being published; retry for its result", key)
		e.RetryAfter = 2
		return PublishResult{}, e
	}
	var out PublishResult
	if err := json.Unmarshal(entry.Response, &out); err != nil {
		return PublishResult{}, fmt.Errorf("exchange: stored idempotent result: %w", err)
	}
	out.Replayed = true
	return out, nil
}

// publish parses, checks and produces one batch.
func (p *Publisher) publish(ctx context.Context, req PublishRequest, res catalog.Resource, id, dept string) (PublishResult, error) {
	raws, err := ParseBatch(req.Body, req.Format, p.cfg.MaxRecords)
	if err != nil {
		return PublishResult{}, err
	}
	prep, err := p.check(ctx, res, id, dept, req.Version, req.TraceID, raws)
	if err != nil {
		return PublishResult{}, err
	}
	checked := prep.Checked
	out := PublishResult{Resource: id, Topic: prep.Topic, SchemaVersion: prep.SchemaVersion, Rejected: checked.RejectedRecords, Errors: checked.Rejected, Offsets: []PartitionRange{}}
	if req.Atomic && checked.RejectedRecords > 0 {
		return PublishResult{}, rejectAll(checked)
	}
	if len(checked.Accepted) > 0 {
		placements, err := p.produce(ctx, prep.Topic, checked.Accepted)
		if err != nil {
			return PublishResult{}, err
		}
		out.Accepted = len(placements)
		out.Offsets = ranges(placements)
	}
	return out, nil
}

// Prepared is a validated batch, not yet produced.
type Prepared struct {
	Resource      string // resource id
	Topic         string
	SchemaVersion int
	Checked       Checked
}

// Prepare validates records of resource published by department exactly
// as Publish does (provider, resource status, schema version, per-record
// checks) without producing them. It is the Kafka ingress's half of the
// publish path; Route is the other. Client mistakes are fault errors.
func (p *Publisher) Prepare(ctx context.Context, department, resource string, version int, trace string, raws []json.RawMessage) (Prepared, error) {
	res, id, err := p.providedResource(ctx, department, resource, "publishes")
	if err != nil {
		return Prepared{}, err
	}
	return p.check(ctx, res, id, department, version, trace, raws)
}

func (p *Publisher) check(ctx context.Context, res catalog.Resource, id, dept string, version int, trace string, raws []json.RawMessage) (Prepared, error) {
	v, err := p.dir.Validator(ctx, id, version)
	if err != nil {
		return Prepared{}, err
	}
	checked := Check(Envelope{Resource: res, ID: id, Validator: v, Publisher: dept, TraceID: trace, Now: p.now()}, raws)
	return Prepared{Resource: id, Topic: p.topics.Records(id), SchemaVersion: v.Version(), Checked: checked}, nil
}

// providedResource looks the resource up and checks that dept provides it
// and that it accepts records.
func (p *Publisher) providedResource(ctx context.Context, dept, resource, verb string) (catalog.Resource, string, error) {
	res, err := p.dir.Resource(ctx, resource)
	if err != nil {
		return catalog.Resource{}, "", err
	}
	id := ResourceID(res, resource)
	if res.ProviderCode != dept {
		return catalog.Resource{}, "", fault.Forbiddenf("not_provider", "only the provider %s %s records of %s", res.ProviderCode, verb, id)
	}
	if !res.Status.AcceptsRecords() {
		return catalog.Resource{}, "", fault.Conflictf("resource_not_published", "resource %s is %s and accepts no records", id, res.Status)
	}
	if res.SubjectKey == "" {
		return catalog.Resource{}, "", fault.Conflictf("no_subject_key", "resource %s has no subject key to route records by", id)
	}
	return res, id, nil
}

// Delete publishes a tombstone for one subject.
func (p *Publisher) Delete(ctx context.Context, pr identity.Principal, resource, subject, reason, trace string) (PublishResult, error) {
	if err := p.limits.Allow(pr.DepartmentCode); err != nil {
		return PublishResult{}, err
	}
	rec, err := p.PrepareDelete(ctx, pr.DepartmentCode, resource, subject, reason, trace)
	if err != nil {
		return PublishResult{}, err
	}
	topic := p.topics.Records(rec.Resource)
	placements, err := p.produce(ctx, topic, []Record{rec})
	if err != nil {
		return PublishResult{}, err
	}
	return PublishResult{Resource: rec.Resource, Topic: topic, SchemaVersion: rec.SchemaVersion, Accepted: 1, Offsets: ranges(placements)}, nil
}

// PrepareDelete checks a deletion by department as Delete does and returns
// its tombstone, not yet produced.
func (p *Publisher) PrepareDelete(ctx context.Context, department, resource, subject, reason, trace string) (Record, error) {
	// A deletion is a record like any other: only the provider's, only on a
	// resource that accepts records and has a subject key to route it by.
	res, id, err := p.providedResource(ctx, department, resource, "deletes")
	if err != nil {
		return Record{}, err
	}
	if reason == "" || len(reason) > 500 {
		return Record{}, fault.Invalidf("invalid_reason", "a deletion needs a reason of 1 to 500 characters").WithDetails(fault.Detail{Field: "reason", Reason: "required"})
	}
	if subject == "" || len(subject) > 100 {
		return Record{}, fault.Invalidf("invalid_subject", "subject key must be 1 to 100 characters")
	}
	if fieldcrypt.SealedSubject(subject) {
		return Record{}, fault.Invalidf("invalid_subject", "a subject key may not begin with %q: the hub keeps that prefix for its pseudonyms", fieldcrypt.SubjectPrefix)
	}
	return Record{Resource: id, SubjectKey: subject, ID: TombstoneID(id, subject, reason), Publisher: department,
		TraceID: trace, PublishedAt: p.now(), DeleteReason: reason, SchemaVersion: res.LatestVersion}, nil
}

// Route validates nothing: it produces already-checked records of one
// resource (the Kafka ingress path, after Prepare) under the same
// back-pressure as HTTP publishes.
func (p *Publisher) Route(ctx context.Context, recs []Record) ([]Placement, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	return p.produce(ctx, p.topics.Records(recs[0].Resource), recs)
}

func (p *Publisher) produce(ctx context.Context, topic string, recs []Record) ([]Placement, error) {
	if p.backlog != nil && p.cfg.MaxBacklog > 0 {
		if b := p.backlog(); b > p.cfg.MaxBacklog {
			e := fault.New(fault.Unavailable, "library_behind", "the library is %d records behind; retry shortly", b)
			e.RetryAfter = 2
			return nil, e
		}
	}
	n := int64(len(recs))
	if n > p.cfg.MaxInflightRecords {
		n = p.cfg.MaxInflightRecords
	}
	actx, cancel := context.WithTimeout(ctx, p.cfg.AcquireWait)
	err := p.sem.Acquire(actx, n)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := fault.New(fault.Unavailable, "busy", "the hub is at its limit of records in flight; retry shortly")
		e.RetryAfter = 1
		return nil, e
	}
	defer p.sem.Release(n)
	if _, ok := p.known.Load(topic); !ok {
		if err := p.reg.RegisterTopic(ctx, recs[0].Resource, topic); err != nil {
			return nil, err
		}
		p.known.Store(topic, true)
	}
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = r.Message(topic)
	}
	if err := p.seal(ctx, recs, msgs); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, p.cfg.ProduceTimeout)
	defer cancel()
	placements, err := p.prod.Produce(pctx, topic, msgs)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := fault.Wrap(err, fault.Unavailable, "kafka_unavailable", "Kafka did not acknowledge the records; nothing is accepted, retry")
		e.RetryAfter = 2
		return nil, e
	}
	return placements, nil
}

// seal encrypts the sensitive fields of the messages of recs (one
// resource's records) and, when the subject field is one of them, keys the
// messages by the subject's pseudonym. The record ids stay the hashes of
// the plaintext.
func (p *Publisher) seal(ctx context.Context, recs []Record, msgs []kafka.Message) error {
	if p.Sealer == nil {
		return nil
	}
	res, err := p.dir.Resource(ctx, recs[0].Resource)
	if err != nil {
		return err
	}
	sensitive := SensitiveFields(res)
	pseudonyms := slices.Contains(sensitive, res.SubjectKey)
	unavailable := func(err error) error {
		e := fault.Wrap(err, fault.Unavailable, "encryption_unavailable", "the sensitive fields of the records could not be encrypted; nothing is accepted, retry")
		e.RetryAfter = 2
		return e
	}
	for i, r := range recs {
		if pseudonyms {
			key, err := p.Sealer.SealSubject(ctx, r.Resource, r.SubjectKey)
			if err != nil {
				return unavailable(err)
			}
			msgs[i].Key = []byte(key)
		}
		if r.Tombstone() {
			continue
		}
		data, sealed, err := p.Sealer.Seal(ctx, r.Resource, sensitive, r.Data)
		if err != nil {
			return unavailable(err)
		}
		if sealed {
			msgs[i].Value = data
			msgs[i].Headers = append(msgs[i].Headers, kafka.Header{Key: HeaderSealed, Value: []byte(SealedFormat)})
		}
	}
	return nil
}

// ResourceID is the id a resource is routed and stored under: the
// catalog's short id, whichever name (id or catalog code) the caller used.
func ResourceID(res catalog.Resource, asked string) string {
	if res.ID != "" {
		return res.ID
	}
	return asked
}

func rejectAll(c Checked) error {
	e := fault.Invalidf("records_invalid", "%d of %d records are invalid; with atomic=true none is accepted", c.RejectedRecords, c.RejectedRecords+len(c.Accepted))
	for _, r := range c.Rejected {
		e = e.WithDetails(fault.Detail{Record: fault.Index(r.Index), Pointer: r.Pointer, Rule: r.Rule, Reason: r.Message})
	}
	return e
}

func ranges(ps []Placement) []PartitionRange {
	by := map[int]*PartitionRange{}
	for _, pl := range ps {
		r, ok := by[pl.Partition]
		if !ok {
			by[pl.Partition] = &PartitionRange{Partition: pl.Partition, FirstOffset: pl.Offset, LastOffset: pl.Offset, Count: 1}
			continue
		}
		r.FirstOffset = min(r.FirstOffset, pl.Offset)
		r.LastOffset = max(r.LastOffset, pl.Offset)
		r.Count++
	}
	out := make([]PartitionRange, 0, len(by))
	for _, r := range by {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

func requestHash(req PublishRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%t\x00%s\x00", req.Resource, req.Version, req.Atomic, req.Format)
	h.Write(req.Body)
	return hex.EncodeToString(h.Sum(nil))
}
