package auditmw_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"yiku/audit"
	"yiku/audit/auditmw"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/identity"
)

// memRecorder keeps events in memory and can be made to fail, so the test
// can see what reaches the client when the trail is down.
type memRecorder struct {
	mu     sync.Mutex
	events []audit.Event
	fail   bool
}

func (m *memRecorder) Record(ctx context.Context, e audit.Event) error {
	return m.RecordAll(ctx, []audit.Event{e})
}

func (m *memRecorder) RecordAll(_ context.Context, es []audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("database is down")
	}
	m.events = append(m.events, es...)
	return nil
}

type auth struct{}

func (auth) Authenticate(_ context.Context, bearer string) (identity.Principal, error) {
	if bearer != "good" {
		return identity.Principal{}, fault.New(fault.Unauthenticated, "unauthenticated", "no")
	}
	return identity.Principal{ID: "p1", Name: "officer-gsc", Role: identity.RoleOfficer, DepartmentCode: "lx-gsc"}, nil
}

type authz struct{}

func (authz) Allowed(_ identity.Principal, route, _ string) (bool, error) {
	return route != "/api/v1/secret", nil
}

type module struct{}

func (module) Routes(api *gin.RouterGroup) {
	api.GET("/records/:id", func(c *gin.Context) {
		n := httpapi.Note(c)
		n.Action, n.Resource, n.Subjects, n.Fields, n.Purpose, n.CaseNumber, n.Count =
			"record.read", "population", []string{c.Param("id")}, []string{"name"}, "审批", "LX-1", 1
		n.Extra = append(n.Extra, audit.Event{Action: audit.ActionReuse, Resource: "population"})
		c.JSON(http.StatusOK, gin.H{"name": "张*"})
	})
	api.GET("/secret", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"data": "leak"}) })
	api.GET("/bad", func(c *gin.Context) { httpapi.Fail(c, fault.Invalidf("invalid_query", "bad query")) })
	api.GET("/boom", func(c *gin.Context) { panic("boom") })
	// A streamed download commits its event, then writes unbuffered.
	api.GET("/stream", func(c *gin.Context) {
		n := httpapi.Note(c)
		n.Action, n.Subjects = "material.download", []string{"43130219900101001X"}
		if err := httpapi.Commit(c, http.StatusOK); err != nil {
			httpapi.Fail(c, err)
			return
		}
		c.Header("Content-Type", "application/pdf")
		_, _ = c.Writer.Write([]byte("%PDF-part-1"))
		_, _ = c.Writer.Write([]byte("-part-2"))
	})
}

func (module) OpenAPI() []byte { return []byte(`{"paths":{}}`) }

func server(t *testing.T, rec *memRecorder) http.Handler {
	t.Helper()
	s, err := httpapi.New(httpapi.Deps{Auth: auth{}, Authz: authz{}, Audit: auditmw.New(rec, nil)}, module{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer good")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestEveryCallIsRecordedWithItsOutcome(t *testing.T) {
	cases := []struct {
		path    string
		status  int
		action  string
		outcome audit.Outcome
		events  int
	}{
		{"/api/v1/records/43130219900101001X", 200, "record.read", audit.Allowed, 2},
		{"/api/v1/secret", 403, "GET /api/v1/secret", audit.Denied, 1},
		{"/api/v1/bad", 400, "GET /api/v1/bad", audit.Failed, 1},
		{"/api/v1/me", 200, "GET /api/v1/me", audit.Allowed, 1},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			rec := &memRecorder{}
			w := get(server(t, rec), tc.path)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if len(rec.events) != tc.events {
				t.Fatalf("events = %+v, want %d", rec.events, tc.events)
			}
			e := rec.events[0]
			if e.Action != tc.action || e.Outcome != tc.outcome || e.PrincipalID != "p1" || e.Department != "lx-gsc" ||
				e.Role != "officer" || e.RequestID == "" || e.RequestID != w.Header().Get(httpapi.HeaderRequestID) || e.ClientAddr == "" {
				t.Fatalf("event = %+v", e)
			}
			if tc.outcome != audit.Allowed && e.Reason == "" {
				t.Fatalf("no reason on %+v", e)
			}
			if tc.events == 2 {
				x := rec.events[1]
				if x.Action != audit.ActionReuse || x.PrincipalID != "p1" || x.CaseNumber != "LX-1" || x.Purpose != "审批" || x.RequestID != e.RequestID {
					t.Fatalf("extra event not filled in: %+v", x)
				}
				if len(e.Subjects) != 1 || e.Fields[0] != "name" || e.Count != 1 {
					t.Fatalf("note lost: %+v", e)
				}
			}
		})
	}
}

func TestNoDataLeavesWhenTheTrailIsDown(t *testing.T) {
	rec := &memRecorder{fail: true}
	w := get(server(t, rec), "/api/v1/records/43130219900101001X")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
	if strings.Contains(w.Body.String(), "张") {
		t.Fatalf("data leaked: %s", w.Body)
	}
	var body httpapi.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "audit_unavailable" {
		t.Fatalf("body = %s (%v)", w.Body, err)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestPanicIsRecordedAsError(t *testing.T) {
	rec := &memRecorder{}
	w := get(server(t, rec), "/api/v1/boom")
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d", w.Code)
	}
	if len(rec.events) != 1 || rec.events[0].Outcome != audit.Failed {
		t.Fatalf("events = %+v", rec.events)
	}
}

func TestOutcomeOf(t *testing.T) {
	for status, want := range map[int]audit.Outcome{200: audit.Allowed, 201: audit.Allowed, 204: audit.Allowed, 401: audit.Denied,
		403: audit.Denied, 400: audit.Failed, 404: audit.Failed, 503: audit.Failed, 500: audit.Failed} {
		if got := auditmw.OutcomeOf(status); got != want {
			t.Errorf("OutcomeOf(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestCommittedStreamIsRecordedOnceBeforeItsBody(t *testing.T) {
	rec := &memRecorder{}
	w := get(server(t, rec), "/api/v1/stream")
	if w.Code != http.StatusOK || w.Body.String() != "%PDF-part-1-part-2" || w.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("answer %d %q %v", w.Code, w.Body, w.Header())
	}
	if len(rec.events) != 1 || rec.events[0].Action != "material.download" || rec.events[0].Outcome != audit.Allowed {
		t.Fatalf("events = %+v", rec.events)
	}
	// With the trail down, nothing of the stream leaves.
	down := &memRecorder{fail: true}
	w = get(server(t, down), "/api/v1/stream")
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "PDF") {
		t.Fatalf("trail down: %d %s", w.Code, w.Body)
	}
}
