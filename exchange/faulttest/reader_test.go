package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"yiku/exchange/subscription"
	"yiku/httpapi"
	"yiku/hub/hubtest"
)

// reader is a pull subscription on the population resource that reads
// along while the load runs: another department's system (gsc-system;
// population is shared unconditionally) pulls pages after its own cursor
// and acknowledges them. It counts what it got and how each request was
// answered. With several hub instances it moves to the next one when a
// request gets no answer.
type reader struct {
	hubs []*hubtest.Proc
	at   int // the instance it reads from
	id   string

	mu        sync.Mutex
	cursor    string
	delivered int            // records received, repeats included
	ids       map[string]int // record id -> times received
	answers   map[string]int // pull and ack answers by status and code
	bad       []string       // answers that are neither 200 nor 503/429 with Retry-After
}

const subscriber = "gsc-system"

// subscribe creates the subscription, starting after everything the
// library holds once it has applied the demo's records.
func subscribe(t *testing.T, ctx context.Context, h *hubtest.Proc) *reader {
	t.Helper()
	// The demo seed publishes population records of its own when the hub
	// starts; they reach the library after the hub listens. "now" must come
	// after them, so only the test's records are delivered.
	waitLibrary(t, ctx, h, time.Minute)
	body, _ := json.Marshal(map[string]string{"resource": resource, "purpose": "人口信息比对", "start": "now"})
	status, data, _, err := call(ctx, newClient(), h, http.MethodPost, "/api/v1/subscriptions", body)
	if err != nil || status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("subscribe: %d %s %v", status, data, err)
	}
	var s subscription.Subscription
	if err := json.Unmarshal(data, &s); err != nil || s.ID == "" {
		t.Fatalf("subscribe: %s %v", data, err)
	}
	return &reader{hubs: []*hubtest.Proc{h}, id: s.ID, ids: map[string]int{}, answers: map[string]int{}}
}

// call makes one request as the subscriber and returns the status, the
// body and the Retry-After header; err is a transport error or a hang.
func call(ctx context.Context, hc *http.Client, h *hubtest.Proc, method, path string, body []byte) (int, []byte, string, error) {
	base, tokens := h.Current()
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+tokens[subscriber])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header.Get("Retry-After"), err
}

// note records an answer; a 500, a 4xx, a 503 without Retry-After or a
// request without an answer within hangAfter is bad.
func (r *reader) note(what string, status int, data []byte, retryAfter string, err error) {
	label := what + " " + strconv.Itoa(status)
	if status >= 400 {
		var e httpapi.ErrorBody
		_ = json.Unmarshal(data, &e)
		label += " " + e.Error.Code
	}
	if err != nil {
		label = what + " no answer"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[label]++
	if err != nil {
		r.at = (r.at + 1) % len(r.hubs)
	}
	switch {
	case err != nil && !isTimeout(err):
		// a refused or reset connection: retried, not a hang
	case err != nil, status != http.StatusOK && !((status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && retryAfter != ""):
		r.bad = append(r.bad, fmt.Sprintf("%s: %d %s %v", what, status, data, err))
	}
}

func isTimeout(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) && ue.Timeout()
}

// pullOnce pulls one page after the reader's cursor and acknowledges it;
// it returns how many records the page held (-1: the pull failed) and
// how long to wait before the next pull.
func (r *reader) pullOnce(ctx context.Context, hc *http.Client) (int, time.Duration) {
	r.mu.Lock()
	cursor, h := r.cursor, r.hubs[r.at]
	r.mu.Unlock()
	path := "/api/v1/subscriptions/" + r.id + "/records?limit=1000"
	if cursor != "" {
		path += "&cursor=" + url.QueryEscape(cursor)
	}
	status, data, ra, err := call(ctx, hc, h, http.MethodGet, path, nil)
	r.note("pull", status, data, ra, err)
	if err != nil || status != http.StatusOK {
		wait := 200 * time.Millisecond
		if s, err := strconv.Atoi(ra); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return -1, wait
	}
	var p subscription.Page
	if err := json.Unmarshal(data, &p); err != nil {
		r.note("pull", 0, data, "", fmt.Errorf("decode page: %w", err))
		return -1, time.Second
	}
	r.mu.Lock()
	for _, d := range p.Records {
		r.delivered++
		r.ids[d.RecordID]++
	}
	r.cursor = p.NextCursor
	r.mu.Unlock()
	if len(p.Records) > 0 {
		body, _ := json.Marshal(map[string]string{"cursor": p.NextCursor})
		status, data, ra, err := call(ctx, hc, h, http.MethodPost, "/api/v1/subscriptions/"+r.id+"/ack", body)
		r.note("ack", status, data, ra, err)
		return len(p.Records), 0
	}
	return 0, 200 * time.Millisecond
}

// run pulls until stop is closed.
func (r *reader) run(ctx context.Context, stop <-chan struct{}) {
	hc := newClient()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if _, wait := r.pullOnce(ctx, hc); wait > 0 {
			select {
			case <-stop:
				return
			case <-time.After(wait):
			}
		}
	}
}

// drain pulls until a page comes back empty (the library has been
// caught up before).
func (r *reader) drain(t *testing.T, ctx context.Context) {
	t.Helper()
	hc := newClient()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		n, wait := r.pullOnce(ctx, hc)
		if n == 0 {
			return
		}
		time.Sleep(wait)
	}
	t.Fatal("the subscription did not run dry within 2 minutes")
}

// check wants every accepted record delivered exactly once and no bad
// answer, and returns a summary.
func (r *reader) check(t *testing.T, accepted int) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	repeats := r.delivered - len(r.ids)
	if len(r.ids) != accepted || repeats != 0 {
		t.Errorf("subscription: %d distinct records delivered (%d repeats), want each of the %d accepted once", len(r.ids), repeats, accepted)
	}
	if len(r.bad) > 0 {
		t.Errorf("subscription: %d bad answers, e.g. %s", len(r.bad), r.bad[0])
	}
	return fmt.Sprintf("pull subscription: %d records delivered, %d distinct, answers %v", r.delivered, len(r.ids), r.answers)
}
