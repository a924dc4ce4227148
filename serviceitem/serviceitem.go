// Package serviceitem holds service items (政务服务事项): what an applicant
// applies for at a service window, the department that handles it, who may
// apply (a person or an organisation), and the materials (申请材料) it
// requires. A material the one library can supply names the catalog
// resource that holds it (an e-licence type or a base-library record); a
// material without one must be brought by the applicant. The package checks
// items against the catalog and manages them through a Store; it does not
// read library data (package lookup does, through the sharing gate).
package serviceitem

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"yiku/catalog"
	"yiku/fault"
)

// ApplicantType says who applies for an item.
type ApplicantType string

const (
	ApplicantPerson ApplicantType = "natural_person" // by resident ID number
	ApplicantEntity ApplicantType = "legal_person"   // by unified social credit code
)

// Item is one service item with its required materials.
type Item struct {
	// Code is the item's slug (^[a-z][a-z0-9-]{1,62}$), used in URLs and in
	// the audit trail's reuse events.
	Code string `json:"code"`
	Name string `json:"name"`
	// ItemCode is the national implementation code (实施编码), if known.
	ItemCode       string        `json:"item_code,omitempty"`
	DepartmentCode string        `json:"department_code"`
	ApplicantType  ApplicantType `json:"applicant_type"`
	Description    string        `json:"description,omitempty"`
	// The service guide's elements (办事指南). Empty on items stored before
	// the guide was kept; when given, each is checked.
	Category      Category   `json:"category,omitempty"`
	Level         Level      `json:"level,omitempty"`
	LegalBasis    string     `json:"legal_basis,omitempty"`
	Conditions    string     `json:"conditions,omitempty"`
	TimeLimitDays int        `json:"time_limit_days,omitempty"` // 办理时限 in working days; 0: not set
	Flow          string     `json:"flow,omitempty"`
	Materials     []Material `json:"materials"`
	Revision      int        `json:"revision"`
	CreatedBy     string     `json:"created_by,omitempty"`
	UpdatedBy     string     `json:"updated_by,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Material is one required material of an item.
type Material struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Type is the material type's code in the material directory (材料目录):
	// a material that names one takes its resource from the type (and its
	// name, if it gives none), and is the same material in every item that
	// names the type; the material library reuses uploads by it. Empty: a
	// free-text material, as before the directory.
	Type string `json:"type,omitempty"`
	// Resource is the catalog resource that supplies the material from the
	// library, keyed by the applicant's ID number or credit code; empty when
	// the applicant must bring it.
	Resource    string `json:"resource,omitempty"`
	Description string `json:"description,omitempty"`
}

// FromLibrary reports whether the library can supply m.
func (m Material) FromLibrary() bool { return m.Resource != "" }

// Limits of an item.
const (
	MaxMaterials   = 50
	maxNameRunes   = 100
	maxDescRunes   = 2000
	maxItemCodeLen = 64
)

var slug = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

// Category is the kind of power or service an item exercises, one of the
// six the service-guide standard names.
type Category string

const (
	CategoryLicensing    Category = "administrative_licensing"    // 行政许可
	CategoryConfirmation Category = "administrative_confirmation" // 行政确认
	CategoryPayment      Category = "administrative_payment"      // 行政给付
	CategoryLevy         Category = "administrative_levy"         // 行政征收
	CategoryOtherPower   Category = "other_administrative_power"  // 其他行政权力
	CategoryPublic       Category = "public_service"              // 公共服务
)

// Categories lists the categories with their Chinese labels, in the
// standard's order.
var Categories = []struct {
	Code  Category
	Label string
}{
	{CategoryLicensing, "行政许可"}, {CategoryConfirmation, "行政确认"}, {CategoryPayment, "行政给付"},
	{CategoryLevy, "行政征收"}, {CategoryOtherPower, "其他行政权力"}, {CategoryPublic, "公共服务"},
}

// Valid reports whether c is one of the six categories.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if k.Code == c {
			return true
		}
	}
	return false
}

// Level is the administrative level that handles an item.
type Level string

const (
	LevelDistrict Level = "district" // 区（县）级
	LevelTownship Level = "township" // 乡镇（街道）级
	LevelVillage  Level = "village"  // 村（社区）级
)

// Valid reports whether l is a known level.
func (l Level) Valid() bool { return l == LevelDistrict || l == LevelTownship || l == LevelVillage }

// MaxTimeLimitDays bounds an item's time limit (办理时限), in working days.
const MaxTimeLimitDays = 365

// Types returns a material type of the directory (fault NotFound if unknown).
type Types func(ctx context.Context, code string) (MaterialType, error)

// Departments says whether a department exists (fault NotFound if not).
type Departments func(ctx context.Context, code string) error

// Check normalises it and checks it against the rules and the directory:
// a slug code, names within bounds, a known department and applicant type,
// 1-50 materials with unique codes, each library material naming a
// published or deprecated resource that is shared and whose subjects are of
// the item's applicant type.
//
// A material naming a type must name a type of the directory (types; nil:
// no directory, so no material may name one); it takes the type's resource
// (naming a different one is refused) and, if it has none, its name.
// The guide's elements are optional; given, the category and level must be
// known, the time limit 1-365 working days, the texts within bounds.
func Check(ctx context.Context, it Item, dir catalog.Directory, depts Departments, types Types) (Item, error) {
	it.Code = strings.TrimSpace(it.Code)
	it.Name = strings.TrimSpace(it.Name)
	it.ItemCode = strings.TrimSpace(it.ItemCode)
	it.DepartmentCode = strings.TrimSpace(it.DepartmentCode)
	it.Description = strings.TrimSpace(it.Description)
	if !slug.MatchString(it.Code) {
		return Item{}, invalid("code", "2-63 characters: a lower-case letter, then lower-case letters, digits or '-'")
	}
	if err := text("name", it.Name, maxNameRunes, true); err != nil {
		return Item{}, err
	}
	if len(it.ItemCode) > maxItemCodeLen {
		return Item{}, invalid("item_code", "at most 64 characters")
	}
	if err := text("description", it.Description, maxDescRunes, false); err != nil {
		return Item{}, err
	}
	if err := checkGuide(&it); err != nil {
		return Item{}, err
	}
	switch it.ApplicantType {
	case ApplicantPerson, ApplicantEntity:
	default:
		return Item{}, invalid("applicant_type", "natural_person or legal_person")
	}
	if it.DepartmentCode == "" {
		return Item{}, invalid("department_code", "required")
	}
	if err := depts(ctx, it.DepartmentCode); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Item{}, invalid("department_code", "no such department")
		}
		return Item{}, err
	}
	if len(it.Materials) == 0 || len(it.Materials) > MaxMaterials {
		return Item{}, invalid("materials", "from 1 to 50 materials")
	}
	seen := make(map[string]bool, len(it.Materials))
	out := make([]Material, len(it.Materials))
	for i, m := range it.Materials {
		m.Code, m.Name, m.Type = strings.TrimSpace(m.Code), strings.TrimSpace(m.Name), strings.TrimSpace(m.Type)
		m.Resource, m.Description = strings.TrimSpace(m.Resource), strings.TrimSpace(m.Description)
		field := func(f string) string { return "materials/" + strconv.Itoa(i) + "/" + f }
		if m.Type != "" {
			var mt MaterialType
			var err error
			if types == nil {
				err = fault.NotFoundf("material_type_not_found", "no material directory")
			} else {
				mt, err = types(ctx, m.Type)
			}
			if err != nil {
				if fault.KindOf(err) == fault.NotFound {
					return Item{}, invalid(field("type"), "no material type "+m.Type+" in the material directory")
				}
				return Item{}, err
			}
			if m.Resource != "" && m.Resource != mt.Resource {
				return Item{}, invalid(field("resource"), "the resource comes from material type "+mt.Code+"; leave it out")
			}
			m.Resource = mt.Resource
			if m.Name == "" {
				m.Name = mt.Name
			}
		}
		if !slug.MatchString(m.Code) {
			return Item{}, invalid(field("code"), "2-63 characters: a lower-case letter, then lower-case letters, digits or '-'")
		}
		if seen[m.Code] {
			return Item{}, invalid(field("code"), "duplicate material code "+m.Code)
		}
		seen[m.Code] = true
		if err := text(field("name"), m.Name, maxNameRunes, true); err != nil {
			return Item{}, err
		}
		if err := text(field("description"), m.Description, maxDescRunes, false); err != nil {
			return Item{}, err
		}
		if m.Resource != "" {
			res, err := dir.Resource(ctx, m.Resource)
			if err != nil {
				if fault.KindOf(err) == fault.NotFound {
					return Item{}, invalid(field("resource"), "no resource "+m.Resource+" in the catalog")
				}
				return Item{}, err
			}
			if err := Supplies(res, it.ApplicantType); err != nil {
				return Item{}, invalid(field("resource"), err.Error())
			}
			m.Resource = res.ID
		}
		out[i] = m
	}
	it.Materials = out
	return it, nil
}

// Supplies says why res cannot supply a material to applicants of type t,
// or nil if it can: it must accept records (published or deprecated), be
// shared, and hold subjects of t's kind keyed by their identifier.
func Supplies(res catalog.Resource, t ApplicantType) error {
	if !res.Status.AcceptsRecords() {
		return errText("resource " + res.ID + " is " + string(res.Status) + ", not published")
	}
	if res.ShareType == catalog.ShareNone {
		return errText("resource " + res.ID + " is not shared (不予共享)")
	}
	switch res.SubjectType {
	case catalog.SubjectMixed:
		return nil
	case catalog.SubjectPerson:
		if t == ApplicantPerson {
			return nil
		}
	case catalog.SubjectEntity:
		if t == ApplicantEntity {
			return nil
		}
	}
	return errText("resource " + res.ID + " holds " + string(res.SubjectType) + " subjects, not " + string(t) + " applicants")
}

func checkGuide(it *Item) error {
	it.LegalBasis, it.Conditions, it.Flow = strings.TrimSpace(it.LegalBasis), strings.TrimSpace(it.Conditions), strings.TrimSpace(it.Flow)
	if it.Category != "" && !it.Category.Valid() {
		return invalid("category", "one of administrative_licensing, administrative_confirmation, administrative_payment, administrative_levy, other_administrative_power, public_service")
	}
	if it.Level != "" && !it.Level.Valid() {
		return invalid("level", "district, township or village")
	}
	if it.TimeLimitDays < 0 || it.TimeLimitDays > MaxTimeLimitDays {
		return invalid("time_limit_days", "from 1 to "+strconv.Itoa(MaxTimeLimitDays)+" working days (0: not set)")
	}
	for _, f := range []struct{ name, v string }{{"legal_basis", it.LegalBasis}, {"conditions", it.Conditions}, {"flow", it.Flow}} {
		if err := text(f.name, f.v, maxDescRunes, false); err != nil {
			return err
		}
	}
	return nil
}

type errText string

func (e errText) Error() string { return string(e) }

func text(field, s string, max int, required bool) error {
	if required && s == "" {
		return invalid(field, "required")
	}
	if utf8.RuneCountInString(s) > max {
		return invalid(field, "at most "+strconv.Itoa(max)+" characters")
	}
	if !utf8.ValidString(s) {
		return invalid(field, "not valid UTF-8")
	}
	return nil
}

func invalid(field, reason string) error {
	return fault.Invalidf("invalid_service_item", "%s: %s", field, reason).
		WithDetails(fault.Detail{Field: field, Pointer: "/" + field, Reason: reason})
}

// Store keeps service items.
type Store interface {
	Create(ctx context.Context, it Item) (Item, error)
	// Update replaces an item's fields and materials if its revision is
	// still rev, and increments the revision.
	Update(ctx context.Context, it Item, rev int) (Item, error)
	Delete(ctx context.Context, code string) error
	Get(ctx context.Context, code string) (Item, error)
	List(ctx context.Context, f Filter) ([]Item, error)
}

// Filter narrows a listing.
type Filter struct {
	Department string
	Resource   string // items with a material from this resource
	Type       string // items with a material of this material type
	Limit      int
	Offset     int
}
