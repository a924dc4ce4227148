package exchangeapi_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"

	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
)

// TestPublishUnderSchemaV2 registers a compatible v2 of population through
// the catalog API (a new optional field), then publishes a record that uses
// the field: accepted under v2 (the latest, and with ?version=2) and
// refused under ?version=1 with the exact per-record error of the closed v1
// model.
func TestPublishUnderSchemaV2(t *testing.T) {
	h := hubtest.Start(t)
	const catalog = "/api/v1/catalog/resources/population"

	resp := h.Do(http.MethodGet, catalog+"/versions/latest", "admin-psb", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("latest version: %d %s", resp.Status, resp.Body)
	}
	var v1 struct {
		Version int
		Schema  map[string]any
		Fields  []map[string]any
	}
	resp.JSON(t, &v1)
	if v1.Version != 1 {
		t.Fatalf("population starts at version %d", v1.Version)
	}
	props := v1.Schema["properties"].(map[string]any)
	props["community_grid"] = map[string]any{"type": "string", "maxLength": 40}
	fields := append(v1.Fields, map[string]any{"name": "community_grid", "title": "网格编号", "data_type": "C", "sensitivity": "internal"})
	// The version body takes only the field attributes a client writes;
	// what the read adds (ids, timestamps) would be refused as unknown.
	for _, f := range fields {
		for k := range f {
			if k != "name" && k != "title" && k != "data_type" && k != "sensitivity" && k != "mask" && k != "description" && k != "length" {
				delete(f, k)
			}
		}
	}
	resp = h.Do(http.MethodPost, catalog+"/versions", "admin-psb", map[string]any{"schema": v1.Schema, "fields": fields})
	if resp.Status != http.StatusCreated {
		t.Fatalf("register v2: %d %s", resp.Status, resp.Body)
	}

	rec := loadgen.Person(rand.New(rand.NewPCG(2, 2)), 201, 0)
	rec["community_grid"] = "LP-DS-07"
	body := mustJSON(t, []any{rec})

	for _, q := range []string{"", "?version=2"} {
		resp = h.Do(http.MethodPost, "/api/v1/resources/population/records"+q, "psb-system", body)
		if resp.Status != http.StatusOK {
			t.Fatalf("publish%s: %d %s", q, resp.Status, resp.Body)
		}
		var res publishResult
		resp.JSON(t, &res)
		if res.Accepted != 1 || res.Rejected != 0 || res.SchemaVersion != 2 {
			t.Fatalf("publish%s: %+v", q, res)
		}
	}

	resp = h.Do(http.MethodPost, "/api/v1/resources/population/records?version=1", "psb-system", body)
	if resp.Status != http.StatusOK {
		t.Fatalf("publish under v1: %d %s", resp.Status, resp.Body)
	}
	var res publishResult
	resp.JSON(t, &res)
	if res.Accepted != 0 || res.Rejected != 1 || res.SchemaVersion != 1 || len(res.Errors) != 1 {
		t.Fatalf("publish under v1: %s", resp.Body)
	}
	e := res.Errors[0]
	if e.Index != 0 || e.Pointer != "" || e.Rule != "additionalProperties" || e.Message != "additional properties 'community_grid' not allowed" {
		got, _ := json.Marshal(e)
		t.Fatalf("v1 rejection %s", got)
	}

	// The record stored is the v2 one.
	cur := waitRecord(t, h, "population", rec["id_number"].(string), "psb-system", "")
	if cur.Record["community_grid"] != "LP-DS-07" {
		t.Fatalf("library record %v", cur.Record)
	}
}
