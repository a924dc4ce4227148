package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL mechanisms a client can authenticate with.
const (
	SCRAMSHA512 = "SCRAM-SHA-512"
	SCRAMSHA256 = "SCRAM-SHA-256"
	Plain       = "PLAIN"
)

// Mechanisms lists the SASL mechanisms SecuritySettings accepts.
var Mechanisms = []string{SCRAMSHA512, SCRAMSHA256, Plain}

// SecuritySettings say how a client authenticates to Kafka and whether the
// connection is encrypted, as configured: names and file paths. The zero
// value is PLAINTEXT (no authentication, no encryption).
type SecuritySettings struct {
	// Mechanism is "" (no SASL), SCRAMSHA512, SCRAMSHA256 or Plain.
	Mechanism string
	Username  string
	// Password is the SASL password; PasswordFile names a file holding it
	// instead (its trailing newline is dropped). Exactly one is set when
	// Mechanism is.
	Password     string
	PasswordFile string
	// TLS encrypts the connection and checks the broker's certificate
	// against CAFile (PEM), or the system's roots when CAFile is empty.
	TLS    bool
	CAFile string
	// CertFile and KeyFile (PEM) present a client certificate (mutual TLS);
	// they need TLS.
	CertFile string
	KeyFile  string
	// ServerName is the name expected in the broker's certificate when it
	// differs from the host in the bootstrap address.
	ServerName string
}

// Security is the built form of SecuritySettings: the SASL mechanism with
// its credentials and the TLS configuration, ready for every connection a
// Client makes. The zero value is PLAINTEXT. It never prints or logs the
// password: String and LogValue name the protocol, mechanism and user only.
type Security struct {
	mechanism string
	username  string
	sasl      sasl.Mechanism
	tls       *tls.Config
}

// NewSecurity checks settings, reads the password, CA and client
// certificate files, and builds the Security. Errors name the setting at
// fault but never contain the password.
func NewSecurity(s SecuritySettings) (Security, error) {
	var sec Security
	switch s.Mechanism {
	case "":
		if s.Username != "" || s.Password != "" || s.PasswordFile != "" {
			return Security{}, errors.New("broker: a Kafka username or password needs a SASL mechanism")
		}
	case SCRAMSHA512, SCRAMSHA256, Plain:
		if s.Username == "" {
			return Security{}, fmt.Errorf("broker: SASL %s needs a username", s.Mechanism)
		}
		password := s.Password
		switch {
		case s.Password != "" && s.PasswordFile != "":
			return Security{}, errors.New("broker: give the Kafka password or a password file, not both")
		case s.PasswordFile != "":
			p, err := ReadPasswordFile(s.PasswordFile)
			if err != nil {
				return Security{}, err
			}
			password = p
		case s.Password == "":
			return Security{}, fmt.Errorf("broker: SASL %s needs a password (file)", s.Mechanism)
		}
		var err error
		switch s.Mechanism {
		case SCRAMSHA512:
			sec.sasl, err = scram.Mechanism(scram.SHA512, s.Username, password)
		case SCRAMSHA256:
			sec.sasl, err = scram.Mechanism(scram.SHA256, s.Username, password)
		default:
			sec.sasl = plain.Mechanism{Username: s.Username, Password: password}
		}
		if err != nil {
			// The SCRAM library only fails on names and passwords it cannot
			// normalise (SASLprep); its message does not quote the password.
			return Security{}, fmt.Errorf("broker: SASL %s for user %q: the username or password has characters SASLprep refuses", s.Mechanism, s.Username)
		}
		sec.mechanism, sec.username = s.Mechanism, s.Username
	default:
		return Security{}, fmt.Errorf("broker: SASL mechanism %q is not one of %s", s.Mechanism, strings.Join(Mechanisms, ", "))
	}
	if !s.TLS {
		if s.CAFile != "" || s.CertFile != "" || s.KeyFile != "" || s.ServerName != "" {
			return Security{}, errors.New("broker: a CA file, client certificate or server name needs TLS turned on")
		}
		return sec, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return Security{}, fmt.Errorf("broker: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Security{}, fmt.Errorf("broker: CA file %s holds no PEM certificate", s.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return Security{}, errors.New("broker: a client certificate needs both the certificate and the key file")
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return Security{}, fmt.Errorf("broker: client certificate %s: %w", s.CertFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	sec.tls = cfg
	return sec, nil
}

// MustSecurity is NewSecurity for settings known to be valid (tests,
// credentials the hub generated itself); it panics on an error.
func MustSecurity(s SecuritySettings) Security {
	sec, err := NewSecurity(s)
	if err != nil {
		panic(err)
	}
	return sec
}

// ReadPasswordFile reads a password from path: the file's content without
// its trailing line break. An empty password is an error.
func ReadPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("broker: read password file: %w", err)
	}
	p := strings.TrimRight(string(b), "\r\n")
	if p == "" {
		return "", fmt.Errorf("broker: password file %s is empty", path)
	}
	return p, nil
}

// Protocol is the Kafka security protocol the settings amount to:
// PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL.
func (s Security) Protocol() string {
	switch {
	case s.sasl != nil && s.tls != nil:
		return "SASL_SSL"
	case s.sasl != nil:
		return "SASL_PLAINTEXT"
	case s.tls != nil:
		return "SSL"
	}
	return "PLAINTEXT"
}

// Mechanism is the SASL mechanism, "" without SASL.
func (s Security) Mechanism() string { return s.mechanism }

// Username is the SASL user, "" without SASL.
func (s Security) Username() string { return s.username }

// Principal is the Kafka principal the broker sees for a SASL user
// ("User:<name>"), "" without SASL.
func (s Security) Principal() string {
	if s.username == "" {
		return ""
	}
	return "User:" + s.username
}

// SASL returns the mechanism with its credentials, nil without SASL.
func (s Security) SASL() sasl.Mechanism { return s.sasl }

// TLS returns a copy of the TLS configuration, nil without TLS.
func (s Security) TLS() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.Clone()
}

// Transport returns a new kafka-go transport (its own connection pool)
// that authenticates and encrypts as s, for a kafka.Writer or kafka.Client.
func (s Security) Transport(clientID string) *kafka.Transport {
	return &kafka.Transport{
		ClientID:    clientID,
		DialTimeout: 5 * time.Second,
		IdleTimeout: 5 * time.Minute,
		SASL:        s.sasl,
		TLS:         s.TLS(),
	}
}

// Dialer returns a new kafka-go dialer that authenticates and encrypts as
// s, for a kafka.ReaderConfig, kafka.ConsumerGroupConfig or a direct
// connection.
func (s Security) Dialer(clientID string) *kafka.Dialer {
	return &kafka.Dialer{
		ClientID:      clientID,
		Timeout:       5 * time.Second,
		DualStack:     true,
		SASLMechanism: s.sasl,
		TLS:           s.TLS(),
	}
}

// String describes the security without secrets, e.g.
// "SASL_SSL SCRAM-SHA-512 user=yiku".
func (s Security) String() string {
	if s.sasl == nil {
		return s.Protocol()
	}
	return fmt.Sprintf("%s %s user=%s", s.Protocol(), s.mechanism, s.username)
}

// GoString keeps %#v from printing the credentials.
func (s Security) GoString() string { return "broker.Security(" + s.String() + ")" }

// LogValue logs the protocol, mechanism and user, never the password.
func (s Security) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("protocol", s.Protocol())}
	if s.sasl != nil {
		attrs = append(attrs, slog.String("mechanism", s.mechanism), slog.String("user", s.username))
	}
	return slog.GroupValue(attrs...)
}
