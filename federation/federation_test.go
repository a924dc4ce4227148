package federation_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yiku/audit"
	auditstore "yiku/audit/store"
	"yiku/broker/brokertest"
	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/config"
	"yiku/demo"
	"yiku/fault"
	"yiku/federation"
	"yiku/federation/peer"
	"yiku/hub/hubtest"
	"yiku/identity"
	"yiku/lookup"
	"yiku/lookup/lookupdemo"
)

const (
	cityHub     = "4313"
	districtHub = "431302"
	// cityRes is a resource only the city hub holds: household registration
	// kept by the city public security bureau.
	cityRes = "city-household"
	item    = "fed-hukou-check"
)

type certs struct{ dir string }

func (c certs) files(name string) (string, string) {
	return filepath.Join(c.dir, name+".crt"), filepath.Join(c.dir, name+".key")
}

func (c certs) make(t *testing.T, name string) string {
	t.Helper()
	cf, kf := c.files(name)
	fp, err := peer.Generate(cf, kf, name, "", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func (c certs) identity(t *testing.T, name string) peer.Identity {
	t.Helper()
	cf, kf := c.files(name)
	id, err := peer.LoadIdentity(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// pair is a city hub and a district hub, each on its own database and
// Kafka cluster, the district configured with the city as its upstream.
type pair struct {
	city, district *hubtest.Hub
	certs          certs
	cityFP, distFP string
}

// cityConfig configures the city hub, its peer API on listen.
func (c certs) cityConfig(listen string) func(*config.Config) {
	return func(cfg *config.Config) {
		cfg.FederationHub, cfg.FederationName, cfg.FederationLevel = cityHub, "娄底市", "city"
		cfg.FederationCertFile, cfg.FederationKeyFile = c.files("city")
		cfg.FederationListen = listen
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startPair(t *testing.T, district ...func(*config.Config)) *pair {
	t.Helper()
	c := certs{dir: t.TempDir()}
	p := &pair{certs: c, cityFP: c.make(t, "city"), distFP: c.make(t, "district")}
	c.make(t, "impostor")
	// The city hub on the second cluster (YIKU_TEST_CITY_KAFKA_*, else an
	// embedded broker of its own), its peer API on a fixed port so that a
	// restarted city is found at the same address.
	p.city = hubtest.StartWith(t, hubtest.Options{Kafka: brokertest.StartEnv(t, "YIKU_TEST_CITY_KAFKA"), Configure: c.cityConfig(freePort(t))})
	addr := p.city.Federation.PeerAddr()
	if addr == "" {
		t.Fatal("the city hub has no peer listener")
	}
	p.district = hubtest.StartWith(t, hubtest.Options{Configure: func(cfg *config.Config) {
		cfg.FederationHub, cfg.FederationName, cfg.FederationLevel = districtHub, "娄星区", "district"
		cfg.FederationCertFile, cfg.FederationKeyFile = c.files("district")
		cfg.FederationUpstreamURL = "https://" + addr
		cfg.FederationUpstreamCertFile, _ = c.files("city")
		cfg.FederationSyncInterval = 200 * time.Millisecond
		for _, f := range district {
			f(cfg)
		}
	}})
	if p.city.DatabaseURL == p.district.DatabaseURL {
		t.Fatal("the two hubs share a database")
	}
	return p
}

func eventually(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func peerings(t *testing.T, h *hubtest.Hub) []federation.Peering {
	t.Helper()
	r := h.Do("GET", "/api/v1/federation/peerings", "catalog-admin", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("peerings: %d %s", r.Status, r.Body)
	}
	var out struct {
		Peerings []federation.Peering `json:"peerings"`
	}
	r.JSON(t, &out)
	return out.Peerings
}

// peer establishes the peering: requested by the district's office,
// approved by the city's with the district certificate's fingerprint.
func (p *pair) peer(t *testing.T) (district, city federation.Peering) {
	t.Helper()
	r := p.district.Do("POST", "/api/v1/federation/peerings", "catalog-admin", nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("request peering: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &district)
	if district.Status != federation.StatusRequested || district.PeerHub != cityHub || district.PeerLevel != peer.LevelCity || district.Fingerprint != p.cityFP {
		t.Fatalf("requested peering: %+v", district)
	}
	if r := p.district.Do("POST", "/api/v1/federation/peerings", "catalog-admin", nil); r.Status != http.StatusConflict {
		t.Fatalf("second request: %d %s, want 409", r.Status, r.Body)
	}
	if r := p.district.Do("POST", "/api/v1/federation/peerings", "admin-psb", nil); r.Status != http.StatusForbidden {
		t.Fatalf("a department admin requesting peering: %d, want 403", r.Status)
	}
	ps := peerings(t, p.city)
	if len(ps) != 1 || ps[0].Direction != federation.Downstream || ps[0].Status != federation.StatusPending || ps[0].PeerHub != districtHub || ps[0].Fingerprint != p.distFP {
		t.Fatalf("city peerings: %+v", ps)
	}
	city = ps[0]
	// The district's office tells the city's the fingerprint out of band
	// (GET /api/v1/federation); a wrong one is refused.
	var self struct {
		Fingerprint string `json:"fingerprint"`
	}
	p.district.Do("GET", "/api/v1/federation", "catalog-admin", nil).JSON(t, &self)
	if self.Fingerprint != p.distFP {
		t.Fatalf("district fingerprint %s, want %s", self.Fingerprint, p.distFP)
	}
	impostorFP := p.certs.identity(t, "impostor").Fingerprint
	if r := p.city.Do("POST", "/api/v1/federation/peerings/"+city.ID+"/approve", "catalog-admin", map[string]string{"fingerprint": impostorFP}); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "fingerprint_mismatch") {
		t.Fatalf("approve with another fingerprint: %d %s", r.Status, r.Body)
	}
	colons := strings.ToUpper(self.Fingerprint[:2]) + ":" + self.Fingerprint[2:]
	if r := p.city.Do("POST", "/api/v1/federation/peerings/"+city.ID+"/approve", "catalog-admin", map[string]string{"fingerprint": colons}); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	eventually(t, "both sides active", func() bool {
		d, c := peerings(t, p.district)[0], peerings(t, p.city)[0]
		district, city = d, c
		return d.Open() && c.Open()
	})
	return district, city
}

// TestWrongCertificateRefused: a district refuses a city presenting another
// certificate than the pinned one, and the city refuses a hub whose
// certificate no peering pins.
func TestWrongCertificateRefused(t *testing.T) {
	p := startPair(t)
	p.peer(t)
	ctx := context.Background()
	addr := "https://" + p.city.Federation.PeerAddr()
	// Pinning the impostor's certificate: the real city is refused.
	wrongPin, err := federation.NewLink(addr, p.certs.identity(t, "district"), p.certs.identity(t, "impostor").Fingerprint, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrongPin.Directory(ctx)
	if fe, ok := fault.As(err); !ok || fe.Code != "peer_certificate_mismatch" || !federation.Unreachable(err) {
		t.Fatalf("a city presenting an unpinned certificate: %v, want peer_certificate_mismatch", err)
	}
	// An impostor presenting its own certificate to the city: refused.
	impostor, err := federation.NewLink(addr, p.certs.identity(t, "impostor"), p.cityFP, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"directory": func() error { _, err := impostor.Directory(ctx); return err },
		"lookup": func() error {
			_, err := impostor.Lookup(ctx, "trace-x", federation.RemoteLookup{Subject: lookupdemo.Citizen, Resources: []string{seed.Population},
				Purpose: "p", CaseNumber: "c", Officer: "o", Department: demo.DeptService})
			return err
		},
		"publish": func() error {
			return impostor.Publish(ctx, federation.Published{Resource: catalog.Resource{ID: "x-res", ProviderCode: "x", Revision: 1}})
		},
	} {
		if fe, ok := fault.As(call()); !ok || fe.Kind != fault.Forbidden || fe.Code != "unknown_peer" {
			t.Errorf("impostor %s: %v, want 403 unknown_peer", name, call())
		}
	}
	// The district hub itself, still pinned correctly, is served.
	good, err := federation.NewLink(addr, p.certs.identity(t, "district"), p.cityFP, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Directory(ctx); err != nil {
		t.Fatalf("the peered district: %v", err)
	}
}

func entries(t *testing.T, h *hubtest.Hub, who, query string) []federation.Entry {
	t.Helper()
	r := h.Do("GET", "/api/v1/federation/directory"+query, who, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("directory%s: %d %s", query, r.Status, r.Body)
	}
	var out struct {
		Entries []federation.Entry `json:"entries"`
	}
	r.JSON(t, &out)
	return out.Entries
}

func entryOf(es []federation.Entry, id string) (federation.Entry, bool) {
	for _, e := range es {
		if e.ResourceID == id {
			return e, true
		}
	}
	return federation.Entry{}, false
}

var office = identity.Principal{ID: "fed-test", Name: "fed-test", Kind: identity.KindSystem, Role: identity.RoleCatalogAdmin, DepartmentCode: demo.DeptEGov}

// registerCityResource registers, at the city hub, a resource only it
// holds, and publishes the demo citizen's record into its library.
func registerCityResource(t *testing.T, city *hubtest.Hub) {
	t.Helper()
	ctx := context.Background()
	rs, docs, err := seed.Resources()
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.ID != seed.Population {
			continue
		}
		r.ID, r.Name = cityRes, "户籍人口信息（市公安局）"
		r.ShareType, r.ShareConditions = catalog.ShareConditional, "经市公安局审核同意后按申请的信息项提供。"
		if _, err := city.Catalog.Register(ctx, office, r, docs[i]); err != nil {
			t.Fatal(err)
		}
		if _, err := city.Catalog.Transition(ctx, office, cityRes, catalog.StatusPublished, "test"); err != nil {
			t.Fatal(err)
		}
	}
	rec := map[string]any{"id_number": lookupdemo.Citizen, "name": "张三", "sex": "1", "ethnicity": "01", "birth_date": "1985-06-15",
		"domicile_division": "431302", "domicile_address": "湖南省娄底市娄星区乐坪街道东升社区12栋3单元501", "mobile": "13807381234", "marital_status": "40"}
	if r := city.Do("POST", "/api/v1/resources/"+cityRes+"/records", "psb-system", []map[string]any{rec}); r.Status != http.StatusOK {
		t.Fatalf("publish at the city: %d %s", r.Status, r.Body)
	}
	lib := city.Library
	eventually(t, "the city library holds the record", func() bool {
		n, _, err := lib.Counts(ctx, cityRes)
		return err == nil && n >= 1
	})
}

// TestTwoHubFederation: peering, directory sync both ways, a cross-level
// share request decided at the city, a district lookup supplied by the city
// under its grant and masked by its plan, a department without a city
// grant refused there, both trails linked by the trace id, and a lookup
// while the city is unreachable.
func TestTwoHubFederation(t *testing.T) {
	p := startPair(t)
	ctx := context.Background()
	registerCityResource(t, p.city)
	distPeering, _ := p.peer(t)

	// Directory sync upward: the civil affairs bureau marks its marriage
	// registrations; the city directory shows them tagged with their origin.
	if r := p.district.Do("PUT", "/api/v1/federation/upward/"+seed.MarriageRegistration, "admin-civil", nil); r.Status != http.StatusOK {
		t.Fatalf("mark: %d %s", r.Status, r.Body)
	}
	if r := p.district.Do("PUT", "/api/v1/federation/upward/"+seed.Population, "admin-civil", nil); r.Status != http.StatusForbidden {
		t.Fatalf("marking another department's resource: %d, want 403", r.Status)
	}
	if r := p.district.Do("PUT", "/api/v1/federation/upward/"+seed.PSBCaseRecords, "admin-psb", nil); r.Status != http.StatusConflict {
		t.Fatalf("marking a resource that is not shared: %d, want 409", r.Status)
	}
	var up federation.Entry
	eventually(t, "the city directory shows the district entry", func() bool {
		e, ok := entryOf(entries(t, p.city, "officer-gsc", "?direction=downstream"), seed.MarriageRegistration)
		up = e
		return ok
	})
	if up.OriginHub != districtHub || up.OriginLevel != peer.LevelDistrict || up.OriginDept != demo.DeptCivil || up.OriginDeptName == "" ||
		up.Status != catalog.StatusPublished || up.Resource.Name == "" || len(up.Resource.Fields) == 0 {
		t.Fatalf("city's copy of the district entry: %+v", up)
	}
	// An update follows.
	cur, err := p.district.Catalog.Resource(ctx, seed.MarriageRegistration)
	if err != nil {
		t.Fatal(err)
	}
	cur.Summary += "（已向市平台共享）"
	if _, err := p.district.Catalog.Update(ctx, office, cur.ID, cur); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the update reaches the city", func() bool {
		e, ok := entryOf(entries(t, p.city, "officer-gsc", "?direction=downstream"), seed.MarriageRegistration)
		return ok && e.Revision > up.Revision && strings.HasSuffix(e.Resource.Summary, "（已向市平台共享）")
	})
	// Unmarking retires the entry there.
	if r := p.district.Do("DELETE", "/api/v1/federation/upward/"+seed.MarriageRegistration, "admin-civil", nil); r.Status != http.StatusOK {
		t.Fatalf("unmark: %d %s", r.Status, r.Body)
	}
	eventually(t, "the retirement reaches the city", func() bool {
		_, shown := entryOf(entries(t, p.city, "officer-gsc", "?direction=downstream"), seed.MarriageRegistration)
		e, kept := entryOf(entries(t, p.city, "officer-gsc", "?direction=downstream&retired=true"), seed.MarriageRegistration)
		return !shown && kept && e.Status == catalog.StatusRetired
	})

	// The district shows the city's shareable entries, tagged; not its
	// not-shared ones.
	var down federation.Entry
	eventually(t, "the district shows the city's entries", func() bool {
		e, ok := entryOf(entries(t, p.district, "officer-gsc", ""), cityRes)
		down = e
		return ok
	})
	if down.OriginHub != cityHub || down.OriginLevel != peer.LevelCity || down.OriginDept != demo.DeptPSB || down.Resource.ShareType != catalog.ShareConditional {
		t.Fatalf("district's copy of the city entry: %+v", down)
	}
	if _, ok := entryOf(entries(t, p.district, "officer-gsc", ""), seed.PSBCaseRecords); ok {
		t.Fatal("the city offered a resource that is not shared")
	}

	// A service item of the district whose material is city-held.
	itemBody := map[string]any{"code": item, "name": "户籍信息核验（跨层级）", "department_code": demo.DeptService, "applicant_type": "natural_person",
		"materials": []map[string]any{
			{"code": "hukou", "name": "户口簿（市公安局）", "resource": cityRes},
			{"code": "id-card", "name": "居民身份证", "resource": seed.Population},
		}}
	if r := p.district.Do("POST", "/api/v1/service-items", "catalog-admin", itemBody); r.Status != http.StatusCreated {
		t.Fatalf("service item: %d %s", r.Status, r.Body)
	}

	// Before any city grant the city refuses the district's service centre:
	// audited on both sides under one trace id.
	res, rid := lookupAs(t, p.district, "officer-gsc", "LX-FED-0001")
	if m := material(t, res, "hukou"); m.Status != lookup.NotPermitted {
		t.Fatalf("city material without a city grant: %+v", m)
	} else {
		t.Logf("before the grant: %s %s", m.Status, m.Reason)
	}
	assertLinked(t, p, rid, audit.Denied, districtHub+"_"+demo.DeptService)

	// A cross-level share request: filed at the district, carried to the
	// city, decided there by the city PSB's admin.
	sr := map[string]any{"resource_id": cityRes, "fields": []string{"id_number", "name", "domicile_address"}, "purposes": []string{"户籍核验"},
		"legal_basis": "《湖南省政务数据共享管理办法》", "service_items": []string{item}, "valid_until": time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}
	if r := p.district.Do("POST", "/api/v1/federation/share-requests", "officer-gsc", sr); r.Status != http.StatusForbidden {
		t.Fatalf("an officer filing a share request: %d, want 403", r.Status)
	}
	bad := map[string]any{}
	for k, v := range sr {
		bad[k] = v
	}
	bad["fields"] = []string{"no_such_field"}
	if r := p.district.Do("POST", "/api/v1/federation/share-requests", "admin-gsc", bad); r.Status != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %s, want 400", r.Status, r.Body)
	}
	r := p.district.Do("POST", "/api/v1/federation/share-requests", "admin-gsc", sr)
	if r.Status != http.StatusCreated {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	var filed federation.ShareRequest
	r.JSON(t, &filed)
	if filed.Status != federation.ShareWaiting || filed.PeeringID != distPeering.ID {
		t.Fatalf("filed: %+v", filed)
	}
	shareState := func() federation.ShareRequest {
		var out struct {
			Requests []federation.ShareRequest `json:"share_requests"`
		}
		p.district.Do("GET", "/api/v1/federation/share-requests", "admin-gsc", nil).JSON(t, &out)
		for _, s := range out.Requests {
			if s.ID == filed.ID {
				return s
			}
		}
		t.Fatalf("request %s not listed", filed.ID)
		return federation.ShareRequest{}
	}
	eventually(t, "the request reaches the city", func() bool { return shareState().Status == federation.SharePending })
	remote := shareState().RemoteID
	if r := p.city.Do("POST", "/api/v1/share-requests/"+remote+"/approve", "admin-psb", map[string]any{"fields": []string{"id_number", "name"}, "reason": "同意，按需提供"}); r.Status != http.StatusOK {
		t.Fatalf("approve at the city: %d %s", r.Status, r.Body)
	}
	eventually(t, "the decision reaches the district", func() bool {
		s := shareState()
		return s.Status == federation.ShareApproved && s.GrantID != ""
	})

	// Now the officer's lookup is supplied by the city, projected to the
	// granted fields and masked by the city's plan; the district's own
	// material is supplied by its own library.
	res, rid = lookupAs(t, p.district, "officer-gsc", "LX-FED-0002")
	m := material(t, res, "hukou")
	if m.Status != lookup.Supplied || !strings.HasPrefix(m.Basis, "peer:"+cityHub+"/grant:") {
		t.Fatalf("city material after the grant: %+v", m)
	}
	rec := string(m.Record)
	t.Logf("supplied by the city: basis %s, fields %v, record %s", m.Basis, m.Fields, rec)
	if strings.Contains(rec, "domicile_address") || strings.Contains(rec, "mobile") || strings.Contains(rec, lookupdemo.Citizen) || strings.Contains(rec, "张三") ||
		!strings.Contains(rec, "id_number") || !strings.Contains(rec, "name") {
		t.Fatalf("the city's answer is not projected and masked by its plan: %s", rec)
	}
	if l := material(t, res, "id-card"); l.Status != lookup.Supplied {
		t.Fatalf("the district's own material: %+v", l)
	}
	assertLinked(t, p, rid, audit.Allowed, districtHub+"_"+demo.DeptService)

	// A district department without a city grant (the Leping service
	// centre) is refused at the city, audited on both sides.
	res, rid = lookupAs(t, p.district, "officer-lp", "LX-FED-0003")
	if m := material(t, res, "hukou"); m.Status != lookup.NotPermitted {
		t.Fatalf("department without a city grant: %+v", m)
	}
	assertLinked(t, p, rid, audit.Denied, districtHub+"_"+demo.DeptLPSvc)

	// The city's office suspends the peering: lookups report the city-held
	// material as temporarily unavailable, not as one to bring.
	cityPeering := peerings(t, p.city)[0]
	if r := p.city.Do("POST", "/api/v1/federation/peerings/"+cityPeering.ID+"/suspend", "catalog-admin", map[string]string{"reason": "维护"}); r.Status != http.StatusOK {
		t.Fatalf("suspend: %d %s", r.Status, r.Body)
	}
	res, _ = lookupAs(t, p.district, "officer-gsc", "LX-FED-0004")
	assertWaiting(t, res)
	if r := p.city.Do("POST", "/api/v1/federation/peerings/"+cityPeering.ID+"/resume", "catalog-admin", nil); r.Status != http.StatusOK {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	eventually(t, "supplied again after the resume", func() bool {
		res, _ := lookupAs(t, p.district, "officer-gsc", "LX-FED-0005")
		return material(t, res, "hukou").Status == lookup.Supplied
	})

	// The city hub goes away: local work goes on, the city material waits.
	p.city.Stop()
	res, _ = lookupAs(t, p.district, "officer-gsc", "LX-FED-0006")
	assertWaiting(t, res)
	if r := p.district.Do("GET", "/api/v1/catalog/resources", "officer-gsc", nil); r.Status != http.StatusOK {
		t.Fatalf("local directory while the city is down: %d", r.Status)
	}
	// What waits to flow upward while the city is down — a new upward mark,
	// a share request — is delivered when it is back, in order.
	if r := p.district.Do("PUT", "/api/v1/federation/upward/"+seed.SocialSecurity, "admin-hrss", nil); r.Status != http.StatusOK {
		t.Fatalf("mark while the city is down: %d %s", r.Status, r.Body)
	}
	var waiting []federation.ShareRequest
	for _, purpose := range []string{"就业服务", "社会救助"} {
		sr["purposes"] = []string{purpose}
		r := p.district.Do("POST", "/api/v1/federation/share-requests", "admin-hrss", sr)
		if r.Status != http.StatusCreated {
			t.Fatalf("file while the city is down: %d %s", r.Status, r.Body)
		}
		var w federation.ShareRequest
		r.JSON(t, &w)
		waiting = append(waiting, w)
	}
	time.Sleep(time.Second) // a few failed sync rounds
	city2 := hubtest.StartWith(t, hubtest.Options{Share: p.city, Configure: p.certs.cityConfig(p.city.Cfg.FederationListen)})
	eventually(t, "the mark made while the city was down reaches it", func() bool {
		_, ok := entryOf(entries(t, city2, "officer-gsc", "?direction=downstream"), seed.SocialSecurity)
		return ok
	})
	var delivered []string
	eventually(t, "the requests filed while the city was down reach it", func() bool {
		var out struct {
			Requests []federation.ShareRequest `json:"share_requests"`
		}
		p.district.Do("GET", "/api/v1/federation/share-requests", "admin-hrss", nil).JSON(t, &out)
		delivered = delivered[:0]
		for _, s := range out.Requests {
			if s.Status == federation.SharePending && s.RemoteID != "" {
				delivered = append(delivered, s.RemoteID)
			}
		}
		return len(delivered) == len(waiting)
	})
	// In order: the city holds them in the order they were filed.
	var at []time.Time
	for _, id := range delivered {
		var req struct {
			CreatedAt time.Time `json:"created_at"`
			Purposes  []string  `json:"purposes"`
		}
		r := city2.Do("GET", "/api/v1/share-requests/"+id, "admin-psb", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("the carried request at the city: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &req)
		at = append(at, req.CreatedAt)
	}
	if at[1].Before(at[0]) {
		t.Fatalf("requests reached the city out of order: %v", at)
	}
	res, _ = lookupAs(t, p.district, "officer-gsc", "LX-FED-0007")
	if m := material(t, res, "hukou"); m.Status != lookup.Supplied {
		t.Fatalf("after the city is back: %+v", m)
	}

	// The district's office ends the peering.
	if r := p.district.Do("POST", "/api/v1/federation/peerings/"+distPeering.ID+"/end", "catalog-admin", map[string]string{"reason": "test over"}); r.Status != http.StatusOK {
		t.Fatalf("end: %d %s", r.Status, r.Body)
	}
}

func assertWaiting(t *testing.T, res lookup.Result) {
	t.Helper()
	m := material(t, res, "hukou")
	if m.Status != lookup.TemporarilyUnavailable {
		t.Fatalf("city material while the city cannot answer: %+v", m)
	}
	t.Logf("while the city cannot answer: %s %s; to bring %v", m.Status, m.Reason, res.ToBring)
	for _, name := range res.ToBring {
		if name == m.Name {
			t.Fatalf("a temporarily unavailable material is listed to bring: %v", res.ToBring)
		}
	}
	if l := material(t, res, "id-card"); l.Status != lookup.Supplied {
		t.Fatalf("the district's own material while the city cannot answer: %+v", l)
	}
}

func lookupAs(t *testing.T, h *hubtest.Hub, who, caseNo string) (lookup.Result, string) {
	t.Helper()
	r := h.Do("POST", "/api/v1/lookups", who, map[string]string{"applicant": lookupdemo.Citizen, "service_item": item, "case_number": caseNo, "purpose": "户籍核验"})
	if r.Status != http.StatusOK {
		t.Fatalf("lookup as %s: %d %s", who, r.Status, r.Body)
	}
	var res lookup.Result
	r.JSON(t, &res)
	return res, r.Header.Get("X-Request-ID")
}

func material(t *testing.T, res lookup.Result, code string) lookup.MaterialResult {
	t.Helper()
	for _, m := range res.Materials {
		if m.Code == code {
			return m
		}
	}
	t.Fatalf("no material %s in %+v", code, res)
	return lookup.MaterialResult{}
}

// assertLinked finds the reuse event of the city material in both trails
// under the district call's request id, with the outcome and, at the city,
// the district department's stand-in department.
func assertLinked(t *testing.T, p *pair, requestID string, outcome audit.Outcome, cityDept string) {
	t.Helper()
	if requestID == "" {
		t.Fatal("the lookup answered without a request id")
	}
	find := func(h *hubtest.Hub) (audit.Entry, bool) {
		es, err := auditstore.New(h.DB.Gorm).Query(context.Background(), auditstore.Filter{Action: audit.ActionReuse, Resource: cityRes})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.RequestID == requestID {
				return e, true
			}
		}
		return audit.Entry{}, false
	}
	d, ok := find(p.district)
	if !ok || string(d.Outcome) != string(outcome) || !strings.Contains(d.Reason, "peer="+cityHub) {
		t.Fatalf("district trail: %+v (found %v), want %s with peer=%s", d, ok, outcome, cityHub)
	}
	c, ok := find(p.city)
	if !ok || string(c.Outcome) != string(outcome) || c.Department != cityDept || !strings.HasPrefix(c.PrincipalID, "peer:"+districtHub+":") ||
		c.Purpose != "户籍核验" || c.CaseNumber != d.CaseNumber {
		t.Fatalf("city trail: %+v (found %v), want %s by %s", c, ok, outcome, cityDept)
	}
	t.Logf("linked by %s: district %s %s; city %s %s %s", requestID, d.Outcome, d.Reason, c.Outcome, c.Department, c.Reason)
}
