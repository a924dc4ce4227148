// Package hub assembles one Yiku process from its parts: it opens the
// database and Kafka (embedded or real), migrates, builds the enforcer, the
// authenticator and every API module and background worker, and runs them
// until the context ends, shutting down gracefully. It holds wiring only;
// each part's logic lives in its own package.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/segmentio/kafka-go"

	"yiku/audit"
	"yiku/audit/auditapi"
	"yiku/audit/auditmw"
	"yiku/audit/journal"
	auditstore "yiku/audit/store"
	"yiku/broker"
	"yiku/broker/embedded"
	"yiku/calendar"
	"yiku/catalog"
	"yiku/config"
	"yiku/console"
	"yiku/cryptosuite"
	"yiku/diskspace"
	"yiku/exchange/library"
	"yiku/fault"
	"yiku/fieldcrypt"
	"yiku/httpapi"
	"yiku/identity"
	"yiku/identity/identityapi"
	"yiku/keyfile"
	"yiku/keyring"
	"yiku/objection"
	"yiku/policies"
	"yiku/policies/sharing"
	"yiku/storage"
)

// Version is set at build time with -ldflags "-X yiku/hub.Version=…".
var Version = "dev"

// Worker is a background loop (a Kafka consumer, a scheduler) that runs
// until its context ends and then returns once its in-flight work is done.
type Worker interface {
	Name() string
	Run(ctx context.Context) error
}

// Hub is one running Yiku process.
type Hub struct {
	Cfg      *config.Config
	Log      *slog.Logger
	DB       *storage.DB
	Broker   *broker.Client
	Auth     *identity.Authenticator
	Enforcer *policies.Enforcer
	Identity *identityapi.API
	Catalog  *catalog.Service
	Gate     sharing.Gate // every data read, lookup and subscription asks it
	// Calendar counts working days for every deadline (share requests,
	// objections).
	Calendar *calendar.Calendar
	// Objections is the objection sweep and, through it, the service.
	Objections *objection.Sweeper
	// Federation is this hub's link with other levels' hubs (off when
	// --federation-hub is not set).
	Federation *Federation
	Registry   *prometheus.Registry
	Server     *httpapi.Server
	// Secret is the hub's key material for keyed hashes and signatures.
	Secret []byte
	// Keys wrap the data keys of what the hub encrypts at rest; nil in
	// serve mode without --data-key-file.
	Keys *keyring.Ring
	// fields seals and opens records' sensitive fields under Keys; nil
	// without a data key file.
	fields *fieldcrypt.Cipher
	// Library is the one library's store, with the cipher that opens the
	// sensitive fields of its records when the hub has data keys.
	Library *library.Store
	// Audit is this instance's audit journal (its own hash chain); the audit
	// middleware records every /api/v1 call through it.
	Audit *journal.Journal
	// AuditVerifier runs the chain verifications reviewers start from the
	// API, in this instance.
	AuditVerifier *auditapi.Verifier

	// DevKafka is the embedded broker's super user login (dev mode only),
	// for the banner and credentials.json.
	DevKafka *KafkaLogin

	embedded *embedded.Broker
	modules  []httpapi.Module
	workers  []Worker
	seeders  []func(context.Context) error
	// bodyLimits are the routes with their own body limit (httpapi.Deps).
	bodyLimits map[string]int64
	// closers release what parts opened (blob storage), at Close.
	closers []func() error
}

// Open connects everything cfg names and builds the hub, ready to Run.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Hub, error) {
	h := &Hub{Cfg: cfg, Log: log}
	ok := false
	defer func() {
		if !ok {
			h.Close()
		}
	}()
	var (
		dbURL   string
		brokers []string
		keyPath = cfg.JWTKeyFile
		secPath = cfg.SecretKeyFile
		sec     broker.Security
	)
	switch cfg.Mode {
	case config.ModeDev:
		if cfg.Reset {
			if err := os.RemoveAll(cfg.DataDir); err != nil {
				return nil, fmt.Errorf("hub: reset %s: %w", cfg.DataDir, err)
			}
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("hub: data dir %s: %w", cfg.DataDir, err)
		}
		dbURL = "sqlite:" + filepath.Join(cfg.DataDir, "yiku.db")
		login, err := devKafkaLogin(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		eb, err := embedded.Start(cfg.KafkaAddr, filepath.Join(cfg.DataDir, "kafka"), cfg.TopicPartitions,
			embedded.Superuser(login.Mechanism, login.Username, login.Password))
		if err != nil {
			return nil, err
		}
		h.embedded = eb
		brokers = []string{eb.Addr()}
		login.Brokers = brokers
		h.DevKafka = login
		if sec, err = broker.NewSecurity(broker.SecuritySettings{Mechanism: login.Mechanism, Username: login.Username, Password: login.Password}); err != nil {
			return nil, err
		}
		if keyPath == "" {
			keyPath = filepath.Join(cfg.DataDir, DevTokenKeyFile(cryptosuite.Name(cfg.Crypto)))
		}
		if secPath == "" {
			secPath = filepath.Join(cfg.DataDir, "secret.key")
		}
	case config.ModeServe:
		dbURL = cfg.DatabaseURL
		brokers = cfg.KafkaBrokers
		var err error
		if sec, err = kafkaSecurity(cfg); err != nil {
			return nil, err
		}
	}

	db, err := storage.OpenRetry(ctx, dbURL, cfg.ConnectRetry, log)
	if err != nil {
		return nil, &config.Error{Setting: "--database-url", Problem: "database unreachable: " + oneLine(err)}
	}
	h.DB = db
	h.Broker = broker.New(broker.Config{Brokers: brokers, ClientID: "yiku", Security: sec, Partitions: cfg.TopicPartitions, Replication: cfg.TopicReplication, MinInSync: cfg.TopicMinInSync})
	wait := cfg.ConnectRetry
	if cfg.Mode == config.ModeDev {
		// The embedded broker is already listening: waiting long helps nothing.
		wait = min(wait, 10*time.Second)
	}
	if err := h.Broker.PingRetry(ctx, wait); err != nil {
		if cfg.Mode == config.ModeDev {
			// The embedded broker runs in this process: it is reachable, so
			// a failure is its login (kfake drops the connection of a failed
			// one), e.g. kafka-password replaced under a persisted broker.
			return nil, &config.Error{Setting: "--data-dir", Problem: "the embedded Kafka broker refused the login in " +
				filepath.Join(cfg.DataDir, "kafka-password") + " (was it changed? --reset starts afresh): " + oneLine(err)}
		}
		if errors.Is(err, kafka.SASLAuthenticationFailed) {
			return nil, &config.Error{Setting: "--kafka-username", Problem: "Kafka at " + strings.Join(brokers, ",") + " refused the SASL login of " + sec.Username() + " (wrong user, password or mechanism)"}
		}
		return nil, &config.Error{Setting: "--kafka-brokers", Problem: "Kafka unreachable at " + strings.Join(brokers, ",") + " (" + sec.String() + "): " + oneLine(err)}
	}
	shape, err := h.Broker.ResolveTopicShape(ctx)
	if err != nil {
		return nil, &config.Error{Setting: "--topic-replication", Problem: oneLine(err)}
	}
	log.Info("kafka topics", "brokers", shape.Brokers, "replication", shape.Replication, "min_insync_replicas", shape.MinInSync)
	if cfg.Mode == config.ModeServe && sec.Protocol() != "SASL_SSL" {
		log.Warn("the connection to Kafka is not both authenticated and encrypted: set --kafka-sasl-mechanism and --kafka-tls", "kafka_security", sec)
	}
	if err := db.MigrateUp(ctx); err != nil {
		return nil, err
	}
	suite, err := cryptosuite.Get(cfg.Crypto)
	if err != nil {
		return nil, &config.Error{Setting: "--crypto", Problem: err.Error()}
	}
	key, err := identity.LoadOrCreateKey(keyPath, suite, cfg.Mode == config.ModeDev)
	if err != nil {
		return nil, &config.Error{Setting: "--jwt-key-file", Problem: oneLine(err)}
	}
	secret, err := LoadSecret(secPath, cfg.Mode == config.ModeDev)
	if err != nil {
		return nil, err
	}
	h.Secret = secret
	if h.Keys, err = loadDataKeys(cfg, log); err != nil {
		return nil, err
	}
	if err := h.build(ctx, suite, key); err != nil {
		return nil, err
	}
	ok = true
	return h, nil
}

// build creates the enforcer, authenticator, modules and server.
func (h *Hub) build(ctx context.Context, suite cryptosuite.Suite, key cryptosuite.Signer) error {
	enf, err := policies.NewEnforcer(ctx, h.DB.Gorm)
	if err != nil {
		return err
	}
	h.Enforcer = enf
	h.Auth = identity.NewAuthenticator(identity.NewStore(h.DB.Gorm), suite, key, h.Cfg.TokenTTL)
	h.Identity = identityapi.New(h.Auth, enf)
	h.Registry = prometheus.NewRegistry()
	h.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	auditKeys, err := audit.DeriveKeys(h.Secret, suite.Name())
	if err != nil {
		return err
	}
	if h.Audit, err = journal.New(ctx, auditstore.New(h.DB.Gorm), auditKeys); err != nil {
		return err
	}
	h.workers = append(h.workers, &policies.RoleWatcher{Enforcer: enf, Interval: time.Second, Log: h.Log})
	h.workers = append(h.workers, &journal.Checkpointer{J: h.Audit, Interval: time.Minute,
		OnError: func(err error) { h.Log.Error("audit checkpoint failed", "err", err) }})

	if h.Calendar, err = calendar.Load(h.Cfg.CalendarFile); err != nil {
		return &config.Error{Setting: "--calendar-file", Problem: oneLine(err)}
	}
	h.warnUncoveredYears(time.Now())

	h.modules = append(h.modules, h.Identity)
	if err := h.addParts(ctx); err != nil {
		return err
	}

	// The web console calls /api/v1 in process through the server built
	// next, so its pages pass the API's authentication, authorization,
	// sharing gate and audit unchanged.
	con, err := console.New(console.Deps{Auth: h.Auth, DB: h.DB.Gorm, Audit: h.Audit, Log: h.Log, Secure: h.Cfg.TLSCertFile != "", HubName: h.Cfg.FederationName, MaterialMaxBytes: h.Cfg.MaterialMaxBytes,
		API:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Server.Handler().ServeHTTP(w, r) }),
		OpenAPI: func() []byte { return h.Server.OpenAPIDocument() }})
	if err != nil {
		return err
	}
	deps := httpapi.Deps{
		Log: h.Log, Auth: h.Auth, Authz: enf, MaxBodyBytes: h.Cfg.MaxBodyBytes, BodyLimits: h.bodyLimits, Registry: h.Registry, Version: Version,
		Audit:     auditmw.New(h.Audit, h.Log),
		Frontends: []httpapi.Frontend{con},
		Classify: func(err error) *fault.Error {
			if storage.Unreachable(err) {
				return storage.ErrUnreachable(err)
			}
			if diskspace.Full(err) {
				return diskspace.ErrFull(err)
			}
			return nil
		},
		Checks: []httpapi.Check{
			{Name: "database", Fn: h.DB.Ping},
			{Name: "kafka", Fn: h.Broker.Ping},
		},
	}
	if h.Cfg.Mode == config.ModeDev {
		// The database and the broker's log share the data directory's
		// disk: writes stop while it is full, instead of half succeeding
		// (the embedded broker keeps a batch it could not write to disk
		// in memory only).
		guard := diskspace.NewGuard(h.Cfg.DataDir, diskspace.Reserve)
		deps.WriteGuard = guard.Check
		deps.Checks = append(deps.Checks, httpapi.Check{Name: "disk", Fn: guard.Ready})
	}
	srv, err := httpapi.New(deps, h.modules...)
	if err != nil {
		return err
	}
	h.Server = srv
	return nil
}

// Run serves HTTP and runs the workers until ctx ends, then stops accepting
// requests, lets in-flight requests and worker batches finish, and returns.
// ready, if not nil, receives the HTTP address once listening.
func (h *Hub) Run(ctx context.Context, ready chan<- string) error {
	wctx, cancelWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	errc := make(chan error, len(h.workers)+1)
	for _, w := range h.workers {
		wg.Add(1)
		go func(w Worker) {
			defer wg.Done()
			if err := w.Run(wctx); err != nil && !errors.Is(err, context.Canceled) {
				h.Log.Error("worker stopped", "worker", w.Name(), "err", err)
				errc <- fmt.Errorf("worker %s: %w", w.Name(), err)
			}
		}(w)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case err := <-errc:
			h.Log.Error("stopping: a worker failed", "err", err)
			stop()
		case <-sctx.Done():
		}
	}()
	err := h.Server.Serve(sctx, h.Cfg.HTTPAddr, h.Cfg.TLSCertFile, h.Cfg.TLSKeyFile, h.Cfg.ShutdownTimeout, ready)
	// HTTP is drained; now let workers finish their current batch.
	cancelWorkers()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(h.Cfg.ShutdownTimeout):
		h.Log.Warn("workers did not stop within the shutdown timeout")
	}
	if err != nil {
		h.Log.Error("hub stopped", "err", err)
	} else {
		h.Log.Info("hub stopped")
	}
	return err
}

// Close releases every connection.
func (h *Hub) Close() {
	for _, c := range h.closers {
		_ = c()
	}
	if h.Broker != nil {
		_ = h.Broker.Close()
	}
	if h.DB != nil {
		_ = h.DB.Close()
	}
	if h.embedded != nil {
		h.embedded.Close()
	}
	h.Federation.close()
}

// BrokerAddrs returns the Kafka bootstrap addresses the hub uses.
func (h *Hub) BrokerAddrs() []string { return h.Broker.Config().Brokers }

// DevTokenKeyFile is the name of the token signing key of suite in the dev
// data directory; each suite has its own, so switching keeps both.
func DevTokenKeyFile(suite cryptosuite.Name) string {
	if suite == cryptosuite.SM {
		return "jwt-sm2.pem"
	}
	return "jwt-ed25519.pem"
}

// loadDataKeys loads the key file of the keys that wrap data keys: in dev
// mode made in the data directory when missing; in serve mode the one
// --data-key-file names, or none (nil, with a warning).
func loadDataKeys(cfg *config.Config, log *slog.Logger) (*keyring.Ring, error) {
	path := cfg.DataKeyFile
	var (
		ring *keyring.Ring
		err  error
	)
	switch {
	case path == "" && cfg.Mode == config.ModeDev:
		path = filepath.Join(cfg.DataDir, "data-keys.json")
		ring, err = keyring.LoadOrInit(path, cryptosuite.Name(cfg.Crypto))
	case path == "":
		log.Warn("no --data-key-file: the sensitive fields of records are stored in clear in Kafka's records topics and the library, and nothing that must be encrypted at rest (material uploads) is accepted; create one with yiku keys init")
		return nil, nil
	default:
		ring, err = keyring.Load(path)
	}
	if err != nil {
		return nil, &config.Error{Setting: "--data-key-file", Problem: oneLine(err)}
	}
	if s := ring.NewestSuite(); string(s) != cfg.Crypto {
		log.Warn("the newest data key-encryption key is of another crypto suite than --crypto; new data keys follow the key file (yiku keys rotate --crypto "+cfg.Crypto+")",
			"key_file", path, "key_suite", s, "crypto", cfg.Crypto)
	}
	return ring, nil
}

// LoadSecret reads the hub's secret (hex, at least 32 bytes) from path; with
// create, a missing file is made with fresh random bytes (the dev mode).
func LoadSecret(path string, create bool) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("hub: secret entropy: %w", err)
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("hub: write secret %s: %w", path, err)
		}
		return b, nil
	}
	if err != nil {
		return nil, &config.Error{Setting: "--secret-key-file", Problem: "cannot read " + path}
	}
	if err := keyfile.CheckPrivate(path); err != nil {
		return nil, &config.Error{Setting: "--secret-key-file", Problem: err.Error()}
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(b) < 32 {
		return nil, &config.Error{Setting: "--secret-key-file", Problem: "must hold at least 32 bytes in hex (openssl rand -hex 32)"}
	}
	return b, nil
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// warnUncoveredYears warns when this year's working-day calendar, or in
// December next year's (deadlines then reach into it), is neither in the
// holiday tables nor in the calendar file: deadlines then count Monday to
// Friday and fall earlier than the legal ones around holidays.
func (h *Hub) warnUncoveredYears(now time.Time) {
	today := calendar.DateOf(now)
	years := []int{today.Year}
	if today.Month == time.December {
		years = append(years, today.Year+1)
	}
	for _, y := range h.Calendar.Uncovered(years...) {
		h.Log.Warn("no holiday calendar for this year: deadlines count Monday to Friday; add the year to --calendar-file", "year", y)
	}
}
