package supervisionapi_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
	"yiku/supervision"
)

func TestReportsAndFreshnessThroughTheAPI(t *testing.T) {
	h := hubtest.Start(t)
	period := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")

	// A publish with one record refused.
	good := map[string]any{"id_number": lookupdemo.Citizen2, "name": "李红", "sex": "2", "ethnicity": "01", "birth_date": "1990-01-01",
		"domicile_division": "431302", "domicile_address": "湖南省娄底市娄星区花山街道花山社区8栋201", "mobile": "13907385678", "marital_status": "10"}
	bad := map[string]any{"id_number": lookupdemo.Citizen2, "sex": "2"}
	if r := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", []map[string]any{good, bad}); r.Status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}

	// A lookup by the service centre's officer, once the demo records are
	// in the library: the trail's lookup and reuse.supply events count.
	var lk struct {
		Summary map[string]int
	}
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r := h.Do(http.MethodPost, "/api/v1/lookups", "officer-gsc", map[string]string{"applicant": lookupdemo.Citizen,
			"service_item": lookupdemo.ItemSocialSecurity, "case_number": "LX-SB-2025-0001", "purpose": "社会保障卡申领"})
		if r.Status != http.StatusOK {
			t.Fatalf("lookup: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &lk)
		if lk.Summary["supplied"] == 2 || time.Now().After(end) {
			break
		}
	}

	// The office sees every department, ranked.
	r := h.Do(http.MethodGet, "/api/v1/supervision/reports?period="+period, "catalog-admin", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("report: %d %s", r.Status, r.Body)
	}
	var all supervision.Report
	r.JSON(t, &all)
	if all.Period != period || len(all.Departments) < 3 || all.Ranked == 0 || len(all.Definitions) != len(supervision.Metrics) {
		t.Fatalf("office report: %s %d lines %d ranked", all.Period, len(all.Departments), all.Ranked)
	}
	var psb *supervision.DepartmentReport
	for i, d := range all.Departments {
		if d.Code == "lx-psb" {
			psb = &all.Departments[i]
		}
	}
	if psb == nil || psb.Figures.ResourcesRegistered == 0 || psb.Figures.MaterialsSupplied < 1 ||
		psb.Figures.RecordsAccepted != 1 || psb.Figures.RecordsRejected != 1 || psb.Figures.RejectionRate == nil || *psb.Figures.RejectionRate != 0.5 {
		t.Fatalf("the public security bureau's line: %+v", psb)
	}
	for _, d := range all.Departments {
		if d.Code == "lx-gsc" && (d.Figures.Lookups < 1 || d.Figures.LookupSupplied < 2 || d.Figures.LookupMaterials < 3) {
			t.Fatalf("the service centre's usage: %+v", d.Figures)
		}
	}

	// A department admin sees its own line only, with its rank.
	r = h.Do(http.MethodGet, "/api/v1/supervision/reports?period="+period, "admin-psb", nil)
	var own supervision.Report
	r.JSON(t, &own)
	if r.Status != http.StatusOK || len(own.Departments) != 1 || own.Departments[0].Code != "lx-psb" || own.Departments[0].Rank != psb.Rank || own.Ranked != all.Ranked {
		t.Fatalf("department admin's report: %d %+v", r.Status, own.Departments)
	}

	// The workbook and the CSV.
	r = h.Do(http.MethodGet, "/api/v1/supervision/reports?period="+period+"&format=xlsx", "reviewer", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("xlsx: %d", r.Status)
	}
	x, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := x.GetRows(supervision.SheetSummary)
	if err != nil || len(rows) != 2+len(all.Departments) {
		t.Fatalf("summary sheet: %d rows (%v)", len(rows), err)
	}
	_ = x.Close()
	r = h.Do(http.MethodGet, "/api/v1/supervision/reports?period="+period+"&format=csv", "admin-psb", nil)
	if r.Status != http.StatusOK || bytes.Count(r.Body, []byte("\n")) != 2 || !bytes.Contains(r.Body, []byte(",lx-psb,")) {
		t.Fatalf("csv: %d %s", r.Status, r.Body)
	}

	// Bad input is a 400, a reader without the role a 403.
	for _, q := range []string{"period=2026-13", "period=last-month", "period=", "period=2026-11&format=pdf"} {
		if r := h.Do(http.MethodGet, "/api/v1/supervision/reports?"+q, "catalog-admin", nil); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
	if r := h.Do(http.MethodGet, "/api/v1/supervision/reports?period="+period, "officer-gsc", nil); r.Status != http.StatusForbidden {
		t.Errorf("officer: %d", r.Status)
	}

	// Freshness: every published resource of a provider, stale or not.
	r = h.Do(http.MethodGet, "/api/v1/supervision/freshness?provider=lx-psb", "catalog-admin", nil)
	var fr struct {
		Resources []supervision.Freshness
		Stale     map[string]int `json:"stale_by_provider"`
	}
	r.JSON(t, &fr)
	if r.Status != http.StatusOK || len(fr.Resources) == 0 {
		t.Fatalf("freshness: %d %s", r.Status, r.Body)
	}
	for _, f := range fr.Resources {
		if f.ProviderCode != "lx-psb" || (f.Assessed && f.Due == nil) {
			t.Errorf("freshness line %+v", f)
		}
	}
	if r := h.Do(http.MethodGet, "/api/v1/supervision/freshness?provider=lx-amr", "admin-psb", nil); r.Status != http.StatusForbidden {
		t.Errorf("another department's freshness: %d", r.Status)
	}
	if r := h.Do(http.MethodGet, "/api/v1/supervision/freshness?stale=maybe", "admin-psb", nil); r.Status != http.StatusBadRequest {
		t.Errorf("stale=maybe: %d", r.Status)
	}
}
