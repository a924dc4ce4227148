// Package config holds Yiku's settings: what they are, their defaults, and how
// flags, YIKU_* environment variables and an optional YAML file combine into
// one validated Config. It does not open connections; it only describes them.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"yiku/cryptosuite"
)

// Mode says which backings the hub runs on.
type Mode string

const (
	// ModeDev runs everything embedded: SQLite and an in-process Kafka-protocol broker.
	ModeDev Mode = "dev"
	// ModeServe runs on real PostgreSQL and Kafka.
	ModeServe Mode = "serve"
)

// Config is the whole validated configuration of one hub process.
type Config struct {
	Mode Mode

	HTTPAddr        string
	TLSCertFile     string
	TLSKeyFile      string
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration

	// DataDir is where the embedded mode keeps its SQLite file, broker log and keys.
	DataDir string
	// Reset wipes DataDir before start (dev only).
	Reset bool

	DatabaseURL string

	KafkaBrokers []string
	KafkaAddr    string // embedded broker listen address (dev)
	// Kafka security (serve): SASL mechanism, user and password file, and
	// TLS with an optional CA and client certificate (mutual TLS). Dev
	// generates its own SASL credentials into the data dir.
	KafkaSASLMechanism string
	KafkaUsername      string
	KafkaPasswordFile  string
	KafkaTLS           bool
	KafkaCAFile        string
	KafkaCertFile      string
	KafkaKeyFile       string
	KafkaTLSServerName string
	TopicPartitions    int
	// TopicReplication and TopicMinInSync shape the topics the hub
	// creates; 0 derives them from the cluster (broker.DeriveTopicShape).
	TopicReplication int
	TopicMinInSync   int
	TopicPrefix      string

	// JWTKeyFile is a PEM Ed25519 private key; tokens are signed and verified with it.
	JWTKeyFile string
	TokenTTL   time.Duration
	// SecretKeyFile holds 32+ random bytes (hex) from which the hub derives its
	// keyed hashes (audit subject hashes, pseudonyms, webhook signatures).
	SecretKeyFile string
	// DataKeyFile is the key file (package keyring) whose key-encryption
	// keys wrap the data keys of what the hub encrypts at rest. dev: made in
	// the data directory; serve: without it, nothing that must be encrypted
	// at rest (material uploads) is accepted.
	DataKeyFile string
	// MaterialStore is the blob storage URL of the material library
	// (gocloud.dev/blob: file:///dir, s3://bucket?endpoint=…); dev: the
	// data directory's materials folder when empty.
	MaterialStore string
	// MaterialMaxBytes limits one material file.
	MaterialMaxBytes int64
	// MaterialRetention keeps the files of material types for limited
	// times: "type=10y,other=365d" (package material).
	MaterialRetention string

	// Exchange limits.
	MaxBatchRecords int
	RateLimitRPS    float64

	// ShareDecisionDays is how many working days a provider has to answer a share request.
	ShareDecisionDays int
	// ObjectionDays is how many working days a provider has to correct a
	// record or reject an objection raised against it.
	ObjectionDays int
	// CalendarFile is an optional YAML file that replaces or adds years of
	// the working-day calendar (public holidays and 调休).
	CalendarFile string
	// ScoringFile is an optional YAML file of the assessment's metric
	// weights; the shipped supervision/scoring.yaml otherwise.
	ScoringFile string

	// WebhookAllowPrivate lets subscriptions deliver to plain http and to
	// loopback and private addresses (tests, the embedded demo, receivers
	// on an internal network). Off by default in serve mode.
	WebhookAllowPrivate bool

	LogLevel  string
	LogFormat string

	// Crypto names the cryptographic suite (package cryptosuite): "default"
	// or "sm" for the national algorithms SM2/SM3/SM4.
	Crypto string

	// ConnectRetry bounds how long serve waits for PostgreSQL and Kafka at start.
	ConnectRetry time.Duration

	// Federation (docs/federation.md): FederationHub ("" = off) is this
	// hub's id among its peers, FederationLevel its level (district, city,
	// province); FederationCertFile and FederationKeyFile its certificate
	// for hub-to-hub mutual TLS; FederationListen the listen address of the
	// peer API for downstream hubs ("" = none); FederationUpstreamURL and
	// FederationUpstreamCertFile its upstream hub and that hub's pinned
	// certificate; FederationSyncInterval how often it syncs with it.
	FederationHub              string
	FederationName             string
	FederationLevel            string
	FederationCertFile         string
	FederationKeyFile          string
	FederationListen           string
	FederationUpstreamURL      string
	FederationUpstreamCertFile string
	FederationSyncInterval     time.Duration
}

// Error is a configuration error: it names the setting and what is wrong.
// The CLI prints it as one line and exits with status 2.
type Error struct {
	Setting string
	Problem string
}

func (e *Error) Error() string {
	if e.Setting == "" {
		return "config: " + e.Problem
	}
	return fmt.Sprintf("config: %s: %s", e.Setting, e.Problem)
}

// IsError reports whether err is a configuration error.
func IsError(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}

// Flags registers every setting on fs with its default for mode.
func Flags(fs *pflag.FlagSet, mode Mode) {
	fs.String("config", "", "YAML config file (keys are the flag names)")
	fs.String("http-addr", "127.0.0.1:8080", "HTTP listen address")
	fs.String("tls-cert-file", "", "TLS certificate (PEM); HTTPS when set with --tls-key-file")
	fs.String("tls-key-file", "", "TLS private key (PEM)")
	fs.Int64("max-body-bytes", 16<<20, "largest accepted request body in bytes")
	fs.Duration("shutdown-timeout", 15*time.Second, "how long in-flight work may take to finish on SIGTERM")
	fs.String("log-level", "info", "debug, info, warn or error")
	fs.String("log-format", "json", "json or text")
	fs.String("crypto", "default", "cryptographic suite: default (SHA-256, Ed25519, AES-GCM) or sm (SM3, SM2, SM4)")
	fs.Int("topic-partitions", 3, "partitions for topics the hub creates")
	fs.Int("topic-replication", 0, "replication factor for topics the hub creates (0: 3 on a cluster of three or more brokers, else the number of brokers)")
	fs.Int("topic-min-insync-replicas", 0, "min.insync.replicas for topics the hub creates (0: 2 when the replication factor is 3 or more, else 1)")
	fs.String("topic-prefix", "yiku", "prefix of every topic name")
	fs.String("jwt-key-file", "", "PEM Ed25519 private key that signs and verifies bearer tokens")
	fs.Duration("token-ttl", 12*time.Hour, "lifetime of issued bearer tokens")
	fs.String("secret-key-file", "", "file with the hub's secret (hex, at least 32 bytes) for keyed hashes")
	fs.String("data-key-file", "", "key file (yiku keys init) whose keys wrap the data keys of what is encrypted at rest")
	fs.String("material-store", "", "blob storage URL of the material library: file:///dir or s3://bucket?region=…&endpoint=… (dev: <data dir>/materials)")
	fs.Int64("material-max-bytes", 20<<20, "largest accepted material file in bytes")
	fs.String("material-retention", "", "retention of material types' files, e.g. household-register=10y,photo=365d (unnamed types: until removed)")
	fs.Int("max-batch-records", 5000, "most records accepted in one publish batch")
	fs.Float64("rate-limit-rps", 0, "per-department request rate limit (0 = unlimited)")
	fs.Int("share-decision-days", 10, "working days a provider has to answer a share request")
	fs.Int("objection-days", 5, "working days a provider has to correct a record or reject an objection to it")
	fs.String("calendar-file", "", "YAML file of public holidays and worked weekend days that replaces or adds calendar years")
	fs.String("scoring-file", "", "YAML file of the assessment's metric weights (default: the shipped supervision/scoring.yaml)")
	fs.Duration("connect-retry", 30*time.Second, "how long to retry reaching PostgreSQL and Kafka at start")
	fs.String("federation-hub", "", "this hub's id among federated hubs, e.g. its division code (empty: no federation)")
	fs.String("federation-name", "", "this hub's name as its peers show it")
	fs.String("federation-level", "", "this hub's level: district, city or province")
	fs.String("federation-cert-file", "", "PEM certificate this hub presents to its peers (yiku peer cert makes one)")
	fs.String("federation-key-file", "", "PEM private key of --federation-cert-file")
	fs.String("federation-listen", "", "listen address of the peer API for downstream hubs (mutual TLS; empty: none)")
	fs.String("federation-upstream-url", "", "https URL of the upstream hub's peer API")
	fs.String("federation-upstream-cert-file", "", "the upstream hub's certificate, pinned: no other is accepted")
	fs.Duration("federation-sync-interval", 10*time.Second, "how often to sync with the upstream hub")
	fs.Bool("webhook-allow-private", mode == ModeDev, "let subscription webhooks use plain http and loopback or private addresses")
	switch mode {
	case ModeDev:
		fs.String("data-dir", "./.yiku", "folder for the embedded database, broker log and keys")
		fs.Bool("reset", false, "wipe the data dir before starting")
		fs.String("kafka-addr", "127.0.0.1:9092", "listen address of the embedded Kafka-protocol broker")
	case ModeServe:
		fs.String("database-url", "", "PostgreSQL URL (postgres://user:pass@host:port/db)")
		fs.String("kafka-brokers", "", "comma-separated Kafka bootstrap brokers host:port")
		fs.String("kafka-sasl-mechanism", "", "SASL mechanism for Kafka: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (empty: no authentication)")
		fs.String("kafka-username", "", "Kafka SASL user")
		fs.String("kafka-password-file", "", "file holding the Kafka SASL password")
		fs.Bool("kafka-tls", false, "connect to Kafka over TLS")
		fs.String("kafka-ca-file", "", "PEM CA certificates that sign the Kafka brokers' certificates (default: the system's)")
		fs.String("kafka-cert-file", "", "PEM client certificate for Kafka (mutual TLS)")
		fs.String("kafka-key-file", "", "PEM private key of --kafka-cert-file")
		fs.String("kafka-tls-server-name", "", "name expected in the Kafka brokers' certificates when it differs from the broker host")
	}
}

// Load combines flags (highest), YIKU_* environment variables, the YAML file
// named by --config, and defaults, then validates the result.
func Load(fs *pflag.FlagSet, mode Mode) (*Config, error) {
	v := viper.New()
	v.SetEnvPrefix("YIKU")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(fs); err != nil {
		return nil, &Error{Problem: err.Error()}
	}
	if file := v.GetString("config"); file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, &Error{Setting: "--config", Problem: oneLine(err)}
		}
		for _, k := range v.AllKeys() {
			if fs.Lookup(k) == nil && k != "config" {
				return nil, &Error{Setting: file, Problem: fmt.Sprintf("unknown setting %q", k)}
			}
		}
	}
	cfg := &Config{Mode: mode}
	var err error
	get := func(key string) string { return strings.TrimSpace(v.GetString(key)) }
	dur := func(key string) time.Duration {
		if err != nil {
			return 0
		}
		d, e := time.ParseDuration(get(key))
		if e != nil {
			err = &Error{Setting: "--" + key, Problem: fmt.Sprintf("%q is not a duration (like 30s or 5m)", get(key))}
		}
		return d
	}
	num := func(key string) int {
		if err != nil {
			return 0
		}
		n, e := strconv.Atoi(get(key))
		if e != nil {
			err = &Error{Setting: "--" + key, Problem: fmt.Sprintf("%q is not a whole number", get(key))}
		}
		return n
	}
	cfg.HTTPAddr = get("http-addr")
	cfg.TLSCertFile = get("tls-cert-file")
	cfg.TLSKeyFile = get("tls-key-file")
	cfg.MaxBodyBytes = int64(num("max-body-bytes"))
	cfg.ShutdownTimeout = dur("shutdown-timeout")
	cfg.LogLevel = get("log-level")
	cfg.LogFormat = get("log-format")
	cfg.Crypto = get("crypto")
	cfg.TopicPartitions = num("topic-partitions")
	cfg.TopicReplication = num("topic-replication")
	cfg.TopicMinInSync = num("topic-min-insync-replicas")
	cfg.TopicPrefix = get("topic-prefix")
	cfg.JWTKeyFile = get("jwt-key-file")
	cfg.TokenTTL = dur("token-ttl")
	cfg.SecretKeyFile = get("secret-key-file")
	cfg.DataKeyFile = get("data-key-file")
	cfg.MaterialStore = get("material-store")
	cfg.MaterialMaxBytes = int64(num("material-max-bytes"))
	cfg.MaterialRetention = get("material-retention")
	cfg.MaxBatchRecords = num("max-batch-records")
	cfg.ShareDecisionDays = num("share-decision-days")
	cfg.ObjectionDays = num("objection-days")
	cfg.CalendarFile = get("calendar-file")
	cfg.ScoringFile = get("scoring-file")
	cfg.ConnectRetry = dur("connect-retry")
	cfg.FederationHub = get("federation-hub")
	cfg.FederationName = get("federation-name")
	cfg.FederationLevel = get("federation-level")
	cfg.FederationCertFile = get("federation-cert-file")
	cfg.FederationKeyFile = get("federation-key-file")
	cfg.FederationListen = get("federation-listen")
	cfg.FederationUpstreamURL = get("federation-upstream-url")
	cfg.FederationUpstreamCertFile = get("federation-upstream-cert-file")
	cfg.FederationSyncInterval = dur("federation-sync-interval")
	if err == nil {
		allow, e := strconv.ParseBool(get("webhook-allow-private"))
		if e != nil {
			err = &Error{Setting: "--webhook-allow-private", Problem: fmt.Sprintf("%q is not true or false", get("webhook-allow-private"))}
		}
		cfg.WebhookAllowPrivate = allow
	}
	if err == nil {
		rps, e := strconv.ParseFloat(get("rate-limit-rps"), 64)
		if e != nil {
			err = &Error{Setting: "--rate-limit-rps", Problem: fmt.Sprintf("%q is not a number", get("rate-limit-rps"))}
		}
		cfg.RateLimitRPS = rps
	}
	switch mode {
	case ModeDev:
		cfg.DataDir = get("data-dir")
		cfg.Reset = v.GetBool("reset")
		cfg.KafkaAddr = get("kafka-addr")
	case ModeServe:
		cfg.DatabaseURL = get("database-url")
		cfg.KafkaBrokers = splitList(get("kafka-brokers"))
		cfg.KafkaSASLMechanism = strings.ToUpper(get("kafka-sasl-mechanism"))
		cfg.KafkaUsername = get("kafka-username")
		cfg.KafkaPasswordFile = get("kafka-password-file")
		cfg.KafkaCAFile = get("kafka-ca-file")
		cfg.KafkaCertFile = get("kafka-cert-file")
		cfg.KafkaKeyFile = get("kafka-key-file")
		cfg.KafkaTLSServerName = get("kafka-tls-server-name")
		if err == nil {
			on, e := strconv.ParseBool(get("kafka-tls"))
			if e != nil {
				err = &Error{Setting: "--kafka-tls", Problem: fmt.Sprintf("%q is not true or false", get("kafka-tls"))}
			}
			cfg.KafkaTLS = on
		}
	}
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Validate checks every setting and returns the first problem found.
func (c *Config) Validate() error {
	if err := checkHostPort("--http-addr", c.HTTPAddr); err != nil {
		return err
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return &Error{Setting: "--tls-cert-file", Problem: "HTTPS needs both --tls-cert-file and --tls-key-file"}
	}
	for _, f := range []struct{ flag, path string }{{"--tls-cert-file", c.TLSCertFile}, {"--tls-key-file", c.TLSKeyFile}, {"--jwt-key-file", c.JWTKeyFile}, {"--secret-key-file", c.SecretKeyFile}, {"--data-key-file", c.DataKeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return &Error{Setting: f.flag, Problem: fmt.Sprintf("cannot read %s", f.path)}
		}
	}
	if c.MaxBodyBytes < 1024 {
		return &Error{Setting: "--max-body-bytes", Problem: "must be at least 1024"}
	}
	if c.ShutdownTimeout <= 0 {
		return &Error{Setting: "--shutdown-timeout", Problem: "must be positive"}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &Error{Setting: "--log-level", Problem: fmt.Sprintf("%q is not one of debug, info, warn, error", c.LogLevel)}
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return &Error{Setting: "--log-format", Problem: fmt.Sprintf("%q is not json or text", c.LogFormat)}
	}
	if _, err := cryptosuite.Get(c.Crypto); err != nil || c.Crypto == "" {
		return &Error{Setting: "--crypto", Problem: fmt.Sprintf("%q is not default or sm", c.Crypto)}
	}
	if c.TopicPartitions < 1 || c.TopicPartitions > 1000 {
		return &Error{Setting: "--topic-partitions", Problem: "must be between 1 and 1000"}
	}
	if c.TopicReplication < 0 || c.TopicReplication > 7 {
		return &Error{Setting: "--topic-replication", Problem: "must be between 1 and 7, or 0 to derive it from the cluster"}
	}
	if c.TopicMinInSync < 0 || c.TopicMinInSync > 7 {
		return &Error{Setting: "--topic-min-insync-replicas", Problem: "must be between 1 and 7, or 0 to derive it from the replication factor"}
	}
	if c.TopicReplication > 0 && c.TopicMinInSync > c.TopicReplication {
		return &Error{Setting: "--topic-min-insync-replicas", Problem: fmt.Sprintf("%d is above --topic-replication %d: no write could be acknowledged", c.TopicMinInSync, c.TopicReplication)}
	}
	if !validTopicPart(c.TopicPrefix) {
		return &Error{Setting: "--topic-prefix", Problem: "use letters, digits, '.', '_' or '-' only"}
	}
	if c.TokenTTL < time.Minute {
		return &Error{Setting: "--token-ttl", Problem: "must be at least 1m"}
	}
	if c.MaxBatchRecords < 1 {
		return &Error{Setting: "--max-batch-records", Problem: "must be at least 1"}
	}
	if c.RateLimitRPS < 0 {
		return &Error{Setting: "--rate-limit-rps", Problem: "must not be negative"}
	}
	if c.ShareDecisionDays < 1 {
		return &Error{Setting: "--share-decision-days", Problem: "must be at least 1"}
	}
	if c.MaterialMaxBytes < 1024 {
		return &Error{Setting: "--material-max-bytes", Problem: "must be at least 1024"}
	}
	if c.ObjectionDays < 1 {
		return &Error{Setting: "--objection-days", Problem: "must be at least 1"}
	}
	if c.CalendarFile != "" {
		if _, err := os.Stat(c.CalendarFile); err != nil {
			return &Error{Setting: "--calendar-file", Problem: fmt.Sprintf("cannot read %s", c.CalendarFile)}
		}
	}
	if c.ScoringFile != "" {
		if _, err := os.Stat(c.ScoringFile); err != nil {
			return &Error{Setting: "--scoring-file", Problem: fmt.Sprintf("cannot read %s", c.ScoringFile)}
		}
	}
	if c.ConnectRetry < 0 {
		return &Error{Setting: "--connect-retry", Problem: "must not be negative"}
	}
	if err := c.validateFederation(); err != nil {
		return err
	}
	switch c.Mode {
	case ModeDev:
		if c.DataDir == "" {
			return &Error{Setting: "--data-dir", Problem: "must not be empty"}
		}
		if err := checkHostPort("--kafka-addr", c.KafkaAddr); err != nil {
			return err
		}
	case ModeServe:
		if c.DatabaseURL == "" {
			return &Error{Setting: "--database-url", Problem: "required (or YIKU_DATABASE_URL): a postgres:// URL"}
		}
		if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
			return &Error{Setting: "--database-url", Problem: "must be a postgres:// URL"}
		}
		if len(c.KafkaBrokers) == 0 {
			return &Error{Setting: "--kafka-brokers", Problem: "required (or YIKU_KAFKA_BROKERS): host:port[,host:port]"}
		}
		for _, b := range c.KafkaBrokers {
			if err := checkHostPort("--kafka-brokers", b); err != nil {
				return err
			}
		}
		if err := c.validateKafkaSecurity(); err != nil {
			return err
		}
		if c.JWTKeyFile == "" {
			return &Error{Setting: "--jwt-key-file", Problem: "required in serve mode: a PEM Ed25519 private key (openssl genpkey -algorithm ed25519)"}
		}
		if c.SecretKeyFile == "" {
			return &Error{Setting: "--secret-key-file", Problem: "required in serve mode: a file with at least 32 random bytes in hex (openssl rand -hex 32)"}
		}
	}
	return nil
}

// validateKafkaSecurity checks the Kafka SASL and TLS settings, reading the
// files they name. Problems never quote the password.
func (c *Config) validateKafkaSecurity() error {
	switch c.KafkaSASLMechanism {
	case "":
		if c.KafkaUsername != "" {
			return &Error{Setting: "--kafka-username", Problem: "needs --kafka-sasl-mechanism"}
		}
		if c.KafkaPasswordFile != "" {
			return &Error{Setting: "--kafka-password-file", Problem: "needs --kafka-sasl-mechanism"}
		}
	case "SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN":
		if c.KafkaUsername == "" {
			return &Error{Setting: "--kafka-username", Problem: "required with --kafka-sasl-mechanism"}
		}
		if c.KafkaPasswordFile == "" {
			return &Error{Setting: "--kafka-password-file", Problem: "required with --kafka-sasl-mechanism: a file holding the password"}
		}
		b, err := os.ReadFile(c.KafkaPasswordFile)
		if err != nil {
			return &Error{Setting: "--kafka-password-file", Problem: fmt.Sprintf("cannot read %s", c.KafkaPasswordFile)}
		}
		if strings.TrimRight(string(b), "\r\n") == "" {
			return &Error{Setting: "--kafka-password-file", Problem: fmt.Sprintf("%s is empty", c.KafkaPasswordFile)}
		}
		if c.KafkaSASLMechanism == "PLAIN" && !c.KafkaTLS {
			return &Error{Setting: "--kafka-sasl-mechanism", Problem: "PLAIN sends the password as it is: use it only with --kafka-tls"}
		}
	default:
		return &Error{Setting: "--kafka-sasl-mechanism", Problem: fmt.Sprintf("%q is not one of SCRAM-SHA-512, SCRAM-SHA-256, PLAIN", c.KafkaSASLMechanism)}
	}
	if !c.KafkaTLS {
		for _, f := range []struct{ flag, value string }{{"--kafka-ca-file", c.KafkaCAFile}, {"--kafka-cert-file", c.KafkaCertFile}, {"--kafka-key-file", c.KafkaKeyFile}, {"--kafka-tls-server-name", c.KafkaTLSServerName}} {
			if f.value != "" {
				return &Error{Setting: f.flag, Problem: "needs --kafka-tls"}
			}
		}
		return nil
	}
	if c.KafkaCAFile != "" {
		pem, err := os.ReadFile(c.KafkaCAFile)
		if err != nil {
			return &Error{Setting: "--kafka-ca-file", Problem: fmt.Sprintf("cannot read %s", c.KafkaCAFile)}
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return &Error{Setting: "--kafka-ca-file", Problem: fmt.Sprintf("%s holds no PEM certificate", c.KafkaCAFile)}
		}
	}
	if (c.KafkaCertFile == "") != (c.KafkaKeyFile == "") {
		return &Error{Setting: "--kafka-cert-file", Problem: "a client certificate needs both --kafka-cert-file and --kafka-key-file"}
	}
	if c.KafkaCertFile != "" {
		if _, err := tls.LoadX509KeyPair(c.KafkaCertFile, c.KafkaKeyFile); err != nil {
			return &Error{Setting: "--kafka-cert-file", Problem: fmt.Sprintf("%s and %s are not a PEM certificate and its key: %s", c.KafkaCertFile, c.KafkaKeyFile, oneLine(err))}
		}
	}
	return nil
}

func checkHostPort(setting, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return &Error{Setting: setting, Problem: fmt.Sprintf("%q is not host:port", addr)}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return &Error{Setting: setting, Problem: fmt.Sprintf("%q has no valid port", addr)}
	}
	if strings.ContainsAny(host, " /") {
		return &Error{Setting: setting, Problem: fmt.Sprintf("%q has an invalid host", addr)}
	}
	return nil
}

func validTopicPart(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// validateFederation checks the federation settings: all or nothing.
func (c *Config) validateFederation() error {
	if c.FederationHub == "" {
		if c.FederationListen != "" || c.FederationUpstreamURL != "" {
			return &Error{Setting: "--federation-hub", Problem: "federation settings need this hub's id"}
		}
		return nil
	}
	if !validHubID(c.FederationHub) {
		return &Error{Setting: "--federation-hub", Problem: "2-12 lower-case letters, digits or '-'"}
	}
	switch c.FederationLevel {
	case "district", "city", "province":
	default:
		return &Error{Setting: "--federation-level", Problem: fmt.Sprintf("%q is not district, city or province", c.FederationLevel)}
	}
	if c.FederationCertFile == "" || c.FederationKeyFile == "" {
		return &Error{Setting: "--federation-cert-file", Problem: "a federated hub needs its certificate and key (--federation-cert-file, --federation-key-file)"}
	}
	if (c.FederationUpstreamURL == "") != (c.FederationUpstreamCertFile == "") {
		return &Error{Setting: "--federation-upstream-url", Problem: "an upstream hub needs both its URL and its pinned certificate (--federation-upstream-cert-file)"}
	}
	if c.FederationUpstreamURL != "" && !strings.HasPrefix(c.FederationUpstreamURL, "https://") {
		return &Error{Setting: "--federation-upstream-url", Problem: "must be an https:// URL"}
	}
	if c.FederationListen != "" {
		if err := checkHostPort("--federation-listen", c.FederationListen); err != nil {
			return err
		}
	}
	for _, f := range []struct{ flag, path string }{{"--federation-cert-file", c.FederationCertFile}, {"--federation-key-file", c.FederationKeyFile}, {"--federation-upstream-cert-file", c.FederationUpstreamCertFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return &Error{Setting: f.flag, Problem: fmt.Sprintf("cannot read %s", f.path)}
		}
	}
	if c.FederationSyncInterval < 100*time.Millisecond {
		return &Error{Setting: "--federation-sync-interval", Problem: "must be at least 100ms"}
	}
	return nil
}

func validHubID(s string) bool {
	if len(s) < 2 || len(s) > 12 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
