// Package loadgen generates realistic records for load tests and the
// `yiku bench` tool: population records with valid GB 11643 resident ID
// numbers and legal-entity records with valid GB 32100 credit codes, all
// in Louxing District, plus a chosen share of invalid records (wrong check
// characters, missing required fields, values outside their enums). It also
// runs the publish load against a hub and the raw baselines the hub is
// compared with.
package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"yiku/schemas"
)

var (
	surnames  = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "曾", "彭", "欧阳"}
	given     = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "建国", "小红"}
	divisions = []string{"431302001", "431302002", "431302005", "431302001001", "431302002001", "431302"}
	streets   = []string{"乐坪西街", "花山路", "大科街", "长青中街", "春园路", "湘阳街"}
	entities  = []string{"有限责任公司", "个体工商户", "股份有限公司", "农民专业合作社"}
	trades    = []string{"商贸", "建材", "餐饮", "物流", "农业", "科技", "家政", "医药"}
)

// ResidentID returns the n-th valid resident ID number of a person born in
// Louxing (division 431302): distinct n give distinct numbers.
func ResidentID(n int) string {
	// 365 birth dates × 1000 sequence codes per year, over decades.
	day := n % 28
	month := (n / 28) % 12
	seq := (n / (28 * 12)) % 1000
	year := 1950 + (n/(28*12*1000))%60
	body := fmt.Sprintf("431302%04d%02d%02d%03d", year, month+1, day+1, seq)
	c, err := schemas.ResidentIDCheckChar(body)
	if err != nil {
		panic(fmt.Sprintf("loadgen: resident id body %s: %v", body, err))
	}
	return body + string(c)
}

// CreditCode returns the n-th valid unified social credit code of an
// enterprise registered in Louxing: distinct n give distinct codes.
func CreditCode(n int) string {
	org8 := fmt.Sprintf("MA%06X", n%0xFFFFFF)
	oc, err := schemas.OrgCodeCheckChar(org8)
	if err != nil {
		panic(fmt.Sprintf("loadgen: organisation code %s: %v", org8, err))
	}
	body := "91431302" + org8 + string(oc)
	c, err := schemas.USCCCheckChar(body)
	if err != nil {
		panic(fmt.Sprintf("loadgen: credit code body %s: %v", body, err))
	}
	return body + string(c)
}

// Person returns a valid population record for subject n; rev changes the
// mutable fields, so the same subject can get new versions.
func Person(r *rand.Rand, n, rev int) map[string]any {
	id := ResidentID(n)
	sex := "1"
	if id[16]%2 == 0 {
		sex = "2"
	}
	rec := map[string]any{
		"id_number":         id,
		"name":              surnames[r.IntN(len(surnames))] + given[r.IntN(len(given))],
		"sex":               sex,
		"ethnicity":         "01",
		"birth_date":        id[6:10] + "-" + id[10:12] + "-" + id[12:14],
		"domicile_division": divisions[(n+rev)%len(divisions)],
		"domicile_address":  fmt.Sprintf("湖南省娄底市娄星区%s%d号", streets[(n+rev)%len(streets)], 1+(n+rev)%300),
		"mobile":            fmt.Sprintf("1%d%09d", 3+r.IntN(7), r.IntN(1_000_000_000)),
		"marital_status":    []string{"10", "20", "21", "30", "40"}[(n+rev)%5],
	}
	return rec
}

// Entity returns a valid legal-entity record for subject n.
func Entity(r *rand.Rand, n, rev int) map[string]any {
	return map[string]any{
		"credit_code":             CreditCode(n),
		"name":                    fmt.Sprintf("娄底市%s%s%d号%s", trades[n%len(trades)], streets[n%len(streets)], n%1000, entities[n%len(entities)]),
		"entity_type":             entities[n%len(entities)],
		"legal_representative":    surnames[r.IntN(len(surnames))] + given[r.IntN(len(given))],
		"legal_representative_id": ResidentID(n*7 + 3),
		"registered_capital":      float64(10 + (n+rev)%5000),
		"established_date":        fmt.Sprintf("20%02d-%02d-%02d", n%24, 1+n%12, 1+n%28),
		"registration_authority":  "娄底市娄星区市场监督管理局",
		"address":                 fmt.Sprintf("湖南省娄底市娄星区%s%d号", streets[(n+rev)%len(streets)], 1+n%300),
		"division":                divisions[n%len(divisions)],
		"status":                  []string{"存续", "在业"}[(n+rev)%2],
	}
}

// Invalid damages a valid record in one of several ways and returns the
// JSON pointer and schema rule the damage should be reported under.
func Invalid(r *rand.Rand, rec map[string]any, key string) (pointer, rule string) {
	switch r.IntN(3) {
	case 0:
		// A wrong check character.
		v := rec[key].(string)
		last := v[len(v)-1]
		repl := byte('0')
		if last == '0' {
			repl = '1'
		}
		rec[key] = v[:len(v)-1] + string(repl)
		return "/" + key, "format"
	case 1:
		delete(rec, "name")
		return "", "required"
	default:
		rec["unexpected_field"] = "x"
		return "", "additionalProperties"
	}
}

// Kind is which base library a generated record belongs to.
type Kind string

const (
	KindPopulation  Kind = "population"
	KindLegalEntity Kind = "legal-entity"
)

// SubjectKey returns the subject key field of kind.
func (k Kind) SubjectKey() string {
	if k == KindLegalEntity {
		return "credit_code"
	}
	return "id_number"
}

// Batch returns size records of kind as a JSON array, subjects numbered
// from first, of which about invalidShare (0..1) are invalid. It returns
// the body and how many records are valid.
func Batch(r *rand.Rand, kind Kind, first, size int, invalidShare float64) ([]byte, int) {
	recs := make([]map[string]any, size)
	valid := 0
	for i := range recs {
		if kind == KindLegalEntity {
			recs[i] = Entity(r, first+i, 0)
		} else {
			recs[i] = Person(r, first+i, 0)
		}
		if invalidShare > 0 && r.Float64() < invalidShare {
			Invalid(r, recs[i], kind.SubjectKey())
			continue
		}
		valid++
	}
	body, err := json.Marshal(recs)
	if err != nil {
		panic(fmt.Sprintf("loadgen: encode batch: %v", err))
	}
	return body, valid
}
