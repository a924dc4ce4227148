package catalog

import (
	"sort"

	"yiku/catalog/validation"
)

// FieldsFromSchema drafts the fields (信息项) of a schema's top-level
// properties, ordered by name: the title from the property's title (its
// name if none), the data type from its JSON type and format, sensitivity
// public. Registrants then grade and mask the sensitive ones; the drafted
// list satisfies the fields-match-schema rules as it stands.
func FieldsFromSchema(schema []byte) ([]Field, error) {
	canon, err := validation.Canonicalize(schema)
	if err != nil {
		return nil, err
	}
	props, _ := canon.Doc["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]Field, 0, len(names))
	for _, name := range names {
		prop, _ := props[name].(map[string]any)
		f := Field{Name: name, Title: name, DataType: dataTypeOf(prop), Sensitivity: SensitivityPublic}
		if t, ok := prop["title"].(string); ok && t != "" {
			f.Title = t
		}
		if d, ok := prop["description"].(string); ok {
			f.Description = d
		}
		out = append(out, f)
	}
	return out, nil
}

func dataTypeOf(prop map[string]any) string {
	types := schemaTypes(prop)
	if len(types) != 1 {
		return "G"
	}
	switch types[0] {
	case "string":
		switch prop["format"] {
		case "date":
			return "D"
		case "date-time":
			return "T"
		}
		return "C"
	case "integer":
		return "I"
	case "number":
		return "N"
	case "boolean":
		return "L"
	}
	return "G"
}
