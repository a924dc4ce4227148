package sharing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"yiku/catalog"
	"yiku/policies/mask"
	"yiku/schemas"
)

// SubjectPartKeyword is schemas.SubjectPartKeyword: the schema annotation
// naming the part of the subject's identifier a property repeats.
const SubjectPartKeyword = schemas.SubjectPartKeyword

// Schemas gives a resource's schema versions, for the field semantics
// plans need. catalog.Service satisfies it.
type Schemas interface {
	Version(ctx context.Context, id string, version int) (catalog.SchemaVersion, error)
}

// MaskFields turns a resource's catalog fields into masking metadata:
// rules and sensitivity from the catalog, identifier kinds from the
// schema's formats (cn-resident-id, cn-uscc) and identifier parts from its
// SubjectPartKeyword annotations. schema may be nil (no semantics).
func MaskFields(res catalog.Resource, schema []byte) ([]mask.Field, error) {
	var doc map[string]any
	if len(schema) > 0 {
		dec := json.NewDecoder(bytes.NewReader(schema))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("sharing: schema of %s: %w", res.ID, err)
		}
	}
	props, _ := doc["properties"].(map[string]any)
	out := make([]mask.Field, len(res.Fields))
	for i, f := range res.Fields {
		rule, err := mask.ParseRule(f.Mask)
		if err != nil {
			return nil, fmt.Errorf("sharing: resource %s field %s: %w", res.ID, f.Name, err)
		}
		mf := mask.Field{Name: f.Name, Rule: rule, Sensitive: f.Sensitivity == catalog.SensitivitySensitive}
		for format := range formatsOf(doc, f.Name) {
			switch format {
			case schemas.FormatResidentID:
				mf.Identifier |= mask.IDResident
			case schemas.FormatUSCC:
				mf.Identifier |= mask.IDUSCC
			}
		}
		if prop, ok := props[f.Name].(map[string]any); ok && res.SubjectKey != "" && f.Name != res.SubjectKey {
			if name, ok := prop[SubjectPartKeyword].(string); ok {
				part, err := mask.ParsePart(name)
				if err != nil {
					return nil, fmt.Errorf("sharing: resource %s field %s: %w", res.ID, f.Name, err)
				}
				mf.Part, mf.Of = part, res.SubjectKey
			}
		}
		out[i] = mf
	}
	return out, nil
}

// formatsOf collects the formats a schema gives a top-level property: on
// the property itself, in its anyOf/oneOf branches, and in top-level
// allOf/anyOf/oneOf and if/then/else branches (as the e-licence schema
// does for holder_id).
func formatsOf(doc map[string]any, name string) map[string]bool {
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
					list, _ := prop[kw].([]any)
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
		for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
			list, _ := m[kw].([]any)
			for _, b := range list {
				visit(b, depth+1)
			}
		}
		for _, kw := range []string{"then", "else"} {
			visit(m[kw], depth+1)
		}
	}
	visit(doc, 0)
	return out
}
