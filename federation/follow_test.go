package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/federation"
)

// TestCityCopyFollowsItsOrigin: the city's copy of an upward-shared
// district resource (the resource its copied records are applied to) takes
// the district's new schema version with its new field, and is retired
// when the district stops sharing the resource upward.
func TestCityCopyFollowsItsOrigin(t *testing.T) {
	p := startPair(t)
	ctx := context.Background()
	p.peer(t)
	if r := p.district.Do("PUT", "/api/v1/federation/upward/"+seed.MarriageRegistration, "admin-civil", nil); r.Status != http.StatusOK {
		t.Fatalf("mark: %d %s", r.Status, r.Body)
	}
	cityID := federation.MirrorResourceID(districtHub, seed.MarriageRegistration)
	eventually(t, "the city registers the district's resource", func() bool {
		r, err := p.city.Catalog.Resource(ctx, cityID)
		return err == nil && r.Status == catalog.StatusPublished
	})
	before, err := p.city.Catalog.Resource(ctx, cityID)
	if err != nil {
		t.Fatal(err)
	}

	// The district adds an optional field in a new schema version.
	res, err := p.district.Catalog.Resource(ctx, seed.MarriageRegistration)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.district.Catalog.Version(ctx, seed.MarriageRegistration, res.LatestVersion)
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(v.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	schema["properties"].(map[string]any)["remark"] = map[string]any{"type": "string", "maxLength": 100}
	fields := append(res.Fields, catalog.Field{Name: "remark", Title: "备注", DataType: "C", Sensitivity: "public"})
	if r := p.district.Do("POST", "/api/v1/catalog/resources/"+seed.MarriageRegistration+"/versions", "admin-civil",
		map[string]any{"schema": schema, "fields": fields}); r.Status != http.StatusCreated {
		t.Fatalf("new schema version at the district: %d %s", r.Status, r.Body)
	}
	eventually(t, "the city's copy takes the new version and its field", func() bool {
		r, err := p.city.Catalog.Resource(ctx, cityID)
		_, has := r.Field("remark")
		return err == nil && r.LatestVersion == before.LatestVersion+1 && has
	})

	// The district stops sharing it upward: the copy is retired.
	if r := p.district.Do("DELETE", "/api/v1/federation/upward/"+seed.MarriageRegistration, "admin-civil", nil); r.Status != http.StatusOK {
		t.Fatalf("unmark: %d %s", r.Status, r.Body)
	}
	eventually(t, "the city's copy is retired", func() bool {
		r, err := p.city.Catalog.Resource(ctx, cityID)
		return err == nil && r.Status == catalog.StatusRetired
	})
}
