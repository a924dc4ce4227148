package console_test

import (
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yiku/config"
	"yiku/federation/peer"
	"yiku/hub/hubtest"
)

// The federation pages over HTTP, on a district hub and a city hub peered
// through them: the district office requests the peering, the city office
// approves it (a wrong fingerprint is the form's error), the district's
// civil affairs administrator marks a resource for upward sharing, which
// the city's page then lists, and files a cross-level share request for a
// city resource from the form; an officer sees the city's entries only,
// and a citizen gets the 403 page.
func TestFederationPages(t *testing.T) {
	dir := t.TempDir()
	gen := func(name string) (string, string, string) {
		cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		fp, err := peer.Generate(cf, kf, name, "", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return cf, kf, fp
	}
	cityCrt, cityKey, _ := gen("city")
	distCrt, distKey, distFP := gen("district")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	city := hubtest.StartWith(t, hubtest.Options{Configure: func(cfg *config.Config) {
		cfg.FederationHub, cfg.FederationName, cfg.FederationLevel = "4313", "娄底市", "city"
		cfg.FederationCertFile, cfg.FederationKeyFile, cfg.FederationListen = cityCrt, cityKey, listen
	}})
	district := hubtest.StartWith(t, hubtest.Options{Configure: func(cfg *config.Config) {
		cfg.FederationHub, cfg.FederationName, cfg.FederationLevel = "431302", "娄星区", "district"
		cfg.FederationCertFile, cfg.FederationKeyFile = distCrt, distKey
		cfg.FederationUpstreamURL, cfg.FederationUpstreamCertFile = "https://"+city.Federation.PeerAddr(), cityCrt
		cfg.FederationSyncInterval = 200 * time.Millisecond
	}})
	// A hub without a federation id says so.
	plain := hubtest.Start(t)
	office := newClient(t, plain.URL)
	office.signIn(plain, "catalog-admin")
	if code, page := office.get("/console/federation"); code != http.StatusOK || !strings.Contains(page, "本平台未接入") || strings.Contains(page, `class="peerings"`) {
		t.Fatalf("a hub without federation: %d %.1500s", code, page)
	}

	until := func(what string, c *client, path, want string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := c.get(path)
			if code == http.StatusOK && strings.Contains(body, want) {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d, %q not in %.2000s", what, code, want, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// The district office requests the peering; its page shows the
	// fingerprint to give the city's office.
	dOffice := newClient(t, district.URL)
	dOffice.signIn(district, "catalog-admin")
	code, page := dOffice.get("/console/federation")
	if code != http.StatusOK || !strings.Contains(page, distFP) || !strings.Contains(page, `class="form request-peering"`) || !strings.Contains(page, "纵向共享") {
		t.Fatalf("district office's page: %d %.1500s", code, page)
	}
	code, page = dOffice.post("/console/federation/peerings/request", url.Values{"csrf": {csrf(t, page)}})
	if code != http.StatusOK || !strings.Contains(page, "已向上级平台发起对接申请") || !strings.Contains(page, `data-status="requested"`) || strings.Contains(page, `class="form request-peering"`) {
		t.Fatalf("request peering: %d %.1500s", code, page)
	}

	// The city office approves it with the fingerprint; a wrong one is
	// refused on the form.
	cOffice := newClient(t, city.URL)
	cOffice.signIn(city, "catalog-admin")
	page = until("the city's pending peering", cOffice, "/console/federation", `data-status="pending"`)
	if !strings.Contains(page, "娄底市政务数据共享交换平台") {
		t.Errorf("the city's pages are not footed with its name: %.300s", page[strings.Index(page, "<footer"):])
	}
	id := between(page, `data-peering="`, `"`)
	code, body := cOffice.post("/console/federation/peerings/"+id+"/approve", url.Values{"csrf": {csrf(t, page)}, "fingerprint": {strings.Repeat("ab", 32)}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `class="alert"`) || !strings.Contains(body, `data-status="pending"`) {
		t.Fatalf("approve with a wrong fingerprint: %d %.1500s", code, body)
	}
	code, body = cOffice.post("/console/federation/peerings/"+id+"/approve", url.Values{"csrf": {csrf(t, page)}, "fingerprint": {distFP}})
	if code != http.StatusOK || !strings.Contains(body, "已批准对接") || !strings.Contains(body, `data-status="active"`) {
		t.Fatalf("approve: %d %.1500s", code, body)
	}
	until("the district's peering opens", dOffice, "/console/federation", `data-status="active"`)

	// The civil affairs administrator shares marriage registrations upward;
	// the city's page lists the entry.
	civil := newClient(t, district.URL)
	page = civil.signIn(district, "admin-civil")
	code, page = civil.get("/console/federation")
	if code != http.StatusOK || !strings.Contains(page, `data-resource="marriage-registration" data-marked="false"`) || strings.Contains(page, `class="peerings"`) {
		t.Fatalf("civil affairs' page: %d %.1500s", code, page)
	}
	code, page = civil.post("/console/federation/upward/marriage-registration", url.Values{"csrf": {csrf(t, page)}, "on": {"true"}})
	if code != http.StatusOK || !strings.Contains(page, "已标记向上共享") || !strings.Contains(page, `data-resource="marriage-registration" data-marked="true"`) {
		t.Fatalf("mark: %d %.1500s", code, page)
	}
	until("the city lists the district's entry", cOffice, "/console/federation", `data-entry="marriage-registration"`)

	// A cross-level share request for one of the city's entries, from its
	// form: the API's field error first, then filed.
	page = until("the city's entries at the district", civil, "/console/federation", `data-entry="population"`)
	if !strings.Contains(page, `href="/console/federation/share-requests/new?resource=population"`) {
		t.Fatalf("no request link: %.1500s", page)
	}
	code, form := civil.get("/console/federation/share-requests/new?resource=population")
	if code != http.StatusOK || !strings.Contains(form, `name="fields" value="name"`) {
		t.Fatalf("request form: %d %.1500s", code, form)
	}
	file := url.Values{"csrf": {csrf(t, form)}, "resource": {"population"}, "purposes": {"婚姻登记户籍核验"},
		"legal_basis": {"《婚姻登记条例》第五条"}, "service_items": {"marriage-registration-check"}, "valid_until": {time.Now().AddDate(0, 6, 0).Format(time.DateOnly)}}
	code, body = civil.post("/console/federation/share-requests", file)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `class="has-error"`) && !strings.Contains(body, `class="alert"`) {
		t.Fatalf("no fields: %d %.1500s", code, body)
	}
	file["fields"] = []string{"name", "domicile_address"}
	file["service_items"] = nil
	code, body = civil.post("/console/federation/share-requests", file)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="fr-items-error"`) {
		t.Fatalf("no service item (the city's rule, checked at the district): %d %.1500s", code, body)
	}
	file["service_items"] = []string{"marriage-registration-check"}
	code, body = civil.post("/console/federation/share-requests", file)
	if code != http.StatusOK || !strings.Contains(body, "跨层级共享申请已提交") || !strings.Contains(body, `data-share="`) {
		t.Fatalf("file: %d %.1500s", code, body)
	}
	until("the city takes the request", civil, "/console/federation", `data-status="pending"`)
	code, _ = civil.get("/console/federation/share-requests/new?resource=no-such-entry")
	if code != http.StatusNotFound {
		t.Fatalf("form for an unknown entry: %d", code)
	}

	// An officer sees the city's entries only; a citizen gets the 403 page.
	officer := newClient(t, district.URL)
	officer.signIn(district, "officer-gsc")
	code, page = officer.get("/console/federation")
	if code != http.StatusOK || !strings.Contains(page, `data-entry="population"`) || strings.Contains(page, `class="peerings"`) || strings.Contains(page, "/console/federation/share-requests/new") {
		t.Fatalf("officer's page: %d %.1500s", code, page)
	}
	citizen := newClient(t, district.URL)
	citizen.signIn(district, "citizen-demo")
	if code, _ := citizen.get("/console/federation"); code != http.StatusForbidden {
		t.Fatalf("citizen: %d, want 403", code)
	}

	// In the browser: the pages in Chinese, every control labelled and in
	// the tab order, nothing loaded from outside the hub.
	for _, v := range []struct {
		h     *hubtest.Hub
		who   string
		paths [][2]string // path, element to wait for
	}{
		{city, "catalog-admin", [][2]string{{"/console/federation", "table.peerings"}}},
		{district, "admin-civil", [][2]string{{"/console/federation", "table.markable"}, {"/console/federation/share-requests/new?resource=population", "form.federation-request"}}},
	} {
		b := newBrowser(t, v.h.URL)
		ctx := b.tab()
		b.signIn(ctx, v.h.Secret(v.who))
		for i, p := range v.paths {
			b.open(ctx, p[0], p[1], "federation-"+v.who+"-"+string(rune('0'+i)))
		}
		b.sameOrigin()
	}

	// The pages left the API's audit events.
	if es := events(t, city, url.Values{"action": {"federation.peering.approve"}}); len(es) != 2 || es[0].PrincipalName != "catalog-admin" {
		t.Fatalf("approve events at the city: %+v", es)
	}
	if es := events(t, district, url.Values{"action": {"federation.share_request.file"}}); len(es) != 3 {
		t.Fatalf("share request events at the district: %+v", es)
	}
}

// between returns the text of s after the first from, up to to.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}
