package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/cryptosuite"
	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/exchange/loadgen"
	"yiku/fieldcrypt"
	"yiku/hub/hubtest"
	"yiku/keyring"
	"yiku/lookup"
	"yiku/lookup/lookupdemo"
	"yiku/policies/sharing"
	"yiku/storage"
)

// TestSensitiveFieldsEncryptedAtRest reads Kafka's records topics and the
// library's tables directly: every value of a field the catalog marks
// sensitive is sealed there and no such value is anywhere in clear; where
// the subject field is sensitive, the message key and the row's key are the
// subject's pseudonym (see docs/keys.md), also for a deletion. Record reads, subscriptions and lookups return the values
// as published, masked by the reader's grant. After `yiku keys rotate` and
// a restart every data key is wrapped by the new key, and everything stays
// readable.
func TestSensitiveFieldsEncryptedAtRest(t *testing.T) {
	h := hubtest.Start(t)
	ctx := context.Background()
	h.WaitDemoLibrary(t)

	// A record of our own, with the demo's: their sensitive values.
	person := loadgen.Person(rand.New(rand.NewPCG(16, 3)), 1, 0)
	subject := person["id_number"].(string)
	if r := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", []any{person}); r.Status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	readRecord(t, h, "population", subject, "gsc-system", true)
	// A person published, then deleted: the tombstone is keyed by the
	// pseudonym too, and the subject's history reads back by ID number.
	gone := loadgen.Person(rand.New(rand.NewPCG(16, 5)), 3, 0)
	goneID := gone["id_number"].(string)
	if r := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", []any{gone}); r.Status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	readRecord(t, h, "population", goneID, "gsc-system", true)
	if r := h.Do(http.MethodDelete, "/api/v1/resources/population/records/"+goneID+"?reason="+url.QueryEscape("迁出"), "psb-system", nil); r.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	waitHistory(t, h, "population", goneID, 2)

	resources := map[string]catalog.Resource{}
	for _, id := range []string{seed.Population, seed.SocialSecurity, seed.MarriageRegistration, seed.LegalEntity, seed.BusinessLicence} {
		res, err := h.Catalog.Resource(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		resources[id] = res
	}
	secrets := sensitiveValues(t, resources, person)
	secrets[seed.Population] = append(secrets[seed.Population], goneID)
	// checkKey: a record key holds no secret, and is a pseudonym where the
	// subject field is sensitive.
	checkKey := func(where string, res catalog.Resource, key string) {
		t.Helper()
		if slices.Contains(exchange.SensitiveFields(res), res.SubjectKey) && !fieldcrypt.SealedSubject(key) {
			t.Errorf("%s: the subject key is in clear: %q", where, key)
		}
		for _, s := range secrets[res.ID] {
			if strings.Contains(key, s) {
				t.Errorf("%s: %q in clear in the key %q", where, s, key)
			}
		}
	}
	pseudonymous := 0
	for _, res := range resources {
		if slices.Contains(exchange.SensitiveFields(res), res.SubjectKey) {
			pseudonymous++
		}
	}
	if pseudonymous < 3 {
		t.Fatalf("%d of the demo's resources have a sensitive subject field, want population, social security and marriage registration", pseudonymous)
	}

	// (a) The records topics: every sensitive field sealed, nothing in clear
	// but the message key.
	for id, res := range resources {
		msgs := h.TopicMessages(t, h.Cfg.TopicPrefix+".records."+id)
		if len(msgs) == 0 {
			t.Fatalf("no messages on the records topic of %s", id)
		}
		for _, m := range msgs {
			checkKey(fmt.Sprintf("topic %s@%d/%d", id, m.Partition, m.Offset), res, string(m.Key))
			if len(m.Value) == 0 {
				continue
			}
			if !hasHeader(m, exchange.HeaderSealed, exchange.SealedFormat) {
				t.Errorf("%s@%d: no %s header", id, m.Offset, exchange.HeaderSealed)
			}
			checkSealed(t, fmt.Sprintf("topic %s@%d/%d", id, m.Partition, m.Offset), res, m.Value, secrets[id])
		}
	}
	// (a) The library's tables, read with SQL.
	db, err := storage.Open(ctx, h.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"library_records", "library_history"} {
		var rows []library.Row
		if err := db.Gorm.Raw("SELECT * FROM " + table).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) < 8 {
			t.Fatalf("%s holds %d rows", table, len(rows))
		}
		for _, r := range rows {
			res, ok := resources[r.ResourceID]
			if !ok {
				continue
			}
			checkKey(table+" "+r.ResourceID+" v"+fmt.Sprint(r.Version), res, r.SubjectKey)
			if r.Data == nil {
				continue
			}
			checkSealed(t, table+" "+r.ResourceID+" v"+fmt.Sprint(r.Version), res, r.DataBytes(), secrets[r.ResourceID])
		}
	}
	keysBefore := dataKeys(t, db)
	for id := range resources {
		if k := keysBefore[id]; k != "k1/"+string(h.Keys.NewestSuite()) {
			t.Fatalf("data key of %s = %q, want wrapped by k1", id, k)
		}
	}

	// (b) Authorised reads, subscriptions and lookups: the values as
	// published, masked as the grant says.
	check := func(when string) {
		t.Helper()
		read := view{h: h, reader: "gsc-system", action: sharing.ActionRead, purpose: readPurpose}
		got := readRecord(t, h, "population", subject, "gsc-system", false)
		read.check(t, when+": read", resources[seed.Population], person, got)
		got = readRecord(t, h, "population", lookupdemo.Citizen, "gsc-system", false)
		read.check(t, when+": read demo citizen", resources[seed.Population], demoPerson(), got)

		sub := h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{"resource": "population", "purpose": readPurpose})
		var created struct{ ID string }
		sub.JSON(t, &created)
		if sub.Status != http.StatusCreated || created.ID == "" {
			t.Fatalf("%s: subscribe: %d %s", when, sub.Status, sub.Body)
		}
		pull := h.Do(http.MethodGet, "/api/v1/subscriptions/"+created.ID+"/records?limit=100", "gsc-system", nil)
		var batch struct {
			Records []struct {
				Record map[string]any
			}
		}
		pull.JSON(t, &batch)
		seen := 0
		subView := view{h: h, reader: "gsc-system", action: sharing.ActionSubscribe, purpose: readPurpose}
		for _, d := range batch.Records {
			if strings.Contains(fmt.Sprint(d.Record), "ykf1.") {
				t.Fatalf("%s: a delivery holds a sealed value: %v", when, d.Record)
			}
			// Record ids are the reader's own; the masked ID number tells
			// the two records apart.
			for _, plain := range []map[string]any{person, demoPerson()} {
				if want := subView.want(t, when, resources[seed.Population], plain); d.Record["id_number"] == want["id_number"] {
					subView.check(t, when+": subscription", resources[seed.Population], plain, d.Record)
					seen++
				}
			}
		}
		if seen != 2 {
			t.Fatalf("%s: the subscription delivered %d of the 2 records checked: %s", when, seen, pull.Body)
		}

		lr := h.Do(http.MethodPost, "/api/v1/lookups", "officer-gsc", map[string]string{"applicant": lookupdemo.Citizen,
			"service_item": lookupdemo.ItemSocialSecurity, "case_number": "LX-SB-2025-" + when, "purpose": "社会保障卡申领"})
		var res lookup.Result
		lr.JSON(t, &res)
		lookView := view{h: h, reader: "officer-gsc", action: sharing.ActionLookup, purpose: "社会保障卡申领", caseNo: "LX-SB-2025-" + when}
		supplied := 0
		for _, m := range res.Materials {
			if m.Status != lookup.Supplied {
				continue
			}
			supplied++
			var rec map[string]any
			if err := json.Unmarshal(m.Record, &rec); err != nil {
				t.Fatal(err)
			}
			plain := demoPerson()
			if m.Resource == seed.SocialSecurity {
				plain = demoInsured()
			}
			lookView.check(t, when+": lookup "+m.Resource, resources[m.Resource], plain, rec)
		}
		if lr.Status != http.StatusOK || supplied == 0 {
			t.Fatalf("%s: lookup: %d %s", when, lr.Status, lr.Body)
		}
	}
	check("before")

	// (c) Rotation: a new key-encryption key, a restart; the stored data
	// keys move under it, the records stay as they were and readable.
	var before []string
	if err := db.Gorm.Raw("SELECT data FROM library_history WHERE data IS NOT NULL ORDER BY seq").Scan(&before).Error; err != nil {
		t.Fatal(err)
	}
	h.Stop()
	if _, err := keyring.Rotate(filepath.Join(h.Dir, "data-keys.json"), cryptosuite.Name(h.Cfg.Crypto)); err != nil {
		t.Fatal(err)
	}
	h2 := hubtest.StartWith(t, hubtest.Options{Share: h})
	if h2.Keys.Newest() != "k2" {
		t.Fatalf("newest key after rotation = %s", h2.Keys.Newest())
	}
	for id, k := range dataKeys(t, db) {
		if k != "k2/"+string(h2.Keys.NewestSuite()) {
			t.Errorf("data key of %s after rotation = %q, want wrapped by k2", id, k)
		}
	}
	var after []string
	if err := db.Gorm.Raw("SELECT data FROM library_history WHERE data IS NOT NULL ORDER BY seq").Scan(&after).Error; err != nil {
		t.Fatal(err)
	}
	if len(after) < len(before) || fmt.Sprint(after[:len(before)]) != fmt.Sprint(before) {
		t.Fatalf("rotation rewrote stored records")
	}
	h = h2
	// A write after the rotation reads back like the others.
	person2 := loadgen.Person(rand.New(rand.NewPCG(16, 4)), 2, 0)
	if r := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", []any{person2}); r.Status != http.StatusOK {
		t.Fatalf("publish after rotation: %d %s", r.Status, r.Body)
	}
	got := readRecord(t, h, "population", person2["id_number"].(string), "gsc-system", true)
	view{h: h, reader: "gsc-system", action: sharing.ActionRead, purpose: readPurpose}.check(t, "after: new write", resources[seed.Population], person2, got)
	check("after")
}

const readPurpose = "办理社会救助审核"

// demoPerson is the demo citizen's population record as published
// (package lookupdemo).
func demoPerson() map[string]any {
	return map[string]any{"id_number": lookupdemo.Citizen, "name": "张三", "sex": "1", "ethnicity": "01", "birth_date": "1985-06-15", "domicile_division": "431302",
		"domicile_address": "湖南省娄底市娄星区乐坪街道东升社区12栋3单元501", "mobile": "13807381234", "marital_status": "40"}
}

// demoInsured is the demo citizen's social-security record as published.
func demoInsured() map[string]any {
	return map[string]any{"id_number": lookupdemo.Citizen, "name": "张三", "insurance_type": "pension", "insured_status": "active", "start_date": "2008-07-01",
		"employer_credit_code": lookupdemo.Entity, "employer_name": "娄底市星城示范商贸有限公司", "paid_months": 196, "division": "431302"}
}

// sensitiveValues lists per resource values of its sensitive fields that
// the test must not find in clear: the demo's people (names, mobiles,
// addresses and ID numbers in population, social security and marriage
// registration; ID numbers of legal representatives, whose names the
// catalog does not mark sensitive) and the published person.
func sensitiveValues(t *testing.T, resources map[string]catalog.Resource, person map[string]any) map[string][]string {
	t.Helper()
	ids := []string{lookupdemo.Citizen, lookupdemo.Citizen2, lookupdemo.Spouse}
	people := append([]string{"张三", "李红", "王丽", "13807381234", "13907385678", "乐坪街道东升社区", "花山街道花山社区"}, ids...)
	var own []string
	for _, f := range exchange.SensitiveFields(resources[seed.Population]) {
		if s, ok := person[f].(string); ok && s != "" {
			own = append(own, s)
		}
	}
	return map[string][]string{
		seed.Population: append(people, own...), seed.SocialSecurity: people, seed.MarriageRegistration: people,
		seed.LegalEntity: ids, seed.BusinessLicence: nil,
	}
}

// checkSealed: every sensitive field of data is a sealed value, and no
// secret is anywhere in data.
func checkSealed(t *testing.T, where string, res catalog.Resource, data []byte, secrets []string) {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for _, f := range exchange.SensitiveFields(res) {
		v, ok := rec[f]
		if !ok {
			continue
		}
		if s, _ := v.(string); !strings.HasPrefix(s, "ykf1.1."+string(cryptosuite.Default)+".") && !strings.HasPrefix(s, "ykf1.1."+string(cryptosuite.SM)+".") {
			t.Errorf("%s: sensitive field %s in clear: %v", where, f, v)
		}
	}
	for _, s := range secrets {
		if strings.Contains(string(data), s) {
			t.Errorf("%s: %q in clear in %s", where, s, data)
		}
	}
}

// view is what the gate lets reader see of the plaintext record plain:
// the reader's plan applied to its canonical form, as the hub did before
// records were encrypted.
type view struct {
	h       *hubtest.Hub
	reader  string
	action  sharing.Action
	purpose string
	caseNo  string
}

// check: got is exactly the plan's projection and masking of plain.
func (v view) check(t *testing.T, where string, res catalog.Resource, plain, got map[string]any) {
	t.Helper()
	want := v.want(t, where, res, plain)
	if len(want) < 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: reader sees %v, want %v", where, got, want)
	}
}

// want is the plan's projection and masking of plain.
func (v view) want(t *testing.T, where string, res catalog.Resource, plain map[string]any) map[string]any {
	t.Helper()
	ctx := context.Background()
	p, err := v.h.Auth.Store().PrincipalByName(ctx, v.reader)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := v.h.Gate.Decide(ctx, sharing.ReadRequest{Principal: p, Resource: res, Action: v.action, Purpose: v.purpose, CaseNumber: v.caseNo})
	if err != nil || !dec.Allowed {
		t.Fatalf("%s: decide: %+v %v", where, dec, err)
	}
	raw, _ := json.Marshal(plain)
	canon, _, err := exchange.Canonical(raw)
	if err != nil {
		t.Fatal(err)
	}
	masked, err := dec.Plan.ApplyJSON(canon)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(masked, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

// readRecord reads a subject's current record as reader, waiting for it
// when wait is set.
func readRecord(t *testing.T, h *hubtest.Hub, resource, subject, reader string, wait bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.Do(http.MethodGet, "/api/v1/resources/"+resource+"/records/"+subject+"?purpose="+url.QueryEscape(readPurpose), reader, nil)
		if r.Status == http.StatusOK {
			var out struct {
				Current struct{ Record map[string]any }
			}
			r.JSON(t, &out)
			return out.Current.Record
		}
		if !wait || r.Status != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("read %s: %d %s", resource, r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitHistory waits until the history of a subject's record holds n
// versions, the last a deletion, read through the API by the subject.
func waitHistory(t *testing.T, h *hubtest.Hub, resource, subject string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.Do(http.MethodGet, "/api/v1/resources/"+resource+"/records/"+subject+"?history=true&purpose="+url.QueryEscape(readPurpose), "gsc-system", nil)
		var out struct {
			Versions []struct{ Deleted bool }
		}
		if r.Status == http.StatusOK {
			r.JSON(t, &out)
			if len(out.Versions) == n && out.Versions[n-1].Deleted {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("history of a %s subject: %d %s", resource, r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasHeader(m kafka.Message, key, value string) bool {
	for _, h := range m.Headers {
		if h.Key == key && string(h.Value) == value {
			return true
		}
	}
	return false
}

// dataKeys maps each resource with a data key to "kek/suite" of its newest version.
func dataKeys(t *testing.T, db *storage.DB) map[string]string {
	t.Helper()
	var rows []struct {
		ResourceID string
		KEKID      string `gorm:"column:kek_id"`
		Suite      string
	}
	if err := db.Gorm.Raw("SELECT resource_id, kek_id, suite FROM record_data_keys ORDER BY resource_id, key_version").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.ResourceID] = r.KEKID + "/" + r.Suite
	}
	return out
}
