package serviceitem

import (
	"context"
	"strings"
	"time"

	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
)

// MaterialType is one entry of the material directory (材料目录): a kind of
// material with a stable code (marriage-certificate for 结婚证) that means
// the same thing in every service item naming it. Resource, if set, is the
// catalog resource that supplies it from the library.
type MaterialType struct {
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Resource    string    `json:"resource,omitempty"`
	Description string    `json:"description,omitempty"`
	Revision    int       `json:"revision"`
	CreatedBy   string    `json:"created_by,omitempty"`
	UpdatedBy   string    `json:"updated_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// TypeStore keeps the material directory.
type TypeStore interface {
	// PutType creates a type or replaces its name, resource and
	// description, returning it and whether it was created.
	PutType(ctx context.Context, t MaterialType) (MaterialType, bool, error)
	GetType(ctx context.Context, code string) (MaterialType, error)
	ListTypes(ctx context.Context, limit, offset int) ([]MaterialType, error)
}

// CheckType normalises t and checks it: a slug code, a name, a description
// within bounds, and a resource (if any) that accepts records and is shared.
func CheckType(ctx context.Context, t MaterialType, dir catalog.Directory) (MaterialType, error) {
	t.Code, t.Name = strings.TrimSpace(t.Code), strings.TrimSpace(t.Name)
	t.Resource, t.Description = strings.TrimSpace(t.Resource), strings.TrimSpace(t.Description)
	if !slug.MatchString(t.Code) {
		return MaterialType{}, invalidType("code", "2-63 characters: a lower-case letter, then lower-case letters, digits or '-'")
	}
	if err := text("name", t.Name, maxNameRunes, true); err != nil {
		return MaterialType{}, asType(err)
	}
	if err := text("description", t.Description, maxDescRunes, false); err != nil {
		return MaterialType{}, asType(err)
	}
	if t.Resource != "" {
		res, err := dir.Resource(ctx, t.Resource)
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return MaterialType{}, invalidType("resource", "no resource "+t.Resource+" in the catalog")
			}
			return MaterialType{}, err
		}
		if !res.Status.AcceptsRecords() {
			return MaterialType{}, invalidType("resource", "resource "+res.ID+" is "+string(res.Status)+", not published")
		}
		if res.ShareType == catalog.ShareNone {
			return MaterialType{}, invalidType("resource", "resource "+res.ID+" is not shared (不予共享)")
		}
		t.Resource = res.ID
	}
	return t, nil
}

func invalidType(field, reason string) error {
	return fault.Invalidf("invalid_material_type", "%s: %s", field, reason).
		WithDetails(fault.Detail{Field: field, Pointer: "/" + field, Reason: reason})
}

func asType(err error) error {
	if fe, ok := fault.As(err); ok && len(fe.Details) == 1 {
		return invalidType(fe.Details[0].Field, fe.Details[0].Reason)
	}
	return err
}

// PutType creates or replaces material type code for p (the body's code, if
// any, must be code).
func (s *Service) PutType(ctx context.Context, p identity.Principal, code string, t MaterialType) (MaterialType, bool, error) {
	if t.Code != "" && t.Code != code {
		return MaterialType{}, false, invalidType("code", "differs from the URL")
	}
	t.Code = code
	t, err := CheckType(ctx, t, s.Directory)
	if err != nil {
		return MaterialType{}, false, err
	}
	now := s.now()
	t.CreatedBy, t.UpdatedBy, t.CreatedAt, t.UpdatedAt = p.ID, p.ID, now, now
	out, created, err := s.Types.PutType(ctx, t)
	if err == nil && s.Cache != nil {
		// Items read their materials' resources from their types.
		s.Cache.ForgetAll()
	}
	return out, created, err
}

// GetType returns a material type.
func (s *Service) GetType(ctx context.Context, code string) (MaterialType, error) {
	return s.Types.GetType(ctx, code)
}

// ListTypes lists the material directory by code.
func (s *Service) ListTypes(ctx context.Context, limit, offset int) ([]MaterialType, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return s.Types.ListTypes(ctx, limit, offset)
}

func (s *Service) typeOf(ctx context.Context, code string) (MaterialType, error) {
	if s.Types == nil {
		return MaterialType{}, fault.NotFoundf("material_type_not_found", "material type %s not found", code)
	}
	return s.Types.GetType(ctx, code)
}
