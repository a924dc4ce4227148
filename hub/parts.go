package hub

import (
	"context"
	"fmt"

	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/catalog/sqlstore"
	"yiku/policies/sharing"
	"yiku/policies/sharing/sharingapi"
)

// addParts builds each part of the hub (catalog, exchange, sharing, audit…)
// and registers its API module and workers. One block per part.
func (h *Hub) addParts(ctx context.Context) error {
	// Catalog: the resource directory every other part reads through h.Catalog.
	h.Catalog = catalog.NewService(sqlstore.New(h.DB.Gorm), h.Auth.Store(), catalog.Options{})
	h.seeders = append(h.seeders, seed.Demo(h.Catalog))

	// Sharing: share requests, grants and the data-access gate (h.Gate).
	{
		topic := sharing.PolicyTopic(h.Cfg.TopicPrefix)
		if err := h.Broker.EnsureTopicsWith(ctx, 1, topic); err != nil {
			return fmt.Errorf("hub: sharing: %w", err)
		}
		store := sharing.NewStore(h.DB.Gorm)
		gate, err := sharing.NewGatekeeper(ctx, store, h.Auth.Store().Departments, h.Secret, nil)
		if err != nil {
			return err
		}
		notifier := sharing.KafkaNotifier{Broker: h.Broker, Topic: topic}
		svc := &sharing.Service{Store: store, Gate: gate, Directory: h.Catalog, Resources: h.Catalog.All,
			Notifier: notifier, DecisionDays: h.Cfg.ShareDecisionDays, Log: h.Log}
		h.Gate = gate
		h.modules = append(h.modules, sharingapi.New(svc, gate, h.Catalog))
		h.workers = append(h.workers, &sharing.Syncer{Gate: gate, Broker: h.Broker, Topic: topic, Notifier: notifier, Log: h.Log})
	}

	return nil
}

// DemoSeeders returns each part's demo-data seeder, for `yiku dev`.
func (h *Hub) DemoSeeders() []func(context.Context) error {
	return h.seeders
}
