package hub

import (
	"context"

	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/catalog/sqlstore"
)

// addParts builds each part of the hub (catalog, exchange, sharing, audit…)
// and registers its API module and workers. One block per part.
func (h *Hub) addParts(ctx context.Context) error {
	_ = ctx

	// Catalog: the resource directory every other part reads through h.Catalog.
	h.Catalog = catalog.NewService(sqlstore.New(h.DB.Gorm), h.Auth.Store(), catalog.Options{})
	h.seeders = append(h.seeders, seed.Demo(h.Catalog))

	return nil
}

// DemoSeeders returns each part's demo-data seeder, for `yiku dev`.
func (h *Hub) DemoSeeders() []func(context.Context) error {
	return h.seeders
}
