package catalog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"yiku/catalog"
	"yiku/catalog/validation"
	"yiku/fault"
)

// poisonV2 is marriageV1 with "name" checked by $defs that double at each
// of 40 levels, with a pattern at the bottom.
func poisonV2() []byte {
	var defs []string
	defs = append(defs, `"d0":{"type":"string","pattern":"^.+$"}`)
	for i := 1; i <= 40; i++ {
		defs = append(defs, fmt.Sprintf(`"d%d":{"allOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]}`, i, i-1, i-1))
	}
	return []byte(`{"type":"object","required":["id_number","name"],"$defs":{` + strings.Join(defs, ",") + `},"properties":{
		"id_number":{"type":"string","format":"cn-resident-id"},"name":{"type":"string","$ref":"#/$defs/d40"}}}`)
}

// storeLegacyVersion stores schema as the next version of resource id
// straight into the store, as a version registered before the complexity
// budget existed was.
func storeLegacyVersion(t *testing.T, f fixture, id string, schema []byte) int {
	t.Helper()
	ctx := context.Background()
	cur, err := f.svc.Resource(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := validation.Canonicalize(schema)
	if err != nil {
		t.Fatal(err)
	}
	next := cur
	next.LatestVersion, next.Revision = cur.LatestVersion+1, cur.Revision+1
	v := &catalog.SchemaVersion{ResourceID: id, Version: next.LatestVersion, Fingerprint: canon.Fingerprint, Schema: canon.JSON, Fields: cur.Fields, CreatedBy: "legacy", CreatedAt: f.clock.Now()}
	c := catalog.Change{ResourceID: id, Revision: next.Revision, Action: catalog.ActionSchemaRegister, PrincipalName: "legacy", At: f.clock.Now()}
	if err := f.store.Save(ctx, next, c, v); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute) // past the resource cache
	return next.LatestVersion
}

// within runs fn and fails the test if it does not return in 10 s.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s did not return within 10 s", what)
	}
}

// TestLegacyPoisonVersionUnusable: a version over the budget stored before
// the budget existed loads as unusable (409 schema_version_unusable with
// the budget's reason), every time and at once; the versions before it
// still validate, and a new version can be registered after it.
func TestLegacyPoisonVersionUnusable(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.svc.Register(ctx, adminCivil, marriageResource(), []byte(marriageV1))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.RegisterSchema(ctx, adminCivil, r.ID, poisonV2(), nil); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("poison schema registered: %v", err)
	}
	n := storeLegacyVersion(t, f, r.ID, poisonV2())
	for i := range 2 {
		within(t, "Validator", func() {
			_, err = f.svc.Validator(ctx, r.ID, 0)
		})
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.Conflict || fe.Code != "schema_version_unusable" ||
			!strings.Contains(fe.Message, fmt.Sprintf("schema version %d of %s", n, r.ID)) || !strings.Contains(fe.Message, "exceeds the budget") {
			t.Fatalf("call %d: %v, want schema_version_unusable naming the budget", i, err)
		}
	}
	v1, err := f.svc.Validator(ctx, r.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if vs := v1.Validate([]byte(`{"id_number":"431302198506120031","name":"李四"}`)); len(vs) != 0 {
		t.Fatalf("v1: %+v", vs)
	}
	// A simpler version replaces it; the compatibility check against the
	// poison version must end as well.
	v3 := strings.Replace(marriageV1, `"name":{"type":"string"}`, `"name":{"type":"string","title":"v3"}`, 1)
	var sv catalog.SchemaVersion
	within(t, "RegisterSchema after the poison version", func() {
		sv, _, err = f.svc.RegisterSchema(ctx, adminCivil, r.ID, []byte(v3), nil)
	})
	if fe, ok := fault.As(err); err != nil && (!ok || fe.Code != "incompatible_schema") {
		t.Fatalf("registering after the poison version: %v", err)
	}
	t.Logf("registering a simpler version after the poison version: v%d %v", sv.Version, err)
}
