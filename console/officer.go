package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"yiku/lookup"
	"yiku/policies/sharing"
	"yiku/serviceitem"
)

// The approval officer's lookup (一证通办): the form, the answer material by
// material, and a printable receipt of what the applicant need not bring.
// Both reads and the lookup itself are /api/v1 calls.

type itemChoice struct {
	serviceitem.Item
	// Purposes are the purposes the officer may state for the item: those
	// the department's grants on the item's resources carry, or the item's
	// name where its resources bind no purpose.
	Purposes []string
}

type lookupForm struct {
	Items      []itemChoice
	Applicant  string
	Item       string
	CaseNumber string
	Purpose    string
	Result     *lookup.Result
	Records    map[string][]kv
	Summary    map[string]int
	// Raise holds, per supplied material with a record, the form raising
	// an objection against it, offering the fields shown.
	Raise map[string]*raiseForm
	// Uploads holds, per material the applicant brings and the material
	// library keeps, the form uploading what they brought.
	Uploads map[string]*uploadForm
}

type kv struct{ Key, Value string }

// lookupChoices reads the service items and what the department may read.
func (c *Console) lookupChoices(v *visit) ([]itemChoice, error) {
	var items struct {
		Items []serviceitem.Item `json:"service_items"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/service-items?limit=1000", nil, &items); err != nil {
		return nil, err
	}
	var access struct {
		Access []sharing.Access `json:"access"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/access", nil, &access); err != nil {
		return nil, err
	}
	byRes := map[string][]sharing.Access{}
	for _, a := range access.Access {
		byRes[a.ResourceID] = append(byRes[a.ResourceID], a)
	}
	out := make([]itemChoice, 0, len(items.Items))
	for _, it := range items.Items {
		seen := map[string]bool{}
		var ps []string
		open := false
		for _, m := range it.Materials {
			for _, a := range byRes[m.Resource] {
				if len(a.Purposes) == 0 {
					open = true
				}
				for _, p := range a.Purposes {
					if !seen[p] {
						seen[p] = true
						ps = append(ps, p)
					}
				}
			}
		}
		if (open || len(ps) == 0) && !seen[it.Name] {
			ps = append([]string{it.Name}, ps...)
		}
		out = append(out, itemChoice{Item: it, Purposes: ps})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}

func (c *Console) lookupPage(v *visit) {
	items, err := c.lookupChoices(v)
	if err != nil {
		c.fail(v, err)
		return
	}
	c.render(v, http.StatusOK, "lookup", "lookup.title", lookupForm{Items: items, Item: v.r.URL.Query().Get("item")}, nil)
}

func (c *Console) lookupSubmit(v *visit) {
	items, err := c.lookupChoices(v)
	if err != nil {
		c.fail(v, err)
		return
	}
	f := lookupForm{Items: items,
		Applicant:  strings.TrimSpace(v.r.PostFormValue("applicant")),
		Item:       strings.TrimSpace(v.r.PostFormValue("service_item")),
		CaseNumber: strings.TrimSpace(v.r.PostFormValue("case_number")),
	}
	// The purpose field carries "item::purpose" so that one list can offer
	// each item's purposes; the item must be the one chosen.
	pi, purpose, _ := strings.Cut(v.r.PostFormValue("purpose"), "::")
	f.Purpose = purpose
	errs := map[string]string{}
	var chosen *itemChoice
	for i := range items {
		if items[i].Code == f.Item {
			chosen = &items[i]
		}
	}
	switch {
	case f.Item == "":
		errs["service_item"] = v.T("form.required")
	case chosen == nil:
		errs["service_item"] = v.T("lookup.error.item")
	}
	if f.Applicant == "" {
		errs["applicant"] = v.T("form.required")
	}
	if f.CaseNumber == "" {
		errs["case_number"] = v.T("form.required")
	}
	if chosen != nil && (pi != chosen.Code || !has(chosen.Purposes, purpose)) {
		errs["purpose"] = v.T("lookup.error.purpose")
	}
	if purpose == "" {
		errs["purpose"] = v.T("form.required")
	}
	if len(errs) > 0 {
		c.render(v, http.StatusUnprocessableEntity, "lookup", "lookup.title", f, errs)
		return
	}
	var res lookup.Result
	err = c.call(v, http.MethodPost, "/api/v1/lookups", lookup.Request{Applicant: f.Applicant, ServiceItem: f.Item, CaseNumber: f.CaseNumber, Purpose: purpose}, &res)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity || ae.Status == http.StatusNotFound) {
		for k, reason := range ae.FieldErrors() {
			errs[k] = c.fieldMessage(v, k, reason)
		}
		if len(errs) == 0 {
			errs["form"] = ae.Message
		}
		c.render(v, http.StatusUnprocessableEntity, "lookup", "lookup.title", f, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	f.Result = &res
	f.Records = map[string][]kv{}
	f.Summary = map[string]int{}
	for k, n := range res.Summary {
		f.Summary[string(k)] = n
	}
	f.Raise = map[string]*raiseForm{}
	for _, m := range res.Materials {
		if len(m.Record) > 0 {
			f.Records[m.Code] = recordFields(m.Record)
			rf := &raiseForm{Material: m.Name, Resource: m.Resource, Subject: res.Applicant, Version: m.Version,
				Purpose: res.Purpose, CaseNumber: res.CaseNumber}
			for _, x := range f.Records[m.Code] {
				rf.Offered = append(rf.Offered, x.Key)
			}
			f.Raise[m.Code] = rf
		}
	}
	f.Uploads = uploadForms(chosen.Item, res)
	c.render(v, http.StatusOK, "lookup", "lookup.title", f, nil)
}

// fieldMessage is the catalog's message for an API field error, or the
// API's reason when the catalog has none.
func (c *Console) fieldMessage(v *visit, field, reason string) string {
	if k := "field." + field; c.msgs.Has(v.Lang, k) {
		return c.msgs.T(v.Lang, k)
	}
	return reason
}

// recordFields lists a masked record's fields in order of name.
func recordFields(raw json.RawMessage) []kv {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return []kv{{Key: "record", Value: string(raw)}}
	}
	out := make([]kv, 0, len(m))
	for k, x := range m {
		s := ""
		switch x := x.(type) {
		case string:
			s = x
		case nil:
			s = "—"
		default:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		out = append(out, kv{Key: k, Value: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// q builds a query string from pairs, leaving out empty values.
func q(pairs ...string) string {
	vals := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			vals.Set(pairs[i], pairs[i+1])
		}
	}
	if len(vals) == 0 {
		return ""
	}
	return "?" + vals.Encode()
}
