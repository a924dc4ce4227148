package console

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// failureLimiter bounds failed sign-ins per client address: a burst of n,
// then one more per window. Only failures spend the allowance, so a person
// who signs in correctly is never slowed. The count is per hub instance;
// behind a load balancer an address gets at most n per instance.
type failureLimiter struct {
	mu    sync.Mutex
	n     int
	every time.Duration
	now   func() time.Time
	m     map[string]*rate.Limiter
}

func newFailureLimiter(n int, window time.Duration, now func() time.Time) *failureLimiter {
	return &failureLimiter{n: n, every: window, now: now, m: map[string]*rate.Limiter{}}
}

func (l *failureLimiter) get(addr string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[addr]
	if !ok {
		if len(l.m) > 50_000 {
			l.m = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.n)
		l.m[addr] = lim
	}
	return lim
}

// blocked reports whether addr has no failures left to spend.
func (l *failureLimiter) blocked(addr string) bool {
	return l.get(addr).TokensAt(l.now()) < 1
}

// failed spends one of addr's failures.
func (l *failureLimiter) failed(addr string) {
	l.get(addr).AllowN(l.now(), 1)
}
