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
	defaultSecurity := []any{map[string]any{"bearer": []any{}}}
	for p, item := range paths {
		if err := addMiddlewareResponses(item, defaultSecurity); err != nil {
			return nil, fmt.Errorf("openapi: path %s: %w", p, err)
		}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Yiku data-sharing hub",
			"version":     version,
			"description": "Government data-sharing exchange: resource directory, exchange, need-to-share access and audit.",
		},
		"servers":    []any{map[string]any{"url": "/"}},
		"security":   defaultSecurity,
		"paths":      paths,
		"components": components,
	}
	return json.MarshalIndent(doc, "", "  ")
}

// operationMethods are the keys of a path item that are operations.
var operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// middlewareResponses are the answers the shared middleware gives on any
// operation of a kind, whatever its handler does: the authentication and
// audit steps on every operation that needs a credential, the strict JSON
// binding and the body limit on every operation that takes a body, the
// checks of path and query values on every operation that takes them. The
// merge adds the ones a fragment leaves out, so no fragment can forget them.
var (
	securedResponses = map[string]string{
		"401": "#/components/responses/Unauthenticated",
		"503": "#/components/responses/Unavailable",
	}
	bodyResponses = map[string]string{
		"400": "#/components/responses/Invalid",
		"413": "#/components/responses/TooLarge",
	}
	parameterResponses = map[string]string{
		"400": "#/components/responses/Invalid",
	}
)

// addMiddlewareResponses completes every operation of one path item with
// the middleware's responses it does not describe itself.
func addMiddlewareResponses(item any, defaultSecurity []any) error {
	ops, ok := item.(map[string]any)
	if !ok {
		return fmt.Errorf("path item is not an object")
	}
	for _, m := range operationMethods {
		raw, ok := ops[m]
		if !ok {
			continue
		}
		op, ok := raw.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not an object", m)
		}
		responses, ok := op["responses"].(map[string]any)
		if !ok {
			return fmt.Errorf("%s has no responses", m)
		}
		security := defaultSecurity
		if s, ok := op["security"].([]any); ok {
			security = s
		}
		if len(security) > 0 {
			addResponses(responses, securedResponses)
		}
		if _, ok := op["requestBody"]; ok {
			addResponses(responses, bodyResponses)
		}
		if hasParameters(ops) || hasParameters(op) {
			addResponses(responses, parameterResponses)
		}
	}
	return nil
}

// hasParameters reports whether a path item or operation declares a path
// or query parameter.
func hasParameters(v map[string]any) bool {
	params, _ := v["parameters"].([]any)
	for _, p := range params {
		if m, ok := p.(map[string]any); ok && (m["in"] == "path" || m["in"] == "query") {
			return true
		}
	}
	return false
}

func addResponses(responses map[string]any, add map[string]string) {
	for status, ref := range add {
		if _, ok := responses[status]; !ok {
			responses[status] = map[string]any{"$ref": ref}
		}
	}
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
