package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

//go:embed openapi_core.json
var coreOpenAPI []byte

// mergeOpenAPI joins fragments into one OpenAPI 3.1 document. A path or
// component defined twice is an error: each module owns its own.
func mergeOpenAPI(version string, frags ...[]byte) ([]byte, error) {
	paths := map[string]any{}
	components := map[string]map[string]any{}
	for i, f := range frags {
		var frag struct {
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		if err := json.Unmarshal(f, &frag); err != nil {
			return nil, fmt.Errorf("openapi: fragment %d: %w", i, err)
		}
		for p, v := range frag.Paths {
			if _, dup := paths[p]; dup {
				return nil, fmt.Errorf("openapi: path %s described twice", p)
			}
			paths[p] = v
		}
		for kind, items := range frag.Components {
			if components[kind] == nil {
				components[kind] = map[string]any{}
			}
			for name, v := range items {
				if _, dup := components[kind][name]; dup {
					return nil, fmt.Errorf("openapi: component %s/%s described twice", kind, name)
				}
				components[kind][name] = v
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Yiku data-sharing hub",
			"version":     version,
			"description": "Government data-sharing exchange: resource directory, exchange, need-to-share access and audit.",
		},
		"servers":    []any{map[string]any{"url": "/"}},
		"security":   []any{map[string]any{"bearer": []any{}}},
		"paths":      paths,
		"components": components,
	}
	return json.MarshalIndent(doc, "", "  ")
}

// OpenAPIPath converts a gin route (/a/:b/*c) to an OpenAPI path (/a/{b}/{c}).
func OpenAPIPath(route string) string {
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// DescribedOperations lists "METHOD path" for every operation in doc.
func DescribedOperations(doc []byte) ([]string, error) {
	var d struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	var out []string
	for p, ops := range d.Paths {
		for m := range ops {
			switch m {
			case "get", "post", "put", "patch", "delete", "head", "options":
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
