package ingress_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/catalog"
	"yiku/catalog/sqlstore"
	"yiku/catalog/validation"
	"yiku/demo"
	"yiku/exchange"
	"yiku/exchange/ingress"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
)

// produce writes records of resource (schema version version) to a
// department's ingress topic as an adapter does.
func produce(t *testing.T, ctx context.Context, h *hubtest.Hub, topic, resource string, version int, recs ...map[string]any) {
	t.Helper()
	if err := h.Broker.EnsureTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	msgs := make([]kafka.Message, len(recs))
	for i, rec := range recs {
		v, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		key, _ := rec["id_number"].(string)
		msgs[i] = kafka.Message{Key: []byte(key), Value: v, Headers: []kafka.Header{
			{Key: ingress.HeaderResource, Value: []byte(resource)},
			{Key: ingress.HeaderSchemaVersion, Value: []byte(fmt.Sprint(version))},
		}}
	}
	// A transport of its own (with the hub's login): kafka-go's default
	// one is shared by the whole test binary and answers from metadata
	// cached up to 6 s, so a topic created since an earlier test used it
	// would be unknown to it.
	tr := h.Broker.Transport()
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: h.Broker.Addr(), Topic: topic, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Transport: tr}
	defer w.Close()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// storeLegacyVersion stores schema as the next version of a resource
// straight into the catalog's tables, as a version registered before the
// complexity budget existed was, and returns its number.
func storeLegacyVersion(t *testing.T, ctx context.Context, h *hubtest.Hub, id string, schema []byte) int {
	t.Helper()
	st := sqlstore.New(h.DB.Gorm)
	cur, err := st.Resource(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := validation.Canonicalize(schema)
	if err != nil {
		t.Fatal(err)
	}
	next := cur
	next.LatestVersion, next.Revision = cur.LatestVersion+1, cur.Revision+1
	now := time.Now().UTC()
	v := &catalog.SchemaVersion{ResourceID: id, Version: next.LatestVersion, Fingerprint: canon.Fingerprint, Schema: canon.JSON, Fields: cur.Fields, CreatedBy: "legacy", CreatedAt: now}
	c := catalog.Change{ResourceID: id, Revision: next.Revision, Action: catalog.ActionSchemaRegister, PrincipalName: "legacy", At: now}
	if err := st.Save(ctx, next, c, v); err != nil {
		t.Fatal(err)
	}
	return next.LatestVersion
}

// poisonMarriage is a marriage-registration schema whose "name" is checked
// by $defs doubling at each of 40 levels with a pattern at the bottom: one
// record against it would keep a core busy for good.
func poisonMarriage() []byte {
	defs := []string{`"d0":{"type":"string","pattern":"^.+$"}`}
	for i := 1; i <= 40; i++ {
		defs = append(defs, fmt.Sprintf(`"d%d":{"allOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]}`, i, i-1, i-1))
	}
	return []byte(`{"type":"object","additionalProperties":true,"$defs":{` + strings.Join(defs, ",") + `},"properties":{"name":{"$ref":"#/$defs/d40"}}}`)
}

// TestPoisonVersionDeadLettersAndOthersFlow: a schema version over the
// complexity budget, stored before the budget existed, no longer stalls
// the ingress: civil affairs' record against it is dead-lettered with the
// reason (and its offset committed), and public security's records, sent
// at the same time, reach the library.
func TestPoisonVersionDeadLettersAndOthersFlow(t *testing.T) {
	h := hubtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topics := exchange.Topics{Prefix: h.Cfg.TopicPrefix}
	n := storeLegacyVersion(t, ctx, h, "marriage-registration", poisonMarriage())

	r := rand.New(rand.NewPCG(21, 7))
	p1, p2 := loadgen.Person(r, 201, 0), loadgen.Person(r, 202, 0)
	marriage := map[string]any{"id_number": p1["id_number"], "name": strings.Repeat("a", 30)}
	produce(t, ctx, h, topics.Ingress(demo.DeptCivil), "marriage-registration", n, marriage)
	produce(t, ctx, h, topics.Ingress(demo.DeptPSB), "population", 0, p1, p2)

	lib := h.Library
	for _, rec := range []map[string]any{p1, p2} {
		waitLibrary(t, lib, "population", rec["id_number"].(string))
	}
	dead := readTopic(t, ctx, h.Broker, topics.DeadLetters(demo.DeptCivil), 1)
	rule, msg := header(dead[0], ingress.HeaderDLQRule), header(dead[0], ingress.HeaderDLQMessage)
	if rule != "schema_version_unusable" || !strings.Contains(msg, "exceeds the budget") {
		t.Fatalf("dead letter rule %q message %q, want schema_version_unusable naming the budget", rule, msg)
	}
	t.Logf("dead letter: %s: %s", rule, msg)

	// Over HTTP the same version is refused at once with the same code.
	done := make(chan hubtest.Response, 1)
	go func() {
		done <- h.Do("POST", fmt.Sprintf("/api/v1/resources/marriage-registration/records?version=%d", n), "civil-system", []map[string]any{marriage})
	}()
	select {
	case resp := <-done:
		if resp.Status != 409 || !strings.Contains(string(resp.Body), "schema_version_unusable") {
			t.Fatalf("HTTP publish against the poison version: %d %s", resp.Status, resp.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HTTP publish against the poison version did not answer within 10 s")
	}
}

// stallOn is the publish path with one department's records held up, as
// by a record whose validation takes long: Prepare for that department
// waits until released.
type stallOn struct {
	ingress.Publishing
	dept     string
	entered  chan struct{}
	released chan struct{}
}

func (s *stallOn) Prepare(ctx context.Context, department, resource string, version int, trace string, raws []json.RawMessage) (exchange.Prepared, error) {
	if department == s.dept {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-s.released:
		case <-ctx.Done():
			return exchange.Prepared{}, ctx.Err()
		}
	}
	return s.Publishing.Prepare(ctx, department, resource, version, trace, raws)
}

// TestOneDepartmentStalledOthersApplied runs an ingress worker whose
// civil-affairs batches are held up in validation: public security's
// records, produced after the stall began, still reach the library; once
// released, civil affairs' record is handled (dead-lettered with its
// reasons); and the worker stops at once when asked.
func TestOneDepartmentStalledOthersApplied(t *testing.T) {
	h := hubtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The hub's own worker reads <prefix>.ingress.*; this one reads its own
	// ingress topics and routes into the hub's record topics and library.
	records := exchange.Topics{Prefix: h.Cfg.TopicPrefix}
	own := exchange.Topics{Prefix: h.Cfg.TopicPrefix + "-stall"}
	lib := h.Library
	router := exchange.NewRouter(h.Broker)
	pub := exchange.NewPublisher(exchange.PublishConfig{MaxRecords: 1000}, h.Catalog, router, records, lib, lib, nil)
	stall := &stallOn{Publishing: pub, dept: demo.DeptCivil, entered: make(chan struct{}, 1), released: make(chan struct{})}
	w := ingress.NewWorker(ingress.WorkerConfig{Kafka: h.Broker, GroupID: own.Prefix + ".ingress", DepartmentPoll: 500 * time.Millisecond,
		Departments: func(context.Context) ([]string, error) { return []string{demo.DeptCivil, demo.DeptPSB}, nil }},
		&ingress.Ingester{Publishing: stall, DeadLetters: router, Index: ingress.NewStore(h.DB), Topics: own}, h.Broker, nil, nil)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() {
		stop()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the worker did not stop within 30 s")
		}
	}()

	r := rand.New(rand.NewPCG(31, 9))
	produce(t, ctx, h, own.Ingress(demo.DeptCivil), "marriage-registration", 0, map[string]any{"id_number": "not an id"})
	select {
	case <-stall.entered:
	case <-ctx.Done():
		t.Fatal("civil affairs' batch never reached validation")
	}
	p1, p2 := loadgen.Person(r, 301, 0), loadgen.Person(r, 302, 0)
	produce(t, ctx, h, own.Ingress(demo.DeptPSB), "population", 0, p1, p2)
	for _, rec := range []map[string]any{p1, p2} {
		waitLibrary(t, lib, "population", rec["id_number"].(string))
	}
	select {
	case <-stall.released:
		t.Fatal("released too early")
	default:
	}
	if dead, err := ingress.NewStore(h.DB).DeadLetters(ctx, ingress.Filter{Department: demo.DeptCivil, Limit: 10}); err != nil || len(dead) != 0 {
		t.Fatalf("civil affairs' record handled while stalled: %+v %v", dead, err)
	}

	close(stall.released)
	dead := readTopic(t, ctx, h.Broker, own.DeadLetters(demo.DeptCivil), 1)
	if header(dead[0], ingress.HeaderDLQRule) == "" || header(dead[0], ingress.HeaderDLQTopic) != own.Ingress(demo.DeptCivil) {
		t.Fatalf("civil affairs' dead letter headers %v", dead[0].Headers)
	}
}
