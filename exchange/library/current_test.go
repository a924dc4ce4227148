package library_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/storage/storagetest"
)

func TestCurrentOfReadsOneSubjectAcrossResourcesLikeCurrent(t *testing.T) {
	db := storagetest.Open(t)
	st := library.NewStore(db)
	ctx := context.Background()
	at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	const subject, other = "431302198506159913", "431302199001019928"
	entry := func(resource, subject, id, data string, offset int64) library.Entry {
		r := exchange.Record{Resource: resource, SubjectKey: subject, ID: id, SchemaVersion: 1, Publisher: "lx-psb", TraceID: "t-" + id, PublishedAt: at}
		if data != "" {
			r.Data = []byte(data)
		} else {
			r.DeleteReason = "withdrawn"
		}
		return library.Entry{Record: r, Partition: 0, Offset: offset}
	}
	apply := func(resource string, batch ...library.Entry) {
		t.Helper()
		topic := "t." + resource
		from, err := st.StartOffset(ctx, topic, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Apply(ctx, resource, topic, 0, from, from+int64(len(batch)), batch); err != nil {
			t.Fatal(err)
		}
	}
	apply("population",
		entry("population", subject, "p1", `{"id_number":"431302198506159913","name":"张三"}`, 0),
		entry("population", subject, "p2", `{"id_number":"431302198506159913","name":"张三丰"}`, 1),
		entry("population", other, "p3", `{"id_number":"431302199001019928","name":"李红"}`, 2))
	apply("social-security", entry("social-security", subject, "s1", `{"id_number":"431302198506159913"}`, 0))
	apply("marriage-registration",
		entry("marriage-registration", subject, "m1", `{"registration_number":"1"}`, 0),
		entry("marriage-registration", subject, "m2", "", 1))

	got, err := st.CurrentOf(ctx, subject, []string{"population", "social-security", "marriage-registration", "legal-entity"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d records, want 3 (legal-entity holds none): %v", len(got), got)
	}
	for _, res := range []string{"population", "social-security", "marriage-registration"} {
		want, err := st.Current(ctx, res, subject)
		if err != nil {
			t.Fatal(err)
		}
		g := got[res]
		if !g.PublishedAt.Equal(want.PublishedAt) || !g.AppliedAt.Equal(want.AppliedAt) {
			t.Errorf("%s: times %v/%v, want %v/%v", res, g.PublishedAt, g.AppliedAt, want.PublishedAt, want.AppliedAt)
		}
		g.PublishedAt, g.AppliedAt, want.PublishedAt, want.AppliedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("%s:\n got  %+v\n want %+v", res, g, want)
		}
	}
	if p := got["population"]; p.Version != 2 || string(p.DataBytes()) != `{"id_number":"431302198506159913","name":"张三丰"}` {
		t.Errorf("population = version %d %s, want the second version", p.Version, p.DataBytes())
	}
	if m := got["marriage-registration"]; !m.Deleted || m.DataBytes() != nil || m.DeleteReason != "withdrawn" {
		t.Errorf("marriage-registration = %+v, want the tombstone", m)
	}

	none, err := st.CurrentOf(ctx, "91431302D99002018R", []string{"population"})
	if err != nil || len(none) != 0 {
		t.Fatalf("unknown subject: %v %v", none, err)
	}
	if empty, err := st.CurrentOf(ctx, subject, nil); err != nil || len(empty) != 0 {
		t.Fatalf("no resources: %v %v", empty, err)
	}
	if _, err := st.CurrentOf(ctx, subject, make([]string, 501)); err == nil {
		t.Fatal("501 resources were read at once")
	}
}

// TestStoreErrorsDoNotNameTheSubject: a failed read is logged with its
// error, so the error must not carry the subject key (an ID number).
func TestStoreErrorsDoNotNameTheSubject(t *testing.T) {
	st := library.NewStore(storagetest.Open(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const subject = "431302198506159913"
	_, err := st.Current(ctx, "population", subject)
	if err == nil || strings.Contains(err.Error(), subject) {
		t.Fatalf("current: err %v: want an error without the subject key", err)
	}
	_, err = st.History(ctx, "population", subject)
	if err == nil || strings.Contains(err.Error(), subject) {
		t.Fatalf("history: err %v: want an error without the subject key", err)
	}
	_, err = st.CurrentOf(ctx, subject, []string{"population"})
	if err == nil || strings.Contains(err.Error(), subject) {
		t.Fatalf("current of: err %v: want an error without the subject key", err)
	}
}
