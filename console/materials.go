package console

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"

	"yiku/lookup"
	"yiku/material"
	"yiku/serviceitem"
)

// Material uploads (材料库) from the lookup result page: for a material the
// lookup did not supply and that the material library keeps
// (lookup.TakesUpload), the officer attaches the scan the applicant brought.
// The form posts to UploadPath, which forwards the body to
// POST /api/v1/materials as a stream: the file is never held whole, neither
// here nor in the API. What the file may be (PDF, JPEG, PNG by content), how
// large, and who may upload is the API's decision.

// UploadPath is the console's upload route. The console bounds its body
// itself (UploadLimit) and answers an oversize one with its page, so the
// hub's body-limit middleware leaves the route to it.
const UploadPath = "/console/materials"

// UploadLimit is the largest body the upload route reads for material
// files of at most maxBytes (material.DefaultMaxBytes when 0): the API
// route's own allowance (the file plus 1 MiB for its fields) and room for
// the console's fields.
func UploadLimit(maxBytes int64) int64 {
	if maxBytes <= 0 {
		maxBytes = material.DefaultMaxBytes
	}
	return maxBytes + 1<<20 + 64<<10
}

// uploadForm is one material's upload form: the lookup fills in what it
// knows (applicant, type, case number, purpose), the officer the rest.
type uploadForm struct {
	// Code and Name are the service item's material; Type its material
	// type, the key later lookups reuse the upload by.
	Code, Name, Type                            string
	Applicant, ServiceItem, CaseNumber, Purpose string
	IssuingAuthority, IssueDate, ValidUntil     string
	// ExpiredUntil is the end of validity of the expired upload this one
	// replaces, if any.
	ExpiredUntil string
}

// uploadPage is the page after a sent upload form: the stored upload, or
// the form again with its errors.
type uploadPage struct {
	Form   *uploadForm
	Upload *material.Upload
	// LookupPurpose is the lookup form's purpose value for running the
	// lookup again ("item::purpose").
	LookupPurpose string
}

// uploadForms offers an upload form for each material of item the result
// left for the applicant to bring and the material library keeps.
func uploadForms(item serviceitem.Item, res lookup.Result) map[string]*uploadForm {
	out := map[string]*uploadForm{}
	for _, mr := range res.Materials {
		for _, m := range item.Materials {
			if !lookup.TakesUpload(m, mr) {
				continue
			}
			f := &uploadForm{Code: m.Code, Name: mr.Name, Type: lookup.MaterialKey(m), Applicant: res.Applicant,
				ServiceItem: res.ServiceItem, CaseNumber: res.CaseNumber, Purpose: res.Purpose}
			if mr.Upload != nil && mr.Upload.Validity == material.Expired {
				f.ExpiredUntil = mr.Upload.ValidUntil
			}
			out[m.Code] = f
		}
	}
	return out
}

// The upload form's fields the console keeps for itself (to show the page
// again); every other field goes to the API.
const (
	fieldMaterialCode = "material_code"
	fieldMaterialName = "material_name"
	fieldServiceItem  = "service_item"
)

// maxUploadField bounds one metadata field read from the form: the API's
// own bound (4096 bytes) plus one, so that the API names a longer one.
const maxUploadField = 4097

// errAnswered stops forwarding the form once the API has answered.
var errAnswered = errors.New("console: the API answered the upload")

// materialUpload forwards an upload form to POST /api/v1/materials. The
// body is read as a stream: its first part must be the CSRF token, checked
// before anything reaches the API; the metadata fields and then the file
// are re-written, part by part, into a new multipart body that a pipe
// feeds to the in-process API call.
func (c *Console) materialUpload(v *visit) {
	limit := UploadLimit(c.deps.MaterialMaxBytes)
	if v.r.ContentLength > limit {
		c.uploadTooLarge(v)
		return
	}
	body := http.MaxBytesReader(v.w, v.r.Body, limit)
	v.r.Body = body
	mr, err := v.r.MultipartReader()
	if err != nil {
		c.render(v, http.StatusBadRequest, "error", "error.invalid.title", errorPage{Heading: "error.invalid.title", Message: "error.invalid.body", Detail: v.T("upload.error.multipart")}, nil)
		return
	}
	if !originOK(v) || !csrfPart(v, mr) {
		c.csrfFailed(v)
		return
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	contentType := mw.FormDataContentType()
	f := &uploadForm{}
	done := make(chan error, 1)
	go func() {
		err := forwardParts(mr, mw, f)
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err) // nil: the API reads the end of the body
		done <- err
	}()
	var u material.Upload
	apiErr := c.stream(v, http.MethodPost, "/api/v1/materials", pr, contentType, &u)
	_ = pr.CloseWithError(errAnswered)
	fwdErr := <-done
	// What the API left unread is read and dropped (within the limit), so
	// the browser, still sending, gets the page rather than a reset.
	_, drainErr := io.Copy(io.Discard, body)
	var mbe *http.MaxBytesError
	if errors.As(fwdErr, &mbe) || errors.As(drainErr, &mbe) {
		c.uploadTooLarge(v)
		return
	}
	page := uploadPage{Form: f, LookupPurpose: f.ServiceItem + "::" + f.Purpose}
	var ae *APIError
	switch {
	case apiErr == nil:
		page.Upload = &u
		c.render(v, http.StatusCreated, "upload", "upload.title", page, nil)
	case errors.As(apiErr, &ae) && ae.Status == http.StatusRequestEntityTooLarge:
		c.uploadTooLarge(v)
	case errors.As(apiErr, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity):
		c.render(v, http.StatusUnprocessableEntity, "upload", "upload.title", page, c.uploadErrors(v, ae))
	default:
		c.fail(v, apiErr)
	}
}

// csrfPart reads the body's first part, which must be the form's CSRF
// token (the form puts it first; browsers send parts in document order).
func csrfPart(v *visit, mr *multipart.Reader) bool {
	p, err := mr.NextPart()
	if err != nil || p.FormName() != "csrf" {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(p, 256))
	return err == nil && tokenOK(v, string(b))
}

// forwardParts copies the form's remaining parts into mw, noting the
// fields in f: the console's own fields stay here, the metadata fields are
// re-written, and the file part is copied through as it arrives. The API
// reads nothing after the file, so neither does this.
func forwardParts(mr *multipart.Reader, mw *multipart.Writer, f *uploadForm) error {
	into := map[string]*string{fieldMaterialCode: &f.Code, fieldMaterialName: &f.Name, fieldServiceItem: &f.ServiceItem,
		"applicant": &f.Applicant, "material_type": &f.Type, "case_number": &f.CaseNumber, "purpose": &f.Purpose,
		"issuing_authority": &f.IssuingAuthority, "issue_date": &f.IssueDate, "valid_until": &f.ValidUntil}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := p.FormName()
		if name == "file" {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": p.FileName()}))
			// The API judges the type by content, not by what the browser says.
			h.Set("Content-Type", "application/octet-stream")
			w, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, p)
			return err
		}
		b, err := io.ReadAll(io.LimitReader(p, maxUploadField))
		if err != nil {
			return err
		}
		if dst, ok := into[name]; ok {
			*dst = string(b)
		}
		switch name {
		case fieldMaterialCode, fieldMaterialName, fieldServiceItem:
			continue
		}
		w, err := mw.CreateFormField(name)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
}

// uploadErrors maps the API's refusal to the form's fields: the message
// the catalog has for the API's code, beside the field it names; fields
// the form does not show (they come from the lookup) above the form.
func (c *Console) uploadErrors(v *visit, ae *APIError) map[string]string {
	errs := map[string]string{}
	for field, reason := range ae.FieldErrors() {
		msg := c.fieldMessage(v, field, reason)
		if k := "upload.error." + ae.Code; c.msgs.Has(v.Lang, k) {
			msg = v.T(k)
		}
		switch field {
		case "file", "file_name":
			errs["file"] = msg
		case "issuing_authority", "issue_date", "valid_until":
			errs[field] = msg
		default:
			errs["form"] = msg
		}
	}
	if len(errs) == 0 {
		errs["form"] = ae.Message
	}
	return errs
}

// uploadTooLarge is the page for a file over the limit.
func (c *Console) uploadTooLarge(v *visit) {
	max := c.deps.MaterialMaxBytes
	if max <= 0 {
		max = material.DefaultMaxBytes
	}
	c.render(v, http.StatusRequestEntityTooLarge, "error", "upload.toolarge.title", errorPage{Heading: "upload.toolarge.title",
		Message: "upload.toolarge.body", Detail: v.T("upload.error.material_too_large", mb(max))}, nil)
}

// mb shows a byte count in megabytes (MiB, as the limit is set).
func mb(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) }
