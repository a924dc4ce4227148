// Package seed registers and publishes the demo district's resources in the
// directory for `yiku dev` and integration tests: the four base-library
// resources on the built-in schemas of package schemas, and marriage
// registration, social insurance and police case records on the schemas
// embedded here. Production never calls it.
package seed

import (
	"context"
	"embed"
	"fmt"

	"yiku/catalog"
	"yiku/demo"
	"yiku/fault"
	"yiku/identity"
	"yiku/schemas"
)

//go:embed schemas/*.json
var own embed.FS

// Resource IDs of the demo directory, for other parts' seeders and tests.
const (
	Population           = "population"
	LegalEntity          = "legal-entity"
	EnterpriseCredit     = "enterprise-credit"
	BusinessLicence      = "business-licence"
	MarriageRegistration = "marriage-registration"
	SocialSecurity       = "social-security"
	PSBCaseRecords       = "psb-case-records"
	// MaterialLibrary is the material library (材料库, package material):
	// the sharing gate decides its reads.
	MaterialLibrary = "material-library"
)

// Registrar is what seeding needs from the directory.
type Registrar interface {
	Register(ctx context.Context, p identity.Principal, r catalog.Resource, schema []byte) (catalog.Resource, error)
	Transition(ctx context.Context, p identity.Principal, id string, to catalog.Status, reason string) (catalog.Resource, error)
}

// principal is who the demo directory is registered by: the e-government
// office's catalog administration.
var principal = identity.Principal{ID: "demo-seed", Name: "demo-seed", Kind: identity.KindSystem, Role: identity.RoleCatalogAdmin, DepartmentCode: demo.DeptEGov}

type entry struct {
	res    catalog.Resource
	schema string // base schema name or own file
	base   bool
	// sensitive maps field name to masking rule.
	sensitive map[string]string
	internal  []string
}

func entries() []entry {
	return []entry{
		{
			res: catalog.Resource{ID: Population, Name: "人口基础信息", ClassCode: "101001", ProviderCode: demo.DeptPSB,
				Summary:   "娄星区户籍人口的基础信息：公民身份号码、姓名、性别、民族、出生日期、户籍地、联系电话、婚姻状况。",
				ShareType: catalog.ShareUnconditional, ShareMode: "接口共享", UpdateCycle: "daily",
				BaseLibrary: catalog.LibPopulation, SubjectType: catalog.SubjectPerson, SubjectKey: "id_number"},
			schema: "population", base: true,
			sensitive: map[string]string{"id_number": "id_number", "name": "name", "mobile": "mobile", "domicile_address": "address"},
			internal:  []string{"birth_date"},
		},
		{
			res: catalog.Resource{ID: LegalEntity, Name: "法人基础信息", ClassCode: "102001", ProviderCode: demo.DeptAMR,
				Summary:   "辖区内登记的企业、个体工商户等市场主体的登记信息。",
				ShareType: catalog.ShareUnconditional, ShareMode: "接口共享", UpdateCycle: "daily", OpenToPublic: true,
				OpenConditions: "登记信息依《企业信息公示暂行条例》公示；法定代表人身份号码不开放。",
				BaseLibrary:    catalog.LibLegalEntity, SubjectType: catalog.SubjectEntity, SubjectKey: "credit_code"},
			schema: "legal-entity", base: true,
			sensitive: map[string]string{"legal_representative_id": "id_number"},
		},
		{
			res: catalog.Resource{ID: EnterpriseCredit, Name: "企业信用信息", ClassCode: "104001", ProviderCode: demo.DeptDRC,
				Summary:         "企业信用评价、经营异常、严重违法失信和失信被执行人信息。",
				ShareType:       catalog.ShareConditional,
				ShareConditions: "用于行政审批、监管执法和评优评先的信用核查，需经提供部门审核同意。",
				ShareMode:       "接口共享", UpdateCycle: "daily",
				BaseLibrary: catalog.LibCredit, SubjectType: catalog.SubjectEntity, SubjectKey: "credit_code"},
			schema: "enterprise-credit", base: true,
		},
		{
			res: catalog.Resource{ID: BusinessLicence, Name: "营业执照电子证照", ClassCode: "105001", ProviderCode: demo.DeptAMR,
				Summary:   "市场监管部门颁发的营业执照电子证照目录信息，持证主体为法人或个体工商户经营者。",
				ShareType: catalog.ShareUnconditional, ShareMode: "接口共享", UpdateCycle: "realtime",
				BaseLibrary: catalog.LibElicence, SubjectType: catalog.SubjectMixed, SubjectKey: "holder_id"},
			schema: "elicence", base: true,
			sensitive: map[string]string{"holder_id": "id_number"},
		},
		{
			res: catalog.Resource{ID: MarriageRegistration, Name: "婚姻登记信息", ClassCode: "312001", ProviderCode: demo.DeptCivil,
				Summary:         "婚姻登记机关办理的结婚、离婚登记记录。",
				ShareType:       catalog.ShareConditional,
				ShareConditions: "仅用于办理户籍、社会救助、不动产登记等依法需核验婚姻状况的事项，按申请的信息项提供。",
				ShareMode:       "接口共享", UpdateCycle: "daily",
				BaseLibrary: catalog.LibDepartment, SubjectType: catalog.SubjectPerson, SubjectKey: "id_number"},
			schema:    "marriage-registration",
			sensitive: map[string]string{"id_number": "id_number", "name": "name", "spouse_id_number": "id_number", "spouse_name": "name"},
		},
		{
			res: catalog.Resource{ID: SocialSecurity, Name: "社会保险参保信息", ClassCode: "203001", ProviderCode: demo.DeptHRSS,
				Summary:         "城镇职工及城乡居民社会保险参保登记和缴费状态。",
				ShareType:       catalog.ShareConditional,
				ShareConditions: "用于社会救助、就业服务和人才政策审核，需经人社部门审核同意。",
				ShareMode:       "接口共享", UpdateCycle: "monthly",
				BaseLibrary: catalog.LibTheme, SubjectType: catalog.SubjectPerson, SubjectKey: "id_number"},
			schema:    "social-security",
			sensitive: map[string]string{"id_number": "id_number", "name": "name"},
		},
		{
			res: catalog.Resource{ID: MaterialLibrary, Name: "材料库", ClassCode: "205001", ProviderCode: demo.DeptService,
				Summary:         "申请人在政务服务窗口提交的申请材料扫描件及其目录信息，一次提交、多次复用。",
				ShareType:       catalog.ShareConditional,
				ShareConditions: "仅用于办理申请人本人的政务服务事项，须注明事由和办件编号，经政务服务中心审核同意。",
				ShareMode:       "接口共享", UpdateCycle: "realtime",
				BaseLibrary: catalog.LibTheme, SubjectType: catalog.SubjectMixed, SubjectKey: "applicant"},
			schema:    "material-library",
			sensitive: map[string]string{"applicant": "id_number"},
		},
		{
			res: catalog.Resource{ID: PSBCaseRecords, Name: "公安案件信息", ClassCode: "301001", ProviderCode: demo.DeptPSB,
				Summary:     "公安机关受理和立案的刑事、行政案件信息。",
				ShareType:   catalog.ShareNone,
				LegalBasis:  "《中华人民共和国刑事诉讼法》第一百五十二条、《公安机关办理刑事案件程序规定》关于侦查秘密的规定",
				UpdateCycle: "realtime",
				BaseLibrary: catalog.LibDepartment, SubjectType: catalog.SubjectNone},
			schema:   "psb-case-records",
			internal: []string{"case_number", "handling_unit"},
		},
	}
}

// Schema returns the JSON Schema the demo registers for resource id.
func Schema(id string) ([]byte, error) {
	for _, e := range entries() {
		if e.res.ID == id {
			return e.schemaJSON()
		}
	}
	return nil, fmt.Errorf("seed: no demo resource %q", id)
}

func (e entry) schemaJSON() ([]byte, error) {
	if e.base {
		b, ok := schemas.BaseByName(e.schema)
		if !ok {
			return nil, fmt.Errorf("seed: no base schema %s", e.schema)
		}
		return b.JSON, nil
	}
	data, err := own.ReadFile("schemas/" + e.schema + ".json")
	if err != nil {
		return nil, fmt.Errorf("seed: schema %s: %w", e.schema, err)
	}
	return data, nil
}

// Resources returns the demo resources, ready to register, with their
// schemas.
func Resources() ([]catalog.Resource, [][]byte, error) {
	var rs []catalog.Resource
	var docs [][]byte
	for _, e := range entries() {
		doc, err := e.schemaJSON()
		if err != nil {
			return nil, nil, err
		}
		fields, err := catalog.FieldsFromSchema(doc)
		if err != nil {
			return nil, nil, fmt.Errorf("seed: fields of %s: %w", e.res.ID, err)
		}
		for i := range fields {
			if m, ok := e.sensitive[fields[i].Name]; ok {
				fields[i].Sensitivity, fields[i].Mask = catalog.SensitivitySensitive, m
			}
			for _, n := range e.internal {
				if fields[i].Name == n {
					fields[i].Sensitivity = catalog.SensitivityInternal
				}
			}
		}
		r := e.res
		r.Fields = fields
		rs = append(rs, r)
		docs = append(docs, doc)
	}
	return rs, docs, nil
}

// Demo registers and publishes the demo resources. Resources already in
// the directory are left as they are.
func Demo(reg Registrar) func(context.Context) error {
	return func(ctx context.Context) error {
		rs, docs, err := Resources()
		if err != nil {
			return err
		}
		for i, r := range rs {
			if _, err := reg.Register(ctx, principal, r, docs[i]); err != nil {
				if fe, ok := fault.As(err); ok && fe.Code == "resource_exists" {
					continue
				}
				return fmt.Errorf("seed: register %s: %w", r.ID, err)
			}
			if _, err := reg.Transition(ctx, principal, r.ID, catalog.StatusPublished, "demo directory"); err != nil {
				return fmt.Errorf("seed: publish %s: %w", r.ID, err)
			}
		}
		return nil
	}
}
