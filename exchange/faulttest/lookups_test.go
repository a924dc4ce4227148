package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"yiku/httpapi"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// officer is the principal of the lookups: a service-centre officer
// checking the demo citizen's materials for a social security card.
const officer = "officer-gsc"

// lookups is an officer asking the hub for the demo citizen's materials
// (POST /api/v1/lookups, social-security-card) one lookup after the other
// while the load runs. During a fault the only acceptable answers are 200
// and 503 or 429 with Retry-After; a 500, another status or no answer
// within hangAfter is bad. A refused or broken connection moves it to the
// next hub instance (and is the scenario's to judge, as for publishes).
type lookups struct {
	hubs []*hubtest.Proc
	at   int

	mu       sync.Mutex
	answers  map[string]int // by status and error code
	ok       int
	noAnswer int // refused or broken connections
	bad      []string
	maxLat   time.Duration
}

func newLookups(hubs []*hubtest.Proc) *lookups {
	return &lookups{hubs: hubs, answers: map[string]int{}}
}

func (q *lookups) run(ctx context.Context, stop <-chan struct{}) {
	hc := newClient()
	for n := 1; ; n++ {
		if stopped(ctx, stop) {
			return
		}
		wait := q.once(ctx, hc, n)
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
	}
}

// once makes one lookup and returns how long to wait before the next.
func (q *lookups) once(ctx context.Context, hc *http.Client, n int) time.Duration {
	q.mu.Lock()
	h := q.hubs[q.at]
	q.mu.Unlock()
	base, tokens := h.Current()
	body, _ := json.Marshal(map[string]string{
		"applicant": lookupdemo.Citizen, "service_item": lookupdemo.ItemSocialSecurity,
		"case_number": "FAULT-" + strconv.Itoa(n), "purpose": "社会保障卡申领",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/lookups", bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tokens[officer])
	start := time.Now()
	resp, err := hc.Do(req)
	var data []byte
	status, retryAfter := 0, ""
	if err == nil {
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		status, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	lat := time.Since(start)
	label := strconv.Itoa(status)
	if status >= 400 {
		var e httpapi.ErrorBody
		_ = json.Unmarshal(data, &e)
		label += " " + e.Error.Code
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.maxLat = max(q.maxLat, lat)
	switch {
	case err != nil && !isTimeout(err) && ctx.Err() == nil:
		label = "connection refused"
		if !errors.Is(err, syscall.ECONNREFUSED) {
			label = "connection dropped"
		}
		q.noAnswer++
		q.at = (q.at + 1) % len(q.hubs)
	case err != nil:
		label = "no answer"
		q.bad = append(q.bad, fmt.Sprintf("no answer within %s: %v", hangAfter, err))
		q.at = (q.at + 1) % len(q.hubs)
	case status == http.StatusOK:
		q.ok++
	case (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && retryAfter != "":
	default:
		q.bad = append(q.bad, fmt.Sprintf("%d %s (Retry-After %q)", status, data, retryAfter))
	}
	q.answers[label]++
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		if s, err := strconv.Atoi(retryAfter); err == nil && s > 0 {
			return time.Duration(s) * time.Second
		}
	}
	if status == 0 {
		return 200 * time.Millisecond
	}
	return 20 * time.Millisecond
}

// check fails on a bad answer (and on refused or broken connections
// unless noAnswerOK), and on a run without a single answered lookup, and
// returns the lookups' figures.
func (q *lookups) check(t *testing.T, noAnswerOK bool) string {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.bad) > 0 {
		t.Errorf("lookups: %d answers neither 200 nor 503/429 with Retry-After, e.g. %s", len(q.bad), q.bad[0])
	}
	if q.noAnswer > 0 && !noAnswerOK {
		t.Errorf("lookups: %d connections refused or broken", q.noAnswer)
	}
	if q.ok == 0 {
		t.Errorf("lookups: none answered 200 (%v)", q.answers)
	}
	keys := make([]string, 0, len(q.answers))
	total := 0
	for k, n := range q.answers {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, q.answers[k])
	}
	return fmt.Sprintf("lookups %d, answered 200 %d, bad %d, max latency %s; answers: %s",
		total, q.ok, len(q.bad), q.maxLat.Round(time.Millisecond), strings.Join(parts, ", "))
}
