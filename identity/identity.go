// Package identity holds who acts in the hub: departments (with the
// district's three-level structure), principals (department systems and
// people) with their roles, API keys and signed bearer tokens, and the
// authentication that turns a bearer secret into a Principal. What a
// principal may do is decided elsewhere (package policies).
package identity

import (
	"fmt"
	"time"

	"yiku/fault"
)

// Level is a department's place in the district's three-level structure.
type Level string

const (
	LevelDistrict Level = "district" // 区县级: district bureaus and offices
	LevelTownship Level = "township" // 乡镇(街道)级: townships and streets
	LevelVillage  Level = "village"  // 村(社区)级: villages and communities
)

func (l Level) rank() int {
	switch l {
	case LevelDistrict:
		return 1
	case LevelTownship:
		return 2
	case LevelVillage:
		return 3
	}
	return 0
}

// Department is a government unit that owns principals and data.
type Department struct {
	Code         string    `json:"code"`
	Name         string    `json:"name"`
	Level        Level     `json:"level"`
	ParentCode   *string   `json:"parent_code,omitempty"`
	DivisionCode string    `json:"division_code"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Validate checks a department's own fields; the parent's level is checked
// by the store, which can see the parent.
func (d Department) Validate() error {
	if !validCode(d.Code) {
		return fault.Invalidf("invalid_department", "department code %q: use 2-40 letters, digits, '-' or '_'", d.Code).
			WithDetails(fault.Detail{Field: "code", Reason: "letters, digits, '-' or '_', 2-40 characters"})
	}
	if d.Name == "" {
		return fault.Invalidf("invalid_department", "department %s: name is required", d.Code).
			WithDetails(fault.Detail{Field: "name", Reason: "required"})
	}
	if d.Level.rank() == 0 {
		return fault.Invalidf("invalid_department", "department %s: level %q is not district, township or village", d.Code, d.Level).
			WithDetails(fault.Detail{Field: "level", Reason: "one of district, township, village"})
	}
	if d.Level != LevelDistrict && (d.ParentCode == nil || *d.ParentCode == "") {
		return fault.Invalidf("invalid_department", "department %s: a %s unit needs a parent", d.Code, d.Level).
			WithDetails(fault.Detail{Field: "parent_code", Reason: "required below district level"})
	}
	return nil
}

// Role is what a principal does in the hub; Casbin policies are written per role.
type Role string

const (
	RoleSystem       Role = "department_system" // a department's system publishing and subscribing
	RoleOfficer      Role = "officer"           // approval officer fetching certificates
	RoleReviewer     Role = "security_reviewer" // audits access
	RoleDeptAdmin    Role = "department_admin"  // manages its department's resources and share requests
	RoleCatalogAdmin Role = "catalog_admin"     // e-government office: manages the directory
	RoleCitizen      Role = "citizen"           // a citizen viewing who accessed their data
)

// Roles lists every role (a fresh slice: callers may not change the set).
func Roles() []Role {
	return []Role{RoleSystem, RoleOfficer, RoleReviewer, RoleDeptAdmin, RoleCatalogAdmin, RoleCitizen}
}

// ParseRole checks s names a role.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fault.Invalidf("invalid_role", "unknown role %q", s)
}

// Kind says whether a principal is a machine or a person.
type Kind string

const (
	KindSystem Kind = "system"
	KindPerson Kind = "person"
)

// Principal is an authenticated actor: it always belongs to a department.
type Principal struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	DisplayName    string     `json:"display_name,omitempty"`
	Kind           Kind       `json:"kind"`
	Role           Role       `json:"role"`
	DepartmentCode string     `json:"department_code"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	// IDNumberHash links a citizen principal to the keyed hash of their ID number.
	IDNumberHash string `json:"-"`
}

// Subject is the principal's name in Casbin rules.
func (p Principal) Subject() string { return "principal:" + p.ID }

// Validate checks a principal's fields.
func (p Principal) Validate() error {
	if !validCode(p.Name) {
		return fault.Invalidf("invalid_principal", "principal name %q: use 2-40 letters, digits, '-' or '_'", p.Name)
	}
	if _, err := ParseRole(string(p.Role)); err != nil {
		return err
	}
	if p.Kind != KindSystem && p.Kind != KindPerson {
		return fault.Invalidf("invalid_principal", "principal %s: kind %q is not system or person", p.Name, p.Kind)
	}
	if p.Role == RoleSystem && p.Kind != KindSystem {
		return fault.Invalidf("invalid_principal", "principal %s: role %s is for systems", p.Name, p.Role)
	}
	if p.Role != RoleSystem && p.Kind != KindPerson {
		return fault.Invalidf("invalid_principal", "principal %s: role %s is for people", p.Name, p.Role)
	}
	if p.DepartmentCode == "" {
		return fault.Invalidf("invalid_principal", "principal %s: department is required", p.Name)
	}
	return nil
}

func validCode(s string) bool {
	if len(s) < 2 || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// APIKey is a department system's long-lived credential. Only a hash of the
// secret is stored; the secret is shown once, when the key is issued.
type APIKey struct {
	ID          string     `json:"id"`
	PrincipalID string     `json:"principal_id"`
	Label       string     `json:"label,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
}

// Active reports whether the key may authenticate at now.
func (k APIKey) Active(now time.Time) bool {
	if k.RevokedAt != nil {
		return false
	}
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// KeyState is where an API key stands at a moment.
type KeyState string

// The states of an API key.
const (
	KeyActive  KeyState = "active"
	KeyExpired KeyState = "expired"
	KeyRevoked KeyState = "revoked"
)

// State tells whether k is active, expired or revoked at now; a revoked key
// is revoked whatever its expiry.
func (k APIKey) State(now time.Time) KeyState {
	switch {
	case k.RevokedAt != nil:
		return KeyRevoked
	case !k.Active(now):
		return KeyExpired
	}
	return KeyActive
}

// errUnauthenticated is the one answer to every failed authentication: the
// client learns nothing about which part was wrong.
func errUnauthenticated(why string) error {
	return &fault.Error{Kind: fault.Unauthenticated, Code: "unauthenticated", Message: "a valid bearer credential is required", Err: fmt.Errorf("%s", why)}
}
