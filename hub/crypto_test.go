package hub_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"yiku/audit"
	"yiku/audit/verify"
	"yiku/cryptosuite"
	"yiku/hub/hubtest"
	"yiku/storage"
)

// TestSMSuiteWritesSMChains: a hub configured with crypto: sm writes its
// audit chain with SM3 and signs its checkpoints with SM2, and the trail
// verifies against the keys its secret derives.
func TestSMSuiteWritesSMChains(t *testing.T) {
	h := hubtest.StartWith(t, hubtest.Options{Suite: cryptosuite.SM})
	// The officer's demo credential is a token: signed with SM2 and accepted.
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(h.Secret("officer-gsc"), ".")[0])
	if !strings.Contains(string(header), `"alg":"SM2SM3"`) {
		t.Fatalf("officer token header %s", header)
	}
	if r := h.Do(http.MethodGet, "/api/v1/catalog/resources", "officer-gsc", nil); r.Status != http.StatusOK {
		t.Fatalf("list resources: %d %s", r.Status, r.Body)
	}
	ctx := context.Background()
	if _, err := h.Audit.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, h.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := audit.DeriveKeys(h.Hub.Secret, cryptosuite.SM)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(ctx, db.SQL(), verify.Options{Trusted: keys.Trusted})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Suites[cryptosuite.SM] != 1 || rep.Suites[cryptosuite.Default] != 0 || rep.Checkpoints == 0 {
		t.Fatalf("report = %+v", rep)
	}
}
