package exchangeapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/exchange"
	"yiku/exchange/exchangeapi"
	"yiku/exchange/ingress"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
	"yiku/migrations"
)

// TestStatusShowsOnlyWhatTheCallerMaySee: a department sees its own and
// the unconditionally shared resources in the exchange status; the
// e-government office sees every resource.
func TestStatusShowsOnlyWhatTheCallerMaySee(t *testing.T) {
	h := hubtest.Start(t)
	resources := func(principal string) map[string]bool {
		t.Helper()
		r := h.Do(http.MethodGet, "/api/v1/exchange/status", principal, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status as %s: %d %s", principal, r.Status, r.Body)
		}
		var st struct {
			Resources []struct{ Resource string } `json:"resources"`
		}
		r.JSON(t, &st)
		out := map[string]bool{}
		for _, x := range st.Resources {
			out[x.Resource] = true
		}
		return out
	}
	all := resources("catalog-admin")
	// Resources appear once records were published to them (the demo seeds these).
	for _, want := range []string{"population", "marriage-registration", "social-security", "enterprise-credit"} {
		if !all[want] {
			t.Fatalf("catalog admin does not see %s: %v", want, all)
		}
	}
	hrss := resources("hrss-system")
	if !hrss["social-security"] || !hrss["population"] {
		t.Fatalf("hrss misses its own or an unconditional resource: %v", hrss)
	}
	for _, hidden := range []string{"marriage-registration", "enterprise-credit"} {
		if hrss[hidden] {
			t.Fatalf("hrss sees %s, which is another department's and not unconditionally shared", hidden)
		}
	}
	// The service centre holds demo grants for marriage registration.
	if gsc := resources("gsc-system"); !gsc["marriage-registration"] || gsc["enterprise-credit"] != gscHasCredit(t, h) {
		t.Fatalf("granted resources not shown as the gate says: %v", gsc)
	}
	if civil := resources("civil-system"); !civil["marriage-registration"] {
		t.Fatalf("the provider does not see its own conditional resource: %v", civil)
	}
}

// gscHasCredit asks the sharing API whether the service centre may read
// enterprise credit (the demo grants it for a service item).
func gscHasCredit(t *testing.T, h *hubtest.Hub) bool {
	t.Helper()
	r := h.Do(http.MethodGet, "/api/v1/access", "gsc-system", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("access: %d %s", r.Status, r.Body)
	}
	return strings.Contains(string(r.Body), `"resource_id":"enterprise-credit"`)
}

// TestStatusReportsIngressLag: records a department produced to its Kafka
// ingress show as that department's ingress lag — to the department and
// to the e-government office, never to another department — and not yet
// on their resource topic. Once the hub's ingress has handled them, the
// first answer with ingress lag 0 already counts them on the resource
// topic, and the library then applies them.
func TestStatusReportsIngressLag(t *testing.T) {
	h := hubtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	waitLagZero(t, h)
	const n = 5
	before := exchangeStatus(t, h, "psb-system")
	pop := statusResource(t, before, "population")

	// On PostgreSQL the test holds the hub's ingress worker before it
	// handles the records: it looks their idempotency keys up in a table
	// locked here, and commits nothing until the lock goes.
	release := func() {}
	stalled := h.DB.Dialect == migrations.Postgres
	if stalled {
		tx := h.DB.Gorm.Begin()
		if err := tx.Exec("LOCK TABLE exchange_ingress_keys IN ACCESS EXCLUSIVE MODE").Error; err != nil {
			t.Fatal(err)
		}
		release = sync.OnceFunc(func() { tx.Rollback() })
		defer release()
	}
	topic := exchange.Topics{Prefix: h.Cfg.TopicPrefix}.Ingress("lx-psb")
	if err := h.Broker.EnsureTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 3))
	var msgs []kafka.Message
	for i := range n {
		p := loadgen.Person(r, 700+i, 0)
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(p["id_number"].(string)), Value: mustJSON(t, p), Headers: []kafka.Header{
			{Key: ingress.HeaderResource, Value: []byte("population")},
			{Key: ingress.HeaderIdempotencyKey, Value: []byte(fmt.Sprintf("status-%d", i))},
		}})
	}
	if err := h.Broker.Produce(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	if stalled {
		st := exchangeStatus(t, h, "psb-system")
		if len(st.Ingress) != 1 || st.Ingress[0].Department != "lx-psb" || st.Ingress[0].Topic != topic {
			t.Fatalf("the department's ingress: %+v, want lx-psb's alone", st.Ingress)
		}
		if in := st.Ingress[0]; in.Lag != n || st.IngressLag != n || in.EndOffset != n || in.Consumed != 0 {
			t.Fatalf("ingress while the worker is held: %+v (total %d), want %d unhandled of %d", in, st.IngressLag, n, n)
		}
		if got := statusResource(t, st, "population"); got.EndOffset != pop.EndOffset {
			t.Fatalf("the population topic grew by %d while the ingress held the records", got.EndOffset-pop.EndOffset)
		}
		admin := exchangeStatus(t, h, "catalog-admin")
		depts, err := h.Auth.Store().Departments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(admin.Ingress) != len(depts) || admin.IngressLag != n {
			t.Fatalf("catalog admin: %d ingress rows for %d departments, total %d; want every department and %d", len(admin.Ingress), len(depts), admin.IngressLag, n)
		}
		// Asked for the library alone, the status leaves the held ingress out.
		resp := h.Do(http.MethodGet, "/api/v1/exchange/status?library_only=true", "catalog-admin", nil)
		if resp.Status != http.StatusOK {
			t.Fatalf("library_only status: %d %s", resp.Status, resp.Body)
		}
		var lib exchangeapi.Status
		resp.JSON(t, &lib)
		if len(lib.Ingress) != 0 || lib.IngressLag != 0 || statusResource(t, lib, "population").EndOffset != pop.EndOffset {
			t.Fatalf("library_only status: ingress %+v (total %d), population %+v; want no ingress and the library as before",
				lib.Ingress, lib.IngressLag, statusResource(t, lib, "population"))
		}
		for _, who := range []string{"hrss-system", "admin-hrss"} {
			other := exchangeStatus(t, h, who)
			if len(other.Ingress) != 1 || other.Ingress[0].Department != "lx-hrss" || other.IngressLag != 0 {
				t.Fatalf("%s sees ingress %+v (total %d); want its own department's alone", who, other.Ingress, other.IngressLag)
			}
		}
		release()
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		st := exchangeStatus(t, h, "admin-psb")
		if len(st.Ingress) != 1 || st.Ingress[0].Department != "lx-psb" {
			t.Fatalf("the department admin's ingress: %+v, want lx-psb's alone", st.Ingress)
		}
		if st.IngressLag == 0 {
			// The ingress commits only after routing, and is measured
			// before the library: its records are on the topic already.
			if in := st.Ingress[0]; in.EndOffset != n || in.Consumed != n {
				t.Fatalf("ingress after handling: %+v, want %d consumed of %d", in, n, n)
			}
			if got := statusResource(t, st, "population"); got.EndOffset != pop.EndOffset+n {
				t.Fatalf("ingress lag 0 but the population topic grew by %d, want %d", got.EndOffset-pop.EndOffset, n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ingress lag did not reach 0: %+v", st.Ingress)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitLagZero(t, h)
	if got := statusResource(t, exchangeStatus(t, h, "psb-system"), "population"); got.Versions != pop.Versions+n {
		t.Fatalf("the library gained %d population versions, want %d", got.Versions-pop.Versions, n)
	}
}

func exchangeStatus(t *testing.T, h *hubtest.Hub, principal string) exchangeapi.Status {
	t.Helper()
	r := h.Do(http.MethodGet, "/api/v1/exchange/status", principal, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status as %s: %d %s", principal, r.Status, r.Body)
	}
	var st exchangeapi.Status
	r.JSON(t, &st)
	return st
}

func statusResource(t *testing.T, st exchangeapi.Status, resource string) exchangeapi.ResourceStatus {
	t.Helper()
	for _, r := range st.Resources {
		if r.Resource == resource {
			return r
		}
	}
	t.Fatalf("no %s in the status: %+v", resource, st.Resources)
	return exchangeapi.ResourceStatus{}
}

// TestStatusRefusesAMalformedLibraryOnly: library_only is a boolean, and
// anything else is the caller's mistake, answered 400.
func TestStatusRefusesAMalformedLibraryOnly(t *testing.T) {
	h := hubtest.Start(t)
	r := h.Do(http.MethodGet, "/api/v1/exchange/status?library_only=maybe", "catalog-admin", nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "invalid_query") {
		t.Fatalf("library_only=maybe: %d %s, want 400 invalid_query", r.Status, r.Body)
	}
}
