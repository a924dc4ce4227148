// Package demo seeds the embedded quick start with Louxing District's
// departments, one principal per role, and (through the parts' own seeders)
// resources, records and service items, then writes the demo credentials to
// <data-dir>/credentials.json. It is used by `yiku dev` and by tests that
// want a populated hub; production never calls it.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"yiku/fault"
	"yiku/identity"
)

// Credential is one demo principal's secret, as written to credentials.json.
type Credential struct {
	Principal      string `json:"principal"`
	DisplayName    string `json:"display_name"`
	Kind           string `json:"kind"` // api_key, token or kafka_sasl
	Role           string `json:"role"`
	DepartmentCode string `json:"department_code"`
	Secret         string `json:"secret"`
	// A kafka_sasl credential is a Kafka login: Principal is the SASL
	// user, Secret its password, and these say where and how to use it.
	Brokers          []string `json:"brokers,omitempty"`
	SecurityProtocol string   `json:"security_protocol,omitempty"`
	SASLMechanism    string   `json:"sasl_mechanism,omitempty"`
}

// KindKafkaSASL marks a Kafka SASL login in credentials.json.
const KindKafkaSASL = "kafka_sasl"

// AddCredentials rewrites dataDir's credentials.json as creds followed by
// extra (the dev hub's Kafka login) and returns that list.
func AddCredentials(dataDir string, creds []Credential, extra ...Credential) ([]Credential, error) {
	all := append(append([]Credential(nil), creds...), extra...)
	data, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFile0600(filepath.Join(dataDir, "credentials.json"), append(data, '\n')); err != nil {
		return nil, err
	}
	return all, nil
}

// PrincipalCreator stores a principal and assigns its role.
type PrincipalCreator interface {
	CreatePrincipal(ctx context.Context, p identity.Principal) (identity.Principal, error)
}

// Codes of the demo departments other seeders refer to.
const (
	DeptGov     = "lx-gov"       // 娄星区人民政府
	DeptEGov    = "lx-egov"      // 娄星区数据资源局（电子政务办公室）
	DeptPSB     = "lx-psb"       // 娄底市公安局娄星分局
	DeptAMR     = "lx-amr"       // 娄星区市场监督管理局
	DeptHRSS    = "lx-hrss"      // 娄星区人力资源和社会保障局
	DeptCivil   = "lx-civil"     // 娄星区民政局
	DeptService = "lx-gsc"       // 娄星区政务服务中心
	DeptDRC     = "lx-drc"       // 娄星区发展和改革局（社会信用）
	DeptLePing  = "lx-leping"    // 乐坪街道办事处
	DeptHuaShan = "lx-huashan"   // 花山街道办事处
	DeptDaKe    = "lx-dake"      // 大科街道办事处
	DeptLPSvc   = "lx-gsc-lp"    // 乐坪街道便民服务中心
	DeptLPHRSS  = "lx-hrss-lp"   // 乐坪街道人社服务站
	DeptLPComm  = "lx-gsc-lp-ds" // 乐坪街道东升社区便民服务站
	DeptHSComm  = "lx-huashan-c" // 花山街道社区居委会
)

// Departments returns the demo district. District units carry Louxing's
// GB/T 2260 code 431302; the township and community codes follow the
// GB/T 10114 structure (street 001-099, community 001-199) and are
// illustrative.
func Departments() []identity.Department {
	p := func(s string) *string { return &s }
	return []identity.Department{
		{Code: DeptGov, Name: "娄星区人民政府", Level: identity.LevelDistrict, DivisionCode: "431302"},
		{Code: DeptEGov, Name: "娄星区数据资源局（电子政务办公室）", Level: identity.LevelDistrict, DivisionCode: "431302"},
		{Code: DeptPSB, Name: "娄底市公安局娄星分局", Level: identity.LevelDistrict, DivisionCode: "431302"},
		{Code: DeptAMR, Name: "娄星区市场监督管理局", Level: identity.LevelDistrict, DivisionCode: "431302"},
		{Code: DeptHRSS, Name: "娄星区人力资源和社会保障局", Level: identity.LevelDistrict, DivisionCode: "431302"},
		{Code: DeptCivil, Name: "娄星区民政局", Level: identity.LevelDistrict, DivisionCode: "431302"},
		{Code: DeptService, Name: "娄星区政务服务中心", Level: identity.LevelDistrict, DivisionCode: "431302"},
		{Code: DeptDRC, Name: "娄星区发展和改革局", Level: identity.LevelDistrict, DivisionCode: "431302"},
		{Code: DeptLePing, Name: "乐坪街道办事处", Level: identity.LevelTownship, ParentCode: p(DeptGov), DivisionCode: "431302001"},
		{Code: DeptHuaShan, Name: "花山街道办事处", Level: identity.LevelTownship, ParentCode: p(DeptGov), DivisionCode: "431302002"},
		{Code: DeptDaKe, Name: "大科街道办事处", Level: identity.LevelTownship, ParentCode: p(DeptGov), DivisionCode: "431302005"},
		{Code: DeptLPSvc, Name: "乐坪街道便民服务中心", Level: identity.LevelTownship, ParentCode: p(DeptService), DivisionCode: "431302001"},
		{Code: DeptLPHRSS, Name: "乐坪街道人社服务站", Level: identity.LevelTownship, ParentCode: p(DeptHRSS), DivisionCode: "431302001"},
		{Code: DeptLPComm, Name: "乐坪街道东升社区便民服务站", Level: identity.LevelVillage, ParentCode: p(DeptLPSvc), DivisionCode: "431302001001"},
		{Code: DeptHSComm, Name: "花山街道花山社区居委会", Level: identity.LevelVillage, ParentCode: p(DeptHuaShan), DivisionCode: "431302002001"},
	}
}

type demoPrincipal struct {
	name, display string
	kind          identity.Kind
	role          identity.Role
	dept          string
}

func principals() []demoPrincipal {
	return []demoPrincipal{
		{"psb-system", "公安分局人口信息系统", identity.KindSystem, identity.RoleSystem, DeptPSB},
		{"amr-system", "市场监管登记系统", identity.KindSystem, identity.RoleSystem, DeptAMR},
		{"hrss-system", "人社业务系统", identity.KindSystem, identity.RoleSystem, DeptHRSS},
		{"civil-system", "民政婚姻登记系统", identity.KindSystem, identity.RoleSystem, DeptCivil},
		{"gsc-system", "政务服务中心审批系统", identity.KindSystem, identity.RoleSystem, DeptService},
		{"drc-system", "社会信用信息系统", identity.KindSystem, identity.RoleSystem, DeptDRC},
		{"officer-gsc", "政务服务中心窗口审批员 王芳", identity.KindPerson, identity.RoleOfficer, DeptService},
		{"officer-lp", "乐坪街道便民服务中心窗口 李明", identity.KindPerson, identity.RoleOfficer, DeptLPSvc},
		{"reviewer", "数据安全审计员 赵强", identity.KindPerson, identity.RoleReviewer, DeptEGov},
		{"admin-psb", "公安分局数据管理员", identity.KindPerson, identity.RoleDeptAdmin, DeptPSB},
		{"admin-amr", "市场监管局数据管理员", identity.KindPerson, identity.RoleDeptAdmin, DeptAMR},
		{"admin-civil", "民政局数据管理员", identity.KindPerson, identity.RoleDeptAdmin, DeptCivil},
		{"admin-gsc", "政务服务中心数据管理员", identity.KindPerson, identity.RoleDeptAdmin, DeptService},
		{"admin-hrss", "人社局数据管理员", identity.KindPerson, identity.RoleDeptAdmin, DeptHRSS},
		{"catalog-admin", "区数据资源局目录管理员", identity.KindPerson, identity.RoleCatalogAdmin, DeptEGov},
		{"citizen-demo", "市民 张三（演示）", identity.KindPerson, identity.RoleCitizen, DeptService},
	}
}

// Seeder adds a part's demo data (resources, records, service items).
type Seeder func(ctx context.Context) error

// Seed seeds the identity side of the demo on first start and (re)writes
// credentials.json. It returns whether this call seeded (false on a restart).
// Tokens are re-issued on every start so the printed ones are always fresh;
// API keys are kept from the existing file.
func Seed(ctx context.Context, dataDir string, auth *identity.Authenticator, creator PrincipalCreator, tokenTTL time.Duration, parts ...Seeder) ([]Credential, bool, error) {
	store := auth.Store()
	credPath := filepath.Join(dataDir, "credentials.json")
	_, err := store.Department(ctx, DeptEGov)
	seeded := fault.KindOf(err) == fault.NotFound
	if err != nil && !seeded {
		return nil, false, err
	}
	old := map[string]Credential{}
	if !seeded {
		if data, err := os.ReadFile(credPath); err == nil {
			var creds []Credential
			if json.Unmarshal(data, &creds) == nil {
				for _, c := range creds {
					old[c.Principal] = c
				}
			}
		}
	}
	if seeded {
		for _, d := range Departments() {
			if _, err := store.CreateDepartment(ctx, d); err != nil {
				return nil, false, fmt.Errorf("demo: department %s: %w", d.Code, err)
			}
		}
	}
	var creds []Credential
	for _, dp := range principals() {
		var p identity.Principal
		if seeded {
			p, err = creator.CreatePrincipal(ctx, identity.Principal{Name: dp.name, DisplayName: dp.display, Kind: dp.kind, Role: dp.role, DepartmentCode: dp.dept})
		} else {
			p, err = store.PrincipalByName(ctx, dp.name)
		}
		if err != nil {
			return nil, false, fmt.Errorf("demo: principal %s: %w", dp.name, err)
		}
		c := Credential{Principal: p.Name, DisplayName: p.DisplayName, Role: string(p.Role), DepartmentCode: p.DepartmentCode}
		if dp.kind == identity.KindSystem {
			c.Kind = "api_key"
			if prev, ok := old[p.Name]; ok && prev.Kind == "api_key" {
				c.Secret = prev.Secret
			} else {
				k, err := auth.IssueAPIKey(ctx, p.ID, "demo", 0)
				if err != nil {
					return nil, false, fmt.Errorf("demo: api key for %s: %w", p.Name, err)
				}
				c.Secret = k.Secret
			}
		} else {
			c.Kind = "token"
			tok, _, err := auth.IssueToken(p, tokenTTL)
			if err != nil {
				return nil, false, fmt.Errorf("demo: token for %s: %w", p.Name, err)
			}
			c.Secret = tok
		}
		creds = append(creds, c)
	}
	if seeded {
		for _, seed := range parts {
			if err := seed(ctx); err != nil {
				return nil, false, fmt.Errorf("demo: %w", err)
			}
		}
	}
	data, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return nil, false, err
	}
	if err := writeFile0600(credPath, append(data, '\n')); err != nil {
		return nil, false, err
	}
	return creds, seeded, nil
}

func writeFile0600(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("demo: write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("demo: chmod %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(fmt.Errorf("demo: write %s", path), err)
	}
	return nil
}

// Find returns the credential of the named principal.
func Find(creds []Credential, principal string) (Credential, bool) {
	for _, c := range creds {
		if c.Principal == principal {
			return c, true
		}
	}
	return Credential{}, false
}
