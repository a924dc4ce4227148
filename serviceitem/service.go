package serviceitem

import (
	"context"
	"time"

	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
)

// Service manages service items: it checks them against the directory and
// stores them. Who may call it is the API policy's business (catalog
// administrators manage, every authenticated principal reads).
type Service struct {
	Store       Store
	Directory   catalog.Directory
	Departments Departments
	// Types is the material directory (nil: none; no material may name a
	// type).
	Types TypeStore
	Now   func() time.Time
	// Cache, if set, is told about every change made here.
	Cache *Cache
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Create checks and stores a new item for p.
func (s *Service) Create(ctx context.Context, p identity.Principal, it Item) (Item, error) {
	it, err := Check(ctx, it, s.Directory, s.Departments, s.typesFunc())
	if err != nil {
		return Item{}, err
	}
	now := s.now()
	it.Revision, it.CreatedBy, it.UpdatedBy, it.CreatedAt, it.UpdatedAt = 1, p.ID, p.ID, now, now
	return s.Store.Create(ctx, it)
}

// Update replaces item code with it, if the stored revision is rev (0: any).
func (s *Service) Update(ctx context.Context, p identity.Principal, code string, it Item, rev int) (Item, error) {
	if it.Code != "" && it.Code != code {
		return Item{}, fault.Invalidf("invalid_service_item", "code: the body's code %q differs from the URL's %q", it.Code, code).
			WithDetails(fault.Detail{Field: "code", Pointer: "/code", Reason: "differs from the URL"})
	}
	it.Code = code
	cur, err := s.Store.Get(ctx, code)
	if err != nil {
		return Item{}, err
	}
	if rev == 0 {
		rev = cur.Revision
	}
	it, err = Check(ctx, it, s.Directory, s.Departments, s.typesFunc())
	if err != nil {
		return Item{}, err
	}
	it.UpdatedBy, it.UpdatedAt = p.ID, s.now()
	out, err := s.Store.Update(ctx, it, rev)
	s.forget(code)
	return out, err
}

func (s *Service) forget(code string) {
	if s.Cache != nil {
		s.Cache.Forget(code)
	}
}

// Delete removes an item.
func (s *Service) Delete(ctx context.Context, code string) error {
	err := s.Store.Delete(ctx, code)
	s.forget(code)
	return err
}

// Get returns an item.
func (s *Service) Get(ctx context.Context, code string) (Item, error) { return s.Store.Get(ctx, code) }

// List lists items.
func (s *Service) List(ctx context.Context, f Filter) ([]Item, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	return s.Store.List(ctx, f)
}

func (s *Service) typesFunc() Types {
	if s.Types == nil {
		return nil
	}
	return s.typeOf
}
