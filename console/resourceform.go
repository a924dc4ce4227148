package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"yiku/catalog"
)

// Registering and editing a resource: one form for the directory entry's
// metadata, its fields (信息项, one per line) and, when registering, an
// optional JSON Schema as version 1. POST /api/v1/catalog/resources and
// PUT /api/v1/catalog/resources/{id}; the catalog checks everything and its
// field errors are shown beside the fields.

// resourceFormFields are the form's text inputs, named as the API's JSON.
var resourceFormFields = []string{"id", "name", "class_code", "summary", "provider_code", "format", "share_type", "share_conditions",
	"share_mode", "legal_basis", "update_cycle", "base_library", "subject_type", "subject_key", "compatibility"}

type resourceFormPage struct {
	Edit       bool
	Form       map[string]string
	Fields     string // one field per line: name | title | data type | sensitivity | mask
	Schema     string
	ShareTypes []string
	Libraries  []string
	Subjects   []string
}

func newResourceFormPage(edit bool) resourceFormPage {
	return resourceFormPage{Edit: edit, Form: map[string]string{},
		ShareTypes: []string{string(catalog.ShareUnconditional), string(catalog.ShareConditional), string(catalog.ShareNone)},
		Libraries:  []string{string(catalog.LibPopulation), string(catalog.LibLegalEntity), string(catalog.LibSpatial), string(catalog.LibCredit), string(catalog.LibElicence), string(catalog.LibTheme), string(catalog.LibDepartment)},
		Subjects:   []string{"natural_person", "legal_person", "mixed", "none"}}
}

func (c *Console) resourceNew(v *visit) {
	page := newResourceFormPage(false)
	page.Form["format"], page.Form["update_cycle"], page.Form["provider_code"] = "database", "daily", v.Principal.DepartmentCode
	c.render(v, http.StatusOK, "resourceform", "resourceform.new", page, nil)
}

func (c *Console) resourceEdit(v *visit) {
	var r catalog.Resource
	if err := c.call(v, http.MethodGet, "/api/v1/catalog/resources/"+url.PathEscape(v.r.PathValue("id")), nil, &r); err != nil {
		c.fail(v, err)
		return
	}
	page := newResourceFormPage(true)
	var m map[string]any
	b, _ := json.Marshal(r)
	_ = json.Unmarshal(b, &m)
	for _, k := range resourceFormFields {
		if s, ok := m[k].(string); ok {
			page.Form[k] = s
		}
	}
	lines := make([]string, len(r.Fields))
	for i, f := range r.Fields {
		lines[i] = strings.Join([]string{f.Name, f.Title, f.DataType, f.Sensitivity, f.Mask}, " | ")
	}
	page.Fields = strings.Join(lines, "\n")
	c.render(v, http.StatusOK, "resourceform", "resourceform.edit", page, nil)
}

// parseFields reads the fields textarea: one field per line,
// "name | title | data type | sensitivity | mask" (mask may be left out).
func parseFields(s string) ([]catalog.Field, bool) {
	var out []catalog.Field
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) < 4 || len(parts) > 5 {
			return nil, false
		}
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		f := catalog.Field{Name: parts[0], Title: parts[1], DataType: parts[2], Sensitivity: parts[3]}
		if len(parts) == 5 {
			f.Mask = parts[4]
		}
		out = append(out, f)
	}
	return out, true
}

func (c *Console) resourceSave(v *visit) {
	id := v.r.PathValue("id")
	edit := id != ""
	page := newResourceFormPage(edit)
	body := map[string]any{}
	for _, k := range resourceFormFields {
		s := strings.TrimSpace(v.r.PostFormValue(k))
		page.Form[k] = s
		body[k] = s
	}
	page.Fields, page.Schema = v.r.PostFormValue("fields"), strings.TrimSpace(v.r.PostFormValue("schema"))
	errs := map[string]string{}
	fields, ok := parseFields(page.Fields)
	if !ok {
		errs["fields"] = v.T("resourceform.error.fields")
	}
	body["fields"] = fields
	if page.Schema != "" {
		if !json.Valid([]byte(page.Schema)) {
			errs["schema"] = v.T("resource.error.json")
		} else if !edit {
			body["schema"] = json.RawMessage(page.Schema)
		}
	}
	title := "resourceform.new"
	if edit {
		title = "resourceform.edit"
		body["id"] = id
	}
	if len(errs) > 0 {
		c.render(v, http.StatusUnprocessableEntity, "resourceform", title, page, errs)
		return
	}
	var r catalog.Resource
	var err error
	if edit {
		err = c.call(v, http.MethodPut, "/api/v1/catalog/resources/"+url.PathEscape(id), body, &r)
	} else {
		err = c.call(v, http.MethodPost, "/api/v1/catalog/resources", body, &r)
	}
	if c.formFailed(v, err, errs) {
		c.render(v, http.StatusUnprocessableEntity, "resourceform", title, page, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/resources/"+url.PathEscape(r.ID), "resource.done.saved")
}
