package subscription

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"yiku/fault"
)

// resolver answers host names from a table, like DNS under the test's control.
type resolver map[string][]string

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range r[host] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}

var dns = resolver{
	"hook.lx.gov.cn":     {"58.20.1.10"},
	"internal.lx.gov.cn": {"10.20.0.5"},
	"mixed.lx.gov.cn":    {"58.20.1.10", "127.0.0.1"},
	"meta.lx.gov.cn":     {"169.254.169.254"},
	"meta6.lx.gov.cn":    {"58.20.1.10", "fd00:ec2::254"},
	"localhost":          {"127.0.0.1", "::1"},
}

func TestWebhookPolicyCheckURL(t *testing.T) {
	tests := []struct {
		url          string
		strict, lax  bool // accepted without / with AllowPrivate
		strictReason string
	}{
		{"https://hook.lx.gov.cn/yiku", true, true, ""},
		{"https://58.20.1.10:8443/yiku", true, true, ""},
		{"https://[2400:3200::1]/yiku", true, true, ""},
		{"http://hook.lx.gov.cn/yiku", false, true, "https required"},
		{"ftp://hook.lx.gov.cn/yiku", false, false, "https required"},
		{"https://127.0.0.1/yiku", false, true, "loopback"},
		{"https://localhost:8443/yiku", false, true, "loopback"},
		{"https://[::1]/yiku", false, true, "loopback"},
		{"https://[::ffff:127.0.0.1]/yiku", false, true, "loopback"},
		{"https://10.1.2.3/yiku", false, true, "private"},
		{"https://172.16.0.9/yiku", false, true, "private"},
		{"https://192.168.1.1/yiku", false, true, "private"},
		{"https://[fd00::5]/yiku", false, true, "private"},
		{"https://internal.lx.gov.cn/yiku", false, true, "private"},
		{"https://mixed.lx.gov.cn/yiku", false, true, "loopback"},
		{"https://[64:ff9b::a00:1]/yiku", false, true, "private"},
		{"https://[2002:a00:1::1]/yiku", false, true, "private"},
		{"https://169.254.169.254/latest/meta-data", false, false, "metadata"},
		{"http://169.254.169.254/latest/meta-data", false, false, "https required"},
		{"https://meta.lx.gov.cn/", false, false, "metadata"},
		{"https://meta6.lx.gov.cn/", false, false, "metadata"},
		// Cloud metadata addresses, refused in every mode although some
		// are private or public addresses.
		{"https://[fd00:ec2::254]/latest/meta-data", false, false, "metadata"},
		{"https://[fd00:ec2::23]/", false, false, "metadata"},
		{"https://[fd20:ce::254]/", false, false, "metadata"},
		{"https://169.254.170.2/v2/credentials", false, false, "metadata"},
		{"https://169.254.170.23/", false, false, "metadata"},
		{"https://100.100.100.200/latest/meta-data", false, false, "metadata"},
		{"https://169.254.0.23/", false, false, "metadata"},
		{"https://192.0.0.192/", false, false, "metadata"},
		{"https://168.63.129.16/machine", false, false, "metadata"},
		{"https://168.63.129.17/", true, true, ""},
		// Every IPv6 form that embeds an IPv4 address is judged by that address.
		{"https://[::ffff:169.254.169.254]/", false, false, "metadata"},
		{"https://[::ffff:a9fe:a9fe]/", false, false, "metadata"},
		{"https://[::a9fe:a9fe]/", false, false, "metadata"},
		{"https://[::169.254.169.254]/", false, false, "metadata"},
		{"https://[::a9fe:1]/", false, false, "link-local"},
		{"https://[::7f00:1]/", false, true, "loopback"},
		{"https://[::a00:1]/", false, true, "private"},
		{"https://[::3a14:10a]/", true, true, ""},
		{"https://[::ffff:0:a9fe:a9fe]/", false, false, "metadata"},
		{"https://[::ffff:0:7f00:1]/", false, true, "loopback"},
		{"https://[64:ff9b::a9fe:a9fe]/", false, false, "metadata"},
		{"https://[64:ff9b::6464:64c8]/", false, false, "metadata"},
		{"https://[64:ff9b::3a14:10a]/", true, true, ""},
		{"https://[64:ff9b:1::a00:1]/", false, false, "reserved"},
		{"https://[2002:a9fe:a9fe::1]/", false, false, "metadata"},
		{"https://[2002:7f00:1::1]/", false, true, "loopback"},
		{"https://[2002:3a14:10a::1]/", true, true, ""},
		// Teredo: server 169.254.169.254, client 58.20.1.10 (inverted).
		{"https://[2001:0:a9fe:a9fe::c5eb:fef5]/", false, false, "metadata"},
		// Teredo: server 58.20.1.10, client 169.254.169.254 (inverted).
		{"https://[2001:0:3a14:10a::5601:5601]/", false, false, "metadata"},
		// Teredo: server 58.20.1.10, client 10.0.0.1 (inverted).
		{"https://[2001:0:3a14:10a::f5ff:fffe]/", false, true, "private"},
		{"https://[2001:0:3a14:10a::c5eb:fef5]/", true, true, ""},
		{"https://[fe80::a9fe:a9fe%25eth0]/", false, false, "link-local"},
		{"https://[fe80::1]/yiku", false, false, "link-local"},
		{"https://0.0.0.0/yiku", false, false, "unspecified"},
		{"https://[::]/yiku", false, false, "unspecified"},
		{"https://224.0.0.1/yiku", false, false, "multicast"},
		{"https://100.64.0.1/yiku", false, false, "reserved"},
		{"https://255.255.255.255/yiku", false, false, "reserved"},
		{"https://nowhere.lx.gov.cn/yiku", false, false, "does not resolve"},
		{"https://user:pw@hook.lx.gov.cn/yiku", false, false, "absolute URL"},
		{"/relative/path", false, false, "absolute URL"},
		{"https:///no-host", false, false, "absolute URL"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			for _, allow := range []bool{false, true} {
				want := tc.strict
				if allow {
					want = tc.lax
				}
				err := WebhookPolicy{AllowPrivate: allow, Resolver: dns}.CheckURL(context.Background(), tc.url)
				if want {
					if err != nil {
						t.Fatalf("allow private %v: refused: %v", allow, err)
					}
					continue
				}
				fe, ok := fault.As(err)
				if !ok || fe.Code != "invalid_webhook_url" || fe.Kind != fault.Invalid {
					t.Fatalf("allow private %v: error %v, want invalid_webhook_url", allow, err)
				}
				if !allow && !strings.Contains(fe.Details[0].Reason, tc.strictReason) {
					t.Fatalf("reason %q, want it to mention %q", fe.Details[0].Reason, tc.strictReason)
				}
			}
		})
	}
}

// TestWebhookClientChecksEveryConnection: the client refuses loopback at
// dial time, after resolution, whatever the URL said when it was accepted
// (a host name that now resolves to loopback is DNS rebinding); with
// AllowPrivate it connects.
func TestWebhookClientChecksEveryConnection(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	byName := "http://localhost:" + u.Port() + "/"

	strict := WebhookPolicy{}.Client(5 * time.Second)
	for _, target := range []string{srv.URL, byName} {
		resp, err := strict.Post(target, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: connected to a loopback receiver", target)
		}
		if !errors.Is(err, errDestination) {
			t.Fatalf("%s: error %v, want the destination refused", target, err)
		}
	}
	if calls != 0 {
		t.Fatalf("receiver saw %d requests", calls)
	}

	lax := WebhookPolicy{AllowPrivate: true}.Client(5 * time.Second)
	resp, err := lax.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("allow private: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || calls != 1 {
		t.Fatalf("allow private: status %d after %d calls", resp.StatusCode, calls)
	}
	// Redirects are answers, not followed: a receiver cannot bounce the hub elsewhere.
	resp, err = lax.Post(srv.URL+"/moved", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || calls != 2 {
		t.Fatalf("redirect: status %d after %d calls, want 302 after 2", resp.StatusCode, calls)
	}
}

// TestWebhookDialCheck: the check made on every connection normalises the
// embedded IPv4 forms and refuses metadata addresses with private
// destinations allowed too.
func TestWebhookDialCheck(t *testing.T) {
	lax := WebhookPolicy{AllowPrivate: true}
	for _, tc := range []struct {
		address string
		ok      bool
	}{
		{"127.0.0.1:8080", true},
		{"[fd00::5]:443", true},
		{"10.0.0.1:443", true},
		{"[::a00:1]:443", true},
		{"169.254.169.254:80", false},
		{"[::a9fe:a9fe]:80", false},
		{"[::ffff:a9fe:a9fe]:80", false},
		{"[64:ff9b::a9fe:a9fe]:80", false},
		{"[2002:a9fe:a9fe::]:80", false},
		{"[2001:0:3a14:10a::5601:5601]:80", false},
		{"[fd00:ec2::254]:80", false},
		{"[fd00:ec2::23]:80", false},
		{"100.100.100.200:80", false},
		{"168.63.129.16:80", false},
		{"[fe80::1%eth0]:80", false},
	} {
		err := lax.control("tcp", tc.address, nil)
		if tc.ok && err != nil {
			t.Errorf("%s: refused: %v", tc.address, err)
		}
		if !tc.ok && !errors.Is(err, errDestination) {
			t.Errorf("%s: error %v, want the destination refused", tc.address, err)
		}
	}
}

// FuzzWebhookURL: any string is either refused with invalid_webhook_url or
// is an https URL whose literal address the policy accepts.
func FuzzWebhookURL(f *testing.F) {
	for _, s := range []string{"https://hook.lx.gov.cn/yiku", "https://127.0.0.1/", "http://[::1]:80/", "https://[64:ff9b::7f00:1]/", "https://[::a9fe:a9fe]/", "https://[2001:0:3a14:10a::5601:5601]/", "https://%31%32%37.0.0.1/", "https://0x7f.1/", "https://2130706433/", ""} {
		f.Add(s)
	}
	p := WebhookPolicy{Resolver: dns}
	f.Fuzz(func(t *testing.T, s string) {
		err := p.CheckURL(context.Background(), s)
		if err != nil {
			if fe, ok := fault.As(err); !ok || fe.Code != "invalid_webhook_url" {
				t.Fatalf("%q: error %v", s, err)
			}
			return
		}
		u, perr := url.Parse(s)
		if perr != nil || u.Scheme != "https" {
			t.Fatalf("%q accepted but not an https URL", s)
		}
		if a, aerr := netip.ParseAddr(u.Hostname()); aerr == nil && p.Refusal(a) != "" {
			t.Fatalf("%q accepted with a refused address", s)
		}
	})
}
