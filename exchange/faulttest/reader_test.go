package faulttest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"yiku/exchange/subscription"
	"yiku/httpapi"
	"yiku/hub/hubtest"
	"yiku/policies/sharing"
)

// reader is a pull subscription on the population resource that reads
// along while the load runs: another department's system (gsc-system;
// population is shared unconditionally) pulls pages after its own cursor
// and acknowledges them. It keeps every delivery in the order received
// (seq, record id, version) and how each request was answered. With
// several hub instances it moves to the next one when a request gets no
// answer.
type reader struct {
	hubs []*hubtest.Proc
	at   int // the instance it reads from
	id   string

	mu      sync.Mutex
	cursor  string
	stream  []received     // every delivery in the order received
	retried bool           // a request failed since the last page
	answers map[string]int // pull and ack answers by status and code
	bad     []string       // answers that are neither 200 nor 503/429 with Retry-After
}

// received is one delivery as the reader got it.
type received struct {
	seq      int64
	recordID string
	version  int
	// afterRetry: the page came after a failed pull or ack, so a record
	// delivered before may come again (pull is at least once).
	afterRetry bool
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
	return &reader{hubs: []*hubtest.Proc{h}, id: s.ID, answers: map[string]int{}}
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
	if err != nil || status != http.StatusOK {
		r.retried = true
	}
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
		r.stream = append(r.stream, received{seq: d.Seq, recordID: d.RecordID, version: d.Version, afterRetry: r.retried})
	}
	if len(p.Records) > 0 {
		r.retried = false
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
		if stopped(ctx, stop) {
			return
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

// check holds the reader to what a pull subscription promises
// (docs/exchange.md, Subscriptions): deliveries follow library_history.seq,
// so a subject's versions arrive in order, and delivery is at least once.
// It takes the subjects every 2xx publish accepted from l, with their
// record ids as the subscriber is shown them (the keyed ids of a partial
// view, from the hub secret of l's database). It fails on
//   - an accepted record that never reached the reader (lost);
//   - a record no 2xx accepted (a false success seen by the subscriber);
//   - out of order: a new record whose seq is not above every seq
//     delivered before it, or, per subject, whose seq or version is not
//     above the last one of that subject the reader got (a repeat of a
//     record delivered before is judged as a repeat, below);
//   - a repeat that is not at least once: allowed only on a page after a
//     failed request, with the same seq and version as the first time;
//   - a bad answer.
//
// It returns a summary.
func (r *reader) check(t *testing.T, ctx context.Context, l *load) string {
	t.Helper()
	want := viewIDs(t, ctx, l.lib, l.accepted())
	r.mu.Lock()
	defer r.mu.Unlock()
	subjectOf := make(map[string]string, len(want))
	for subject, id := range want {
		subjectOf[id] = subject
	}
	type last struct {
		seq     int64
		version int
	}
	first := map[string]received{} // record id -> its first delivery
	bySubject := map[string]last{}
	var repeats, unexpected int
	var disorder, badRepeats []string
	var top int64 // the highest seq delivered so far
	for _, d := range r.stream {
		if prev, ok := first[d.recordID]; ok {
			repeats++
			if !d.afterRetry || prev.seq != d.seq || prev.version != d.version {
				badRepeats = append(badRepeats, fmt.Sprintf("%s seq %d v%d again as seq %d v%d (after a failed request: %t)", d.recordID, prev.seq, prev.version, d.seq, d.version, d.afterRetry))
			}
			continue
		}
		first[d.recordID] = d
		if d.seq <= top {
			disorder = append(disorder, fmt.Sprintf("record %s: seq %d after seq %d", d.recordID, d.seq, top))
		}
		top = max(top, d.seq)
		subject, ok := subjectOf[d.recordID]
		if !ok {
			unexpected++
			continue
		}
		if l, ok := bySubject[subject]; ok && (d.seq <= l.seq || d.version <= l.version) {
			disorder = append(disorder, fmt.Sprintf("subject %s: seq %d v%d after seq %d v%d", subject, d.seq, d.version, l.seq, l.version))
		}
		bySubject[subject] = last{d.seq, d.version}
	}
	lost := 0
	for _, id := range want {
		if _, ok := first[id]; !ok {
			lost++
		}
	}
	if lost > 0 || unexpected > 0 {
		t.Errorf("subscription: %d of the %d accepted records never delivered, %d delivered records no 2xx accepted", lost, len(want), unexpected)
	}
	if len(disorder) > 0 {
		t.Errorf("subscription: %d deliveries out of order per subject, e.g. %s", len(disorder), disorder[0])
	}
	if len(badRepeats) > 0 {
		t.Errorf("subscription: %d repeats the at-least-once promise does not allow, e.g. %s", len(badRepeats), badRepeats[0])
	}
	if len(r.bad) > 0 {
		t.Errorf("subscription: %d bad answers, e.g. %s", len(r.bad), r.bad[0])
	}
	return fmt.Sprintf("pull subscription: %d records delivered, %d distinct, %d subjects, %d repeats (after a failed request), %d out of order, %d lost, %d unexpected; answers %v",
		len(r.stream), len(first), len(bySubject), repeats, len(disorder), lost, unexpected, r.answers)
}

// viewIDs maps want's library record ids to the ids a reader who is not
// the provider is shown (sharing.ViewRecordID under the key derived from
// the hub secret), reading the secret where the hub runs.
func viewIDs(t *testing.T, ctx context.Context, lib database, want map[string]string) map[string]string {
	t.Helper()
	data, err := lib.command(ctx, "cat", lib.secretKey).Output()
	if err != nil {
		t.Fatalf("read the hub secret %s: %v", lib.secretKey, err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("hub secret %s: %v", lib.secretKey, err)
	}
	key, err := sharing.RecordIDKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(want))
	for subject, id := range want {
		out[subject] = sharing.ViewRecordID(key, id)
	}
	return out
}
