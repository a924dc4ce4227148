package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"yiku/fault"
)

// TestWriteGuardRefusesWritesOnly: while the guard reports a problem,
// every method but GET and HEAD is answered with its error (here a full
// disk: 503 disk_full with Retry-After) before the handler runs; reads go
// through.
func TestWriteGuardRefusesWritesOnly(t *testing.T) {
	gin.SetMode(gin.TestMode)
	full := fault.New(fault.Unavailable, "disk_full", "the hub's disk is full, so nothing can be written; retry later")
	full.RetryAfter = 10
	var guardErr error = full
	ran := 0
	e := gin.New()
	e.Use(errorResponder(slog.New(slog.DiscardHandler), nil), writeGuard(func() error { return guardErr }))
	e.Any("/api/v1/x", func(c *gin.Context) { ran++; c.String(http.StatusOK, "done") })
	do := func(method string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(method, "/api/v1/x", nil))
		return w
	}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if w := do(m); w.Code != http.StatusOK {
			t.Errorf("%s while full: %d, want 200", m, w.Code)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		w := do(m)
		var body ErrorBody
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "10" || body.Error.Code != "disk_full" {
			t.Errorf("%s while full: %d Retry-After %q %s, want 503 disk_full with Retry-After 10", m, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	if ran != 2 {
		t.Errorf("the handler ran %d times, want 2 (the reads)", ran)
	}
	guardErr = nil
	if w := do(http.MethodPost); w.Code != http.StatusOK || ran != 3 {
		t.Errorf("POST once space is back: %d (handler runs %d)", w.Code, ran)
	}
}
