package catalog

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"yiku/catalog/compat"
	"yiku/fault"
	"yiku/policies/mask"
	"yiku/schemas"
)

// Rule names reported in fault.Detail.Rule when a resource breaks a rule of
// the directory. They are stable: clients and tests branch on them.
const (
	RuleIDFormat             = "id_format"
	RuleNameRequired         = "name_required"
	RuleSummaryRequired      = "summary_required"
	RuleClassCodeFormat      = "class_code_format"
	RuleClassLibrary         = "class_library_mismatch"
	RuleProviderRequired     = "provider_required"
	RuleProviderUnknown      = "provider_unknown"
	RuleFormatUnknown        = "format_unknown"
	RuleShareTypeUnknown     = "share_type_unknown"
	RuleLegalBasisRequired   = "legal_basis_required"
	RuleConditionsRequired   = "share_conditions_required"
	RuleOpenNotShared        = "open_not_shared"
	RuleUpdateCycleUnknown   = "update_cycle_unknown"
	RulePublishDateFormat    = "publish_date_format"
	RuleRelatedCodeFormat    = "related_code_format"
	RuleRelatedCodeUnknown   = "related_code_unknown"
	RuleBaseLibraryUnknown   = "base_library_unknown"
	RuleSubjectTypeUnknown   = "subject_type_unknown"
	RuleSubjectKeyRequired   = "subject_key_required"
	RuleSubjectKeyForbidden  = "subject_key_forbidden"
	RuleSubjectKeyNotField   = "subject_key_not_a_field"
	RuleSubjectKeyFormat     = "subject_key_format"
	RuleSubjectKeyOptional   = "subject_key_not_required"
	RuleCompatibilityUnknown = "compatibility_unknown"
	RuleFieldsRequired       = "fields_required"
	RuleFieldName            = "field_name_format"
	RuleFieldDuplicate       = "field_duplicate"
	RuleFieldTitle           = "field_title_required"
	RuleFieldDataType        = "field_data_type_unknown"
	RuleFieldSensitivity     = "field_sensitivity_unknown"
	RuleFieldMaskUnknown     = "field_mask_unknown"
	RuleFieldMaskRequired    = "field_mask_required"
	RuleFieldMaskNotNeeded   = "field_mask_not_sensitive"
	RuleFieldNotInSchema     = "field_not_in_schema"
	RulePropertyNotInFields  = "property_not_in_fields"
	RuleFieldTypeMismatch    = "field_type_mismatch"
	RuleTooLong              = "too_long"
	RuleSubjectPartUnknown   = "subject_part_unknown"
)

var (
	idPattern        = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
	classCodePattern = regexp.MustCompile(`^[1-3][0-9]{5,17}$`)
	codePattern      = regexp.MustCompile(`^[1-3][0-9]{5,17}/[0-9]{1,12}$`)
	fieldNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

// ValidID reports whether id is a well-formed resource ID.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// LooksLikeCode reports whether s has the shape of a catalog code
// (classification code "/" sequence code).
func LooksLikeCode(s string) bool { return codePattern.MatchString(s) }

// Formats (信息资源格式) by the guide's codes 1-7.
var formats = map[string]string{
	"electronic_file":   "1", // 电子文件
	"spreadsheet":       "2", // 电子表格
	"database":          "3", // 数据库
	"image":             "4", // 图形图像
	"streaming":         "5", // 流媒体
	"self_describing":   "6", // 自描述格式
	"service_interface": "7", // 服务接口
}

// FormatCode returns the guide's code (1-7) of a format name.
func FormatCode(format string) string { return formats[format] }

// Update cycles (更新周期) of the guide.
var updateCycles = map[string]string{
	"realtime":    "实时",
	"daily":       "每日",
	"weekly":      "每周",
	"monthly":     "每月",
	"quarterly":   "每季度",
	"half_yearly": "每半年",
	"yearly":      "每年",
	"irregular":   "不定期",
}

// UpdateCycleName returns the guide's Chinese name of an update cycle.
func UpdateCycleName(cycle string) string { return updateCycles[cycle] }

// Data types of information items (信息项数据类型) by the guide's letters.
var dataTypes = map[string]string{
	"C": "字符型", "N": "数值型", "Y": "货币型", "D": "日期型", "T": "日期时间型", "L": "逻辑型",
	"M": "备注型", "G": "通用型", "B": "双精度型", "I": "整型", "F": "浮点型",
}

// Sensitivity grades of fields.
const (
	SensitivityPublic    = "public"
	SensitivityInternal  = "internal"
	SensitivitySensitive = "sensitive"
)

var baseLibraries = map[BaseLibrary]string{
	LibPopulation: "1", LibLegalEntity: "1", LibSpatial: "1", LibCredit: "1", LibElicence: "1",
	LibTheme: "2", LibDepartment: "3",
}

// DefaultCompatibility is the mode of a resource that names none.
const DefaultCompatibility = string(compat.Backward)

// Normalize fills the defaults of optional metadata: format
// self_describing, compatibility BACKWARD, sensitivity public for fields
// that name none. It trims surrounding spaces of free-text elements.
func (r *Resource) Normalize() {
	r.ID = strings.TrimSpace(r.ID)
	r.Name = strings.TrimSpace(r.Name)
	r.Summary = strings.TrimSpace(r.Summary)
	r.ClassCode = strings.TrimSpace(r.ClassCode)
	r.ShareConditions = strings.TrimSpace(r.ShareConditions)
	r.LegalBasis = strings.TrimSpace(r.LegalBasis)
	r.ShareMode = strings.TrimSpace(r.ShareMode)
	r.OpenConditions = strings.TrimSpace(r.OpenConditions)
	if r.Format == "" {
		r.Format = "self_describing"
	}
	if r.Compatibility == "" {
		r.Compatibility = DefaultCompatibility
	} else if m, err := compat.ParseMode(r.Compatibility); err == nil {
		r.Compatibility = string(m)
	}
	for i := range r.Fields {
		f := &r.Fields[i]
		f.Name = strings.TrimSpace(f.Name)
		f.Title = strings.TrimSpace(f.Title)
		f.DataType = strings.ToUpper(strings.TrimSpace(f.DataType))
		if f.Sensitivity == "" {
			f.Sensitivity = SensitivityPublic
		}
	}
}

// problems collects rule violations into one fault error.
type problems []fault.Detail

func (p *problems) add(field, rule, format string, args ...any) {
	*p = append(*p, fault.Detail{Field: field, Rule: rule, Reason: fmt.Sprintf(format, args...)})
}

func (p problems) err(subject string) error {
	if len(p) == 0 {
		return nil
	}
	reasons := make([]string, len(p))
	for i, d := range p {
		reasons[i] = d.Reason
	}
	return fault.Invalidf("invalid_resource", "%s: %s", subject, strings.Join(reasons, "; ")).WithDetails(p...)
}

// Check enforces the directory's rules on a resource's own metadata (call
// Normalize first). Rules that need the schema are in CheckSchema; rules
// that need the store (provider exists, related codes exist, uniqueness)
// are checked by the Service. Every broken rule is reported, each as a
// fault.Detail with the field and the rule's name.
func (r Resource) Check() error {
	var p problems
	if !ValidID(r.ID) {
		p.add("id", RuleIDFormat, "id %q must be 2-63 lower-case letters, digits or '-', starting with a letter", r.ID)
	}
	if r.Name == "" {
		p.add("name", RuleNameRequired, "name (信息资源名称) is required")
	}
	if r.Summary == "" {
		p.add("summary", RuleSummaryRequired, "summary (信息资源摘要) is required")
	}
	for _, t := range [][2]string{{"name", r.Name}, {"summary", r.Summary}, {"share_conditions", r.ShareConditions}, {"legal_basis", r.LegalBasis}, {"share_mode", r.ShareMode}, {"open_conditions", r.OpenConditions}} {
		if len([]rune(t[1])) > 2000 {
			p.add(t[0], RuleTooLong, "%s is longer than 2000 characters", t[0])
		}
	}
	if !classCodePattern.MatchString(r.ClassCode) {
		p.add("class_code", RuleClassCodeFormat, "classification code %q must be 类 (1 digit 1-3), 项 (2 digits), 目 (3 digits) and an optional 细目, 6-18 digits in all", r.ClassCode)
	}
	class, known := baseLibraries[r.BaseLibrary]
	if !known {
		p.add("base_library", RuleBaseLibraryUnknown, "base library %q is not one of population, legal_entity, spatial_geography, social_credit, elicence, theme, department", r.BaseLibrary)
	} else if r.ClassCode != "" && r.ClassCode[:1] != class {
		p.add("class_code", RuleClassLibrary, "classification code %s starts with 类 %s, but a %s resource belongs to 类 %s (1 基础, 2 主题, 3 部门)", r.ClassCode, r.ClassCode[:1], r.BaseLibrary, class)
	}
	if r.ProviderCode == "" {
		p.add("provider_code", RuleProviderRequired, "provider department (信息资源提供方代码) is required")
	}
	if _, ok := formats[r.Format]; !ok {
		p.add("format", RuleFormatUnknown, "format %q is not one of %s", r.Format, keys(formats))
	}
	switch r.ShareType {
	case ShareUnconditional:
	case ShareConditional:
		if r.ShareConditions == "" {
			p.add("share_conditions", RuleConditionsRequired, "a conditional (有条件共享) resource must state its share conditions")
		}
	case ShareNone:
		if r.LegalBasis == "" {
			p.add("legal_basis", RuleLegalBasisRequired, "a not-shared (不予共享) resource must cite its basis in law, regulation or national policy")
		}
		if r.OpenToPublic {
			p.add("open_to_public", RuleOpenNotShared, "a not-shared resource cannot be open to the public")
		}
	default:
		p.add("share_type", RuleShareTypeUnknown, "share type %q is not unconditional, conditional or not_shared", r.ShareType)
	}
	if _, ok := updateCycles[r.UpdateCycle]; !ok {
		p.add("update_cycle", RuleUpdateCycleUnknown, "update cycle %q is not one of %s", r.UpdateCycle, keys(updateCycles))
	}
	if r.PublishDate != "" {
		if _, err := time.Parse(time.DateOnly, r.PublishDate); err != nil {
			p.add("publish_date", RulePublishDateFormat, "publish date %q must be a date YYYY-MM-DD", r.PublishDate)
		}
	}
	for _, c := range r.RelatedCodes {
		if !LooksLikeCode(c) {
			p.add("related_codes", RuleRelatedCodeFormat, "related code %q is not a catalog code (classification code/sequence code)", c)
		}
	}
	if _, err := compat.ParseMode(r.Compatibility); err != nil {
		p.add("compatibility", RuleCompatibilityUnknown, "compatibility %q is not one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE", r.Compatibility)
	}
	p = append(p, r.checkFields()...)
	switch r.SubjectType {
	case SubjectPerson, SubjectEntity, SubjectMixed:
		if r.SubjectKey == "" {
			p.add("subject_key", RuleSubjectKeyRequired, "a %s resource must name the field holding the subject's key", r.SubjectType)
		} else if _, ok := r.Field(r.SubjectKey); !ok {
			p.add("subject_key", RuleSubjectKeyNotField, "subject key %q is not one of the resource's fields", r.SubjectKey)
		}
	case SubjectNone:
		if r.SubjectKey != "" {
			p.add("subject_key", RuleSubjectKeyForbidden, "a resource about no subject has no subject key")
		}
	default:
		p.add("subject_type", RuleSubjectTypeUnknown, "subject type %q is not natural_person, legal_person, mixed or none", r.SubjectType)
	}
	return p.err("resource " + r.ID)
}

func (r Resource) checkFields() problems {
	var p problems
	if len(r.Fields) == 0 {
		p.add("fields", RuleFieldsRequired, "at least one field (信息项) is required")
	}
	seen := map[string]bool{}
	for i, f := range r.Fields {
		at := fmt.Sprintf("fields[%d]", i)
		if !fieldNamePattern.MatchString(f.Name) {
			p.add(at+".name", RuleFieldName, "field name %q must be lower-case letters, digits or '_', starting with a letter", f.Name)
		}
		if seen[f.Name] {
			p.add(at+".name", RuleFieldDuplicate, "field %q is listed twice", f.Name)
		}
		seen[f.Name] = true
		if f.Title == "" {
			p.add(at+".title", RuleFieldTitle, "field %q needs a title (信息项名称)", f.Name)
		}
		if _, ok := dataTypes[f.DataType]; !ok {
			p.add(at+".data_type", RuleFieldDataType, "field %q: data type %q is not one of the guide's C N Y D T L M G B I F", f.Name, f.DataType)
		}
		switch f.Sensitivity {
		case SensitivityPublic, SensitivityInternal:
			if f.Mask != "" {
				p.add(at+".mask", RuleFieldMaskNotNeeded, "field %q is %s; only sensitive fields carry a masking rule", f.Name, f.Sensitivity)
			}
		case SensitivitySensitive:
			if f.Mask == "" {
				p.add(at+".mask", RuleFieldMaskRequired, "sensitive field %q needs a masking rule", f.Name)
			} else if rule, err := mask.ParseRule(f.Mask); err != nil || rule == mask.RuleNone {
				p.add(at+".mask", RuleFieldMaskUnknown, "field %q: masking rule %q is not one of %s", f.Name, f.Mask, maskNames())
			}
		default:
			p.add(at+".sensitivity", RuleFieldSensitivity, "field %q: sensitivity %q is not public, internal or sensitive", f.Name, f.Sensitivity)
		}
	}
	return p
}

// CheckSchema enforces the rules between a resource and a schema document
// (a parsed draft 2020-12 object): every field is a top-level property and
// every property a field, with a data type the property's type allows; the
// subject key is a required property carrying the identifier format of the
// subject type (cn-resident-id for natural persons, cn-uscc for legal
// persons, both for mixed).
func (r Resource) CheckSchema(doc map[string]any) error {
	var p problems
	props, _ := doc["properties"].(map[string]any)
	for i, f := range r.Fields {
		prop, ok := props[f.Name]
		if !ok {
			p.add(fmt.Sprintf("fields[%d].name", i), RuleFieldNotInSchema, "field %q has no property /properties/%s in the schema", f.Name, f.Name)
			continue
		}
		if types := schemaTypes(prop); len(types) > 0 && !typeAllows(f.DataType, types) {
			p.add(fmt.Sprintf("fields[%d].data_type", i), RuleFieldTypeMismatch, "field %q has data type %s (%s), but /properties/%s has type %s", f.Name, f.DataType, dataTypes[f.DataType], f.Name, strings.Join(types, "|"))
		}
	}
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := r.Field(name); !ok {
			p.add("fields", RulePropertyNotInFields, "schema property /properties/%s is not listed in the fields (信息项)", name)
		}
		// The masking of shared records reads this annotation; a value it
		// does not know would leave the identifier unprotected.
		if prop, ok := props[name].(map[string]any); ok {
			if v, present := prop[schemas.SubjectPartKeyword]; present {
				s, _ := v.(string)
				if _, err := mask.ParsePart(s); err != nil || s == "" {
					p.add("fields", RuleSubjectPartUnknown, "/properties/%s/%s is %v; use one of birth_date, sex, division, org_code", name, schemas.SubjectPartKeyword, v)
				}
			}
		}
	}
	if r.SubjectKey != "" && props[r.SubjectKey] != nil {
		if !requires(doc, r.SubjectKey) {
			p.add("subject_key", RuleSubjectKeyOptional, "subject key %q must be listed in the schema's \"required\"", r.SubjectKey)
		}
		have := keyFormats(doc, r.SubjectKey)
		var want []string
		switch r.SubjectType {
		case SubjectPerson:
			want = []string{schemas.FormatResidentID}
		case SubjectEntity:
			want = []string{schemas.FormatUSCC}
		case SubjectMixed:
			want = []string{schemas.FormatResidentID, schemas.FormatUSCC}
		}
		for _, w := range want {
			if !have[w] {
				p.add("subject_key", RuleSubjectKeyFormat, "subject key /properties/%s of a %s resource must carry \"format\": %q", r.SubjectKey, r.SubjectType, w)
			}
		}
	}
	return p.err("resource " + r.ID + " against its schema")
}

func schemaTypes(prop any) []string {
	m, ok := prop.(map[string]any)
	if !ok {
		return nil
	}
	switch t := m["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok && s != "null" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// typeAllows reports whether a guide data type fits one of the JSON types.
func typeAllows(dataType string, types []string) bool {
	for _, t := range types {
		switch dataType {
		case "C", "M", "D", "T":
			if t == "string" {
				return true
			}
		case "N", "Y", "B", "F":
			if t == "number" || t == "integer" {
				return true
			}
		case "I":
			if t == "integer" {
				return true
			}
		case "L":
			if t == "boolean" {
				return true
			}
		case "G":
			return true
		}
	}
	return false
}

func requires(doc map[string]any, name string) bool {
	req, _ := doc["required"].([]any)
	for _, r := range req {
		if r == name {
			return true
		}
	}
	return false
}

// keyFormats collects the formats the schema applies to a top-level
// property: on the property itself and in top-level allOf/anyOf/oneOf and
// if/then/else branches (as the e-licence schema does for holder_id).
func keyFormats(doc map[string]any, name string) map[string]bool {
	out := map[string]bool{}
	var visit func(s any, depth int)
	visit = func(s any, depth int) {
		m, ok := s.(map[string]any)
		if !ok || depth > 4 {
			return
		}
		if props, ok := m["properties"].(map[string]any); ok {
			if prop, ok := props[name].(map[string]any); ok {
				if f, ok := prop["format"].(string); ok {
					out[f] = true
				}
				for _, kw := range []string{"anyOf", "oneOf"} {
					if list, ok := prop[kw].([]any); ok {
						for _, b := range list {
							if bm, ok := b.(map[string]any); ok {
								if f, ok := bm["format"].(string); ok {
									out[f] = true
								}
							}
						}
					}
				}
			}
		}
		for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
			if list, ok := m[kw].([]any); ok {
				for _, b := range list {
					visit(b, depth+1)
				}
			}
		}
		for _, kw := range []string{"then", "else"} {
			visit(m[kw], depth+1)
		}
	}
	visit(doc, 0)
	return out
}

func keys[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func maskNames() string {
	var out []string
	for _, r := range mask.Rules() {
		if r != mask.RuleNone {
			out = append(out, r.String())
		}
	}
	return strings.Join(out, ", ")
}
