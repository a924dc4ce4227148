package peer

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func identity(t *testing.T, name string) (Identity, string) {
	t.Helper()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	fp, err := Generate(cf, kf, name, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := LoadIdentity(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	if id.Fingerprint != fp {
		t.Fatalf("fingerprint %s, generated %s", id.Fingerprint, fp)
	}
	if pin, err := LoadPin(cf); err != nil || pin != fp {
		t.Fatalf("pin %s %v, want %s", pin, err, fp)
	}
	return id, cf
}

// Mutual TLS with pinning: the client accepts only the pinned server and the
// server sees which certificate the client presented.
func TestPinnedMutualTLS(t *testing.T) {
	city, _ := identity(t, "city")
	district, _ := identity(t, "district")
	impostor, _ := identity(t, "impostor")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, Presented(r))
	}))
	srv.TLS = ServerTLS(city)
	srv.StartTLS()
	defer srv.Close()

	resp, err := Client(district, city.Fingerprint, 5*time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("pinned call: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != district.Fingerprint {
		t.Fatalf("server saw client %q, want %s", body, district.Fingerprint)
	}
	// A server presenting another certificate than the pinned one is refused.
	_, err = Client(district, impostor.Fingerprint, 5*time.Second).Get(srv.URL)
	if err == nil || !errors.Is(err, ErrPinMismatch) {
		t.Fatalf("wrong server certificate: err %v, want the pin mismatch", err)
	}
	// A client without a certificate is refused by the handshake.
	plain := srv.Client()
	if _, err := plain.Get(srv.URL); err == nil {
		t.Fatal("a client without a certificate was served")
	}
}

func TestNormalFingerprint(t *testing.T) {
	id, _ := identity(t, "x")
	colons := strings.ToUpper(id.Fingerprint[:2]) + ":" + id.Fingerprint[2:]
	if got, ok := NormalFingerprint(colons); !ok || got != id.Fingerprint {
		t.Fatalf("NormalFingerprint(%q) = %q %v", colons, got, ok)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("g", 64), id.Fingerprint + "00"} {
		if _, ok := NormalFingerprint(bad); ok {
			t.Errorf("NormalFingerprint(%q) accepted", bad)
		}
	}
}

func TestLevelRank(t *testing.T) {
	if !(LevelDistrict.Rank() < LevelCity.Rank() && LevelCity.Rank() < LevelProvince.Rank()) || Level("x").Rank() != 0 {
		t.Fatal("levels out of order")
	}
}
