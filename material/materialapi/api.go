// Package materialapi is the HTTP face of the material library under
// /api/v1/materials: streamed multipart uploads by officers, lists and
// metadata (officers through the sharing gate with a purpose and case
// number, reviewers for oversight, citizens their own), downloads through
// the gate, and supersession. Every call is audited with the applicant as
// subject, so the citizen's data-access report lists it.
package materialapi

import (
	_ "embed"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"yiku/catalog"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/identity"
	"yiku/material"
	"yiku/policies/sharing"
	"yiku/schemas"
)

//go:embed openapi.json
var openapi []byte

// API serves the material routes.
type API struct {
	svc       *material.Service
	gate      sharing.Gate
	directory catalog.Directory
}

// New returns the module.
func New(svc *material.Service, gate sharing.Gate, dir catalog.Directory) *API {
	return &API{svc: svc, gate: gate, directory: dir}
}

// OpenAPI returns the routes' OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.POST("/materials", a.upload)
	api.GET("/materials", a.list)
	api.GET("/materials/:id", a.get)
	api.GET("/materials/:id/content", a.content)
	api.POST("/materials/:id/supersede", a.supersede)
	api.POST("/material-removal-requests", a.requestRemoval)
	api.GET("/material-removal-requests", a.removals)
	api.POST("/material-removal-requests/:id/approve", func(c *gin.Context) { a.decide(c, true) })
	api.POST("/material-removal-requests/:id/reject", func(c *gin.Context) { a.decide(c, false) })
}

// maxField bounds one metadata field of a multipart upload.
const maxField = 4096

func (a *API) upload(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Resource = material.ActionUpload, material.Resource
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		httpapi.Fail(c, fault.Invalidf("multipart_required", "an upload is a multipart/form-data body: the metadata fields, then the file part named file"))
		return
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		httpapi.Fail(c, fault.Invalidf("invalid_multipart", "the multipart body cannot be read: %s", err.Error()))
		return
	}
	var m material.Meta
	fields := map[string]*string{"applicant": &m.Applicant, "material_type": &m.MaterialType, "issuing_authority": &m.IssuingAuthority,
		"issue_date": &m.IssueDate, "valid_until": &m.ValidUntil, "case_number": &m.CaseNumber, "purpose": &m.Purpose}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			httpapi.Fail(c, fault.Invalidf("file_required", "the upload has no part named file (the metadata fields come first, then the file)").
				WithDetails(fault.Detail{Field: "file", Reason: "required"}))
			return
		}
		if err != nil {
			httpapi.Fail(c, tooLargeOr(err, fault.Invalidf("invalid_multipart", "the multipart body cannot be read")))
			return
		}
		name := part.FormName()
		if name == "file" {
			m.FileName = part.FileName()
			a.note(n, m)
			u, err := a.svc.Upload(c.Request.Context(), httpapi.MustPrincipal(c), m, part)
			if err != nil {
				httpapi.Fail(c, tooLargeOr(err, err))
				return
			}
			n.Count, n.Reason = 1, "upload="+u.ID+" type="+u.MaterialType+" hash="+u.ContentHash
			c.Header("Location", "/api/v1/materials/"+u.ID)
			c.JSON(http.StatusCreated, u)
			return
		}
		dst, ok := fields[name]
		if !ok {
			httpapi.Fail(c, fault.Invalidf("unknown_field", "the upload has no field %q", name).WithDetails(fault.Detail{Field: name, Reason: "unknown"}))
			return
		}
		b, err := io.ReadAll(io.LimitReader(part, maxField+1))
		if err != nil {
			httpapi.Fail(c, tooLargeOr(err, fault.Invalidf("invalid_multipart", "the multipart body cannot be read")))
			return
		}
		if len(b) > maxField {
			httpapi.Fail(c, fault.Invalidf("field_too_long", "field %s is longer than %d bytes", name, maxField).WithDetails(fault.Detail{Field: name, Reason: "too long"}))
			return
		}
		*dst = string(b)
	}
}

func tooLargeOr(err, other error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.New(fault.TooLarge, "body_too_large", "the upload is larger than the limit of %d bytes", mbe.Limit)
	}
	return other
}

func (a *API) note(n *httpapi.AuditNote, m material.Meta) {
	if key, _, ok := schemas.ParseSubject(strings.TrimSpace(m.Applicant)); ok {
		n.Subjects = []string{key}
	}
	n.Purpose, n.CaseNumber = strings.TrimSpace(m.Purpose), strings.TrimSpace(m.CaseNumber)
}

// access asks the sharing gate whether p may read the material library
// for purpose and case number. Reviewers read metadata for oversight
// without it (metadata only: the gate still decides downloads).
func (a *API) access(c *gin.Context, p identity.Principal, download bool) error {
	if p.Role == identity.RoleReviewer && !download {
		return nil
	}
	res, err := a.directory.Resource(c.Request.Context(), material.Resource)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return fault.Forbiddenf("material_library_not_shared", "the material library is not in the resource directory, so nobody may read it")
		}
		return err
	}
	dec, err := a.gate.Decide(c.Request.Context(), sharing.ReadRequest{Principal: p, Resource: res, Action: sharing.ActionRead,
		Purpose: strings.TrimSpace(c.Query("purpose")), CaseNumber: strings.TrimSpace(c.Query("case_number"))})
	if err != nil {
		return err
	}
	if !dec.Allowed {
		return fault.Forbiddenf("not_permitted", "the sharing gate refused: %s", dec.Basis)
	}
	return nil
}

func (a *API) list(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Resource = material.ActionList, material.Resource
	n.Purpose, n.CaseNumber = strings.TrimSpace(c.Query("purpose")), strings.TrimSpace(c.Query("case_number"))
	page, err := httpapi.PageOf(c, 100, 1000)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	p := httpapi.MustPrincipal(c)
	f := material.Filter{MaterialType: c.Query("material_type"), All: c.Query("all") == "true", Limit: page.Limit, Offset: page.Offset}
	if p.Role == identity.RoleCitizen {
		// A citizen lists the materials they handed in, nobody else's.
		if p.IDNumberHash == "" {
			httpapi.Fail(c, fault.Forbiddenf("citizen_not_linked", "this citizen account is not linked to an ID number"))
			return
		}
		f.SubjectHash, f.All = p.IDNumberHash, true
	} else {
		key, _, ok := schemas.ParseSubject(strings.TrimSpace(c.Query("applicant")))
		if !ok {
			httpapi.Fail(c, fault.Invalidf("invalid_applicant", "applicant (query) must be an 18-digit resident ID number or an 18-character unified social credit code").
				WithDetails(fault.Detail{Field: "applicant", Reason: "required, an ID number or credit code"}))
			return
		}
		f.Applicant, n.Subjects = key, []string{key}
		if err := a.access(c, p, false); err != nil {
			httpapi.Fail(c, err)
			return
		}
	}
	us, err := a.svc.List(c.Request.Context(), f)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(us)
	c.JSON(http.StatusOK, gin.H{"materials": us, "limit": page.Limit, "offset": page.Offset})
}

// one reads upload :id and, unless the caller is the citizen it belongs
// to, asks the gate.
func (a *API) one(c *gin.Context, n *httpapi.AuditNote, download bool) (material.Upload, bool) {
	n.Purpose, n.CaseNumber = strings.TrimSpace(c.Query("purpose")), strings.TrimSpace(c.Query("case_number"))
	n.Reason = "upload=" + c.Param("id")
	u, err := a.svc.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return u, false
	}
	n.Subjects = []string{u.Applicant}
	p := httpapi.MustPrincipal(c)
	if p.Role == identity.RoleCitizen {
		if p.IDNumberHash == "" || a.svc.SubjectHash == nil || a.svc.SubjectHash(u.Applicant) != p.IDNumberHash {
			httpapi.Fail(c, fault.NotFoundf("material_not_found", "no material upload %s", c.Param("id")))
			return u, false
		}
	} else if err := a.access(c, p, download); err != nil {
		httpapi.Fail(c, err)
		return u, false
	}
	n.Count = 1
	return u, true
}

func (a *API) get(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Resource = material.ActionRead, material.Resource
	u, ok := a.one(c, n, false)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, u)
}

func (a *API) content(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Resource = material.ActionDownload, material.Resource
	u, ok := a.one(c, n, true)
	if !ok {
		return
	}
	r, err := a.svc.Content(c.Request.Context(), u)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	defer r.Close()
	// The download is audited before the first byte leaves; the file then
	// streams, never held whole.
	if err := httpapi.Commit(c, http.StatusOK); err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Header("Content-Type", u.ContentType)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Length", strconv.FormatInt(u.Size, 10))
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": downloadName(u)}))
	c.Status(http.StatusOK)
	if _, err := io.Copy(c.Writer, r); err != nil {
		// The blob failed to decrypt part way (tampered or truncated):
		// the answer is already under way, so the connection is cut short
		// of Content-Length and the client sees the failure.
		panic(http.ErrAbortHandler)
	}
}

func downloadName(u material.Upload) string {
	ext := map[string]string{material.PDF: ".pdf", material.JPEG: ".jpg", material.PNG: ".png"}[u.ContentType]
	return u.MaterialType + "-" + u.ID + ext
}

// SupersedeBody names the newer upload.
type SupersedeBody struct {
	SupersededBy string `json:"superseded_by"`
	Reason       string `json:"reason"`
}

func (a *API) supersede(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Resource, n.Reason = material.ActionSupersede, material.Resource, "upload="+c.Param("id")
	var body SupersedeBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	if len(body.Reason) > 500 {
		httpapi.Fail(c, fault.Invalidf("invalid_reason", "reason is at most 500 bytes").WithDetails(fault.Detail{Field: "reason", Pointer: "/reason", Reason: "too long"}))
		return
	}
	u, err := a.svc.Supersede(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), strings.TrimSpace(body.SupersededBy), strings.TrimSpace(body.Reason))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Subjects, n.Reason = []string{u.Applicant}, n.Reason+" superseded_by="+u.SupersededBy
	c.JSON(http.StatusOK, u)
}

// RemovalBody asks to remove an upload.
type RemovalBody struct {
	UploadID string `json:"upload_id"`
	Reason   string `json:"reason"`
}

func (a *API) requestRemoval(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Resource = material.ActionRemovalRequest, material.Resource
	var body RemovalBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason = "upload=" + body.UploadID
	r, u, err := a.svc.RequestRemoval(c.Request.Context(), httpapi.MustPrincipal(c), strings.TrimSpace(body.UploadID), body.Reason)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Subjects, n.Reason = []string{u.Applicant}, n.Reason+" request="+r.ID
	c.Header("Location", "/api/v1/material-removal-requests/"+r.ID)
	c.JSON(http.StatusCreated, r)
}

func (a *API) removals(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Resource = material.ActionRemovalList, material.Resource
	page, err := httpapi.PageOf(c, 100, 1000)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	status := material.RemovalStatus(c.Query("status"))
	switch status {
	case "", material.RemovalPending, material.RemovalApproved, material.RemovalRejected:
	default:
		httpapi.Fail(c, fault.Invalidf("invalid_status", "status is pending, approved or rejected").WithDetails(fault.Detail{Field: "status", Reason: "unknown status"}))
		return
	}
	rs, err := a.svc.Removals(c.Request.Context(), status, page.Limit, page.Offset)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(rs)
	c.JSON(http.StatusOK, gin.H{"removal_requests": rs, "limit": page.Limit, "offset": page.Offset})
}

// DecisionBody is the e-government office's decision.
type DecisionBody struct {
	Reason string `json:"reason"`
}

func (a *API) decide(c *gin.Context, approve bool) {
	n := httpapi.Note(c)
	n.Action, n.Resource, n.Reason = material.ActionRemovalReject, material.Resource, "request="+c.Param("id")
	if approve {
		n.Action = material.ActionRemovalApprove
	}
	var body DecisionBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	r, u, err := a.svc.DecideRemoval(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), approve, body.Reason)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Subjects, n.Reason = []string{u.Applicant}, n.Reason+" upload="+u.ID
	c.JSON(http.StatusOK, r)
}
