// Package catalog is the resource directory (政务信息资源目录): departments'
// data assets with the national catalog guide's metadata, their fields
// (信息项), share and open attributes, versioned JSON Schemas with
// compatibility rules, and lifecycle. It is the contract of the hub: a record
// is accepted only against a published schema version of a registered
// resource. It does not move records (package exchange) or decide who may
// read them (package policies).
package catalog

import (
	"context"
	"time"
)

// ShareType is the resource's share attribute (共享类型).
type ShareType string

const (
	ShareUnconditional ShareType = "unconditional" // 无条件共享
	ShareConditional   ShareType = "conditional"   // 有条件共享
	ShareNone          ShareType = "not_shared"    // 不予共享
)

// Status is where a resource is in its lifecycle.
type Status string

const (
	StatusDraft      Status = "draft"
	StatusPublished  Status = "published"
	StatusDeprecated Status = "deprecated"
	StatusRetired    Status = "retired"
)

// AcceptsRecords reports whether records may be published to a resource in
// this state; deprecated resources accept them with a warning.
func (s Status) AcceptsRecords() bool { return s == StatusPublished || s == StatusDeprecated }

// BaseLibrary is the library a resource belongs to.
type BaseLibrary string

const (
	LibPopulation  BaseLibrary = "population"        // 人口
	LibLegalEntity BaseLibrary = "legal_entity"      // 法人单位
	LibSpatial     BaseLibrary = "spatial_geography" // 自然资源和空间地理
	LibCredit      BaseLibrary = "social_credit"     // 社会信用
	LibElicence    BaseLibrary = "elicence"          // 电子证照
	LibTheme       BaseLibrary = "theme"             // 主题
	LibDepartment  BaseLibrary = "department"        // 部门
)

// SubjectType says whose data a resource holds.
type SubjectType string

const (
	SubjectPerson SubjectType = "natural_person" // keyed by resident ID number
	SubjectEntity SubjectType = "legal_person"   // keyed by unified social credit code
	SubjectMixed  SubjectType = "mixed"          // either, e.g. e-licences held by people or entities
	SubjectNone   SubjectType = "none"
)

// Field is one information item (信息项) of a resource.
type Field struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	DataType    string `json:"data_type"` // guide codes: C N Y D T L M G B I F
	Description string `json:"description,omitempty"`
	// Sensitivity: public, internal or sensitive. Sensitive fields are masked
	// for readers unless their grant needs plain text.
	Sensitivity string `json:"sensitivity"`
	// Mask is the masking rule (package policies/mask) for sensitive fields.
	Mask string `json:"mask,omitempty"`
}

// Resource is one registered data asset.
type Resource struct {
	// ID is the resource's short slug (^[a-z][a-z0-9-]{1,62}$), chosen at
	// registration and used in URLs and topic names.
	ID              string      `json:"id"`
	Code            string      `json:"code"`
	Name            string      `json:"name"`
	ClassCode       string      `json:"class_code"`
	Summary         string      `json:"summary"`
	ProviderCode    string      `json:"provider_code"`
	ProviderName    string      `json:"provider_name,omitempty"`
	Format          string      `json:"format"`
	Fields          []Field     `json:"fields"`
	ShareType       ShareType   `json:"share_type"`
	ShareConditions string      `json:"share_conditions,omitempty"`
	ShareMode       string      `json:"share_mode,omitempty"`
	LegalBasis      string      `json:"legal_basis,omitempty"`
	OpenToPublic    bool        `json:"open_to_public"`
	OpenConditions  string      `json:"open_conditions,omitempty"`
	UpdateCycle     string      `json:"update_cycle"`
	PublishDate     string      `json:"publish_date,omitempty"`
	RelatedCodes    []string    `json:"related_codes,omitempty"`
	BaseLibrary     BaseLibrary `json:"base_library"`
	SubjectType     SubjectType `json:"subject_type"`
	SubjectKey      string      `json:"subject_key,omitempty"`
	Status          Status      `json:"status"`
	Compatibility   string      `json:"compatibility"`
	LatestVersion   int         `json:"latest_version"`
	// Revision counts the changes to the resource's metadata (1 on
	// registration); each change is kept in its change history.
	Revision  int       `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Field returns the named field.
func (r Resource) Field(name string) (Field, bool) {
	for _, f := range r.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Violation is one reason a record does not match its schema.
type Violation struct {
	Pointer string `json:"pointer"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// RecordValidator validates raw JSON records against one compiled schema
// version. It is safe for concurrent use.
type RecordValidator interface {
	Version() int
	Validate(raw []byte) []Violation
}

// Directory is what the rest of the hub reads from the catalog.
type Directory interface {
	// Resource returns a resource by ID or catalog code (fault NotFound if unknown).
	Resource(ctx context.Context, id string) (Resource, error)
	// Validator returns the compiled validator of a published schema version
	// of the resource with this ID; version 0 means the latest published one.
	Validator(ctx context.Context, id string, version int) (RecordValidator, error)
}
