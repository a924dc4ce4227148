package broker_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/broker/embedded"
)

const testPassword = "s3cret-Pa55word-never-printed"

// TestNewSecurityRefusesBadSettings: every inconsistent setting is an
// error, and no error text quotes the password.
func TestNewSecurityRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	pwFile := writeFile(t, dir, "pw", testPassword+"\n")
	empty := writeFile(t, dir, "empty", "\n")
	notPEM := writeFile(t, dir, "ca.pem", "no certificate here")
	cases := []struct {
		name string
		s    broker.SecuritySettings
		want string
	}{
		{"unknown mechanism", broker.SecuritySettings{Mechanism: "GSSAPI", Username: "u", Password: testPassword}, "not one of"},
		{"user without mechanism", broker.SecuritySettings{Username: "u"}, "needs a SASL mechanism"},
		{"password without mechanism", broker.SecuritySettings{Password: testPassword}, "needs a SASL mechanism"},
		{"no user", broker.SecuritySettings{Mechanism: broker.SCRAMSHA512, Password: testPassword}, "needs a username"},
		{"no password", broker.SecuritySettings{Mechanism: broker.SCRAMSHA512, Username: "u"}, "needs a password"},
		{"password and file", broker.SecuritySettings{Mechanism: broker.SCRAMSHA512, Username: "u", Password: testPassword, PasswordFile: pwFile}, "not both"},
		{"missing password file", broker.SecuritySettings{Mechanism: broker.SCRAMSHA256, Username: "u", PasswordFile: filepath.Join(dir, "nope")}, "read password file"},
		{"empty password file", broker.SecuritySettings{Mechanism: broker.Plain, Username: "u", PasswordFile: empty}, "is empty"},
		{"CA without TLS", broker.SecuritySettings{CAFile: notPEM}, "needs TLS"},
		{"server name without TLS", broker.SecuritySettings{ServerName: "kafka"}, "needs TLS"},
		{"CA not PEM", broker.SecuritySettings{TLS: true, CAFile: notPEM}, "no PEM certificate"},
		{"missing CA", broker.SecuritySettings{TLS: true, CAFile: filepath.Join(dir, "nope")}, "read CA file"},
		{"cert without key", broker.SecuritySettings{TLS: true, CertFile: notPEM}, "both the certificate and the key"},
		{"cert not PEM", broker.SecuritySettings{TLS: true, CertFile: notPEM, KeyFile: notPEM}, "client certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := broker.NewSecurity(tc.s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Fatalf("the error quotes the password: %v", err)
			}
		})
	}
}

// TestSecurityNeverPrintsThePassword: fmt's verbs and slog show the
// protocol, mechanism and user, never the password, also when a whole
// broker.Config is printed or logged.
func TestSecurityNeverPrintsThePassword(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []broker.SecuritySettings{
		{Mechanism: broker.SCRAMSHA512, Username: "yiku", Password: testPassword},
		{Mechanism: broker.SCRAMSHA256, Username: "yiku", PasswordFile: writeFile(t, dir, "pw", testPassword+"\n")},
		{Mechanism: broker.Plain, Username: "yiku", Password: testPassword, TLS: true},
	} {
		sec, err := broker.NewSecurity(s)
		if err != nil {
			t.Fatal(err)
		}
		cfg := broker.Config{Brokers: []string{"127.0.0.1:1"}, Security: sec}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("kafka", "security", sec, "config", cfg)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("kafka", "security", sec, "config", cfg)
		out := fmt.Sprintf("%v %+v %#v %s %v %+v %#v", sec, sec, sec, sec, cfg, cfg, cfg) + logged.String()
		if strings.Contains(out, testPassword) {
			t.Fatalf("%s: the password is printed:\n%s", s.Mechanism, out)
		}
		if !strings.Contains(out, s.Mechanism) || !strings.Contains(out, "yiku") {
			t.Fatalf("%s: mechanism or user missing from:\n%s", s.Mechanism, out)
		}
	}
	want := map[string]string{"": "PLAINTEXT", "sasl": "SASL_PLAINTEXT", "tls": "SSL", "sasl+tls": "SASL_SSL"}
	for k, proto := range want {
		s := broker.SecuritySettings{TLS: strings.Contains(k, "tls")}
		if strings.Contains(k, "sasl") {
			s.Mechanism, s.Username, s.Password = broker.SCRAMSHA512, "u", "p"
		}
		if got := broker.MustSecurity(s).Protocol(); got != proto {
			t.Errorf("%q: protocol %s, want %s", k, got, proto)
		}
	}
}

// TestEmbeddedBrokerRefusesAnonymousClients: with a super user the
// embedded broker answers only clients that log in with its password;
// the logged-in client produces and reads back through the client's
// writer and NewReader.
func TestEmbeddedBrokerRefusesAnonymousClients(t *testing.T) {
	for _, mech := range broker.Mechanisms {
		t.Run(mech, func(t *testing.T) {
			b, err := embedded.Start("127.0.0.1:0", "", 1, embedded.Superuser(mech, "hub", testPassword))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			login := func(user, pw string) broker.Security {
				return broker.MustSecurity(broker.SecuritySettings{Mechanism: mech, Username: user, Password: pw})
			}
			for name, sec := range map[string]broker.Security{
				"anonymous":      {},
				"wrong password": login("hub", testPassword+"x"),
				"unknown user":   login("someone", testPassword),
			} {
				if err := ping(b.Addr(), sec); err == nil {
					t.Errorf("%s: the broker answered", name)
				}
			}
			c := broker.New(broker.Config{Brokers: []string{b.Addr()}, Security: login("hub", testPassword), Partitions: 1})
			defer c.Close()
			roundTrip(t, c)
		})
	}
}

// TestTLSAndMutualTLS: over TLS the client checks the broker's
// certificate against the CA file and presents its own certificate;
// a client that trusts other roots, one without a certificate and one
// speaking plaintext are all refused.
func TestTLSAndMutualTLS(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	b, err := embedded.Start("127.0.0.1:0", "", 1, embedded.TLS(serverTLS), embedded.Superuser(broker.SCRAMSHA512, "hub", testPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pwFile := writeFile(t, dir, "pw", testPassword+"\n")
	full := broker.SecuritySettings{Mechanism: broker.SCRAMSHA512, Username: "hub", PasswordFile: pwFile,
		TLS: true, CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}
	noCert := full
	noCert.CertFile, noCert.KeyFile = "", ""
	systemRoots := full
	systemRoots.CAFile = ""
	plaintext := broker.SecuritySettings{Mechanism: broker.SCRAMSHA512, Username: "hub", Password: testPassword}
	for name, s := range map[string]broker.SecuritySettings{"no client certificate": noCert, "system roots": systemRoots, "plaintext": plaintext} {
		if err := ping(b.Addr(), broker.MustSecurity(s)); err == nil {
			t.Errorf("%s: the broker answered", name)
		}
	}
	sec := broker.MustSecurity(full)
	if sec.Protocol() != "SASL_SSL" {
		t.Fatalf("protocol %s", sec.Protocol())
	}
	c := broker.New(broker.Config{Brokers: []string{b.Addr()}, Security: sec, Partitions: 1})
	defer c.Close()
	roundTrip(t, c)

	// Over TLS a reader waits at least MinTLSMaxWait per fetch; without
	// TLS it keeps what it asked for.
	for _, tc := range []struct {
		c    *broker.Client
		want time.Duration
	}{{c, broker.MinTLSMaxWait}, {broker.New(broker.Config{Brokers: []string{b.Addr()}}), 100 * time.Millisecond}} {
		r := tc.c.NewReader(kafka.ReaderConfig{Topic: "secure.roundtrip", Partition: 0, MaxWait: 100 * time.Millisecond})
		if got := r.Config().MaxWait; got != tc.want {
			t.Errorf("%s reader MaxWait %s, want %s", tc.c.Security().Protocol(), got, tc.want)
		}
		_ = r.Close()
	}
}

func ping(addr string, sec broker.Security) error {
	c := broker.New(broker.Config{Brokers: []string{addr}, Security: sec})
	defer c.Close()
	return c.Ping(context.Background())
}

// roundTrip creates a topic, produces through the client's writer and
// reads the message back through its NewReader.
func roundTrip(t *testing.T, c *broker.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.EnsureTopics(ctx, "secure.roundtrip"); err != nil {
		t.Fatal(err)
	}
	if err := c.Produce(ctx, kafka.Message{Topic: "secure.roundtrip", Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	r := c.NewReader(kafka.ReaderConfig{Topic: "secure.roundtrip", Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	m, err := r.ReadMessage(ctx)
	if err != nil || string(m.Value) != "v" {
		t.Fatalf("read back %q: %v", m.Value, err)
	}
}

type testPKI struct {
	pool                          *x509.CertPool
	server                        tls.Certificate
	caFile, clientCert, clientKey string
}

// newTestPKI makes a CA, a broker certificate for 127.0.0.1 and a client
// certificate, the CA and the client's as PEM files in dir.
func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	serverDER, serverKey := issue(2, "broker", x509.ExtKeyUsageServerAuth)
	clientDER, clientKey := issue(3, "hub", x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	p := testPKI{pool: pool, server: tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}}
	p.caFile = writeFile(t, dir, "ca.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	p.clientCert = writeFile(t, dir, "client.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER})))
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	p.clientKey = writeFile(t, dir, "client.key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
