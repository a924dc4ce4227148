package exchange

import (
	"math"
	"sync"

	"golang.org/x/time/rate"

	"yiku/fault"
)

// RateLimits keeps one token bucket per department. A zero rate means
// unlimited.
type RateLimits struct {
	rps   float64
	burst int
	mu    sync.Mutex
	byKey map[string]*rate.Limiter
}

// NewRateLimits allows rps requests per second per department, with bursts
// of up to one second's worth.
func NewRateLimits(rps float64) *RateLimits {
	return &RateLimits{rps: rps, burst: max(1, int(math.Ceil(rps))), byKey: map[string]*rate.Limiter{}}
}

// Allow takes one token for department or returns a RateLimited fault with
// the seconds to wait.
func (l *RateLimits) Allow(department string) error {
	if l == nil || l.rps <= 0 {
		return nil
	}
	l.mu.Lock()
	lim, ok := l.byKey[department]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.rps), l.burst)
		l.byKey[department] = lim
	}
	l.mu.Unlock()
	if lim.Allow() {
		return nil
	}
	e := fault.New(fault.RateLimited, "rate_limited", "department %s exceeds %.3g requests per second", department, l.rps)
	e.RetryAfter = max(1, int(math.Ceil(1/l.rps)))
	return e
}
