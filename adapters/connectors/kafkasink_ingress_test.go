package connectors

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"yiku/adapters"
	"yiku/adapters/client"
)

// Ingested answers from the hub's exchange status: the department's lag
// when the status lists it, true when the hub does not report its ingress
// at all (an older hub), and a permanent error when the hub reports the
// ingress but not to this credential, so a one-shot run says why it cannot
// wait instead of skipping the wait.
func TestKafkaSinkIngestedReadsTheStatus(t *testing.T) {
	cases := []struct {
		name, status string
		want         bool
		permanent    bool
	}{
		{"routed", `{"resources":[],"total_lag":0,"ingress":[{"department":"lx-civil","lag":0}],"ingress_lag":0}`, true, false},
		{"waiting", `{"resources":[],"total_lag":0,"ingress":[{"department":"lx-civil","lag":3}],"ingress_lag":3}`, false, false},
		{"older hub", `{"resources":[],"total_lag":0}`, true, false},
		{"not shown to this credential", `{"resources":[],"total_lag":0,"ingress":[],"ingress_lag":0}`, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/exchange/status" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(c.status))
			}))
			defer srv.Close()
			hub, err := client.New(srv.URL, "yk_test")
			if err != nil {
				t.Fatal(err)
			}
			s := &kafkaSink{dept: "lx-civil", hub: hub}
			got, err := s.Ingested(context.Background())
			if c.permanent {
				if err == nil || !adapters.IsPermanent(err) {
					t.Fatalf("got %v, %v; want a permanent error", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}
