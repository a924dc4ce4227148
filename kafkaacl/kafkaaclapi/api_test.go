package kafkaaclapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
	"yiku/kafkaacl"
	"yiku/kafkaacl/kafkaadmin"
)

const purpose = "办理社会救助审核"

// settle bounds how long a change made through the hub may take to reach
// every connection: Kafka applies ACLs and credentials through its
// metadata log, which takes a moment on a busy machine. A loaded CI
// machine (load average above 30 on two cores) once needed more than 20 s
// for a new egress login to authenticate; every wait ends as soon as the
// change is seen, so the bound costs nothing when it arrives.
const settle = 60 * time.Second

// as connects to the test hub's Kafka as a login the hub issued, over the
// same transport (TLS, CA) as the hub's own connections.
func as(t *testing.T, h *hubtest.Hub, l kafkaacl.Login) *kafka.Client {
	t.Helper()
	s := h.Kafka.Settings
	sec, err := broker.NewSecurity(broker.SecuritySettings{Mechanism: l.Mechanism, Username: l.Username, Password: l.Password,
		TLS: s.TLS, CAFile: s.CAFile, ServerName: s.ServerName})
	if err != nil {
		t.Fatal(err)
	}
	tr := sec.Transport("kafkaacl-test")
	// (kafka-go answers metadata from a cache it refreshes every 6 s, and
	// bounds each refresh by that TTL: a short TTL fails under load. A
	// revoked right still shows at once: the broker refuses the fetch.)
	// The dial timeout covers the TLS handshake and the SCRAM login,
	// which take seconds on a loaded machine.
	tr.DialTimeout = 30 * time.Second
	t.Cleanup(tr.CloseIdleConnections)
	return &kafka.Client{Addr: kafka.TCP(h.Kafka.Brokers...), Timeout: 30 * time.Second, Transport: tr}
}

func write(c *kafka.Client, topic string, headers ...kafka.Header) error {
	if err := describe(c, topic); err != nil {
		return err
	}
	// acks=all: with kafka-go's default (none) a refused write looks
	// like a success.
	w := &kafka.Writer{Addr: c.Addr, Transport: c.Transport, MaxAttempts: 1, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return w.WriteMessages(ctx, kafka.Message{Topic: topic, Key: []byte(loadgen.ResidentID(1)), Value: []byte(`{}`), Headers: headers})
}

// describe asks the topic's metadata as the client: a topic the principal
// has no rights on comes back with an authorisation failure or not at all
// (kafka-go then says "unknown topic"). Without this, a writer waits for
// a topic it cannot see until its deadline.
func describe(c *kafka.Client, topic string) error {
	// Generous: kafka-go answers from the metadata it fetches after a TLS
	// handshake and a SCRAM login, which takes seconds on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return err
	}
	for _, tm := range md.Topics {
		if tm.Name == topic {
			return tm.Error
		}
	}
	return kafka.UnknownTopicOrPartition
}

// fetch reads partition 0 of topic from the start; it returns the
// broker's error (an authorisation failure, say) or nil. The topic's
// metadata is asked first: kafka-go's Fetch reports a topic the broker
// refuses to describe as "not found".
func fetch(c *kafka.Client, topic string) error {
	if err := describe(c, topic); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: 0, Offset: 0, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	return resp.Error
}

// offsets asks the group's committed offsets of topic: group access.
func offsets(c *kafka.Client, group, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0}}})
	if err != nil {
		return err
	}
	// A group that never committed is not an authorisation failure.
	if resp.Error != nil && !errors.Is(resp.Error, kafka.GroupIdNotFound) {
		return resp.Error
	}
	for _, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return p.Error
			}
		}
	}
	return nil
}

func refused(err error) bool {
	var we kafka.WriteErrors
	if errors.As(err, &we) && len(we) > 0 {
		return refused(we[0])
	}
	return errors.Is(err, kafka.TopicAuthorizationFailed) || errors.Is(err, kafka.GroupAuthorizationFailed)
}

// hidden: a client may also be told the topic is unknown, because the
// broker leaves a topic the principal has no rights on out of the
// metadata it lists (the tests create every topic they try first, so it
// exists).
func hidden(err error) bool {
	return refused(err) || errors.Is(err, kafka.UnknownTopicOrPartition)
}

func admin(h *hubtest.Hub) *kafkaadmin.Admin { return &kafkaadmin.Admin{Client: h.Broker.Admin()} }

// bindingsOf lists the cluster's bindings of principal.
func bindingsOf(t *testing.T, h *hubtest.Hub, principal string) []kafkaacl.Binding {
	t.Helper()
	all, err := admin(h).Bindings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []kafkaacl.Binding
	for _, b := range all {
		if b.Principal == principal {
			out = append(out, b)
		}
	}
	return out
}

// within polls cond every 100 ms until it holds or d has passed.
func within(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDepartmentIngressPrincipal(t *testing.T) {
	h := hubtest.Start(t)
	prefix := h.Cfg.TopicPrefix
	path := "/api/v1/departments/lx-psb/kafka-ingress"

	// Who may: the department's admin and the e-government office.
	for _, tc := range []struct {
		who, path string
		want      int
	}{
		{"psb-system", path, http.StatusForbidden},
		{"officer-gsc", path, http.StatusForbidden},
		{"admin-amr", path, http.StatusForbidden},
		{"catalog-admin", "/api/v1/departments/no-such-dept/kafka-ingress", http.StatusNotFound},
	} {
		if r := h.Do(http.MethodPost, tc.path, tc.who, nil); r.Status != tc.want {
			t.Errorf("%s POST %s: %d %s, want %d", tc.who, tc.path, r.Status, r.Body, tc.want)
		}
	}
	if r := h.Do(http.MethodGet, path, "admin-psb", nil); r.Status != http.StatusNotFound {
		t.Fatalf("status before enabling: %d %s", r.Status, r.Body)
	}

	r := h.Do(http.MethodPost, path, "admin-psb", nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	var login kafkaacl.Login
	r.JSON(t, &login)
	if login.Username != prefix+"-dept-lx-psb" || login.Password == "" || login.Topic != prefix+".ingress.lx-psb" || login.Mechanism != "SCRAM-SHA-512" {
		t.Fatalf("login %+v", login)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("the password's response may be cached")
	}
	if r := h.Do(http.MethodPost, path, "catalog-admin", nil); r.Status != http.StatusConflict {
		t.Fatalf("second enable: %d %s", r.Status, r.Body)
	}
	st := h.Do(http.MethodGet, path, "catalog-admin", nil)
	if st.Status != http.StatusOK || strings.Contains(string(st.Body), login.Password) || !strings.Contains(string(st.Body), `"state":"active"`) {
		t.Fatalf("status: %d %s", st.Status, st.Body)
	}

	// The ACLs are applied before the call returns: write on its own
	// ingress topic, nothing else.
	want := []kafkaacl.Binding{{Principal: login.Principal, Type: kafkaacl.Topic, Name: login.Topic, Pattern: kafkaacl.Literal,
		Operation: kafkaacl.Write, Permission: kafkaacl.Allow, Host: "*"}}
	// Kafka applies ACLs and SCRAM credentials through its metadata log:
	// other connections see them a moment after the call returned.
	if _, ok := within(settle, func() bool { return slices.Equal(bindingsOf(t, h, login.Principal), want) }); !ok {
		t.Fatalf("bindings %v, want %v", bindingsOf(t, h, login.Principal), want)
	}

	if err := h.Broker.EnsureTopics(context.Background(), login.Topic, prefix+".ingress.lx-amr", prefix+".records.population"); err != nil {
		t.Fatal(err)
	}
	if _, ok := within(settle, func() bool {
		return write(as(t, h, login), login.Topic, kafka.Header{Key: "yiku-resource", Value: []byte("population")}) == nil
	}); !ok {
		t.Fatalf("write own ingress topic: %v", write(as(t, h, login), login.Topic))
	}
	// A client connected after the login took effect (one that tried
	// before may hold a failed login in its pool).
	psb := as(t, h, login)
	if err := write(psb, prefix+".ingress.lx-amr", kafka.Header{Key: "yiku-resource", Value: []byte("business-licence")}); !hidden(err) {
		t.Fatalf("write another department's ingress topic: %v, want an authorisation failure", err)
	}
	if err := write(psb, prefix+".records.population"); !hidden(err) {
		t.Fatalf("write a records topic: %v, want an authorisation failure", err)
	}
	if err := fetch(psb, prefix+".records.population"); !hidden(err) {
		t.Fatalf("read a records topic: %v, want an authorisation failure", err)
	}
	if err := fetch(psb, login.Topic); !hidden(err) {
		t.Fatalf("read its own ingress topic back: %v, want an authorisation failure", err)
	}

	// Rotation: a new password; the old one no longer logs in.
	rr := h.Do(http.MethodPost, path+"/rotate", "admin-psb", nil)
	if rr.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", rr.Status, rr.Body)
	}
	var rotated kafkaacl.Login
	rr.JSON(t, &rotated)
	if rotated.Password == login.Password || rotated.Username != login.Username {
		t.Fatalf("rotated login %+v", rotated)
	}
	if _, ok := within(settle, func() bool {
		return write(as(t, h, rotated), login.Topic, kafka.Header{Key: "yiku-resource", Value: []byte("population")}) == nil
	}); !ok {
		t.Fatal("the rotated password does not write")
	}
	if err := write(as(t, h, login), login.Topic); err == nil {
		t.Fatal("the old password still writes")
	}

	// Revocation: ACLs and credential gone before the call returns.
	rv := h.Do(http.MethodDelete, path, "admin-psb", nil)
	if rv.Status != http.StatusOK || !strings.Contains(string(rv.Body), `"state":"removed"`) {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	took, ok := within(5*time.Second, func() bool { return write(as(t, h, rotated), login.Topic) != nil })
	if !ok {
		t.Fatal("a revoked principal still writes after 5 s")
	}
	t.Logf("a revoked department principal was refused %v after the revocation returned", took)
	if _, ok := within(settle, func() bool {
		have, err := admin(h).SCRAMUsers(context.Background(), []string{login.Username})
		return err == nil && !have[login.Username] && len(bindingsOf(t, h, login.Principal)) == 0
	}); !ok {
		t.Fatalf("bindings or SCRAM credential left after revocation: %v", bindingsOf(t, h, login.Principal))
	}
	if r := h.Do(http.MethodDelete, path, "admin-psb", nil); r.Status != http.StatusConflict {
		t.Fatalf("second revoke: %d %s", r.Status, r.Body)
	}
	// Enabling again issues a new credential.
	if r := h.Do(http.MethodPost, path, "admin-psb", nil); r.Status != http.StatusCreated {
		t.Fatalf("enable again: %d %s", r.Status, r.Body)
	}
}

// A binding someone added by hand on a resource under the hub's prefix is
// removed (and logged) by the reconciler within a round.
func TestHandAddedACLIsRemoved(t *testing.T) {
	h := hubtest.Start(t)
	prefix := h.Cfg.TopicPrefix
	mallory := kafkaacl.Binding{Principal: "User:mallory", Type: kafkaacl.Topic, Name: prefix + ".records.population", Pattern: kafkaacl.Literal,
		Operation: kafkaacl.Read, Permission: kafkaacl.Allow, Host: "*"}
	group := kafkaacl.Binding{Principal: "User:mallory", Type: kafkaacl.Group, Name: prefix + ".", Pattern: kafkaacl.Prefixed,
		Operation: kafkaacl.Read, Permission: kafkaacl.Allow, Host: "*"}
	if err := admin(h).CreateBindings(context.Background(), []kafkaacl.Binding{mallory, group}); err != nil {
		t.Fatal(err)
	}
	// Removed and counted as unknown (the log names each binding).
	// (Only this test's: on a shared broker others may hold bindings of
	// a "mallory" under their own prefixes.)
	mine := func() (out []kafkaacl.Binding) {
		for _, b := range bindingsOf(t, h, "User:mallory") {
			if strings.HasPrefix(b.Name, prefix+".") {
				out = append(out, b)
			}
		}
		return out
	}
	took, ok := within(settle, func() bool { return removedUnknown(t, h) >= 2 && len(mine()) == 0 })
	if !ok {
		t.Fatalf("hand-added bindings after %v: %v (removed as unknown: %v)", took, mine(), removedUnknown(t, h))
	}
	t.Logf("hand-added bindings removed within %v", took)
	// The hub's own bindings are in place.
	if _, ok := within(settle, func() bool { return len(bindingsOf(t, h, h.Broker.Security().Principal())) >= 2 }); !ok {
		t.Fatalf("hub bindings: %v", bindingsOf(t, h, h.Broker.Security().Principal()))
	}
}

// removedUnknown reads yiku_kafka_acl_changes_total{action="remove",reason="unknown"}.
func removedUnknown(t *testing.T, h *hubtest.Hub) float64 {
	t.Helper()
	mfs, err := h.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "yiku_kafka_acl_changes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["action"] == "remove" && labels["reason"] == "unknown" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// grant runs the share-request flow: lx-gsc asks lx-hrss for social-security.
func grant(t *testing.T, h *hubtest.Hub) string {
	t.Helper()
	req := map[string]any{
		"resource_id": "social-security", "fields": []string{"id_number", "name", "insurance_type", "insured_status", "division"},
		"purposes": []string{purpose}, "legal_basis": "《社会救助暂行办法》第六十二条", "service_items": []string{"最低生活保障审核确认"},
		"valid_until": time.Now().AddDate(0, 6, 0).UTC().Format(time.RFC3339),
	}
	r := h.Do(http.MethodPost, "/api/v1/share-requests", "admin-gsc", req)
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("share request: %d %s", r.Status, r.Body)
	}
	var sr struct{ ID string }
	r.JSON(t, &sr)
	a := h.Do(http.MethodPost, "/api/v1/share-requests/"+sr.ID+"/approve", "admin-hrss", map[string]any{"reason": "同意，用于社会救助审核"})
	if a.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", a.Status, a.Body)
	}
	var ap struct{ Grant struct{ ID string } }
	a.JSON(t, &ap)
	return ap.Grant.ID
}

type created struct {
	ID          string          `json:"id"`
	EgressTopic string          `json:"egress_topic"`
	Kafka       *kafkaacl.Login `json:"kafka"`
}

func subscribe(t *testing.T, h *hubtest.Hub) created {
	t.Helper()
	r := h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{"resource": "social-security", "purpose": purpose, "egress": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var s created
	r.JSON(t, &s)
	if s.Kafka == nil || s.Kafka.Password == "" || s.Kafka.Topic != s.EgressTopic || s.Kafka.Group != s.EgressTopic {
		t.Fatalf("egress subscription without its Kafka login: %s", r.Body)
	}
	return s
}

func TestEgressPrincipalReadsItsTopicUntilRevoked(t *testing.T) {
	h := hubtest.Start(t)
	prefix := h.Cfg.TopicPrefix
	grantID := grant(t, h)
	s := subscribe(t, h)
	other := subscribe(t, h)
	rec := map[string]any{"id_number": loadgen.ResidentID(7), "name": "王芳", "insurance_type": "pension", "insured_status": "active",
		"start_date": "2015-07-01", "paid_months": 100, "division": "431302001"}
	if r := h.Do(http.MethodPost, "/api/v1/resources/social-security/records", "hrss-system", []any{rec}); r.Status != http.StatusOK && r.Status != http.StatusAccepted {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}

	c := as(t, h, *s.Kafka)
	// Read access arrives with the reconciler's next round and the
	// delivery worker's first egress batch.
	took, ok := within(settle, func() bool { return fetch(c, s.EgressTopic) == nil })
	if !ok {
		t.Fatalf("egress principal cannot read its own topic after %v: %v (bindings %v)", took, fetch(c, s.EgressTopic), bindingsOf(t, h, s.Kafka.Principal))
	}
	if err := offsets(c, s.Kafka.Group, s.EgressTopic); err != nil {
		t.Fatalf("own group: %v", err)
	}
	if err := fetch(c, other.EgressTopic); !hidden(err) {
		t.Fatalf("read another subscription's egress topic: %v, want an authorisation failure", err)
	}
	if err := offsets(c, other.Kafka.Group, other.EgressTopic); !refused(err) {
		t.Fatalf("use another subscription's group: %v, want an authorisation failure", err)
	}
	if err := h.Broker.EnsureTopics(context.Background(), prefix+".records.social-security", other.EgressTopic); err != nil {
		t.Fatal(err)
	}
	if err := fetch(c, prefix+".records.social-security"); !hidden(err) {
		t.Fatalf("read the records topic: %v, want an authorisation failure", err)
	}
	if err := write(c, s.EgressTopic); !hidden(err) {
		t.Fatalf("write its own egress topic: %v, want an authorisation failure", err)
	}

	// Revoking the grant takes the read away within 5 s.
	if rv := h.Do(http.MethodPost, "/api/v1/grants/"+grantID+"/revoke", "admin-hrss", map[string]string{"reason": "审核事项已办结"}); rv.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	took, ok = within(5*time.Second, func() bool { return hidden(fetch(c, s.EgressTopic)) })
	if !ok {
		t.Fatalf("egress principal still reads %v after the grant was revoked (bindings %v)", took, bindingsOf(t, h, s.Kafka.Principal))
	}
	t.Logf("read refused %v after the grant was revoked", took)

	// Cancelling a subscription takes read and credential away at once.
	oc := as(t, h, *other.Kafka)
	if r := h.Do(http.MethodDelete, "/api/v1/subscriptions/"+other.ID, "gsc-system", nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	took, ok = within(5*time.Second, func() bool { return fetch(oc, other.EgressTopic) != nil })
	if !ok {
		t.Fatal("a cancelled subscription's principal still reads after 5 s")
	}
	t.Logf("read refused %v after the subscription was cancelled", took)
	if _, ok := within(settle, func() bool {
		have, err := admin(h).SCRAMUsers(context.Background(), []string{other.Kafka.Username})
		return err == nil && !have[other.Kafka.Username] && len(bindingsOf(t, h, other.Kafka.Principal)) == 0
	}); !ok {
		t.Fatalf("a cancelled subscription's bindings or credential are left: %v", bindingsOf(t, h, other.Kafka.Principal))
	}
	if r := h.Do(http.MethodPost, "/api/v1/subscriptions/"+other.ID+"/kafka-credentials/rotate", "gsc-system", nil); r.Status != http.StatusNotFound {
		t.Fatalf("rotate after cancel: %d %s", r.Status, r.Body)
	}

	// Rotation of a live subscription's password; another department
	// cannot rotate it.
	if r := h.Do(http.MethodPost, "/api/v1/subscriptions/"+s.ID+"/kafka-credentials/rotate", "psb-system", nil); r.Status != http.StatusNotFound {
		t.Fatalf("another department rotates: %d %s", r.Status, r.Body)
	}
	rr := h.Do(http.MethodPost, "/api/v1/subscriptions/"+s.ID+"/kafka-credentials/rotate", "gsc-system", nil)
	if rr.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", rr.Status, rr.Body)
	}
	var rot kafkaacl.Login
	rr.JSON(t, &rot)
	if rot.Password == s.Kafka.Password || rot.Username != s.Kafka.Username {
		t.Fatalf("rotated %+v", rot)
	}
}
