package mask

import (
	"bytes"
	"slices"
	"testing"
)

// person is a population-like resource: a resident ID number and fields
// that repeat its parts.
func person(idRule, birthRule Rule) []Field {
	return []Field{
		{Name: "id_number", Rule: idRule, Sensitive: true, Identifier: IDResident},
		{Name: "birth_date", Rule: birthRule, Part: PartBirthDate, Of: "id_number"},
		{Name: "sex", Part: PartSex, Of: "id_number"},
		{Name: "domicile_division", Part: PartDivision, Of: "id_number"},
		{Name: "name", Rule: RuleName, Sensitive: true},
	}
}

func TestWithhold(t *testing.T) {
	entity := []Field{
		{Name: "credit_code", Rule: RuleUSCC, Sensitive: true, Identifier: IDUSCC},
		{Name: "division", Part: PartDivision, Of: "credit_code"},
		{Name: "org_code", Part: PartOrgCode, Of: "credit_code"},
		{Name: "established_date"},
	}
	holder := []Field{
		{Name: "holder_id", Rule: RuleIDNumber, Sensitive: true, Identifier: IDResident | IDUSCC},
		{Name: "holder_division", Part: PartDivision, Of: "holder_id"},
	}
	all := func(fs []Field) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Name)
		}
		return out
	}
	tests := []struct {
		name     string
		fields   []Field
		granted  []string
		plain    []string
		withheld []string // fields redacted by the rule
		ident    string
	}{
		{"id 6+4 with birth date: the date is the hidden part", person(RuleIDNumber, RuleNone), all(person(0, 0)), nil, []string{"birth_date"}, "id_number"},
		{"birth date masked to its year still leaves too few", person(RuleIDNumber, RuleDate), all(person(0, 0)), nil, []string{"birth_date"}, "id_number"},
		{"birth date redacted by the catalog: nothing to withhold", person(RuleIDNumber, RuleRedact), all(person(0, 0)), nil, nil, ""},
		{"sex and division repeat shown digits only", person(RuleIDNumber, RuleNone), []string{"id_number", "sex", "domicile_division"}, nil, nil, ""},
		{"id in plain: nothing hidden", person(RuleIDNumber, RuleNone), all(person(0, 0)), []string{"id_number"}, nil, ""},
		{"id not returned: not the rule's business", person(RuleIDNumber, RuleNone), []string{"birth_date", "sex"}, nil, nil, ""},
		// A pseudonymised ID with birth date, sex and division leaves 500
		// sequence numbers; withholding the birth date leaves plenty.
		{"keyed hash id with every part", person(RuleKeyedHash, RuleNone), all(person(0, 0)), nil, []string{"birth_date"}, "id_number"},
		{"keyed hash id with sex and division", person(RuleKeyedHash, RuleNone), []string{"id_number", "sex", "domicile_division"}, nil, nil, ""},
		// The mobile rule shows 3+4: the division's last three digits and
		// the birth date are hidden.
		{"id under the mobile rule", person(RuleMobile, RuleNone), all(person(0, 0)), nil, []string{"birth_date"}, "id_number"},
		{"credit code 8+2 with division", entity, []string{"credit_code", "division", "established_date"}, nil, nil, ""},
		{"credit code 8+2 with organisation code", entity, all(entity), nil, []string{"org_code"}, "credit_code"},
		{"mixed holder id, division", holder, all(holder), nil, nil, ""},
		// Two fields with the birth date: withholding one alone gains
		// nothing, both go.
		{"birth date twice", append(person(RuleIDNumber, RuleNone), Field{Name: "birth_date_text", Part: PartBirthDate, Of: "id_number"}),
			append(all(person(0, 0)), "birth_date_text"), nil, []string{"birth_date", "birth_date_text"}, "id_number"},
		// The year alone and the full date: the full date goes first, then
		// the year, as the year alone still leaves too few.
		{"full date and year", append(person(RuleIDNumber, RuleNone), Field{Name: "birth_year", Rule: RuleDate, Sensitive: true, Part: PartBirthDate, Of: "id_number"}),
			append(all(person(0, 0)), "birth_year"), nil, []string{"birth_date", "birth_year"}, "id_number"},
	}
	key := bytes.Repeat([]byte{1}, 32)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(tc.fields, tc.granted, tc.plain, key)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range p.Fields() {
				if f.Protects != "" {
					got = append(got, f.Name)
					if f.Rule != RuleRedact || !f.Masked || f.Plain || f.Protects != tc.ident {
						t.Errorf("%s: withheld as %+v", f.Name, f)
					}
				}
			}
			if !slices.Equal(got, tc.withheld) {
				t.Fatalf("withheld %v, want %v", got, tc.withheld)
			}
			ws := p.Withheld()
			if len(tc.withheld) == 0 {
				if len(ws) != 0 {
					t.Fatalf("Withheld() = %+v, want none", ws)
				}
				return
			}
			if len(ws) != 1 || ws[0].Identifier != tc.ident || !slices.Equal(ws[0].Fields, tc.withheld) {
				t.Fatalf("Withheld() = %+v", ws)
			}
			if ws[0].Candidates >= MinCandidates || ws[0].Remaining < MinCandidates {
				t.Fatalf("candidates %v → %v, want below %d → at least it", ws[0].Candidates, ws[0].Remaining, MinCandidates)
			}
		})
	}
}

func TestWithholdApplies(t *testing.T) {
	p, err := NewPlan(person(RuleIDNumber, RuleNone), []string{"id_number", "birth_date", "sex"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]any{"id_number": "43130219850615991X", "birth_date": "1985-06-15", "sex": "1"}
	got := p.Apply(rec)
	want := map[string]any{"id_number": "431302********991X", "birth_date": "***", "sex": "1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Apply: %s = %v, want %v", k, got[k], v)
		}
	}
	raw, err := p.ApplyJSON([]byte(`{"birth_date":"1985-06-15","id_number":"43130219850615991X","sex":"1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"birth_date":"***","id_number":"431302********991X","sex":"1"}` {
		t.Errorf("ApplyJSON = %s", raw)
	}
}

func TestResidentCount(t *testing.T) {
	own := visible(RuleIDNumber, residentProbe)
	n := residentCount(own, false)
	// Dates 1900-01-01..2030-12-31 (47,846 days) over 11 check characters.
	if n < 4000 || n > 4500 {
		t.Fatalf("6+4 leaves %v candidates, want about 4,350", n)
	}
	if n := residentCount(visible(RuleNone, residentProbe), true); n != 1 {
		t.Fatalf("a shown ID leaves %v", n)
	}
}

func TestParsePart(t *testing.T) {
	for _, p := range []Part{PartNone, PartBirthDate, PartSex, PartDivision, PartOrgCode} {
		got, err := ParsePart(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePart(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParsePart("age"); err == nil {
		t.Error("ParsePart(age): no error")
	}
	if _, err := NewPlan([]Field{{Name: "a", Part: partCount}}, nil, nil, nil); err == nil {
		t.Error("NewPlan with an unknown part: no error")
	}
}

// FuzzWithhold builds plans from arbitrary rules, parts and identifier
// kinds: the rule never fails or panics, withheld fields are redacted,
// and withholding only ever leaves more candidates.
func FuzzWithhold(f *testing.F) {
	f.Add(uint8(RuleIDNumber), uint8(RuleNone), uint8(PartBirthDate), uint8(RuleNone), uint8(PartSex), uint8(IDResident), uint8(0xff))
	f.Add(uint8(RuleUSCC), uint8(RuleAddress), uint8(PartDivision), uint8(RuleNone), uint8(PartOrgCode), uint8(IDUSCC), uint8(0x0f))
	f.Add(uint8(RuleKeyedHash), uint8(RuleDate), uint8(PartBirthDate), uint8(RuleMobile), uint8(PartDivision), uint8(IDResident|IDUSCC), uint8(0x07))
	key := bytes.Repeat([]byte{3}, 32)
	f.Fuzz(func(t *testing.T, idRule, aRule, aPart, bRule, bPart, kind, set uint8) {
		fields := []Field{
			{Name: "id", Rule: Rule(idRule % uint8(ruleCount)), Identifier: Identifier(kind % 4)},
			{Name: "a", Rule: Rule(aRule % uint8(ruleCount)), Part: Part(aPart % uint8(partCount)), Of: "id"},
			{Name: "b", Rule: Rule(bRule % uint8(ruleCount)), Part: Part(bPart % uint8(partCount)), Of: "id"},
		}
		var granted, plain []string
		for i, n := range []string{"id", "a", "b"} {
			if set&(1<<i) != 0 {
				granted = append(granted, n)
				if set&(1<<(i+3)) != 0 {
					plain = append(plain, n)
				}
			}
		}
		p, err := NewPlan(fields, granted, plain, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range p.Withheld() {
			if w.Identifier != "id" || len(w.Fields) == 0 || w.Remaining < w.Candidates {
				t.Fatalf("withholding %+v", w)
			}
		}
		for _, v := range p.Fields() {
			if v.Protects != "" && (v.Rule != RuleRedact || v.Plain || v.Name == "id") {
				t.Fatalf("withheld field %+v", v)
			}
			if v.Name == "id" && !v.Masked && len(p.Withheld()) > 0 {
				t.Fatalf("plain identifier, yet fields withheld: %+v", p.Withheld())
			}
		}
	})
}
