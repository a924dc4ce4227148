package lookupdemo_test

import (
	"testing"

	"yiku/lookup/lookupdemo"
	"yiku/schemas"
)

// The demo identifiers are valid under the strict checks the hub applies at
// its edges.
func TestDemoIdentifiers(t *testing.T) {
	for _, id := range []string{lookupdemo.Citizen, lookupdemo.Citizen2, lookupdemo.Spouse} {
		if err := schemas.ValidateResidentID(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	for _, c := range []string{lookupdemo.Entity, lookupdemo.ExpiredEntity, lookupdemo.RevokedEntity, lookupdemo.IssuerAMR, lookupdemo.LicenceType[:18]} {
		if warn, err := schemas.ValidateUSCC(c); err != nil || len(warn) > 0 {
			t.Errorf("%s: %v %v", c, err, warn)
		}
	}
	if err := schemas.ValidateElicenceID(lookupdemo.LicenceID("2024000101")); err != nil {
		t.Error(err)
	}
	if n := len(lookupdemo.Items()); n != 3 {
		t.Fatalf("items = %d", n)
	}
}
