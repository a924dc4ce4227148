package auditapi_test

import (
	"testing"
	"time"

	"yiku/audit/auditapi"
	"yiku/hub/hubtest"
)

type verificationBody struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Total    int64  `json:"total"`
	Verified int64  `json:"verified"`
	OK       *bool  `json:"ok"`
	Report   *struct {
		Chains      int              `json:"chains"`
		Events      int64            `json:"events"`
		Checkpoints int              `json:"checkpoints"`
		Suites      map[string]int   `json:"suites"`
		Problems    []map[string]any `json:"problems"`
	} `json:"report"`
}

func TestVerificationStartedOverTheAPI(t *testing.T) {
	h := hubtest.Start(t)
	h.Do("GET", "/api/v1/audit/events", "reviewer", nil)
	if _, err := h.Audit.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Held before it verifies, the run is in progress: a second start is
	// refused with the running run's id.
	release := auditapi.HoldRuns(h.AuditVerifier)
	r := h.Do("POST", "/api/v1/audit/verifications", "reviewer", nil)
	if r.Status != 202 {
		release()
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var started verificationBody
	r.JSON(t, &started)
	if started.ID == "" || started.State != "running" {
		release()
		t.Fatalf("started = %+v", started)
	}
	r = h.Do("POST", "/api/v1/audit/verifications", "reviewer", nil)
	var conflict errorBody
	r.JSON(t, &conflict)
	if r.Status != 409 || conflict.Error.Code != "verification_running" || len(conflict.Error.Details) != 1 || conflict.Error.Details[0].Reason != started.ID {
		release()
		t.Fatalf("second start while running: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/api/v1/audit/verifications/"+started.ID, "reviewer", nil); r.Status != 200 {
		release()
		t.Fatalf("state while running: %d %s", r.Status, r.Body)
	}
	release()

	var got verificationBody
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := h.Do("GET", "/api/v1/audit/verifications/"+started.ID, "reviewer", nil)
		if r.Status != 200 {
			t.Fatalf("state: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &got)
		if got.State != "running" || time.Now().After(deadline) {
			break
		}
	}
	if got.State != "done" || got.OK == nil || !*got.OK || got.Report == nil {
		t.Fatalf("run = %+v", got)
	}
	if got.Report.Chains < 1 || got.Report.Events < 1 || got.Report.Events != got.Verified || got.Total < got.Report.Events ||
		got.Report.Checkpoints < 1 || len(got.Report.Problems) != 0 {
		t.Fatalf("report = %+v (verified %d of %d)", *got.Report, got.Verified, got.Total)
	}

	// Starting and reading runs are audited; others may do neither.
	r = h.Do("GET", "/api/v1/audit/events?action=audit.verify&principal=reviewer", "reviewer", nil)
	var ev eventsBody
	r.JSON(t, &ev)
	if ev.Total != 2 {
		t.Fatalf("starts audited: %+v", ev)
	}
	if r := h.Do("POST", "/api/v1/audit/verifications", "officer-gsc", nil); r.Status != 403 {
		t.Fatalf("officer start: %d", r.Status)
	}
	if r := h.Do("GET", "/api/v1/audit/verifications/"+started.ID, "admin-gsc", nil); r.Status != 403 {
		t.Fatalf("admin read: %d", r.Status)
	}
	if r := h.Do("GET", "/api/v1/audit/verifications/no-such-run", "reviewer", nil); r.Status != 404 {
		t.Fatalf("unknown run: %d %s", r.Status, r.Body)
	}
}
