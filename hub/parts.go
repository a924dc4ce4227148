package hub

import "context"

// addParts builds each part of the hub (catalog, exchange, sharing, audit…)
// and registers its API module and workers. One block per part.
func (h *Hub) addParts(ctx context.Context) error {
	_ = ctx
	return nil
}

// DemoSeeders returns each part's demo-data seeder, for `yiku dev`.
func (h *Hub) DemoSeeders() []func(context.Context) error {
	return h.seeders
}
