package exchangeapi_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/config"
	"yiku/exchange"
	"yiku/exchange/loadgen"
	"yiku/exchange/subscription"
	"yiku/hub/hubtest"
)

type sub struct {
	ID            string `json:"id"`
	EgressTopic   string `json:"egress_topic"`
	WebhookSecret string `json:"webhook_secret"`
	PushState     string `json:"push_state"`
	PushAttempts  int    `json:"push_attempts"`
	StoppedReason string `json:"stopped_reason"`
}

type page struct {
	Records    []subscription.Delivery `json:"records"`
	NextCursor string                  `json:"next_cursor"`
	Fields     []string                `json:"fields"`
}

func insured(n, rev int, division string) map[string]any {
	return map[string]any{
		"id_number": loadgen.ResidentID(n), "name": []string{"王芳", "李明", "张建国"}[n%3],
		"insurance_type": "pension", "insured_status": []string{"active", "suspended", "terminated"}[rev%3],
		"start_date": "2015-07-01", "paid_months": 100 + rev, "division": division,
	}
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

func publish(t *testing.T, h *hubtest.Hub, resource, who string, recs ...map[string]any) {
	t.Helper()
	r := h.Do(http.MethodPost, "/api/v1/resources/"+resource+"/records", who, mustJSON(t, recs))
	var res publishResult
	r.JSON(t, &res)
	if r.Status != http.StatusOK || res.Accepted != len(recs) {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
}

type hook struct {
	mu       sync.Mutex
	key      []byte
	fail     int // answer 500 to this many requests first
	calls    int
	bad      int // requests with a bad signature
	received []subscription.Delivery
}

func (k *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.key == nil || !subscription.Verify(k.key, r.Header.Get("X-Yiku-Signature"), body, time.Now(), 5*time.Minute) {
		k.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if k.fail > 0 {
		k.fail--
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var wb subscription.WebhookBody
	if err := json.Unmarshal(body, &wb); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	k.received = append(k.received, wb.Records...)
}

func (k *hook) snapshot() (int, int, []subscription.Delivery) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls, k.bad, append([]subscription.Delivery(nil), k.received...)
}

func TestSubscriptionDeliversPullWebhookEgressAndRevocationStopsAll(t *testing.T) {
	h := hubtest.Start(t)
	grantID := grant(t, h)
	wh := &hook{fail: 2}
	srv := httptest.NewServer(wh)
	defer srv.Close()

	r := h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{
		"resource": "social-security", "purpose": purpose, "filter": map[string]string{"field": "division", "prefix": "431302001"},
		"webhook_url": srv.URL, "egress": true,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var s sub
	r.JSON(t, &s)
	key, err := hex.DecodeString(s.WebhookSecret)
	if err != nil || len(key) != 32 {
		t.Fatalf("webhook secret %q", s.WebhookSecret)
	}
	wh.mu.Lock()
	wh.key = key
	wh.mu.Unlock()

	// A v1 (in the filter), B (another street: filtered out), A v2, C (a community of the street).
	publish(t, h, "social-security", "hrss-system", insured(1, 0, "431302001"), insured(2, 0, "431302002"))
	publish(t, h, "social-security", "hrss-system", insured(1, 1, "431302001"), insured(3, 0, "431302001001"))
	waitLagZero(t, h)

	// Pull: the cursor moves only on ack.
	first := pull(t, h, s.ID, "", 2)
	again := pull(t, h, s.ID, "", 2)
	if len(first.Records) != 2 || first.NextCursor != again.NextCursor || first.Records[0].Seq != again.Records[0].Seq {
		t.Fatalf("pull without ack moved: %+v / %+v", first, again)
	}
	if a := h.Do(http.MethodPost, "/api/v1/subscriptions/"+s.ID+"/ack", "gsc-system", map[string]string{"cursor": first.NextCursor}); a.Status != http.StatusOK {
		t.Fatalf("ack: %d %s", a.Status, a.Body)
	}
	rest := pull(t, h, s.ID, "", 10)
	all := append(first.Records, rest.Records...)
	checkDeliveries(t, "pull", all)

	// Egress: the same records on the subscription's own topic.
	checkDeliveries(t, "egress", readEgress(t, h, s.EgressTopic, 3))

	// Webhook: two failures, then the signed deliveries arrive.
	deadline := time.Now().Add(30 * time.Second)
	for {
		calls, bad, got := wh.snapshot()
		if len(got) >= 3 {
			if bad != 0 || calls < 3 {
				t.Fatalf("webhook calls %d, bad signatures %d", calls, bad)
			}
			checkDeliveries(t, "webhook", got)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook got %d records after %d calls", len(got), calls)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Revoking the grant stops all three modes.
	if rv := h.Do(http.MethodPost, "/api/v1/grants/"+grantID+"/revoke", "admin-hrss", map[string]string{"reason": "审核事项已办结"}); rv.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	publish(t, h, "social-security", "hrss-system", insured(4, 0, "431302001"))
	waitLagZero(t, h)
	if p := h.Do(http.MethodGet, "/api/v1/subscriptions/"+s.ID+"/records", "gsc-system", nil); p.Status != http.StatusForbidden {
		t.Fatalf("pull after revocation: %d %s", p.Status, p.Body)
	}
	time.Sleep(2 * time.Second)
	if _, _, got := wh.snapshot(); len(got) != 3 {
		t.Fatalf("webhook received %d records after revocation", len(got))
	}
	if n := len(readEgressFor(t, h, s.EgressTopic, 4, 2*time.Second)); n != 3 {
		t.Fatalf("egress holds %d records after revocation", n)
	}
	g := h.Do(http.MethodGet, "/api/v1/subscriptions/"+s.ID, "gsc-system", nil)
	var after sub
	g.JSON(t, &after)
	if after.StoppedReason == "" {
		t.Fatalf("subscription does not say why delivery stopped: %s", g.Body)
	}
	// Another department cannot see the subscription.
	if o := h.Do(http.MethodGet, "/api/v1/subscriptions/"+s.ID, "hrss-system", nil); o.Status != http.StatusNotFound {
		t.Fatalf("other department: %d", o.Status)
	}
}

func pull(t *testing.T, h *hubtest.Hub, id, cursor string, limit int) page {
	t.Helper()
	path := "/api/v1/subscriptions/" + id + "/records?limit=" + itoa(limit)
	if cursor != "" {
		path += "&cursor=" + cursor
	}
	r := h.Do(http.MethodGet, path, "gsc-system", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("pull: %d %s", r.Status, r.Body)
	}
	var p page
	r.JSON(t, &p)
	return p
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// checkDeliveries wants A v1, A v2 and C — in order for A, projected to
// the grant and masked.
func checkDeliveries(t *testing.T, mode string, ds []subscription.Delivery) {
	t.Helper()
	if len(ds) != 3 {
		t.Fatalf("%s: %d deliveries, want 3: %+v", mode, len(ds), ds)
	}
	var versionsOfA []int
	for _, d := range ds {
		var rec map[string]any
		if err := json.Unmarshal(d.Record, &rec); err != nil {
			t.Fatalf("%s: record %s", mode, d.Record)
		}
		if _, ok := rec["start_date"]; ok {
			t.Errorf("%s: a field outside the grant was delivered: %s", mode, d.Record)
		}
		if id, _ := rec["id_number"].(string); id == loadgen.ResidentID(1) || id == loadgen.ResidentID(3) || len(id) != 18 {
			t.Errorf("%s: id_number not masked: %v", mode, rec["id_number"])
		}
		if div := rec["division"].(string); div == "431302002" {
			t.Errorf("%s: filtered-out record delivered", mode)
		}
		if id := rec["id_number"].(string); id[:6] == "431302" && id[14:] == loadgen.ResidentID(1)[14:] {
			versionsOfA = append(versionsOfA, d.Version)
		}
	}
	if len(versionsOfA) != 2 || versionsOfA[0] != 1 || versionsOfA[1] != 2 {
		t.Fatalf("%s: versions of A in delivery order %v, want [1 2]", mode, versionsOfA)
	}
}

func readEgress(t *testing.T, h *hubtest.Hub, topic string, want int) []subscription.Delivery {
	t.Helper()
	got := readEgressFor(t, h, topic, want, 30*time.Second)
	if len(got) < want {
		t.Fatalf("egress: %d records, want %d", len(got), want)
	}
	return got
}

func readEgressFor(t *testing.T, h *hubtest.Hub, topic string, want int, wait time.Duration) []subscription.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var parts []kafka.Partition
	for ctx.Err() == nil && len(parts) == 0 {
		if conn, err := h.Broker.Dialer().DialContext(ctx, "tcp", h.BrokerAddrs()[0]); err == nil {
			parts, _ = conn.ReadPartitions(topic)
			conn.Close()
		}
		if len(parts) == 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	var (
		mu  sync.Mutex
		out []subscription.Delivery
		wg  sync.WaitGroup
	)
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.Broker.NewReader(kafka.ReaderConfig{Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				var d subscription.Delivery
				if json.Unmarshal(m.Value, &d) != nil {
					continue
				}
				for _, hd := range m.Headers {
					if hd.Key == exchange.HeaderRecordID && string(hd.Value) != d.RecordID {
						t.Errorf("egress: header %s = %s, body record_id %s", hd.Key, hd.Value, d.RecordID)
					}
				}
				mu.Lock()
				out = append(out, d)
				if len(out) >= want {
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Order per subject holds per partition; sort by seq to compare with pull.
	sortBySeq(out)
	return out
}

func sortBySeq(ds []subscription.Delivery) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Seq < ds[j-1].Seq; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// TestSubscriptionFilterOnlyOnPlainGrantedFields: the grant returns
// id_number masked and does not include start_date; filtering on either
// would leak the value through which records arrive, so both are refused.
func TestSubscriptionFilterOnlyOnPlainGrantedFields(t *testing.T) {
	h := hubtest.Start(t)
	grant(t, h)
	tests := []struct {
		field, prefix string
		status        int
	}{
		{"id_number", "4313", http.StatusBadRequest},
		{"start_date", "2015", http.StatusBadRequest},
		{"division", "431302001", http.StatusCreated},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			r := h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{
				"resource": "social-security", "purpose": purpose, "filter": map[string]string{"field": tc.field, "prefix": tc.prefix},
			})
			if r.Status != tc.status {
				t.Fatalf("filter on %s: %d %s", tc.field, r.Status, r.Body)
			}
			if tc.status == http.StatusBadRequest {
				var e struct{ Error struct{ Code string } }
				r.JSON(t, &e)
				if e.Error.Code != "invalid_filter" {
					t.Fatalf("filter on %s: code %q, want invalid_filter", tc.field, e.Error.Code)
				}
			}
		})
	}
}

// TestWebhookDestinationsRefusedByDefault: without --webhook-allow-private
// the hub accepts only https webhooks to public addresses; plain http,
// loopback, private networks and the metadata address are refused at
// creation. The default test hub allows private receivers (the other tests
// post to loopback), but never link-local ones.
func TestWebhookDestinationsRefusedByDefault(t *testing.T) {
	strict := hubtest.StartWith(t, hubtest.Options{Configure: func(c *config.Config) { c.WebhookAllowPrivate = false }})
	grant(t, strict)
	lax := hubtest.Start(t)
	grant(t, lax)
	tests := []struct {
		url         string
		strict, lax int
	}{
		{"http://127.0.0.1:8080/hook", http.StatusBadRequest, http.StatusCreated},
		{"https://127.0.0.1/hook", http.StatusBadRequest, http.StatusCreated},
		{"https://10.8.0.4/hook", http.StatusBadRequest, http.StatusCreated},
		{"https://192.168.10.2/hook", http.StatusBadRequest, http.StatusCreated},
		{"https://169.254.169.254/latest/meta-data/", http.StatusBadRequest, http.StatusBadRequest},
		{"https://[fe80::1]/hook", http.StatusBadRequest, http.StatusBadRequest},
		{"https://58.20.1.10/hook", http.StatusCreated, http.StatusCreated},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			for _, c := range []struct {
				h    *hubtest.Hub
				want int
			}{{strict, tc.strict}, {lax, tc.lax}} {
				r := c.h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{
					"resource": "social-security", "purpose": purpose, "webhook_url": tc.url, "start": "now",
				})
				if r.Status != c.want {
					t.Fatalf("allow private %v: %d %s, want %d", c.h.Cfg.WebhookAllowPrivate, r.Status, r.Body, c.want)
				}
				if c.want == http.StatusBadRequest {
					var e struct{ Error struct{ Code string } }
					r.JSON(t, &e)
					if e.Error.Code != "invalid_webhook_url" {
						t.Fatalf("code %q, want invalid_webhook_url", e.Error.Code)
					}
				}
			}
		})
	}
}

// countingHook records every seq each request carried, answering slowly so
// that two hub instances' delivery rounds overlap.
type countingHook struct {
	mu         sync.Mutex
	requests   int
	seqs       map[int64]int
	deliveries map[string]int // X-Yiku-Delivery → requests
}

func (k *countingHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var wb subscription.WebhookBody
	if err := json.NewDecoder(r.Body).Decode(&wb); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	time.Sleep(300 * time.Millisecond)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.requests++
	k.deliveries[r.Header.Get("X-Yiku-Delivery")]++
	for _, d := range wb.Records {
		k.seqs[d.Seq]++
	}
}

func (k *countingHook) distinct() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.seqs)
}

// TestTwoInstancesDeliverEachBatchOnce: two hub instances on one database
// and broker both run the delivery worker; the subscription's lease lets
// one of them deliver at a time, so the webhook receives every batch once
// and the egress topic holds every record once.
func TestTwoInstancesDeliverEachBatchOnce(t *testing.T) {
	a := hubtest.Start(t)
	b := hubtest.StartWith(t, hubtest.Options{Share: a})
	grant(t, a)
	// b's Gate learns of the grant through the policy topic.
	waitGate(t, b)
	wh := &countingHook{seqs: map[int64]int{}, deliveries: map[string]int{}}
	srv := httptest.NewServer(wh)
	defer srv.Close()
	r := a.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{
		"resource": "social-security", "purpose": purpose, "webhook_url": srv.URL, "egress": true,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var s sub
	r.JSON(t, &s)

	const n = 1000 // five webhook batches of 200
	for start := 0; start < n; start += 250 {
		recs := make([]map[string]any, 0, 250)
		for i := start; i < start+250; i++ {
			recs = append(recs, insured(i+1, 0, "431302001"))
		}
		publish(t, a, "social-security", "hrss-system", recs...)
	}
	waitLagZero(t, a)
	want := versionsOf(t, a, "social-security") // n and the demo's own
	if want < n {
		t.Fatalf("library holds %d versions, want at least %d", want, n)
	}

	deadline := time.Now().Add(60 * time.Second)
	for wh.distinct() < want && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let any duplicate round arrive
	wh.mu.Lock()
	if len(wh.seqs) != want {
		t.Errorf("webhook received %d distinct records, want %d", len(wh.seqs), want)
	}
	for seq, c := range wh.seqs {
		if c != 1 {
			t.Errorf("seq %d delivered %d times", seq, c)
			break
		}
	}
	for id, c := range wh.deliveries {
		if c != 1 {
			t.Errorf("batch %s posted %d times", id, c)
			break
		}
	}
	t.Logf("webhook: %d records in %d requests", len(wh.seqs), wh.requests)
	wh.mu.Unlock()

	got := readEgressFor(t, a, s.EgressTopic, want+1, 5*time.Second)
	seen := map[int64]bool{}
	for _, d := range got {
		if seen[d.Seq] {
			t.Fatalf("egress holds seq %d twice (%d messages for %d records)", d.Seq, len(got), want)
		}
		seen[d.Seq] = true
	}
	if len(got) != want {
		t.Fatalf("egress holds %d records, want %d", len(got), want)
	}
}

// waitGate waits until h's Gate lets gsc-system read social-security for purpose.
func waitGate(t *testing.T, h *hubtest.Hub) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.Do(http.MethodGet, "/api/v1/resources/social-security/records/"+loadgen.ResidentID(999999)+"?purpose="+url.QueryEscape(purpose), "gsc-system", nil)
		if r.Status != http.StatusForbidden {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second instance does not see the grant: %d %s", r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// versionsOf returns how many versions the library holds for resource.
func versionsOf(t *testing.T, h *hubtest.Hub, resource string) int {
	t.Helper()
	r := h.Do(http.MethodGet, "/api/v1/exchange/status", "catalog-admin", nil)
	var st struct {
		Resources []struct {
			Resource string
			Versions int
		}
	}
	r.JSON(t, &st)
	for _, res := range st.Resources {
		if res.Resource == resource {
			return res.Versions
		}
	}
	t.Fatalf("status lists no %s: %s", resource, r.Body)
	return 0
}

// TestRefusedSubscriptionCallsAreAuditedWithResourceAndPurpose: the audit
// event of a pull refused after the grant was revoked names the
// subscription's resource and purpose, as an allowed pull's does.
func TestRefusedSubscriptionCallsAreAuditedWithResourceAndPurpose(t *testing.T) {
	h := hubtest.Start(t)
	grantID := grant(t, h)
	r := h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{"resource": "social-security", "purpose": purpose, "case_number": "LX-SJ-2025-0042"})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var s sub
	r.JSON(t, &s)
	pull(t, h, s.ID, "", 10)
	if rv := h.Do(http.MethodPost, "/api/v1/grants/"+grantID+"/revoke", "admin-hrss", map[string]string{"reason": "审核事项已办结"}); rv.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", rv.Status, rv.Body)
	}
	if p := h.Do(http.MethodGet, "/api/v1/subscriptions/"+s.ID+"/records", "gsc-system", nil); p.Status != http.StatusForbidden {
		t.Fatalf("pull after revocation: %d %s", p.Status, p.Body)
	}
	for _, outcome := range []string{"allowed", "denied"} {
		q := "/api/v1/audit/events?" + url.Values{"action": {"record.deliver.pull"}, "principal": {"gsc-system"}, "outcome": {outcome}, "reason": {"复核订阅拒绝记录"}}.Encode()
		a := h.Do(http.MethodGet, q, "reviewer", nil)
		var got struct {
			Total  int
			Events []struct {
				Resource   string `json:"resource"`
				Purpose    string `json:"purpose"`
				CaseNumber string `json:"case_number"`
			}
		}
		a.JSON(t, &got)
		if a.Status != http.StatusOK || got.Total != 1 {
			t.Fatalf("%s pulls in the trail: %d %s", outcome, a.Status, a.Body)
		}
		if e := got.Events[0]; e.Resource != "social-security" || e.Purpose != purpose || e.CaseNumber != "LX-SJ-2025-0042" {
			t.Fatalf("%s pull audited as %+v", outcome, e)
		}
	}
}

// TestPullStopsWhenTheSubscribingPrincipalIsDisabled: the subscription is
// the creating principal's, as for webhook and egress; once it is
// disabled, another principal of the department cannot keep pulling.
func TestPullStopsWhenTheSubscribingPrincipalIsDisabled(t *testing.T) {
	h := hubtest.Start(t)
	grant(t, h)
	// A person reading needs a case number; the subscription carries one.
	r := h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{"resource": "social-security", "purpose": purpose, "case_number": "LX-SJ-2025-0043"})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var s struct {
		ID          string `json:"id"`
		PrincipalID string `json:"principal_id"`
	}
	r.JSON(t, &s)
	path := "/api/v1/subscriptions/" + s.ID + "/records"
	if p := h.Do(http.MethodGet, path, "admin-gsc", nil); p.Status != http.StatusOK {
		t.Fatalf("colleague's pull while the owner is active: %d %s", p.Status, p.Body)
	}
	if d := h.Do(http.MethodPost, "/api/v1/admin/principals/"+s.PrincipalID+"/disable", "admin-gsc", nil); d.Status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", d.Status, d.Body)
	}
	p := h.Do(http.MethodGet, path, "admin-gsc", nil)
	var e struct{ Error struct{ Code string } }
	p.JSON(t, &e)
	if p.Status != http.StatusForbidden || e.Error.Code != "subscription_principal_disabled" {
		t.Fatalf("colleague's pull after the owner was disabled: %d %s", p.Status, p.Body)
	}
	g := h.Do(http.MethodGet, "/api/v1/subscriptions/"+s.ID, "admin-gsc", nil)
	var after sub
	g.JSON(t, &after)
	if after.StoppedReason == "" {
		t.Fatalf("subscription does not say why it stopped: %s", g.Body)
	}
}
