package subscription

import (
	"context"
	"encoding/json"
	"testing"

	"yiku/catalog"
	"yiku/exchange/library"
	"yiku/fault"
	"yiku/policies/mask"
	"yiku/policies/sharing"
)

// history is an in-memory library history of one resource.
type history []library.Row

func (h history) After(_ context.Context, _ string, seq int64, limit int) ([]library.Row, error) {
	var out []library.Row
	for _, r := range h {
		if r.Seq > seq && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (h history) MaxSeq(context.Context, string) (int64, error) { return h[len(h)-1].Seq, nil }

// Plain gives the stored record: these rows are not encrypted.
func (h history) Plain(_ context.Context, r library.Row) ([]byte, error) { return r.DataBytes(), nil }

func (h history) History(_ context.Context, _ string, subject string) ([]library.Row, error) {
	var out []library.Row
	for _, r := range h {
		if r.SubjectKey == subject {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fault.NotFoundf("record_not_found", "no record")
	}
	return out, nil
}

func row(seq int64, subject string, version int, data string) library.Row {
	r := library.Row{Seq: seq, ResourceID: "business-licence", SubjectKey: subject, Version: version}
	if data == "" {
		r.Deleted, r.DeleteReason = true, "吊销"
		return r
	}
	r.Data = &data
	return r
}

// TestCollectDeliversDeletionWithLastVersion: a deletion carries the
// subject's last version before it, masked by the reader's plan, so a
// subscriber keyed on a field other than the subject key (licence_id) can
// apply it; a subject deleted with no earlier version carries its key alone.
func TestCollectDeliversDeletionWithLastVersion(t *testing.T) {
	lib := history{
		row(1, "91431302MA4000001X", 1, `{"holder_id":"91431302MA4000001X","licence_id":"L1","status":"valid"}`),
		row(2, "91431302MA4000001X", 2, `{"holder_id":"91431302MA4000001X","licence_id":"L1","status":"suspended"}`),
		row(3, "91431302MA4000002X", 1, `{"holder_id":"91431302MA4000002X","licence_id":"L2","status":"valid"}`),
		row(4, "91431302MA4000001X", 3, ""),
		row(5, "91431302MA4000009X", 1, ""),
	}
	fields := []mask.Field{{Name: "holder_id", Rule: mask.RuleRedact, Sensitive: true}, {Name: "licence_id"}, {Name: "status"}}
	plan, err := mask.NewPlan(fields, []string{"holder_id", "licence_id", "status"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := catalog.Resource{ID: "business-licence", SubjectKey: "holder_id"}
	sub := Subscription{ID: "s1", ResourceID: "business-licence"}
	b, err := Collect(context.Background(), lib, sub, res, sharing.Decision{Allowed: true, Plan: plan}, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Deliveries) != 2 || b.Next != 5 {
		t.Fatalf("%d deliveries up to %d, want 2 up to 5", len(b.Deliveries), b.Next)
	}
	tests := []struct {
		name    string
		got     Delivery
		licence any
		status  any
	}{
		{"deleted after two versions", b.Deliveries[0], "L1", "suspended"},
		{"deleted without a version", b.Deliveries[1], nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec map[string]any
			if err := json.Unmarshal(tc.got.Record, &rec); err != nil {
				t.Fatal(err)
			}
			if !tc.got.Deleted || tc.got.Reason != "吊销" {
				t.Fatalf("delivery %+v is not the deletion", tc.got)
			}
			if rec["licence_id"] != tc.licence || rec["status"] != tc.status {
				t.Fatalf("record %v: licence_id %v status %v, want %v %v", rec, rec["licence_id"], rec["status"], tc.licence, tc.status)
			}
			if rec["holder_id"] != "***" {
				t.Fatalf("holder_id %v is not masked", rec["holder_id"])
			}
		})
	}
}

// TestFilterNeedsAPlainGrantedField: a filter compares the stored value, so
// it is only allowed on a field the reader receives unmasked; otherwise
// which records arrive would reveal the hidden value (an ID number's
// prefix, say). Collect refuses such a subscription before reading.
func TestFilterNeedsAPlainGrantedField(t *testing.T) {
	fields := []mask.Field{
		{Name: "id_number", Rule: mask.RuleIDNumber, Sensitive: true},
		{Name: "name", Rule: mask.RuleName, Sensitive: true},
		{Name: "division"},
		{Name: "status"},
	}
	lib := history{
		row(1, "430000000000000001", 1, `{"id_number":"430000000000000001","name":"王芳","division":"431302001","status":"active"}`),
		row(2, "431302000000000002", 1, `{"id_number":"431302000000000002","name":"李明","division":"431302002","status":"active"}`),
	}
	tests := []struct {
		name    string
		field   string
		granted []string
		plain   []string
		want    string // fault code, "" for allowed
		records int
	}{
		{"no filter", "", []string{"division"}, nil, "", 2},
		{"granted plain field", "division", []string{"division", "status"}, nil, "", 1},
		{"sensitive field granted plain", "id_number", []string{"id_number"}, []string{"id_number"}, "", 1},
		{"masked field", "id_number", []string{"id_number", "division"}, nil, "filter_not_permitted", 0},
		{"field not granted", "status", []string{"division"}, nil, "filter_not_permitted", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := mask.NewPlan(fields, tc.granted, tc.plain, nil)
			if err != nil {
				t.Fatal(err)
			}
			dec := sharing.Decision{Allowed: true, Plan: plan}
			sub := Subscription{ID: "s1", ResourceID: "population", FilterField: tc.field, FilterPrefix: "431302"}
			if tc.field == "division" {
				sub.FilterPrefix = "431302001"
			}
			err = CheckFilter(sub, dec)
			b, cerr := Collect(context.Background(), lib, sub, catalog.Resource{ID: "population", SubjectKey: "id_number"}, dec, 0, 10)
			if tc.want == "" {
				if err != nil || cerr != nil {
					t.Fatalf("refused: %v / %v", err, cerr)
				}
				if len(b.Deliveries) != tc.records {
					t.Fatalf("%d records delivered, want %d", len(b.Deliveries), tc.records)
				}
				return
			}
			for _, e := range []error{err, cerr} {
				if fe, ok := fault.As(e); !ok || fe.Code != tc.want || fe.Kind != fault.Forbidden {
					t.Fatalf("error %v, want forbidden %s", e, tc.want)
				}
			}
			if len(b.Deliveries) != 0 {
				t.Fatalf("records delivered despite the refusal: %+v", b.Deliveries)
			}
		})
	}
}
