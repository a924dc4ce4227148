package auditapi_test

import (
	"context"
	"encoding/hex"
	"net/url"
	"testing"

	"yiku/audit"
	auditstore "yiku/audit/store"
	"yiku/hub/hubtest"
)

type detailBody struct {
	Event    audit.Event `json:"event"`
	Position struct {
		Chain      string `json:"chain"`
		Seq        int64  `json:"seq"`
		PrevHash   string `json:"prev_hash"`
		Hash       string `json:"hash"`
		Covered    bool   `json:"covered"`
		Checkpoint *struct {
			Seq int64 `json:"seq"`
		} `json:"checkpoint"`
	} `json:"position"`
}

func TestEventDetailShowsItsChainPosition(t *testing.T) {
	h := hubtest.Start(t)
	ctx := context.Background()
	subject := residentID(t, "43130219850312002")
	h.Do("GET", "/api/v1/resources/population/records/"+subject+"?"+url.Values{"purpose": {"营业执照变更登记"}, "case_number": {"LX-2025-0001"}}.Encode(), "officer-gsc", nil)

	entries, err := auditstore.New(h.DB.Gorm).Query(ctx, auditstore.Filter{Action: "record.read", Limit: 1})
	if err != nil || len(entries) != 1 {
		t.Fatalf("stored read: %v %d", err, len(entries))
	}
	want := entries[0]

	detail := func() detailBody {
		t.Helper()
		r := h.Do("GET", "/api/v1/audit/events/"+want.ID+"?reason=复核", "reviewer", nil)
		if r.Status != 200 {
			t.Fatalf("detail: %d %s", r.Status, r.Body)
		}
		var got detailBody
		r.JSON(t, &got)
		return got
	}
	got := detail()
	if got.Event.ID != want.ID || got.Event.Action != "record.read" || got.Event.CaseNumber != "LX-2025-0001" {
		t.Fatalf("event = %+v", got.Event)
	}
	p := got.Position
	if p.Chain != want.Chain || p.Seq != want.Seq || p.Hash != hex.EncodeToString(want.Hash) || p.PrevHash != hex.EncodeToString(want.PrevHash) {
		t.Fatalf("position = %+v, stored %s@%d", p, want.Chain, want.Seq)
	}

	// A checkpoint of the chain taken now covers the event.
	if _, err := h.Audit.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if p := detail().Position; !p.Covered || p.Checkpoint == nil || p.Checkpoint.Seq < want.Seq {
		t.Fatalf("after a checkpoint: %+v", p)
	}

	// The read is itself audited, with the reason.
	r := h.Do("GET", "/api/v1/audit/events?action=audit.event&principal=reviewer", "reviewer", nil)
	var ev eventsBody
	r.JSON(t, &ev)
	if ev.Total != 2 || ev.Events[0].Purpose != "复核" {
		t.Fatalf("detail reads not audited: %+v", ev)
	}

	if r := h.Do("GET", "/api/v1/audit/events/no-such-event", "reviewer", nil); r.Status != 404 {
		t.Fatalf("unknown id: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/api/v1/audit/events/"+want.ID, "officer-gsc", nil); r.Status != 403 {
		t.Fatalf("officer: %d", r.Status)
	}
}
