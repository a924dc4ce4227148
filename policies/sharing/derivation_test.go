package sharing

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/identity"
	"yiku/policies/mask"
	"yiku/schemas"
)

// The attacker below is independent of the rule in package mask: it sees
// only a returned record and tries to rebuild each masked identifier in it
// the way a reader would: the identifier's shown characters, every shown
// date as a possible birth date (a year alone as a possible birth year),
// every shown division code as the region, every shown "1"/"2" as the sex,
// and the check characters. A plan fails if some such guess leaves fewer
// than mask.MinCandidates values and the true identifier is among them.

func residentID(t *testing.T, body17 string) string {
	t.Helper()
	c, err := schemas.ResidentIDCheckChar(body17)
	if err != nil {
		t.Fatal(err)
	}
	return body17 + string(c)
}

func uscc(t *testing.T, body17 string) string {
	t.Helper()
	c, err := schemas.USCCCheckChar(body17)
	if err != nil {
		t.Fatal(err)
	}
	return body17 + string(c)
}

var (
	fullDate  = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})`)
	yearOnly  = regexp.MustCompile(`^(\d{4})-\*\*-\*\*$`)
	divisionV = regexp.MustCompile(`^\d{6}(\d{3}){0,2}$`)
)

// guesses are what a returned record offers for rebuilding an identifier.
type guesses struct {
	dates   []string // YYYYMMDD
	years   []string
	regions []string
	sexes   []byte // '1' male, '2' female
}

func guessesOf(rec map[string]any) guesses {
	var g guesses
	for _, v := range rec {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if m := fullDate.FindStringSubmatch(s); m != nil {
			g.dates = append(g.dates, m[1]+m[2]+m[3])
		}
		if m := yearOnly.FindStringSubmatch(s); m != nil {
			g.years = append(g.years, m[1])
		}
		if divisionV.MatchString(s) {
			g.regions = append(g.regions, s[:6])
		}
		if s == "1" || s == "2" {
			g.sexes = append(g.sexes, s[0])
		}
	}
	slices.Sort(g.dates)
	slices.Sort(g.years)
	slices.Sort(g.regions)
	slices.Sort(g.sexes)
	return g
}

// shown returns the identifier's characters as returned, '?' where hidden;
// a value not of the identifier's length shows nothing.
func shown(v any) []byte {
	out := bytes.Repeat([]byte{'?'}, 18)
	s, ok := v.(string)
	if !ok || len([]rune(s)) != 18 {
		return out
	}
	for i, r := range []rune(s) {
		if r != '*' && r < 128 {
			out[i] = byte(r)
		}
	}
	return out
}

// birthDates are the dates the attacker tries, YYYYMMDD.
var birthDates = func() []string {
	var out []string
	for d := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() <= 2030; d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format("20060102"))
	}
	return out
}()

// rebuildResident counts the resident ID numbers that fit what is shown
// and one combination of guesses, up to limit, and reports whether want is
// among them.
func rebuildResident(known []byte, date, region string, sex byte, limit int, want string) (n int, found bool) {
	k := bytes.Clone(known)
	fill := func(at int, s string) bool {
		for i := range len(s) {
			if k[at+i] != '?' && k[at+i] != s[i] {
				return false
			}
			k[at+i] = s[i]
		}
		return true
	}
	if region != "" && !fill(0, region) {
		return 0, false
	}
	if len(date) == 8 && !fill(6, date) {
		return 0, false
	}
	if len(date) == 4 && !fill(6, date) {
		return 0, false
	}
	for i := 0; i < 6; i++ {
		if k[i] == '?' {
			return limit, false // an unknown region alone leaves thousands
		}
	}
	body := bytes.Clone(k[:17])
	var seqs []string
	for s := 0; s < 1000; s++ {
		digits := fmt.Sprintf("%03d", s)
		ok := (sex != '1' || (digits[2]-'0')%2 == 1) && (sex != '2' || (digits[2]-'0')%2 == 0)
		for i := range 3 {
			ok = ok && (k[14+i] == '?' || k[14+i] == digits[i])
		}
		if ok {
			seqs = append(seqs, digits)
		}
	}
	for _, d := range birthDates {
		ok := true
		for i := range 8 {
			if k[6+i] != '?' && k[6+i] != d[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		copy(body[6:], d)
		for _, digits := range seqs {
			copy(body[14:], digits)
			c, _ := schemas.ResidentIDCheckChar(string(body))
			if k[17] != '?' && k[17] != c {
				continue
			}
			n++
			found = found || string(body)+string(c) == want
			if n >= limit {
				return n, found
			}
		}
	}
	return n, found
}

// rebuildUSCC counts the credit codes that fit what is shown and a region
// guess, up to limit.
func rebuildUSCC(known []byte, region string, limit int, want string) (n int, found bool) {
	k := bytes.Clone(known)
	if region != "" {
		for i := range 6 {
			if k[2+i] != '?' && k[2+i] != region[i] {
				return 0, false
			}
			k[2+i] = region[i]
		}
	}
	hidden := 0
	for _, c := range k[:16] {
		if c == '?' {
			hidden++
		}
	}
	if hidden > 4 {
		return limit, false // 31⁵ / 341 > 80,000
	}
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	var walk func(i int, body []byte) bool
	walk = func(i int, body []byte) bool {
		if i == 16 {
			org, _ := schemas.OrgCodeCheckChar(string(body[8:16]))
			if k[16] != '?' && k[16] != org {
				return true
			}
			b := append(bytes.Clone(body[:16]), org)
			c, _ := schemas.USCCCheckChar(string(b))
			if k[17] != '?' && k[17] != c {
				return true
			}
			n++
			found = found || string(b)+string(c) == want
			return n < limit
		}
		if k[i] != '?' {
			body[i] = k[i]
			return walk(i+1, body)
		}
		for _, c := range []byte(alphabet) {
			body[i] = c
			if !walk(i+1, body) {
				return false
			}
		}
		return true
	}
	walk(0, make([]byte, 16))
	return n, found
}

// rebuilt reports a guess that pins want among fewer than
// mask.MinCandidates values, or "".
func rebuilt(returned any, want string, g guesses) string {
	memoKey := fmt.Sprint(returned, want, g)
	if how, ok := rebuiltMemo[memoKey]; ok {
		return how
	}
	how := rebuiltUncached(returned, want, g)
	rebuiltMemo[memoKey] = how
	return how
}

var rebuiltMemo = map[string]string{}

func rebuiltUncached(returned any, want string, g guesses) string {
	if returned == want {
		return "" // returned in plain: nothing is hidden
	}
	known := shown(returned)
	limit := mask.MinCandidates
	if _, err := schemas.ParseResidentID(want); err == nil {
		dates := append(append([]string{""}, g.dates...), g.years...)
		regions := append([]string{""}, g.regions...)
		sexes := append([]byte{0}, g.sexes...)
		for _, d := range dates {
			for _, r := range regions {
				for _, s := range sexes {
					if n, found := rebuildResident(known, d, r, s, limit, want); n < limit && found {
						return fmt.Sprintf("%d candidates with date %q region %q sex %q", n, d, r, s)
					}
				}
			}
		}
		return ""
	}
	for _, r := range append([]string{""}, g.regions...) {
		if n, found := rebuildUSCC(known, r, limit, want); n < limit && found {
			return fmt.Sprintf("%d candidates with region %q", n, r)
		}
	}
	return ""
}

func TestBaseSchemaPlansHideIdentifiers(t *testing.T) {
	person := residentID(t, "43130219850312003")
	rep := residentID(t, "43130219700101001")
	org, err := schemas.OrgCodeCheckChar("MA4L1234")
	if err != nil {
		t.Fatal(err)
	}
	code := uscc(t, "91431302MA4L1234"+string(org))
	samples := map[string][]map[string]any{
		seed.Population: {{"id_number": person, "name": "张三丰", "sex": "1", "ethnicity": "01", "birth_date": "1985-03-12",
			"domicile_division": "431302", "domicile_address": "湖南省娄底市娄星区乐坪街道东升社区", "mobile": "13800138000", "marital_status": "20"}},
		seed.LegalEntity: {{"credit_code": code, "name": "娄底市示例科技有限公司", "entity_type": "有限责任公司", "legal_representative": "王五",
			"legal_representative_id": rep, "registered_capital": 100, "registered_capital_currency": "CNY", "established_date": "2015-06-01",
			"registration_authority": "娄底市娄星区市场监督管理局", "address": "湖南省娄底市娄星区乐坪街道1号", "division": "431302", "business_scope": "软件开发", "status": "存续"}},
		seed.EnterpriseCredit: {{"credit_code": code, "name": "娄底市示例科技有限公司", "credit_rating": "A", "credit_rating_year": 2025,
			"abnormal_operation": false, "serious_violation": false, "dishonest_executee": false, "administrative_penalties": 0, "updated_at": "2025-06-30T08:00:00+08:00"}},
		seed.BusinessLicence: {
			{"licence_id": "1.2.156.3005.2.11100000000013338W001.11431302MB1234567X.0001.001.X", "licence_type_code": "11100000000013338W001", "licence_name": "营业执照",
				"licence_number": "431302000012345", "holder_id_type": "resident_id", "holder_id": person, "holder_name": "张三丰",
				"issuer_code": code, "issuer_name": "娄星区市场监督管理局", "issue_date": "2020-01-02", "valid_until": "2040-01-01", "status": "valid"},
			{"licence_id": "1.2.156.3005.2.11100000000013338W001.11431302MB1234567X.0002.001.X", "licence_type_code": "11100000000013338W001", "licence_name": "营业执照",
				"licence_number": "431302000012346", "holder_id_type": "uscc", "holder_id": code, "holder_name": "娄底市示例科技有限公司",
				"issuer_code": code, "issuer_name": "娄星区市场监督管理局", "issue_date": "2015-06-01", "status": "valid"},
		},
	}
	rs, docs, err := seed.Resources()
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	for i, res := range rs {
		if res.BaseLibrary == catalog.LibDepartment || res.BaseLibrary == catalog.LibTheme {
			continue // not on a base schema
		}
		t.Run(res.ID, func(t *testing.T) {
			fields, err := MaskFields(res, docs[i])
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range fields {
				if f.Identifier != 0 {
					ids = append(ids, f.Name)
				}
			}
			if len(ids) == 0 {
				t.Fatal("no identifier field found from the schema's formats")
			}
			// Catalog rules as registered, and the identifiers under the
			// other rules a catalog might choose for them.
			variants := map[string][]mask.Field{"catalog": fields}
			for _, r := range []mask.Rule{mask.RuleIDNumber, mask.RuleMobile, mask.RuleKeyedHash, mask.RuleRedact, mask.RuleUSCC} {
				v := make([]mask.Field, len(fields))
				copy(v, fields)
				for j := range v {
					if v[j].Identifier != 0 {
						v[j].Rule, v[j].Sensitive = r, true
					}
					if v[j].Part == mask.PartBirthDate {
						v[j].Rule, v[j].Sensitive = mask.RuleDate, true
					}
				}
				variants[r.String()+"+date"] = v
			}
			// Every subset of the fields that matter to the attacker
			// (identifiers, annotated parts, and fields whose sample values
			// it would try as a date, year, division or sex); the others
			// change nothing it sees and are always granted.
			var matter, always []string
			for _, f := range fields {
				relevant := f.Identifier != 0 || f.Part != mask.PartNone
				for _, rec := range samples[res.ID] {
					if v, ok := rec[f.Name].(string); ok {
						g := guessesOf(map[string]any{"v": v})
						relevant = relevant || len(g.dates)+len(g.years)+len(g.regions)+len(g.sexes) > 0
					}
				}
				if relevant {
					matter = append(matter, f.Name)
				} else {
					always = append(always, f.Name)
				}
			}
			plans, withheld := 0, 0
			for label, fs := range variants {
				for set := 0; set < 1<<len(matter); set++ {
					granted := slices.Clone(always)
					for j, n := range matter {
						if set&(1<<j) != 0 {
							granted = append(granted, n)
						}
					}
					// The grant's plain list: none, or every granted field
					// but the identifiers.
					var plain []string
					for _, n := range granted {
						if !slices.Contains(ids, n) {
							plain = append(plain, n)
						}
					}
					for _, plain := range [][]string{nil, plain} {
						p, err := mask.NewPlan(fs, granted, plain, key)
						if err != nil {
							t.Fatal(err)
						}
						plans++
						withheld += len(p.Withheld())
						for _, rec := range samples[res.ID] {
							out := p.Apply(rec)
							g := guessesOf(out)
							for _, id := range ids {
								v, ok := out[id]
								if !ok {
									continue
								}
								if how := rebuilt(v, rec[id].(string), g); how != "" {
									t.Fatalf("%s, fields %v, plain %v: %s rebuilt from %v: %s", label, granted, plain, id, out, how)
								}
							}
						}
					}
				}
			}
			t.Logf("%d plans over %v checked, %d withholdings", plans, matter, withheld)
		})
	}
}

// TestAttackerRebuilds shows the attacker is not toothless: without the
// rule, the population read of before rebuilds the ID number outright,
// and a birth year narrows it below the threshold.
func TestAttackerRebuilds(t *testing.T) {
	person := residentID(t, "43130219850312003")
	masked, err := mask.Value(mask.RuleIDNumber, person, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]any{"id_number": masked, "birth_date": "1985-03-12", "sex": "1"}
	if how := rebuilt(masked, person, guessesOf(rec)); !strings.HasPrefix(how, "1 candidates") {
		t.Fatalf("6+4 with the birth date: %q, want 1 candidate", how)
	}
	rec["birth_date"] = "1985-**-**"
	if how := rebuilt(masked, person, guessesOf(rec)); how == "" {
		t.Fatal("6+4 with the birth year: not rebuilt")
	}
	delete(rec, "birth_date")
	if how := rebuilt(masked, person, guessesOf(rec)); how != "" {
		t.Fatalf("6+4 alone: %s", how)
	}
}

func TestDecisionRecordID(t *testing.T) {
	f := newFixture(t)
	lib := strings.Repeat("ab", 32)
	reader := readers()[0].p
	d, err := f.gate.Decide(t.Context(), ReadRequest{Principal: reader, Resource: f.dir[seed.Population], Action: ActionRead, Purpose: "户籍核验"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.gate.Decide(t.Context(), ReadRequest{Principal: reader, Resource: f.dir[seed.Population], Action: ActionRead, Purpose: "其他事由"})
	if err != nil {
		t.Fatal(err)
	}
	if id := d.RecordID(lib); id == lib || len(id) != 64 || id != again.RecordID(lib) {
		t.Fatalf("partial view: %q (again %q) for library id %s", id, again.RecordID(lib), lib)
	}
	if d.RecordID(lib) == d.RecordID(strings.Repeat("cd", 32)) {
		t.Fatal("two library ids, one view id")
	}
	psb := identity.Principal{ID: "psb", Kind: identity.KindSystem, Role: identity.RoleSystem, DepartmentCode: f.dir[seed.Population].ProviderCode}
	own, err := f.gate.Decide(t.Context(), ReadRequest{Principal: psb, Resource: f.dir[seed.Population], Action: ActionRead, Purpose: "户籍核验"})
	if err != nil {
		t.Fatal(err)
	}
	if own.RecordID(lib) != lib {
		t.Fatalf("provider sees %s, want the library id", own.RecordID(lib))
	}
	if (Decision{Allowed: true, Basis: "grant:x"}).RecordID(lib) != "" {
		t.Fatal("a decision without a key shows an id")
	}
}
