package hub

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"yiku/adapters/examples"
	"yiku/audit"
	"yiku/audit/auditapi"
	auditstore "yiku/audit/store"
	"yiku/casefile"
	"yiku/casefile/casefileapi"
	casestore "yiku/casefile/sqlstore"
	"yiku/catalog"
	"yiku/catalog/catalogapi"
	"yiku/catalog/seed"
	"yiku/catalog/sqlstore"
	"yiku/config"
	"yiku/console"
	"yiku/cryptosuite"
	"yiku/exchange"
	"yiku/exchange/exchangeapi"
	"yiku/exchange/ingress"
	"yiku/exchange/ingress/ingressapi"
	"yiku/exchange/library"
	"yiku/exchange/subscription"
	"yiku/federation"
	"yiku/fieldcrypt"
	fieldsql "yiku/fieldcrypt/sqlstore"
	"yiku/kafkaacl"
	"yiku/kafkaacl/kafkaaclapi"
	"yiku/kafkaacl/kafkaadmin"
	kafkaaclsql "yiku/kafkaacl/sqlstore"
	"yiku/lookup"
	"yiku/lookup/lookupapi"
	"yiku/lookup/lookupdemo"
	"yiku/material"
	"yiku/material/materialapi"
	materialstore "yiku/material/sqlstore"
	"yiku/objection"
	"yiku/objection/objectionapi"
	"yiku/policies/sharing"
	"yiku/policies/sharing/sharingapi"
	"yiku/serviceitem"
	itemstore "yiku/serviceitem/sqlstore"
	"yiku/supervision"
	"yiku/supervision/supervisionapi"
)

// addParts builds each part of the hub (catalog, exchange, sharing, audit…)
// and registers its API module and workers. One block per part.
func (h *Hub) addParts(ctx context.Context) error {
	// Catalog: the resource directory every other part reads through h.Catalog.
	h.Catalog = catalog.NewService(sqlstore.New(h.DB.Gorm), h.Auth.Store(), catalog.Options{})
	h.seeders = append(h.seeders, seed.Demo(h.Catalog))
	h.modules = append(h.modules, catalogapi.New(h.Catalog))
	if err := h.openFederation(); err != nil {
		return err
	}

	// Built once and shared by the blocks below: the share-request service,
	// the one library and the publisher (the lookup demo seeds through them).
	var (
		shareSvc *sharing.Service
		lib      *library.Store
		pub      *exchange.Publisher
		// Every read path flags records under open objection through it.
		objections = objection.NewStore(h.DB.Gorm)
		subs       *subscription.Service
		// Case records (办件库): lookups open them, the reuse statistics
		// count their processing times.
		cases = &casefile.Service{Store: casestore.New(h.DB.Gorm), Calendar: h.Calendar, Hash: h.Audit.SubjectKey().Hash}
		// The material library: lookups reuse its uploads.
		materials = &material.Service{Store: materialstore.New(h.DB.Gorm)}
	)

	// Sharing: share requests, grants and the data-access gate (h.Gate).
	{
		topic := sharing.PolicyTopic(h.Cfg.TopicPrefix)
		if err := h.Broker.EnsureTopicsWith(ctx, 1, topic); err != nil {
			return fmt.Errorf("hub: sharing: %w", err)
		}
		store := sharing.NewStore(h.DB.Gorm)
		gate, err := sharing.NewGatekeeper(ctx, store, h.Catalog, h.Auth.Store().Departments, h.Secret, nil)
		if err != nil {
			return err
		}
		notifier := sharing.KafkaNotifier{Broker: h.Broker, Topic: topic}
		shareSvc = &sharing.Service{Store: store, Gate: gate, Directory: h.Catalog, Resources: h.Catalog.All,
			Notifier: notifier, DecisionDays: h.Cfg.ShareDecisionDays, Calendar: h.Calendar, Log: h.Log}
		h.Gate = gate
		h.modules = append(h.modules, sharingapi.New(shareSvc, gate, h.Catalog))
		h.workers = append(h.workers, &sharing.Syncer{Gate: gate, Broker: h.Broker, Topic: topic, Notifier: notifier, Log: h.Log})
	}

	// Exchange: publish, the library sink, record reads, subscriptions and delivery.
	{
		topics := exchange.Topics{Prefix: h.Cfg.TopicPrefix}
		lib = library.NewStore(h.DB)
		router := exchange.NewRouter(h.Broker)
		sink := library.NewSink(library.SinkConfig{Kafka: h.Broker, GroupID: h.Cfg.TopicPrefix + ".library", Log: h.Log}, lib, h.Broker, topics, h.Registry)
		pub = exchange.NewPublisher(exchange.PublishConfig{MaxRecords: h.Cfg.MaxBatchRecords, RateLimitRPS: h.Cfg.RateLimitRPS, MaxBacklog: exchange.DefaultMaxBacklog},
			h.Catalog, router, topics, lib, lib, sink.Backlog)
		// Sensitive fields are sealed in the records topics and the library
		// under per-resource data keys the data key file's keys wrap; the
		// stored data keys move under the newest of those keys at start.
		if h.Keys != nil {
			fields := fieldcrypt.New(h.Keys, fieldsql.New(h.DB.Gorm))
			res, err := fields.Rewrap(ctx)
			if err != nil {
				return err
			}
			if len(res.Failed) > 0 {
				h.Log.Error("record data keys whose key-encryption key is not in the data key file: their records cannot be read", "keys", res.String())
			} else if res.Rewrapped > 0 {
				h.Log.Info("record data keys re-wrapped under the newest key-encryption key", "keys", res.String(), "kek", h.Keys.Newest())
			}
			pub.Sealer, lib.Fields, h.fields = fields, fields, fields
		}
		h.Library = lib
		subStore := subscription.NewStore(h.DB)
		webhooks := subscription.WebhookPolicy{AllowPrivate: h.Cfg.WebhookAllowPrivate}
		if webhooks.AllowPrivate && h.Cfg.Mode == config.ModeServe {
			h.Log.Warn("subscription webhooks may use plain http and loopback or private addresses (--webhook-allow-private)")
		}
		subs = subscription.NewService(subStore, lib, h.Catalog, h.Gate, h.Auth.Store(), topics, h.Secret, webhooks)
		subs.Objections = objections
		// Kafka ingress: departments' adapters produce to their ingress
		// topics; refused records go to dead letters they can replay. The
		// exchange status reports the ingress's lag next to the library's.
		ingressGroup := h.Cfg.TopicPrefix + ".ingress"
		departments := func(ctx context.Context) ([]string, error) {
			ds, err := h.Auth.Store().Departments(ctx)
			codes := make([]string, len(ds))
			for i, d := range ds {
				codes[i] = d.Code
			}
			return codes, err
		}
		inlag := &ingress.LagMeter{Broker: h.Broker, GroupID: ingressGroup, Topics: topics, Departments: departments}
		xapi := exchangeapi.New(pub, lib, sink, inlag, h.Catalog, h.Gate, subs)
		xapi.Objections = objections
		h.modules = append(h.modules, xapi)
		deliverer := subscription.NewDeliverer(subscription.DeliverConfig{Webhooks: webhooks, Log: h.Log}, subStore, lib, h.Catalog, h.Gate, h.Auth.Store(), router, h.Audit, h.Secret, h.Registry)
		deliverer.Objections = objections
		h.workers = append(h.workers, sink, deliverer)
		ingStore := ingress.NewStore(h.DB)
		h.modules = append(h.modules, ingressapi.New(&ingress.Service{Store: ingStore, Messages: ingress.KafkaReader{Kafka: h.Broker}, Publisher: pub}))
		h.workers = append(h.workers, ingress.NewWorker(ingress.WorkerConfig{Kafka: h.Broker, GroupID: ingressGroup, Log: h.Log, Departments: departments},
			&ingress.Ingester{Publishing: pub, DeadLetters: router, Index: ingStore, Topics: topics, Audit: h.Audit}, h.Broker, ingStore, h.Registry))
	}

	// Kafka principals: each department with Kafka ingress and each
	// Kafka-egress subscription gets its own SCRAM principal; the
	// reconciler keeps the cluster's ACLs under the topic prefix equal to
	// what departments, subscriptions and grants imply.
	{
		scope := kafkaacl.Scope{Prefix: h.Cfg.TopicPrefix, Hub: h.kafkaPrincipal()}
		topics := exchange.Topics{Prefix: h.Cfg.TopicPrefix}
		admin := &kafkaadmin.Admin{Client: h.kafkaAdmin()}
		creds := kafkaaclsql.New(h.DB)
		rec := &kafkaacl.Reconciler{Scope: scope, Store: creds, Admin: admin, Topics: topics, Egress: subs.KafkaEgress, Log: h.Log}
		rec.Register(h.Registry)
		svc := &kafkaacl.Service{Scope: scope, Store: creds, Admin: admin, Topics: topics, Sync: rec.Sync, Log: h.Log,
			Brokers: h.BrokerAddrs(), Protocol: h.kafkaProtocol(),
			Department: func(ctx context.Context, code string) error {
				_, err := h.Auth.Store().Department(ctx, code)
				return err
			}}
		subs.Kafka = svc
		h.modules = append(h.modules, kafkaaclapi.New(svc, subs))
		h.workers = append(h.workers, rec)
	}

	// Audit: reviewer queries, anomalies, reuse statistics, citizens' access
	// reports. The journal (h.Audit) and its middleware are wired in build.
	{
		trail := auditapi.New(auditstore.New(h.DB.Gorm), h.Audit.SubjectKey())
		trail.Certificate = func(resource string) bool {
			r, err := h.Catalog.Resource(context.WithoutCancel(ctx), resource)
			return err == nil && r.BaseLibrary == catalog.LibElicence
		}
		trail.CaseTimes = cases.Processing
		trail.Provided = func(ctx context.Context, department string) ([]string, error) {
			rs, _, err := h.Catalog.List(ctx, catalog.Filter{Provider: department})
			ids := make([]string, len(rs))
			for i, r := range rs {
				ids[i] = r.ID
			}
			return ids, err
		}
		// Chain verifications reviewers start run in this instance, with
		// the checkpoint keys of the hub's secret, until shutdown.
		keys, err := audit.DeriveKeys(h.Secret, cryptosuite.Default)
		if err != nil {
			return err
		}
		trail.Verifier = &auditapi.Verifier{DB: h.DB.SQL(), Trusted: keys.Trusted}
		h.AuditVerifier = trail.Verifier
		h.workers = append(h.workers, trail.Verifier)
		h.modules = append(h.modules, trail)
	}

	// Lookups: service items and their materials, reuse lookups (一证通办)
	// through the sharing gate, and the lookup demo (items, records,
	// certificates, grants, the demo citizen's link).
	{
		itemStore := itemstore.New(h.DB.Gorm)
		items := &serviceitem.Service{Store: itemStore, Types: itemStore, Directory: h.Catalog,
			Departments: func(ctx context.Context, code string) error {
				_, err := h.Auth.Store().Department(ctx, code)
				return err
			}}
		// Lookups read items through a short-lived cache: a change on another
		// instance is seen within seconds, one made here at once.
		items.Cache = &serviceitem.Cache{Source: items.Store, TTL: 5 * time.Second}
		var remote lookup.Remote
		if h.Federation.Remote != nil {
			// Materials may come from the upstream hub's directory entries.
			items.Directory = federation.WithUpstream{Directory: h.Catalog, Service: h.Federation.Service}
			remote = h.Federation.Remote
		}
		lk := &lookup.Service{Items: items.Cache, Directory: h.Catalog, Gate: h.Gate, Objections: objections, Remote: remote,
			Library: libraryRecords(lib)}
		lk.Materials, lk.MaterialResource = materialLibrary{materials}, material.Resource
		lkAPI := lookupapi.New(items, lk)
		lkAPI.Cases = cases
		h.modules = append(h.modules, lkAPI, casefileapi.New(cases))
		h.seeders = append(h.seeders, lookupdemo.Seeder(lookupdemo.Deps{
			Items:      items,
			Publisher:  pub,
			Principals: h.Auth.Store(),
			Sharing:    shareSvc,
			Directory:  h.Catalog,
			SubjectKey: h.Audit.SubjectKey(),
		}))
	}

	// Materials (材料库): files applicants brought, encrypted in blob
	// storage under the hub's data keys, reused by later lookups.
	{
		url := h.Cfg.MaterialStore
		if url == "" && h.Cfg.DataDir != "" {
			url = "file://" + filepath.ToSlash(filepath.Join(h.Cfg.DataDir, "materials")) + "?create_dir=true&no_tmp_dir=true"
		}
		if url != "" {
			bucket, err := material.OpenBucket(ctx, url)
			if err != nil {
				return &config.Error{Setting: "--material-store", Problem: err.Error()}
			}
			h.closers = append(h.closers, bucket.Close)
			materials.Bucket = bucket
		} else {
			h.Log.Warn("no --material-store: material uploads are refused")
		}
		retention, err := material.ParseRetention(h.Cfg.MaterialRetention)
		if err != nil {
			return &config.Error{Setting: "--material-retention", Problem: err.Error()}
		}
		materials.Keys, materials.MaxBytes, materials.Retention = h.Keys, h.Cfg.MaterialMaxBytes, retention
		materials.SubjectHash = h.Audit.SubjectKey().Hash
		h.bodyLimits = map[string]int64{"POST /api/v1/materials": materials.MaxBytes + 1<<20}
		if materials.MaxBytes == 0 {
			h.bodyLimits["POST /api/v1/materials"] = material.DefaultMaxBytes + 1<<20
		}
		// The console's upload form bounds its body itself
		// (console.UploadLimit) and answers an oversize one with its page.
		h.bodyLimits["POST "+console.UploadPath] = math.MaxInt64
		h.modules = append(h.modules, materialapi.New(materials, h.Gate, h.Catalog))
		h.workers = append(h.workers, &material.Sweeper{Service: materials, Recorder: h.Audit, Interval: time.Hour, Log: h.Log})
	}

	// Objections (疑义校核): readers dispute shared records, providers
	// correct or reject within working days on the hub's calendar; the
	// sweep closes corrected ones and escalates overdue ones.
	{
		svc := &objection.Service{Store: objections, Directory: h.Catalog, Gate: h.Gate, Records: lib,
			Calendar: h.Calendar, Days: h.Cfg.ObjectionDays, Recorder: h.Audit}
		h.Objections = &objection.Sweeper{Service: svc, Interval: 30 * time.Second, Log: h.Log}
		h.modules = append(h.modules, objectionapi.New(svc))
		h.workers = append(h.workers, h.Objections)
	}

	// Supervision: freshness of resources against their update cycles and
	// the per-department assessment report (考核通报).
	{
		sc, err := supervision.LoadScoring(h.Cfg.ScoringFile)
		if err != nil {
			return &config.Error{Setting: "--scoring-file", Problem: err.Error()}
		}
		src := &supervision.Sources{Store: supervision.NewStore(h.DB.Gorm), Resources: h.Catalog.All,
			Departments: h.Auth.Store().Departments, Calendar: h.Calendar, Scoring: sc}
		h.modules = append(h.modules, supervisionapi.New(src))
	}

	// Federation: the peer API for downstream hubs and the sync with the
	// upstream hub (hub/federation.go).
	if err := h.serveFederation(shareSvc, lib); err != nil {
		return err
	}

	// Adapters: the worked example's legacy department systems (civil
	// affairs table, market regulation export, service centre table) in the
	// dev data folder; the adapters themselves run outside the hub.
	if h.Cfg.Mode == config.ModeDev {
		h.seeders = append(h.seeders, examples.DevSeeder(h.Cfg.DataDir))
	}

	return nil
}

// DemoSeeders returns each part's demo-data seeder, for `yiku dev`.
func (h *Hub) DemoSeeders() []func(context.Context) error {
	return h.seeders
}

// materialLibrary is the material library as lookups read it.
type materialLibrary struct{ svc *material.Service }

func (m materialLibrary) Current(ctx context.Context, applicant string, types []string) (map[string]lookup.Upload, error) {
	us, err := m.svc.Current(ctx, applicant, types)
	if err != nil {
		return nil, err
	}
	out := make(map[string]lookup.Upload, len(us))
	for t, u := range us {
		out[t] = lookup.Upload{ID: u.ID, MaterialType: u.MaterialType, IssuingAuthority: u.IssuingAuthority, IssueDate: u.IssueDate, ValidUntil: u.ValidUntil,
			ContentType: u.ContentType, Size: u.Size, Department: u.DepartmentCode, UploadedAt: u.CreatedAt, Validity: u.Validity}
	}
	return out, nil
}

// libraryRecords answers lookups (this hub's, and a downstream hub's over
// the peer API) from the library: one subject's current record in each
// resource, opened. Callers ask only for the resources the gate allowed;
// masking applies to what it returns.
func libraryRecords(lib *library.Store) lookup.LibraryFunc {
	return func(ctx context.Context, subject string, resources []string) (map[string]lookup.Record, error) {
		rows, err := lib.CurrentOf(ctx, subject, resources)
		if err != nil {
			return nil, err
		}
		out := make(map[string]lookup.Record, len(rows))
		for id, r := range rows {
			data, err := lib.Plain(ctx, r)
			if err != nil {
				return nil, err
			}
			out[id] = lookup.Record{Data: data, Deleted: r.Deleted, Version: r.Version, Publisher: r.Publisher, PublishedAt: r.PublishedAt}
		}
		return out, nil
	}
}
