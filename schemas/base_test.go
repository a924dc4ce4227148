package schemas

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestBaseFilesAndMetadata(t *testing.T) {
	entries, err := os.ReadDir("base")
	if err != nil {
		t.Fatal(err)
	}
	var files, names []string
	for _, e := range entries {
		files = append(files, strings.TrimSuffix(e.Name(), ".json"))
	}
	for _, b := range Base() {
		names = append(names, b.Name)
	}
	slices.Sort(files)
	slices.Sort(names)
	if !slices.Equal(files, names) {
		t.Fatalf("base/ holds %v, Base() returns %v", files, names)
	}

	for _, b := range Base() {
		var doc struct {
			Schema     string         `json:"$schema"`
			ID         string         `json:"$id"`
			Title      string         `json:"title"`
			AddProps   *bool          `json:"additionalProperties"`
			Required   []string       `json:"required"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(b.JSON, &doc); err != nil {
			t.Fatalf("%s: %v", b.Name, err)
		}
		if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID != b.ID || doc.Title != b.Library {
			t.Errorf("%s: $schema %q, $id %q, title %q", b.Name, doc.Schema, doc.ID, doc.Title)
		}
		if doc.AddProps == nil || *doc.AddProps {
			t.Errorf("%s: additionalProperties must be false", b.Name)
		}
		if _, ok := doc.Properties[b.SubjectKey]; !ok || !slices.Contains(doc.Required, b.SubjectKey) {
			t.Errorf("%s: subject key %s must be a required property", b.Name, b.SubjectKey)
		}
		if len(b.SubjectTypes) == 0 {
			t.Errorf("%s: no subject type", b.Name)
		}
		for name, p := range doc.Properties {
			prop, _ := p.(map[string]any)
			title, _ := prop["title"].(string)
			desc, _ := prop["description"].(string)
			if !strings.ContainsFunc(title, func(r rune) bool { return unicode.Is(unicode.Han, r) }) || desc == "" {
				t.Errorf("%s.%s: needs a Chinese title and a description", b.Name, name)
			}
		}
	}
	if _, ok := BaseByName("population"); !ok {
		t.Error("BaseByName(population) not found")
	}
	if _, ok := BaseByName("nope"); ok {
		t.Error("BaseByName(nope) found")
	}
	// Callers get copies.
	Base()[0].JSON[0] = 'x'
	if Base()[0].JSON[0] != '{' {
		t.Error("Base() shares its bytes")
	}
}

func TestCompileBaseUnknown(t *testing.T) {
	if _, err := CompileBase("nope"); err == nil {
		t.Error("CompileBase(nope) succeeded")
	}
}

// A base schema can be used through $ref from a catalog schema, and the
// compiler refuses to load anything else.
func TestNewCompilerRef(t *testing.T) {
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("catalog.json", map[string]any{"$ref": "urn:yiku:schema:base:population"}); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("catalog.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(map[string]any{"id_number": "431302198506159912", "name": "张三"}); err == nil {
		t.Error("bad ID accepted through $ref")
	}
	if err := c.AddResource("remote.json", map[string]any{"$ref": "file:///etc/passwd"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("remote.json"); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("file $ref: %v", err)
	}
}

type recordCase struct {
	name    string
	record  string
	pointer string // "" with keyword "" = valid
	keyword string
	msg     string
}

func TestBaseRecords(t *testing.T) {
	licenceID, err := BuildElicenceID(testTypeCode, testIssuer, "2025LX000123", "001")
	if err != nil {
		t.Fatal(err)
	}
	licence := func(extra string) string {
		return `{"licence_id": "` + licenceID + `", "licence_type_code": "` + testTypeCode + `",
			"licence_name": "食品经营许可证", "holder_name": "娄星区示例餐饮店",
			"issuer_code": "` + testIssuer + `", "issue_date": "2025-03-01", "status": "valid"` + extra + `}`
	}
	cases := map[string][]recordCase{
		"population": {
			{name: "full", record: `{"id_number": "431302198506159913", "name": "张三", "sex": "1", "ethnicity": "01",
				"birth_date": "1985-06-15", "domicile_division": "431302001", "domicile_address": "湖南省娄底市娄星区乐坪街道",
				"mobile": "13800000000", "marital_status": "20"}`},
			{name: "minimal", record: `{"id_number": "11010519491231002X", "name": "李四"}`},
			{name: "historic area", record: `{"id_number": "110228198001019934", "name": "王五"}`},
			{"wrong check", `{"id_number": "431302198506159912", "name": "张三"}`, "/id_number", "format", "check character should be 3, got 2"},
			{"lower-case x", `{"id_number": "11010519491231002x", "name": "张三"}`, "/id_number", "format", "lower-case x"},
			{"no name", `{"id_number": "431302198506159913"}`, "", "required", "name"},
			{"extra field", `{"id_number": "431302198506159913", "name": "张三", "nickname": "三"}`, "", "additionalProperties", "nickname"},
			{"sex", `{"id_number": "431302198506159913", "name": "张三", "sex": "M"}`, "/sex", "enum", ""},
			{"mobile", `{"id_number": "431302198506159913", "name": "张三", "mobile": "1380000000"}`, "/mobile", "pattern", ""},
			{"birth date", `{"id_number": "431302198506159913", "name": "张三", "birth_date": "1985-02-30"}`, "/birth_date", "format", ""},
			{"division", `{"id_number": "431302198506159913", "name": "张三", "domicile_division": "431302000"}`, "/domicile_division", "format", "township part 000"},
			{"ethnicity", `{"id_number": "431302198506159913", "name": "张三", "ethnicity": "57"}`, "/ethnicity", "pattern", ""},
		},
		"legal-entity": {
			{name: "full", record: `{"credit_code": "12431302D99000282G", "name": "娄底市娄星区示例中心", "entity_type": "事业单位",
				"legal_representative": "张三", "legal_representative_id": "431302199001019928", "registered_capital": 100.5,
				"registered_capital_currency": "CNY", "established_date": "2010-05-20", "registration_authority": "娄星区事业单位登记管理局",
				"address": "湖南省娄底市娄星区", "division": "431302", "business_scope": "公共服务", "status": "存续"}`},
			{name: "USCC with warnings", record: `{"credit_code": "91431302MA4LD9Q001", "name": "示例公司"}`},
			{"wrong check", `{"credit_code": "91431302MA4LD9Q04E", "name": "示例公司"}`, "/credit_code", "format", "check character should be D, got E"},
			{"representative ID", `{"credit_code": "12431302D99000282G", "name": "示例", "legal_representative_id": "431302200102309911"}`,
				"/legal_representative_id", "format", "day 30 does not exist"},
			{"status", `{"credit_code": "12431302D99000282G", "name": "示例", "status": "active"}`, "/status", "enum", ""},
			{"capital", `{"credit_code": "12431302D99000282G", "name": "示例", "registered_capital": -1}`, "/registered_capital", "minimum", ""},
			{"capital type", `{"credit_code": "12431302D99000282G", "name": "示例", "registered_capital": "100"}`, "/registered_capital", "type", ""},
		},
		"enterprise-credit": {
			{name: "full", record: `{"credit_code": "91350100M000100Y43", "name": "示例公司", "credit_rating": "A", "credit_rating_year": 2024,
				"abnormal_operation": false, "serious_violation": false, "dishonest_executee": true, "administrative_penalties": 2,
				"updated_at": "2025-06-30T08:00:00+08:00"}`},
			{"penalties", `{"credit_code": "91350100M000100Y43", "name": "示例", "administrative_penalties": 1.5, "updated_at": "2025-06-30T08:00:00+08:00"}`,
				"/administrative_penalties", "type", ""},
			{"updated_at", `{"credit_code": "91350100M000100Y43", "name": "示例", "updated_at": "2025-06-30 08:00"}`, "/updated_at", "format", ""},
			{"flag type", `{"credit_code": "91350100M000100Y43", "name": "示例", "abnormal_operation": "否", "updated_at": "2025-06-30T08:00:00+08:00"}`,
				"/abnormal_operation", "type", ""},
		},
		"elicence": {
			{name: "legal person", record: licence(`, "holder_id_type": "uscc", "holder_id": "52431381D99001031D",
				"valid_until": "2030-02-28", "file_sha256": "` + strings.Repeat("ab", 32) + `"`)},
			{name: "natural person", record: licence(`, "holder_id_type": "resident_id", "holder_id": "431302199001019928"`)},
			{"ID given as USCC", licence(`, "holder_id_type": "resident_id", "holder_id": "52431381D99001031D"`), "/holder_id", "format", "cn-resident-id"},
			{"USCC given as ID", licence(`, "holder_id_type": "uscc", "holder_id": "431302199001019928"`), "/holder_id", "format", "cn-uscc"},
			{"holder type", licence(`, "holder_id_type": "passport", "holder_id": "E12345678"`), "/holder_id_type", "enum", ""},
			{"sha256", licence(`, "holder_id_type": "uscc", "holder_id": "52431381D99001031D", "file_sha256": "` + strings.Repeat("AB", 32) + `"`),
				"/file_sha256", "pattern", ""},
			{"licence id", strings.Replace(licence(`, "holder_id_type": "uscc", "holder_id": "52431381D99001031D"`), licenceID, licenceID[:len(licenceID)-1]+"Z", 1),
				"/licence_id", "format", "check character should be"},
		},
	}
	for name, tests := range cases {
		sch, err := CompileBase(name)
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				if tt.name == "licence id" && strings.HasSuffix(licenceID, "Z") {
					t.Skip("generated ID already ends in Z")
				}
				doc := mustUnmarshal(t, tt.record)
				err := sch.Validate(doc)
				if tt.keyword == "" {
					if err != nil {
						t.Fatalf("valid record refused: %v", err)
					}
					return
				}
				vs := Violations(err)
				if len(vs) == 0 {
					t.Fatalf("invalid record accepted (err %v)", err)
				}
				for _, v := range vs {
					if v.Pointer == tt.pointer && v.Keyword == tt.keyword && strings.Contains(v.Message, tt.msg) {
						return
					}
				}
				t.Errorf("violations %+v, want %s at %q containing %q", vs, tt.keyword, tt.pointer, tt.msg)
			})
		}
	}
}
