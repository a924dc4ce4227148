// Package lookupdemo seeds what the reuse-lookup demo needs in `yiku dev`
// and integration tests: the material directory, three service items (business licence change,
// social security card application, marriage registration) with their
// materials; demo citizens' and enterprises' records and business-licence
// certificates, published by each provider through the exchange's publish
// path; approved share requests that give the district service centre
// (lx-gsc) the conditional resources its items need; and the link of the
// demo citizen principal to their ID number. All identifiers are synthetic
// (the shared test vectors' fictitious sequence codes and D99 organisation
// code bodies). Production never calls it.
package lookupdemo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"yiku/audit"
	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/demo"
	"yiku/exchange"
	"yiku/identity"
	"yiku/policies/sharing"
	"yiku/schemas"
	"yiku/serviceitem"
)

// Demo applicants.
const (
	// Citizen is the demo citizen 张三 (citizen-demo): population,
	// social-security and (divorce) marriage-registration records.
	Citizen = "431302198506159913"
	// Citizen2 is 李红: a population record only.
	Citizen2 = "431302199001019928"
	// Spouse is 张三's former spouse in the divorce record.
	Spouse = "431321197812319932"
	// Entity holds a valid business licence.
	Entity = "91431302D99002018R"
	// ExpiredEntity's licence is marked valid but its valid_until has passed.
	ExpiredEntity = "91431302D99002026L"
	// RevokedEntity's licence was revoked by the issuer.
	RevokedEntity = "91431302D99002034F"
	// IssuerAMR is the (fictitious) credit code of the licence issuer, the
	// district market regulation bureau.
	IssuerAMR = "11431302D99002106G"
	// LicenceType is the business-licence type code: the defining agency's
	// (fictitious) credit code and a 3-digit number.
	LicenceType = "11100000D99002202G001"
)

// Service item codes.
const (
	ItemLicenceChange  = "business-licence-change"
	ItemSocialSecurity = "social-security-card"
	ItemMarriage       = "marriage-registration"
)

// Items returns the demo service items, handled by the district service
// centre.
func Items() []serviceitem.Item {
	return []serviceitem.Item{
		{
			Code: ItemLicenceChange, Name: "营业执照变更登记", ItemCode: "431302-SC-GSC-0001", DepartmentCode: demo.DeptService,
			ApplicantType: serviceitem.ApplicantEntity,
			Description:   "企业变更名称、住所、经营范围、法定代表人等登记事项，换发营业执照。",
			Category:      serviceitem.CategoryLicensing, Level: serviceitem.LevelDistrict, TimeLimitDays: 3,
			LegalBasis: "《中华人民共和国市场主体登记管理条例》第二十四条", Conditions: "市场主体登记事项发生变更",
			Flow: "申请—受理—审核—决定—换发执照",
			Materials: []serviceitem.Material{
				{Code: "business-licence", Name: "营业执照", Type: "business-licence", Resource: seed.BusinessLicence, Description: "申请主体现有营业执照（电子证照）。"},
				{Code: "registration-info", Name: "企业登记信息", Type: "enterprise-registration", Resource: seed.LegalEntity, Description: "现登记的名称、住所、法定代表人等。"},
				{Code: "credit-check", Name: "企业信用核查", Type: "enterprise-credit-check", Resource: seed.EnterpriseCredit, Description: "经营异常、严重违法失信名单核查。"},
				{Code: "change-resolution", Name: "变更决议或决定", Type: "change-resolution", Description: "股东会决议或股东决定，由申请人提交。"},
			},
		},
		{
			Code: ItemSocialSecurity, Name: "社会保障卡申领", ItemCode: "431302-SC-HRSS-0007", DepartmentCode: demo.DeptService,
			ApplicantType: serviceitem.ApplicantPerson,
			Description:   "首次申领第三代社会保障卡。",
			Category:      serviceitem.CategoryPublic, Level: serviceitem.LevelDistrict, TimeLimitDays: 10,
			LegalBasis: "《中华人民共和国社会保险法》第五十八条", Conditions: "已参加社会保险且未持有社会保障卡",
			Flow: "申请—受理—制卡—发卡",
			Materials: []serviceitem.Material{
				{Code: "identity", Name: "居民身份信息", Type: "resident-id-card", Resource: seed.Population, Description: "申领人身份信息核验。"},
				{Code: "insurance", Name: "参保登记信息", Type: "social-insurance-registration", Resource: seed.SocialSecurity, Description: "申领人参保状态。"},
				{Code: "photo", Name: "近期免冠彩色证件照", Type: "id-photo", Description: "一库不存照片，申请人现场采集或提交。"},
			},
		},
		{
			Code: ItemMarriage, Name: "结婚登记", ItemCode: "431302-SC-CIVIL-0001", DepartmentCode: demo.DeptService,
			ApplicantType: serviceitem.ApplicantPerson,
			Description:   "内地居民结婚登记，核验双方身份和婚姻状况。",
			Category:      serviceitem.CategoryConfirmation, Level: serviceitem.LevelDistrict, TimeLimitDays: 1,
			LegalBasis: "《婚姻登记条例》第四条至第七条", Conditions: "男女双方自愿结婚且符合法定婚龄",
			Flow: "申请—受理—审查—登记发证",
			Materials: []serviceitem.Material{
				{Code: "identity", Name: "居民身份信息", Type: "resident-id-card", Resource: seed.Population, Description: "当事人身份信息核验。"},
				{Code: "marital-record", Name: "婚姻登记记录", Type: "marriage-registration-record", Resource: seed.MarriageRegistration, Description: "核验当事人当前未处于已婚状态。"},
				{Code: "household-register", Name: "居民户口簿", Type: "household-register", Description: "户口簿原件，一库未汇聚，由当事人提交。"},
			},
		},
	}
}

// MaterialTypes returns the demo material directory (材料目录): the types
// the demo items' materials name, and a few more every district keeps.
func MaterialTypes() []serviceitem.MaterialType {
	return []serviceitem.MaterialType{
		{Code: "resident-id-card", Name: "居民身份证", Resource: seed.Population, Description: "居民身份信息，由人口基础库提供。"},
		{Code: "household-register", Name: "户口簿", Description: "居民户口簿，一库未汇聚，由申请人提交。"},
		{Code: "marriage-certificate", Name: "结婚证", Description: "结婚证原件。"},
		{Code: "marriage-registration-record", Name: "婚姻登记记录", Resource: seed.MarriageRegistration},
		{Code: "business-licence", Name: "营业执照", Resource: seed.BusinessLicence, Description: "营业执照电子证照。"},
		{Code: "enterprise-registration", Name: "企业登记信息", Resource: seed.LegalEntity},
		{Code: "enterprise-credit-check", Name: "企业信用核查", Resource: seed.EnterpriseCredit},
		{Code: "change-resolution", Name: "变更决议或决定", Description: "股东会决议或股东决定。"},
		{Code: "social-insurance-registration", Name: "参保登记信息", Resource: seed.SocialSecurity},
		{Code: "id-photo", Name: "近期免冠彩色证件照"},
		{Code: "real-estate-certificate", Name: "不动产权证书"},
	}
}

// LicenceID returns the business-licence identifier with serial.
func LicenceID(serial string) string {
	id, err := schemas.BuildElicenceID(LicenceType, IssuerAMR, serial, "001")
	if err != nil {
		panic("lookupdemo: demo licence id: " + err.Error())
	}
	return id
}

// batch is one provider's records of one resource.
type batch struct {
	publisher string // demo principal name
	resource  string
	records   []map[string]any
}

func batches(now time.Time) []batch {
	today := now.In(time.FixedZone("CST", 8*3600))
	date := func(t time.Time) string { return t.Format(time.DateOnly) }
	return []batch{
		{"psb-system", seed.Population, []map[string]any{
			{"id_number": Citizen, "name": "张三", "sex": "1", "ethnicity": "01", "birth_date": "1985-06-15", "domicile_division": "431302",
				"domicile_address": "湖南省娄底市娄星区乐坪街道东升社区12栋3单元501", "mobile": "13807381234", "marital_status": "40"},
			{"id_number": Citizen2, "name": "李红", "sex": "2", "ethnicity": "01", "birth_date": "1990-01-01", "domicile_division": "431302",
				"domicile_address": "湖南省娄底市娄星区花山街道花山社区8栋201", "mobile": "13907385678", "marital_status": "10"},
		}},
		{"hrss-system", seed.SocialSecurity, []map[string]any{
			{"id_number": Citizen, "name": "张三", "insurance_type": "pension", "insured_status": "active", "start_date": "2008-07-01",
				"employer_credit_code": Entity, "employer_name": "娄底市星城示范商贸有限公司", "paid_months": 196, "division": "431302"},
		}},
		{"civil-system", seed.MarriageRegistration, []map[string]any{
			{"registration_number": "L431302-2019-000457", "registration_type": "divorce", "id_number": Citizen, "name": "张三",
				"spouse_id_number": Spouse, "spouse_name": "王丽", "registration_date": "2019-11-20", "registration_office": "娄星区民政局婚姻登记处"},
		}},
		{"amr-system", seed.LegalEntity, []map[string]any{
			{"credit_code": Entity, "name": "娄底市星城示范商贸有限公司", "entity_type": "有限责任公司（自然人投资或控股）", "legal_representative": "张三",
				"legal_representative_id": Citizen, "registered_capital": 500000, "registered_capital_currency": "CNY", "established_date": "2016-03-18",
				"registration_authority": "娄底市娄星区市场监督管理局", "address": "湖南省娄底市娄星区乐坪街道东升路88号", "division": "431302",
				"business_scope": "日用百货、五金交电销售", "status": "存续"},
			{"credit_code": ExpiredEntity, "name": "娄底市花山餐饮管理有限公司", "entity_type": "有限责任公司", "legal_representative": "李红",
				"legal_representative_id": Citizen2, "registered_capital": 100000, "registered_capital_currency": "CNY", "established_date": "2012-05-09",
				"registration_authority": "娄底市娄星区市场监督管理局", "address": "湖南省娄底市娄星区花山街道花山路12号", "division": "431302", "status": "存续"},
			{"credit_code": RevokedEntity, "name": "娄底市大科建材经营部", "entity_type": "个人独资企业", "legal_representative": "王丽",
				"legal_representative_id": Spouse, "registered_capital": 30000, "registered_capital_currency": "CNY", "established_date": "2010-08-02",
				"registration_authority": "娄底市娄星区市场监督管理局", "address": "湖南省娄底市娄星区大科街道建设路5号", "division": "431302", "status": "吊销"},
		}},
		{"amr-system", seed.BusinessLicence, []map[string]any{
			licence(Entity, "娄底市星城示范商贸有限公司", "2024000101", "2016-03-18", date(today.AddDate(20, 0, 0)), "valid"),
			licence(ExpiredEntity, "娄底市花山餐饮管理有限公司", "2024000102", "2012-05-09", date(today.AddDate(0, 0, -30)), "valid"),
			licence(RevokedEntity, "娄底市大科建材经营部", "2024000103", "2010-08-02", date(today.AddDate(10, 0, 0)), "revoked"),
		}},
		{"drc-system", seed.EnterpriseCredit, []map[string]any{
			{"credit_code": Entity, "name": "娄底市星城示范商贸有限公司", "credit_rating": "A", "credit_rating_year": today.Year() - 1,
				"abnormal_operation": false, "serious_violation": false, "dishonest_executee": false, "administrative_penalties": 0,
				"updated_at": today.Truncate(time.Hour).Format(time.RFC3339)},
			{"credit_code": ExpiredEntity, "name": "娄底市花山餐饮管理有限公司", "credit_rating": "B", "credit_rating_year": today.Year() - 1,
				"abnormal_operation": true, "serious_violation": false, "dishonest_executee": false, "administrative_penalties": 1,
				"updated_at": today.Truncate(time.Hour).Format(time.RFC3339)},
		}},
	}
}

func licence(holder, name, serial, issued, until, status string) map[string]any {
	return map[string]any{"licence_id": LicenceID(serial), "licence_type_code": LicenceType, "licence_name": "营业执照",
		"licence_number": holder, "holder_id_type": "uscc", "holder_id": holder, "holder_name": name,
		"issuer_code": IssuerAMR, "issuer_name": "娄底市娄星区市场监督管理局", "issue_date": issued, "valid_until": until, "status": status}
}

// Records returns how many demo records Seed publishes per resource.
func Records() map[string]int {
	out := map[string]int{}
	for _, b := range batches(time.Now()) {
		out[b.resource] += len(b.records)
	}
	return out
}

// Publisher publishes record batches as their provider (exchange.Publisher).
type Publisher interface {
	Publish(ctx context.Context, req exchange.PublishRequest) (exchange.PublishResult, error)
}

// Principals finds demo principals and links the demo citizen (identity.Store).
type Principals interface {
	PrincipalByName(ctx context.Context, name string) (identity.Principal, error)
	SetIDNumberHash(ctx context.Context, id, hash string) error
}

// Deps are what seeding uses; each is the part's real API.
type Deps struct {
	Items      *serviceitem.Service
	Publisher  Publisher
	Principals Principals
	Sharing    *sharing.Service
	Directory  catalog.Directory
	SubjectKey audit.SubjectKey
	Now        func() time.Time
}

// Seeder returns the demo seeder.
func Seeder(d Deps) func(context.Context) error {
	return func(ctx context.Context) error {
		now := time.Now()
		if d.Now != nil {
			now = d.Now()
		}
		admin, err := d.Principals.PrincipalByName(ctx, "catalog-admin")
		if err != nil {
			return fmt.Errorf("lookupdemo: %w", err)
		}
		for _, mt := range MaterialTypes() {
			if _, _, err := d.Items.PutType(ctx, admin, mt.Code, mt); err != nil {
				return fmt.Errorf("lookupdemo: material type %s: %w", mt.Code, err)
			}
		}
		for _, it := range Items() {
			if _, err := d.Items.Create(ctx, admin, it); err != nil {
				return fmt.Errorf("lookupdemo: service item %s: %w", it.Code, err)
			}
		}
		for _, b := range batches(now) {
			if err := publish(ctx, d, b); err != nil {
				return err
			}
		}
		if err := grants(ctx, d, now); err != nil {
			return err
		}
		if err := materialGrant(ctx, d, now); err != nil {
			return err
		}
		citizen, err := d.Principals.PrincipalByName(ctx, "citizen-demo")
		if err != nil {
			return fmt.Errorf("lookupdemo: %w", err)
		}
		if err := d.Principals.SetIDNumberHash(ctx, citizen.ID, d.SubjectKey.Hash(Citizen)); err != nil {
			return fmt.Errorf("lookupdemo: %w", err)
		}
		return nil
	}
}

func publish(ctx context.Context, d Deps, b batch) error {
	p, err := d.Principals.PrincipalByName(ctx, b.publisher)
	if err != nil {
		return fmt.Errorf("lookupdemo: publisher of %s: %w", b.resource, err)
	}
	body, err := json.Marshal(b.records)
	if err != nil {
		return fmt.Errorf("lookupdemo: records of %s: %w", b.resource, err)
	}
	res, err := d.Publisher.Publish(ctx, exchange.PublishRequest{Principal: p, Resource: b.resource, Format: exchange.FormatJSON, Body: body,
		IdempotencyKey: "lookupdemo-" + b.resource, TraceID: "lookupdemo"})
	if err != nil {
		return fmt.Errorf("lookupdemo: publish %s: %w", b.resource, err)
	}
	if res.Rejected > 0 {
		var msgs []string
		for _, e := range res.Errors {
			msgs = append(msgs, fmt.Sprintf("#%d %s %s", e.Index, e.Pointer, e.Message))
		}
		return fmt.Errorf("lookupdemo: %d demo records of %s rejected: %s", res.Rejected, b.resource, strings.Join(msgs, "; "))
	}
	return nil
}

// grantSpec is one share request the service centre files and its
// provider approves.
type grantSpec struct {
	resource, approver, approverDept string
}

// grants gives the district service centre the conditional resources its
// demo items read, for the items' names as purposes, through the
// share-request workflow (apply by admin-gsc, approve by the provider's
// administrator).
func grants(ctx context.Context, d Deps, now time.Time) error {
	applicant, err := d.Principals.PrincipalByName(ctx, "admin-gsc")
	if err != nil {
		return fmt.Errorf("lookupdemo: %w", err)
	}
	purposes := map[string][]string{}
	items := map[string][]string{}
	for _, it := range Items() {
		for _, m := range it.Materials {
			if m.Resource != "" {
				purposes[m.Resource] = append(purposes[m.Resource], it.Name)
				items[m.Resource] = append(items[m.Resource], it.Name+"（"+it.ItemCode+"）")
			}
		}
	}
	for _, g := range []grantSpec{
		{seed.EnterpriseCredit, "", demo.DeptDRC},
		{seed.SocialSecurity, "admin-hrss", demo.DeptHRSS},
		{seed.MarriageRegistration, "admin-civil", demo.DeptCivil},
	} {
		res, err := d.Directory.Resource(ctx, g.resource)
		if err != nil {
			return fmt.Errorf("lookupdemo: %w", err)
		}
		fields := make([]string, len(res.Fields))
		for i, f := range res.Fields {
			fields[i] = f.Name
		}
		req, err := d.Sharing.Apply(ctx, applicant, sharing.Application{
			ResourceID: g.resource, Fields: fields, Purposes: purposes[g.resource], ServiceItems: items[g.resource],
			LegalBasis: "《国务院关于加快推进全国一体化在线政务服务平台建设的指导意见》（国发〔2018〕27号）：申请材料能通过共享获取的，不再要求申请人提交",
			ValidUntil: now.AddDate(2, 0, 0),
		})
		if err != nil {
			return fmt.Errorf("lookupdemo: share request for %s: %w", g.resource, err)
		}
		approver := identity.Principal{ID: "demo-seed-" + g.approverDept, Name: "demo-seed", Kind: identity.KindPerson, Role: identity.RoleDeptAdmin, DepartmentCode: g.approverDept}
		if g.approver != "" {
			if approver, err = d.Principals.PrincipalByName(ctx, g.approver); err != nil {
				return fmt.Errorf("lookupdemo: %w", err)
			}
		}
		if _, _, _, err := d.Sharing.Approve(ctx, approver, req.ID, sharing.Approval{Reason: "同意用于政务服务中心一证通办"}); err != nil {
			return fmt.Errorf("lookupdemo: approve %s: %w", g.resource, err)
		}
	}
	return nil
}

// materialGrant lets the district's human resources and social security
// bureau reuse the material library (owned by the service centre, which
// reads it as its provider) for the demo items: the bureau applies, the
// service centre's admin approves.
func materialGrant(ctx context.Context, d Deps, now time.Time) error {
	applicant, err := d.Principals.PrincipalByName(ctx, "admin-hrss")
	if err != nil {
		return fmt.Errorf("lookupdemo: %w", err)
	}
	approver, err := d.Principals.PrincipalByName(ctx, "admin-gsc")
	if err != nil {
		return fmt.Errorf("lookupdemo: %w", err)
	}
	res, err := d.Directory.Resource(ctx, seed.MaterialLibrary)
	if err != nil {
		return fmt.Errorf("lookupdemo: %w", err)
	}
	fields := make([]string, len(res.Fields))
	for i, f := range res.Fields {
		fields[i] = f.Name
	}
	var purposes, items []string
	for _, it := range Items() {
		purposes = append(purposes, it.Name)
		items = append(items, it.Name+"（"+it.ItemCode+"）")
	}
	req, err := d.Sharing.Apply(ctx, applicant, sharing.Application{ResourceID: seed.MaterialLibrary, Fields: fields, Purposes: purposes, ServiceItems: items,
		LegalBasis: "《国务院关于加快推进全国一体化在线政务服务平台建设的指导意见》（国发〔2018〕27号）：已提交的申请材料不再重复提交",
		ValidUntil: now.AddDate(2, 0, 0)})
	if err != nil {
		return fmt.Errorf("lookupdemo: share request for %s: %w", seed.MaterialLibrary, err)
	}
	if _, _, _, err := d.Sharing.Approve(ctx, approver, req.ID, sharing.Approval{Reason: "同意用于一次提交、多次复用"}); err != nil {
		return fmt.Errorf("lookupdemo: approve %s: %w", seed.MaterialLibrary, err)
	}
	return nil
}
