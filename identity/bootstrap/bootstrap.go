// Package bootstrap creates a production hub's first administrator: the
// e-government office's department and one catalog admin, with a token shown
// once. It refuses when an active catalog admin exists, so it cannot be used
// to mint a second way in, and it records what it did (or refused) in the
// audit trail. It holds the rule only; `yiku admin init` wires it to a
// database.
package bootstrap

import (
	"context"
	"fmt"
	"time"

	"yiku/audit"
	"yiku/fault"
	"yiku/identity"
)

// Action is the audit action of a bootstrap attempt.
const Action = "admin.init"

// Store is what bootstrap reads and writes of identity.
type Store interface {
	Department(ctx context.Context, code string) (identity.Department, error)
	CreateDepartment(ctx context.Context, d identity.Department) (identity.Department, error)
	Principals(ctx context.Context, department string) ([]identity.Principal, error)
}

// Creator stores a principal and gives it its role (identityapi.API).
type Creator interface {
	CreatePrincipal(ctx context.Context, p identity.Principal) (identity.Principal, error)
}

// Issuer issues bearer tokens (identity.Authenticator).
type Issuer interface {
	IssueTokenBy(p identity.Principal, ttl time.Duration, issuedBy string) (string, time.Time, error)
}

// Deps are bootstrap's collaborators.
type Deps struct {
	Store   Store
	Creator Creator
	Tokens  Issuer
	Audit   audit.Recorder
}

// Request names the office and its first administrator.
type Request struct {
	Department identity.Department // created when it does not exist yet
	Name       string              // principal name, e.g. "egov-admin"
	Display    string
	TokenTTL   time.Duration
}

// Result is the new administrator and its one-time token.
type Result struct {
	Principal identity.Principal
	Token     string
	Expires   time.Time
}

// FirstAdmin creates the first catalog admin unless an active one exists.
func FirstAdmin(ctx context.Context, d Deps, req Request) (Result, error) {
	existing, err := activeCatalogAdmins(ctx, d.Store)
	if err != nil {
		return Result{}, err
	}
	if len(existing) > 0 {
		refusal := fault.Conflictf("admin_exists", "an active catalog admin exists (%s); create further principals through the API as that admin", existing[0].Name)
		ev := audit.Event{Action: Action, PrincipalName: req.Name, Department: req.Department.Code, Role: string(identity.RoleCatalogAdmin),
			Outcome: audit.Denied, Reason: "an active catalog admin exists"}
		if err := d.Audit.Record(ctx, ev); err != nil {
			return Result{}, fmt.Errorf("bootstrap: audit the refusal: %w", err)
		}
		return Result{}, refusal
	}
	if _, err := d.Store.Department(ctx, req.Department.Code); fault.KindOf(err) == fault.NotFound {
		if err := req.Department.Validate(); err != nil {
			return Result{}, err
		}
		if _, err := d.Store.CreateDepartment(ctx, req.Department); err != nil {
			return Result{}, fmt.Errorf("bootstrap: department %s: %w", req.Department.Code, err)
		}
	} else if err != nil {
		return Result{}, fmt.Errorf("bootstrap: department %s: %w", req.Department.Code, err)
	}
	p, err := d.Creator.CreatePrincipal(ctx, identity.Principal{Name: req.Name, DisplayName: req.Display,
		Kind: identity.KindPerson, Role: identity.RoleCatalogAdmin, DepartmentCode: req.Department.Code})
	if err != nil {
		return Result{}, fmt.Errorf("bootstrap: principal %s: %w", req.Name, err)
	}
	// The event is durable before the token is handed out, as for every
	// credential the API issues.
	ev := audit.Event{Action: Action, PrincipalID: p.ID, PrincipalName: p.Name, Department: p.DepartmentCode, Role: string(p.Role),
		Outcome: audit.Allowed, Reason: "first catalog admin created from the command line"}
	if err := d.Audit.Record(ctx, ev); err != nil {
		return Result{}, fmt.Errorf("bootstrap: audit: %w", err)
	}
	tok, exp, err := d.Tokens.IssueTokenBy(p, req.TokenTTL, "bootstrap")
	if err != nil {
		return Result{}, fmt.Errorf("bootstrap: token: %w", err)
	}
	return Result{Principal: p, Token: tok, Expires: exp}, nil
}

func activeCatalogAdmins(ctx context.Context, s Store) ([]identity.Principal, error) {
	all, err := s.Principals(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("bootstrap: list principals: %w", err)
	}
	var out []identity.Principal
	for _, p := range all {
		if p.Role == identity.RoleCatalogAdmin && p.DisabledAt == nil {
			out = append(out, p)
		}
	}
	return out, nil
}
