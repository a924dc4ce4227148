package hub

import (
	"context"
	"encoding/json"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"yiku/broker"
	"yiku/config"
	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/federation"
	"yiku/federation/federationapi"
	"yiku/federation/peer"
	"yiku/policies/sharing"
)

// Federation is the hub's part in vertical federation (docs/federation.md).
type Federation struct {
	Service *federation.Service
	Remote  *federation.Remote
	// Identity is the certificate this hub presents to its peers.
	Identity peer.Identity
	listener net.Listener
}

// PeerAddr is the address of the peer API listener ("" if none).
func (f *Federation) PeerAddr() string {
	if f == nil || f.listener == nil {
		return ""
	}
	return f.listener.Addr().String()
}

func (f *Federation) close() {
	if f != nil && f.listener != nil {
		_ = f.listener.Close()
	}
}

// openFederation builds the federation service, and its lookup remote when
// an upstream hub is configured; the rest is wired by serveFederation.
// Without --federation-hub the service answers that federation is off.
func (h *Hub) openFederation() error {
	cfg := h.Cfg
	if cfg.FederationHub == "" {
		h.Federation = &Federation{Service: &federation.Service{Store: federation.NewStore(h.DB.Gorm), Directory: h.Catalog, Log: h.Log}}
		return nil
	}
	own, err := peer.LoadIdentity(cfg.FederationCertFile, cfg.FederationKeyFile)
	if err != nil {
		return &config.Error{Setting: "--federation-cert-file", Problem: oneLine(err)}
	}
	svc := &federation.Service{Store: federation.NewStore(h.DB.Gorm), Directory: h.Catalog, Log: h.Log,
		RecordsTopic: exchange.Topics{Prefix: cfg.TopicPrefix}.Records,
		Schema: func(ctx context.Context, id string, version int) (json.RawMessage, error) {
			v, err := h.Catalog.Version(ctx, id, version)
			return v.Schema, err
		},
		Self: federation.Self{Hub: cfg.FederationHub, Name: cfg.FederationName, Level: peer.Level(cfg.FederationLevel)}}
	if cfg.FederationUpstreamURL != "" {
		pin, err := peer.LoadPin(cfg.FederationUpstreamCertFile)
		if err != nil {
			return &config.Error{Setting: "--federation-upstream-cert-file", Problem: oneLine(err)}
		}
		if svc.Link, err = federation.NewLink(cfg.FederationUpstreamURL, own, pin, 10*time.Second); err != nil {
			return &config.Error{Setting: "--federation-upstream-url", Problem: oneLine(err)}
		}
	}
	h.Federation = &Federation{Service: svc, Identity: own}
	if svc.Link != nil {
		h.Federation.Remote = &federation.Remote{Service: svc, Names: h.Auth.Store().Department}
	}
	return nil
}

// serveFederation adds the federation API module, the peer API listener
// for downstream hubs and the sync worker for the upstream hub.
func (h *Hub) serveFederation(shareSvc *sharing.Service, lib *library.Store) error {
	f := h.Federation
	f.Service.Fields = h.fields
	h.modules = append(h.modules, federationapi.New(f.Service, f.Identity.Fingerprint))
	if h.Cfg.FederationListen != "" {
		ln, err := net.Listen("tcp", h.Cfg.FederationListen)
		if err != nil {
			return &config.Error{Setting: "--federation-listen", Problem: oneLine(err)}
		}
		f.listener = ln
		srv := &federation.Server{Store: f.Service.Store, Self: f.Service.Self, Directory: h.Catalog, Registrar: h.Catalog, Departments: h.Auth.Store(),
			Sharing: shareSvc, Gate: h.Gate, Audit: h.Audit, Log: h.Log,
			Library: libraryRecords(lib), Fields: h.fields}
		h.workers = append(h.workers, &peerListener{ln: ln, srv: srv, own: f.Identity, h: h})
		// Records MirrorMaker copied from downstream hubs into this hub's
		// cluster are applied to the library.
		base, err := h.franzOpts()
		if err != nil {
			return err
		}
		h.workers = append(h.workers, &federation.MirrorSink{Store: f.Service.Store, Library: lib, Partitions: h.Broker.Partitions,
			Interval: 2 * time.Second, Log: h.Log, Fields: h.fields, Directory: h.Catalog,
			Client: func(opts ...kgo.Opt) (*kgo.Client, error) { return kgo.NewClient(append(base, opts...)...) }})
	}
	if f.Service.Link != nil {
		every := h.Cfg.FederationSyncInterval
		if every <= 0 {
			every = 10 * time.Second
		}
		h.workers = append(h.workers, &federation.Syncer{Service: f.Service, Names: h.Auth.Store().Department, Interval: every})
	}
	return nil
}

type peerListener struct {
	ln  net.Listener
	srv *federation.Server
	own peer.Identity
	h   *Hub
}

func (p *peerListener) Name() string { return "federation-peer-api" }

func (p *peerListener) Run(ctx context.Context) error {
	p.h.Log.Info("federation peer API listening", "addr", p.ln.Addr().String(), "fingerprint", p.own.Fingerprint)
	return federation.Serve(ctx, p.ln, p.srv.Handler(), p.own, p.h.Log)
}

// franzOpts are the franz-go client options that reach this hub's Kafka
// with its own login (the mirror sink reads with franz-go: it filters
// aborted transactions under read_committed).
func (h *Hub) franzOpts() ([]kgo.Opt, error) {
	sec := h.Broker.Security()
	opts := []kgo.Opt{kgo.SeedBrokers(h.BrokerAddrs()...), kgo.ClientID("yiku-federation")}
	if t := sec.TLS(); t != nil {
		opts = append(opts, kgo.DialTLSConfig(t.Clone()))
	}
	if sec.Mechanism() == "" {
		return opts, nil
	}
	var pw string
	switch {
	case h.DevKafka != nil:
		pw = h.DevKafka.Password
	case h.Cfg.KafkaPasswordFile != "":
		var err error
		if pw, err = broker.ReadPasswordFile(h.Cfg.KafkaPasswordFile); err != nil {
			return nil, &config.Error{Setting: "--kafka-password-file", Problem: oneLine(err)}
		}
	}
	user := sec.Username()
	switch sec.Mechanism() {
	case broker.SCRAMSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pw}.AsSha512Mechanism()))
	case broker.SCRAMSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pw}.AsSha256Mechanism()))
	case broker.Plain:
		opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pw}.AsMechanism()))
	default:
		return nil, &config.Error{Setting: "--kafka-sasl-mechanism", Problem: "the federation mirror sink cannot log in with " + sec.Mechanism()}
	}
	return opts, nil
}
