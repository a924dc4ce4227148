package console

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
)

// The API reference at /docs: the hub's own OpenAPI document rendered on
// the server as a browsable page (no script, nothing from outside the hub),
// linking the raw document at /openapi.json.

type docOperation struct {
	Method, Path, Summary, Description, ID string
	Params                                 []docParam
	Responses                              []string
	Body                                   bool
}

type docParam struct {
	Name, In, Description string
	Required              bool
}

type docGroup struct {
	Name string
	Ops  []docOperation
}

type docsPage struct {
	Title, Version string
	Groups         []docGroup
}

func (c *Console) docs(v *visit) {
	var doc struct {
		Info struct {
			Title   string `json:"title"`
			Version string `json:"version"`
		} `json:"info"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if c.deps.OpenAPI == nil || json.Unmarshal(c.deps.OpenAPI(), &doc) != nil {
		c.fail(v, errNoOpenAPI)
		return
	}
	groups := map[string][]docOperation{}
	for path, item := range doc.Paths {
		var shared []docParam
		if raw, ok := item["parameters"]; ok {
			shared = params(raw)
		}
		for method, raw := range item {
			switch method {
			case "get", "post", "put", "patch", "delete":
			default:
				continue
			}
			var op struct {
				Summary     string                     `json:"summary"`
				Description string                     `json:"description"`
				OperationID string                     `json:"operationId"`
				Tags        []string                   `json:"tags"`
				Parameters  json.RawMessage            `json:"parameters"`
				RequestBody json.RawMessage            `json:"requestBody"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			if json.Unmarshal(raw, &op) != nil {
				continue
			}
			o := docOperation{Method: strings.ToUpper(method), Path: path, Summary: op.Summary, Description: op.Description, ID: op.OperationID,
				Params: append(append([]docParam{}, shared...), params(op.Parameters)...), Body: len(op.RequestBody) > 0}
			for code := range op.Responses {
				o.Responses = append(o.Responses, code)
			}
			sort.Strings(o.Responses)
			group := groupOf(path)
			if len(op.Tags) > 0 {
				group = op.Tags[0]
			}
			groups[group] = append(groups[group], o)
		}
	}
	page := docsPage{Title: doc.Info.Title, Version: doc.Info.Version}
	for name, ops := range groups {
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].Path != ops[j].Path {
				return ops[i].Path < ops[j].Path
			}
			return methodRank(ops[i].Method) < methodRank(ops[j].Method)
		})
		page.Groups = append(page.Groups, docGroup{Name: name, Ops: ops})
	}
	sort.Slice(page.Groups, func(i, j int) bool { return page.Groups[i].Name < page.Groups[j].Name })
	c.render(v, http.StatusOK, "docs", "docs.title", page, nil)
}

type consoleError string

func (e consoleError) Error() string { return string(e) }

const errNoOpenAPI = consoleError("console: the OpenAPI document is not available")

func params(raw json.RawMessage) []docParam {
	var ps []struct {
		Name        string `json:"name"`
		In          string `json:"in"`
		Description string `json:"description"`
		Required    bool   `json:"required"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &ps) != nil {
		return nil
	}
	out := make([]docParam, 0, len(ps))
	for _, p := range ps {
		if p.Name == "" {
			continue
		}
		out = append(out, docParam{Name: p.Name, In: p.In, Description: p.Description, Required: p.Required})
	}
	return out
}

// groupOf names a path's family: /api/v1/share-requests/{id} → share-requests.
func groupOf(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/")
	if rest == path {
		return "hub"
	}
	first, _, _ := strings.Cut(rest, "/")
	return first
}

func methodRank(m string) int {
	return strings.Index("GET POST PUT PATCH DELETE", m)
}
