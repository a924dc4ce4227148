package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"yiku/adapters/client"
	"yiku/adapters/examples"
	"yiku/hub/hubtest"
)

// TestClientAgainstHub exercises every call against a running hub.
func TestClientAgainstHub(t *testing.T) {
	h := hubtest.Start(t)
	ctx := context.Background()
	amr, err := client.New(h.URL, h.Secret("amr-system"), client.WithBatchSize(7))
	if err != nil {
		t.Fatal(err)
	}
	res, err := amr.Resource(ctx, "business-licence")
	if err != nil || res.SubjectKey != "holder_id" {
		t.Fatalf("resource: %+v %v", res, err)
	}
	list, err := amr.Resources(ctx)
	if err != nil || len(list) < 7 {
		t.Fatalf("resources: %d %v", len(list), err)
	}
	var vals []any
	for i := 100; i < 120; i++ {
		vals = append(vals, examples.Licence(i))
	}
	bad := examples.Licence(120)
	bad["status"] = "lost"
	vals = append(vals, bad)
	pr, err := amr.PublishAll(ctx, "business-licence", vals, "amr-export-1")
	if err != nil {
		t.Fatal(err)
	}
	if pr.Accepted != 20 || pr.Rejected != 1 || len(pr.Errors) == 0 || pr.Errors[0].Index != 20 || pr.Errors[0].Pointer != "/status" {
		t.Fatalf("publish: %+v", pr)
	}
	// The same batches again with the same keys: answered from the first call.
	again, err := amr.PublishAll(ctx, "business-licence", vals, "amr-export-1")
	if err != nil || again.Accepted != 20 {
		t.Fatalf("republish: %+v %v", again, err)
	}

	gsc, _ := client.New(h.URL, h.Secret("gsc-system"))
	sub, err := gsc.Subscribe(ctx, client.SubscribeRequest{Resource: "business-licence", Purpose: "企业开办审批核验营业执照", Start: "beginning"})
	if err != nil || sub.ID == "" {
		t.Fatalf("subscribe: %+v %v", sub, err)
	}
	subs, err := gsc.Subscriptions(ctx)
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriptions: %+v %v", subs, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var got int
	cursor := ""
	for got < 20 && time.Now().Before(deadline) {
		page, err := gsc.Pull(ctx, sub.ID, cursor, 50)
		if err != nil {
			t.Fatal(err)
		}
		got += len(page.Records)
		if len(page.Records) > 0 {
			if err := gsc.Ack(ctx, sub.ID, page.Cursor); err != nil {
				t.Fatal(err)
			}
			cursor = page.Cursor
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if got < 20 {
		t.Fatalf("pulled %d records, want at least 20", got)
	}
	st, err := gsc.ExchangeStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lag, ok := st.Resource("business-licence"); !ok || lag.EndOffset < 20 || lag.Subjects < 20 || lag.Topic == "" {
		t.Fatalf("exchange status of business-licence: %+v (found %v)", lag, ok)
	}
	if _, ok := st.Resource("no-such-resource"); ok {
		t.Fatal("status reports a resource that does not exist")
	}

	holder := examples.USCC(100)
	rr, err := gsc.Record(ctx, "business-licence", holder, client.ReadOptions{Purpose: "企业开办审批核验营业执照", CaseNumber: "LX-2024-000123"})
	if err != nil || rr.Current == nil || len(rr.Current.Record) == 0 {
		t.Fatalf("read: %+v %v", rr, err)
	}
	if _, err := amr.Delete(ctx, "business-licence", holder, "营业执照注销"); err != nil {
		t.Fatal(err)
	}
	_, err = gsc.Publish(ctx, "business-licence", []json.RawMessage{json.RawMessage(`{}`)}, client.PublishOptions{})
	var he *client.Error
	if !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Fatalf("a non-provider publishing: want 403, got %v", err)
	}
	officer, _ := client.New(h.URL, h.Secret("officer-gsc"))
	lk, err := officer.Lookup(ctx, client.LookupRequest{Applicant: "431302198506159913", ServiceItem: "social-security-card", CaseNumber: "LX-DEMO-0001", Purpose: "社会保障卡申领"})
	if err != nil || lk.ServiceItem != "social-security-card" || len(lk.Materials) == 0 {
		t.Fatalf("lookup: %+v %v", lk, err)
	}
	if _, err := client.New(h.URL, "yk_not_a_key"); err != nil {
		t.Fatal(err)
	}
	bogus, _ := client.New(h.URL, "yk_not_a_key")
	if _, err := bogus.Resources(ctx); !client.IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("a bad key: want 401, got %v", err)
	}
}

// TestRetryAfter: a 503 with Retry-After is waited out and retried with
// the same Idempotency-Key; a 400 is not retried.
func TestRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"backlog","message":"the library is behind"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"accepted":1,"rejected":0,"offsets":[]}`))
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "k", client.WithRetries(5, time.Millisecond, 10*time.Millisecond))
	start := time.Now()
	res, err := c.Publish(context.Background(), "r", []json.RawMessage{json.RawMessage(`{"a":1}`)}, client.PublishOptions{IdempotencyKey: "b1"})
	if err != nil || res.Accepted != 1 {
		t.Fatalf("publish: %+v %v", res, err)
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("retried after %v; Retry-After asked for 1s twice", waited)
	}
	if len(keys) != 3 || keys[0] != "b1" || keys[2] != "b1" {
		t.Fatalf("idempotency keys sent: %v", keys)
	}

	calls.Store(0)
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid_json","message":"bad","details":[{"pointer":"/0","reason":"x"}]}}`))
	}))
	defer srv2.Close()
	c2, _ := client.New(srv2.URL, "k", client.WithRetries(5, time.Millisecond, 10*time.Millisecond))
	_, err = c2.Publish(context.Background(), "r", []json.RawMessage{json.RawMessage(`{}`)}, client.PublishOptions{})
	var he *client.Error
	if !errors.As(err, &he) || he.Code != "invalid_json" || len(he.Details) != 1 || calls.Load() != 1 {
		t.Fatalf("400: got %v after %d calls", err, calls.Load())
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "::"} {
		if _, err := client.New(u, "k"); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := client.New("http://127.0.0.1:8080", " "); err == nil {
		t.Error("an empty key was accepted")
	}
}
