package mask

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Identifier is the kinds of national identifier a field holds, as a set:
// the e-licence holder id is a resident ID number or a credit code
// depending on the holder.
type Identifier uint8

const (
	// IDResident is a GB 11643 resident ID number (公民身份号码), 18
	// characters: division code of the registering place (1–6), birth
	// date (7–14), sequence code (15–17, the parity of 17 gives the sex),
	// check character (18).
	IDResident Identifier = 1 << iota
	// IDUSCC is a GB 32100 unified social credit code (统一社会信用代码),
	// 18 characters: registration authority (1), organisation category
	// (2), division code (3–8), GB 11714 organisation code (9–17, its own
	// check character last), check character (18).
	IDUSCC
)

// Part is a part of an identifier that another field may repeat.
type Part uint8

// The parts of identifiers a field can repeat. PartNone is the zero value.
const (
	PartNone      Part = iota
	PartBirthDate      // the holder's birth date: resident ID digits 7–14
	PartSex            // the holder's sex code (GB/T 2261.1): parity of resident ID digit 17
	PartDivision       // a division code: resident ID digits 1–6, credit code positions 3–8
	PartOrgCode        // a GB 11714 organisation code: credit code positions 9–17
	partCount
)

var partNames = [partCount]string{"", "birth_date", "sex", "division", "org_code"}

// ParsePart returns the part with the given name ("birth_date", "sex",
// "division", "org_code"); the empty string is PartNone.
func ParsePart(s string) (Part, error) {
	for p, name := range partNames {
		if s == name {
			return Part(p), nil
		}
	}
	return PartNone, fmt.Errorf("mask: unknown identifier part %q (known: %s)", s, strings.Join(partNames[1:], ", "))
}

// String returns the part's name.
func (p Part) String() string {
	if p < partCount {
		return partNames[p]
	}
	return fmt.Sprintf("Part(%d)", uint8(p))
}

// MinCandidates is the fewest values a masked identifier may still have
// given everything a plan returns. A field that would bring the count below
// it is withheld: see Withholding. With the id_number rule (first 6 and
// last 4 shown) the eight hidden digits are the birth date, which leaves
// about 4,300 candidates (the dates from 1900 to 2030, one in eleven of
// which fits the shown check character); the uscc rule leaves
// 31⁸/341 ≈ 2.5·10⁹.
const MinCandidates = 1000

// Withholding is one decision of the derivation rule: fields a plan
// redacts although granted, because with them the reader could rebuild
// what the plan hides of a masked identifier.
type Withholding struct {
	// Identifier is the masked identifier field.
	Identifier string `json:"identifier"`
	// Fields are the withheld fields, sorted.
	Fields []string `json:"fields"`
	// Candidates is how many values the identifier would have had with the
	// fields returned; Remaining is how many it has without them.
	Candidates float64 `json:"candidates"`
	Remaining  float64 `json:"remaining"`
}

// layout describes one identifier kind for the derivation rule.
type layout struct {
	kind  Identifier
	probe string // a canonical value: which positions a rule shows is read off it
	// count estimates how many identifiers agree with what is known:
	// known[i] says position i is shown; parity says the parity of the
	// sex digit is known.
	count func(known []bool, parity bool) float64
	// parts maps a part's characters to identifier positions.
	parts map[Part][]partProbe
}

// partProbe is one written form of a part: a probe value and, for each of
// its runes, the identifier position it repeats (-1: none).
type partProbe struct {
	probe string
	pos   []int
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

// divisionProbes are the 6-, 9- and 12-digit forms of a division code;
// only the first six digits (the county) are in identifiers.
func divisionProbes(at int) []partProbe {
	var out []partProbe
	for _, code := range []string{"431302", "431302001", "431302001001"} {
		pos := slices.Repeat([]int{-1}, len(code))
		copy(pos, seq(at, 6))
		out = append(out, partProbe{code, pos})
	}
	return out
}

var layouts = []layout{
	{
		kind:  IDResident,
		probe: residentProbe,
		count: residentCount,
		parts: map[Part][]partProbe{
			PartBirthDate: {
				{"1985-06-15", []int{6, 7, 8, 9, -1, 10, 11, -1, 12, 13}},
				{"19850615", seq(6, 8)},
			},
			// The sex code is one rune; its "position" is the parity of
			// digit 17, handled by the count.
			PartSex:      {{"1", []int{sexPos}}},
			PartDivision: divisionProbes(0),
		},
	},
	{
		kind:  IDUSCC,
		probe: "91431302MA4L12345X",
		count: usccCount,
		parts: map[Part][]partProbe{
			PartDivision: divisionProbes(2),
			PartOrgCode: {
				{"MA4L12345", seq(8, 9)},
				{"MA4L1234-5", []int{8, 9, 10, 11, 12, 13, 14, 15, -1, 16}},
			},
		},
	},
}

const residentProbe = "43130219850615991X"

// sexPos marks the sex code's parity of resident ID digit 17 (index 16).
const sexPos = -2

// visible reports, for each rune of probe, whether rule r shows it.
func visible(r Rule, probe string) []bool {
	in := []rune(probe)
	out := make([]bool, len(in))
	switch r {
	case RuleNone:
		for i := range out {
			out[i] = true
		}
		return out
	case RuleRedact, RuleKeyedHash:
		return out
	}
	var m masker
	masked := []rune(m.string(r, probe))
	if len(masked) != len(in) {
		return out
	}
	for i := range in {
		out[i] = masked[i] == in[i]
	}
	return out
}

// reveals is what one returned part field shows of an identifier.
type reveals struct {
	name   string
	pos    []int // identifier positions
	parity bool
}

// withhold applies the derivation rule to the plan's fields: for every
// returned, masked identifier it counts the values left given what the
// plan shows of it and of the fields that repeat its parts, and withholds
// (redacts) part fields, the most revealing first, until at least
// MinCandidates remain or no part field shows anything the identifier's
// mask hides.
func (p *Plan) withhold(catalog map[string]Field) {
	for i := range p.fields {
		id := &p.fields[i]
		meta := catalog[id.Name]
		if meta.Identifier == 0 || !id.Masked {
			continue
		}
		withheld := map[string]bool{}
		w := Withholding{Identifier: id.Name}
		for _, l := range layouts {
			if meta.Identifier&l.kind == 0 {
				continue
			}
			before, after, names := p.withholdFor(l, id, catalog)
			if len(names) == 0 {
				continue
			}
			// A mixed identifier reports the layout that was worst off.
			if len(withheld) == 0 || before < w.Candidates {
				w.Candidates, w.Remaining = before, after
			}
			for _, n := range names {
				withheld[n] = true
			}
		}
		if len(withheld) == 0 {
			continue
		}
		for name := range withheld {
			f := &p.fields[p.index[name]]
			f.Rule, f.Masked, f.Plain, f.Protects = RuleRedact, true, false, id.Name
			w.Fields = append(w.Fields, name)
		}
		slices.Sort(w.Fields)
		p.withheld = append(p.withheld, w)
	}
}

func (p *Plan) withholdFor(l layout, id *planField, catalog map[string]Field) (before, after float64, names []string) {
	own := visible(id.Rule, l.probe)
	var rs []reveals
	for j := range p.fields {
		f := &p.fields[j]
		meta := catalog[f.Name]
		if meta.Of != id.Name || meta.Part == PartNone || f.Name == id.Name {
			continue
		}
		r := reveals{name: f.Name}
		for _, pp := range l.parts[meta.Part] {
			for k, v := range visible(f.Rule, pp.probe) {
				switch {
				case !v || pp.pos[k] == -1:
				case pp.pos[k] == sexPos:
					r.parity = true
				default:
					r.pos = append(r.pos, pp.pos[k])
				}
			}
		}
		// Only a field that shows something the identifier's mask hides
		// can be withheld to any effect.
		adds := r.parity && l.kind == IDResident && !own[16]
		for _, i := range r.pos {
			adds = adds || !own[i]
		}
		if adds {
			rs = append(rs, r)
		}
	}
	count := func(rs []reveals) float64 {
		known := slices.Clone(own)
		parity := false
		for _, r := range rs {
			for _, i := range r.pos {
				known[i] = true
			}
			parity = parity || r.parity
		}
		return l.count(known, parity)
	}
	if len(rs) == 0 {
		return 0, 0, nil
	}
	before = count(rs)
	after = before
	for after < MinCandidates && len(rs) > 0 {
		// Withhold the field whose absence leaves the most candidates
		// (ties: the first by name, as the plan's fields are sorted). Two
		// fields showing the same part leave as many without either one,
		// so the loop goes on to the other.
		best, bestN := 0, -1.0
		for k := range rs {
			if n := count(slices.Delete(slices.Clone(rs), k, k+1)); n > bestN {
				best, bestN = k, n
			}
		}
		names = append(names, rs[best].name)
		rs = slices.Delete(rs, best, best+1)
		after = bestN
	}
	return before, after, names
}

// Birth dates counted for a resident ID: 1900-01-01 to 2030-12-31.
var (
	firstBirth = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	lastBirth  = time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC)
)

// residentCount estimates the resident ID numbers that agree with what is
// known. Hidden division digits count 10 each, but a county code no more
// than the about 3,000 county-level divisions; hidden birth-date digits
// count the calendar dates that fit the shown ones; hidden sequence
// digits 10 each (5 for digit 17 when the sex is known); a shown check
// character keeps one number in 11, a hidden one is computed.
func residentCount(known []bool, parity bool) float64 {
	n := divisionCount(known[0:6])
	n *= dateCount(known[6:14])
	for i := 14; i < 17; i++ {
		if !known[i] {
			if i == 16 && parity {
				n *= 5
			} else {
				n *= 10
			}
		}
	}
	if known[17] && n > 1 {
		n /= 11
	}
	return max(n, 1)
}

// usccCount estimates the credit codes that agree with what is known:
// about 12 registration authorities and 5 categories each, the division
// as for resident IDs, 31 symbols for each hidden organisation-code
// character; a shown organisation check character keeps one in 11 and a
// shown code check character one in 31.
func usccCount(known []bool, _ bool) float64 {
	n := 1.0
	if !known[0] {
		n *= 12
	}
	if !known[1] {
		n *= 5
	}
	n *= divisionCount(known[2:8])
	org := 1.0
	for i := 8; i < 16; i++ {
		if !known[i] {
			org *= 31
		}
	}
	if known[16] && org > 1 {
		org /= 11
	}
	n *= org
	if known[17] && n > 1 {
		n /= 31
	}
	return max(n, 1)
}

func divisionCount(known []bool) float64 {
	n := 1.0
	for _, k := range known {
		if !k {
			n *= 10
		}
	}
	return min(n, 3000)
}

// dateCount counts the birth dates whose YYYYMMDD digits agree with the
// known positions of the probe's birth date.
func dateCount(known []bool) float64 {
	all, none := true, true
	for _, k := range known {
		all, none = all && k, none && !k
	}
	dates := birthDates()
	switch {
	case all:
		return 1
	case none:
		return float64(len(dates))
	}
	probe := residentProbe[6:14]
	n := 0
	for _, d := range dates {
		ok := true
		for i, k := range known {
			if k && d[i] != probe[i] {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return float64(n)
}

// birthDates lists the dates from firstBirth to lastBirth as YYYYMMDD.
var birthDates = sync.OnceValue(func() [][8]byte {
	var out [][8]byte
	for d := firstBirth; !d.After(lastBirth); d = d.AddDate(0, 0, 1) {
		var b [8]byte
		copy(b[:], d.Format("20060102"))
		out = append(out, b)
	}
	return out
})
