// Package brokertest gives tests a Kafka broker: the real one named by
// YIKU_TEST_KAFKA_BROKERS (as `make test` sets it, with the SASL and TLS
// settings of the YIKU_TEST_KAFKA_* variables next to it), otherwise an
// embedded broker of the test's own that requires SASL/SCRAM-SHA-512 and
// enforces ACLs like the real one; and topic names no other test uses.
package brokertest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yiku/broker"
	"yiku/broker/embedded"
)

// The variables that point tests at a real Kafka cluster; kafka-up.sh
// prints them. Without EnvBrokers tests start an embedded broker. TLS is
// on when EnvCAFile is set.
const (
	EnvBrokers      = "YIKU_TEST_KAFKA_BROKERS"
	EnvMechanism    = "YIKU_TEST_KAFKA_SASL_MECHANISM"
	EnvUsername     = "YIKU_TEST_KAFKA_USERNAME"
	EnvPasswordFile = "YIKU_TEST_KAFKA_PASSWORD_FILE"
	EnvCAFile       = "YIKU_TEST_KAFKA_CA_FILE"
)

// Kafka is the broker a test runs on and the super user's credentials,
// who may create topics, ACLs and SCRAM credentials.
type Kafka struct {
	Brokers []string
	// Settings are the super user's, always with PasswordFile (not
	// Password) set when SASL is on, so they map onto the hub's settings.
	Settings broker.SecuritySettings
	Security broker.Security
	// Embedded is true for a broker of the test's own.
	Embedded bool
}

// Start returns the broker for this test: the real one of the environment,
// or a new embedded broker with SASL and ACLs that stops when t ends.
func Start(t testing.TB) *Kafka {
	t.Helper()
	return StartEnv(t, "YIKU_TEST_KAFKA")
}

// StartEnv is Start on the cluster of the variables named env_BROKERS,
// env_SASL_MECHANISM, env_USERNAME, env_PASSWORD_FILE and env_CA_FILE (env
// YIKU_TEST_KAFKA is Start's): a test that needs a second cluster of its
// own, like the federation test's city hub, reads YIKU_TEST_CITY_KAFKA_*.
// Without env_BROKERS, an embedded broker of the test's own.
func StartEnv(t testing.TB, env string) *Kafka {
	t.Helper()
	if k, ok := fromEnvPrefix(t, env); ok {
		return k
	}
	dir := t.TempDir()
	pw := randomHex(16)
	pwFile := filepath.Join(dir, "kafka-password")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	b, err := embedded.Start("127.0.0.1:0", "", 3, embedded.Superuser(broker.SCRAMSHA512, "yiku", pw))
	if err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	t.Cleanup(b.Close)
	k := &Kafka{Brokers: []string{b.Addr()}, Embedded: true,
		Settings: broker.SecuritySettings{Mechanism: broker.SCRAMSHA512, Username: "yiku", PasswordFile: pwFile}}
	k.Security = security(t, k.Settings)
	return k
}

// fromEnv reads the real cluster's settings from the environment.
func fromEnv(t testing.TB) (*Kafka, bool) { return fromEnvPrefix(t, "YIKU_TEST_KAFKA") }

// fromEnvPrefix reads a real cluster's settings from the variables env_*.
func fromEnvPrefix(t testing.TB, env string) (*Kafka, bool) {
	brokers := os.Getenv(env + "_BROKERS")
	if brokers == "" {
		return nil, false
	}
	k := &Kafka{Brokers: strings.Split(brokers, ","), Settings: broker.SecuritySettings{
		Mechanism:    os.Getenv(env + "_SASL_MECHANISM"),
		Username:     os.Getenv(env + "_USERNAME"),
		PasswordFile: os.Getenv(env + "_PASSWORD_FILE"),
		CAFile:       os.Getenv(env + "_CA_FILE"),
	}}
	k.Settings.TLS = k.Settings.CAFile != ""
	k.Security = security(t, k.Settings)
	return k, true
}

func security(t testing.TB, s broker.SecuritySettings) broker.Security {
	t.Helper()
	sec, err := broker.NewSecurity(s)
	if err != nil {
		t.Fatalf("brokertest: Kafka settings from %s etc.: %v", EnvMechanism, err)
	}
	return sec
}

// Config is a broker.Config on this Kafka as its super user.
func (k *Kafka) Config() broker.Config {
	return broker.Config{Brokers: k.Brokers, Security: k.Security, Partitions: 3, Replication: 1}
}

// Client returns a broker client on this Kafka as its super user, closed
// when t ends.
func (k *Kafka) Client(t testing.TB) *broker.Client {
	t.Helper()
	c := broker.New(k.Config())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Args are the `yiku serve` flags that reach this Kafka as its super user.
func (k *Kafka) Args() []string {
	args := []string{"--kafka-brokers", strings.Join(k.Brokers, ",")}
	s := k.Settings
	if s.Mechanism != "" {
		args = append(args, "--kafka-sasl-mechanism", s.Mechanism, "--kafka-username", s.Username, "--kafka-password-file", s.PasswordFile)
	}
	if s.TLS {
		args = append(args, "--kafka-tls")
		if s.CAFile != "" {
			args = append(args, "--kafka-ca-file", s.CAFile)
		}
	}
	return args
}

// Client returns a broker client on this test's Kafka as its super user.
func Client(t testing.TB) *broker.Client {
	t.Helper()
	return Start(t).Client(t)
}

// Prefix returns a topic prefix unique to this test, so tests sharing a real
// cluster never read each other's messages. On a real cluster the test's
// topics are deleted when it ends (an embedded broker goes away with it).
func Prefix(t testing.TB) string {
	t.Helper()
	k, ok := fromEnv(t)
	if !ok {
		return "t" + randomHex(4)
	}
	return k.Prefix(t)
}

// Prefix returns a topic prefix unique to this test on k, whose topics are
// deleted when the test ends (on a real cluster).
func (k *Kafka) Prefix(t testing.TB) string {
	t.Helper()
	prefix := "t" + randomHex(4)
	if !k.Embedded {
		t.Cleanup(func() { deleteTopicsWithPrefix(t, k, prefix) })
	}
	return prefix
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
