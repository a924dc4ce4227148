package schemas

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SubjectType says whose data a record is about.
type SubjectType string

const (
	NaturalPerson SubjectType = "natural_person" // keyed by resident ID number
	LegalPerson   SubjectType = "legal_person"   // keyed by USCC
)

// BaseSchema is one of the built-in base-library schemas [基础信息资源].
type BaseSchema struct {
	Name    string // file name without .json, e.g. "population"
	Library string // base library it belongs to, e.g. 人口基础信息
	ID      string // the schema's $id
	// SubjectTypes lists the kinds of subject a record can be about; an
	// e-licence can be held by either.
	SubjectTypes []SubjectType
	// SubjectKey is the property that identifies the subject.
	SubjectKey string
	JSON       []byte // draft 2020-12 schema document
}

var (
	//go:embed base/population.json
	populationJSON string
	//go:embed base/legal-entity.json
	legalEntityJSON string
	//go:embed base/enterprise-credit.json
	enterpriseCreditJSON string
	//go:embed base/elicence.json
	elicenceJSON string
)

const baseIDPrefix = "urn:yiku:schema:base:"

// Base returns the built-in base-library schemas. Each call returns fresh
// copies that the caller may modify.
func Base() []BaseSchema {
	return []BaseSchema{
		newBase("population", "人口基础信息", "id_number", populationJSON, NaturalPerson),
		newBase("legal-entity", "法人基础信息", "credit_code", legalEntityJSON, LegalPerson),
		newBase("enterprise-credit", "企业信用信息", "credit_code", enterpriseCreditJSON, LegalPerson),
		newBase("elicence", "电子证照", "holder_id", elicenceJSON, NaturalPerson, LegalPerson),
	}
}

func newBase(name, library, key, doc string, subjects ...SubjectType) BaseSchema {
	return BaseSchema{
		Name:         name,
		Library:      library,
		ID:           baseIDPrefix + name,
		SubjectTypes: subjects,
		SubjectKey:   key,
		JSON:         []byte(doc),
	}
}

// BaseByName returns the base schema called name ("population",
// "legal-entity", "enterprise-credit", "elicence").
func BaseByName(name string) (BaseSchema, bool) {
	for _, b := range Base() {
		if b.Name == name {
			return b, true
		}
	}
	return BaseSchema{}, false
}

// NewCompiler returns a compiler for draft 2020-12 with the identifier
// formats registered and asserted and the base schemas added as resources,
// so other schemas can $ref them by ID ("urn:yiku:schema:base:population").
// It loads nothing from the network or the file system.
func NewCompiler() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	RegisterFormats(c)
	for _, b := range Base() {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b.JSON)))
		if err != nil {
			return nil, fmt.Errorf("schemas: parse base schema %s: %w", b.Name, err)
		}
		if err := c.AddResource(b.ID, doc); err != nil {
			return nil, fmt.Errorf("schemas: add base schema %s: %w", b.Name, err)
		}
	}
	return c, nil
}

// CompileBase compiles the base schema called name with NewCompiler.
func CompileBase(name string) (*jsonschema.Schema, error) {
	b, ok := BaseByName(name)
	if !ok {
		return nil, fmt.Errorf("schemas: no base schema %q", name)
	}
	c, err := NewCompiler()
	if err != nil {
		return nil, err
	}
	sch, err := c.Compile(b.ID)
	if err != nil {
		return nil, fmt.Errorf("schemas: compile base schema %s: %w", name, err)
	}
	return sch, nil
}

// noLoader refuses every URL, so a schema cannot make the hub read local
// files or fetch remote documents; the meta-schemas are built in.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas: loading %s is not allowed", url)
}
