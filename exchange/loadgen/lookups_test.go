package loadgen_test

import (
	"context"
	"testing"
	"time"

	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// TestRunLookupsCountsAnswers makes lookups against a hub as an officer
// who may look the demo citizen up (every one answered 200) and as a
// reviewer who may not (every one failed, none retried).
func TestRunLookupsCountsAnswers(t *testing.T) {
	h := hubtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := loadgen.LookupConfig{Lookups: 40, Clients: 3, Officer: h.Secret("officer-gsc"),
		Applicant: lookupdemo.Citizen, Item: lookupdemo.ItemSocialSecurity, Purpose: "社会保障卡申领"}
	res, err := loadgen.RunLookups(ctx, loadgen.Target{Hub: h.URL}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Answered != 40 || res.Failed != 0 || res.Retried != 0 || res.Rate() <= 0 || res.P50 <= 0 || res.Max < res.P99 {
		t.Errorf("officer: %+v", res)
	}

	cfg.Officer, cfg.Lookups = h.Secret("reviewer"), 5
	res, err = loadgen.RunLookups(ctx, loadgen.Target{Hub: h.URL}, cfg)
	if err != nil {
		// the warm-up lookup is refused too, but only failures of the
		// transport are errors
		t.Fatal(err)
	}
	if res.Answered != 0 || res.Failed != 5 || res.FirstFailure != "status 403" {
		t.Errorf("reviewer: %+v", res)
	}
}
