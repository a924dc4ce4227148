// Package peer is the trust between two federated hubs: each hub has its own
// certificate and key (from files), and pins the other's certificate. The
// hub-to-hub connection is mutual TLS: a district hub accepts an upstream
// hub only if it presents exactly the pinned certificate, and the upstream
// hub learns a district's certificate from its peering request and serves it
// only once its e-government office has approved that certificate's
// fingerprint (package federation). No CA is trusted: a certificate signed
// by anyone else, however valid, is refused.
package peer

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"yiku/keyfile"
)

// Level is a hub's place in the government hierarchy.
type Level string

const (
	LevelDistrict Level = "district" // 区县
	LevelCity     Level = "city"     // 市
	LevelProvince Level = "province" // 省
)

// Rank orders levels from the bottom: district 1, city 2, province 3; 0 for
// an unknown level.
func (l Level) Rank() int {
	switch l {
	case LevelDistrict:
		return 1
	case LevelCity:
		return 2
	case LevelProvince:
		return 3
	}
	return 0
}

// Identity is this hub's certificate and key for hub-to-hub connections.
type Identity struct {
	Cert tls.Certificate
	// Fingerprint is the SHA-256 of the certificate's DER, in lower-case hex.
	Fingerprint string
}

// LoadIdentity reads a PEM certificate and its private key; the key file
// must not be readable by others.
func LoadIdentity(certFile, keyFile string) (Identity, error) {
	if err := keyfile.CheckPrivate(keyFile); err != nil {
		return Identity{}, fmt.Errorf("peer: %w", err)
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return Identity{}, fmt.Errorf("peer: load %s and %s: %w", certFile, keyFile, err)
	}
	return Identity{Cert: c, Fingerprint: Fingerprint(c.Certificate[0])}, nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, lower-case hex.
func Fingerprint(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// NormalFingerprint accepts a fingerprint as hex with or without colons, in
// either case, and returns it in the form Fingerprint writes; ok is false
// when it is not 32 bytes of hex.
func NormalFingerprint(s string) (string, bool) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return "", false
	}
	return s, true
}

// LoadPin reads the pinned certificate of a peer (PEM, the first
// certificate in the file) and returns its fingerprint.
func LoadPin(certFile string) (string, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return "", fmt.Errorf("peer: read pinned certificate: %w", err)
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return "", fmt.Errorf("peer: %s holds no PEM certificate", certFile)
		}
		if b.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				return "", fmt.Errorf("peer: %s: %w", certFile, err)
			}
			return Fingerprint(b.Bytes), nil
		}
	}
}

// ErrPinMismatch is the refusal of a peer whose certificate is not the
// pinned one.
var ErrPinMismatch = errors.New("peer: the peer's certificate is not the pinned one")

// checkLeaf checks a presented chain's leaf against want and its validity
// period at now.
func checkLeaf(raw [][]byte, want string, now time.Time) error {
	if len(raw) == 0 {
		return errors.New("peer: no certificate presented")
	}
	if Fingerprint(raw[0]) != want {
		return ErrPinMismatch
	}
	c, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return fmt.Errorf("peer: certificate: %w", err)
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return errors.New("peer: the pinned certificate is outside its validity period")
	}
	return nil
}

// ClientTLS is the TLS configuration this hub dials its upstream with: it
// presents own and accepts only a server presenting the certificate whose
// fingerprint is pin. Chain building is replaced by the pin (the hubs'
// certificates are usually self-signed), the validity period is still
// checked.
func ClientTLS(own Identity, pin string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{own.Cert},
		// Verification is the pin below, not a CA chain.
		InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyPeerCertificate's pin
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return checkLeaf(raw, pin, time.Now())
		},
	}
}

// ServerTLS is the TLS configuration of this hub's peer listener: it
// requires a client certificate of any issuer and checks its validity
// period; which fingerprints are served is decided per request against the
// peerings (Presented).
func ServerTLS(own Identity) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{own.Cert},
		ClientAuth:   tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("peer: no client certificate")
			}
			c, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return fmt.Errorf("peer: client certificate: %w", err)
			}
			if now := time.Now(); now.Before(c.NotBefore) || now.After(c.NotAfter) {
				return errors.New("peer: client certificate outside its validity period")
			}
			return nil
		},
	}
}

// Presented returns the fingerprint of the client certificate of a request
// that came through a ServerTLS listener ("" if none).
func Presented(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	return Fingerprint(r.TLS.PeerCertificates[0].Raw)
}

// Client is an HTTP client to the upstream hub over ClientTLS.
func Client(own Identity, pin string, timeout time.Duration) *http.Client {
	tr := &http.Transport{TLSClientConfig: ClientTLS(own, pin), MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second,
		TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout}
	return &http.Client{Transport: tr, Timeout: timeout}
}
