package materialapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"yiku/audit"
	"yiku/casefile"
	"yiku/hub/hubtest"
	"yiku/lookup"
	"yiku/lookup/lookupdemo"
	"yiku/material"
)

// upload posts a multipart upload (metadata fields, then the file) as who.
func upload(t testing.TB, h *hubtest.Hub, who string, fields map[string]string, name string, content []byte) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range []string{"applicant", "material_type", "issuing_authority", "issue_date", "valid_until", "case_number", "purpose"} {
		if v, ok := fields[k]; ok {
			if err := mw.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", h.URL+"/api/v1/materials", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+h.Secret(who))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func pdf(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	copy(b, "%PDF-1.7\n")
	return b
}

func doLookup(t testing.TB, h *hubtest.Hub, who, item, caseNo, purpose string) lookup.Result {
	t.Helper()
	r := h.Do("POST", "/api/v1/lookups", who, map[string]string{"applicant": lookupdemo.Citizen, "service_item": item, "case_number": caseNo, "purpose": purpose})
	if r.Status != 200 {
		t.Fatalf("lookup %s: %d %s", item, r.Status, r.Body)
	}
	var res lookup.Result
	r.JSON(t, &res)
	return res
}

func find(t testing.TB, res lookup.Result, code string) lookup.MaterialResult {
	t.Helper()
	for _, m := range res.Materials {
		if m.Code == code {
			return m
		}
	}
	t.Fatalf("no material %s in %+v", code, res)
	return lookup.MaterialResult{}
}

type eventsBody struct {
	Events []audit.Event `json:"events"`
	Total  int           `json:"total"`
}

func events(t testing.TB, h *hubtest.Hub, q url.Values) eventsBody {
	t.Helper()
	q.Set("limit", "1000")
	r := h.Do("GET", "/api/v1/audit/events?"+q.Encode(), "reviewer", nil)
	if r.Status != 200 {
		t.Fatalf("audit query: %d %s", r.Status, r.Body)
	}
	var out eventsBody
	r.JSON(t, &out)
	return out
}

// TestUploadThenReuseInAnotherItem: a lookup finds the household register
// not available; the officer uploads what the applicant brought; a second
// lookup, for another service item needing the same material type,
// supplies it from the material library. A department without a grant is
// refused (audited); an expired upload is reported, not supplied.
func TestUploadThenReuseInAnotherItem(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	// A second item that needs the household register too (same type).
	item := map[string]any{"code": "residence-permit", "name": "居住证申领", "department_code": "lx-gsc", "applicant_type": "natural_person",
		"materials": []map[string]string{
			{"code": "identity", "name": "居民身份信息", "resource": "population"},
			{"code": "household-register", "name": "居民户口簿", "type": "household-register"},
		}}
	if r := h.Do("POST", "/api/v1/service-items", "catalog-admin", item); r.Status != 201 {
		t.Fatalf("create item: %d %s", r.Status, r.Body)
	}

	res := doLookup(t, h, "officer-gsc", lookupdemo.ItemMarriage, "GSC-2026-0100", "结婚登记")
	if m := find(t, res, "household-register"); m.Status != lookup.NotAvailable || m.Source != "" {
		t.Fatalf("before any upload: %+v", m)
	}

	fields := map[string]string{"applicant": lookupdemo.Citizen, "material_type": "household-register", "issuing_authority": "娄底市公安局娄星分局",
		"issue_date": "2019-05-01", "case_number": "GSC-2026-0100", "purpose": "结婚登记"}
	content := pdf(300_000)
	status, body := upload(t, h, "officer-gsc", fields, "户口簿.pdf", content)
	if status != 201 {
		t.Fatalf("upload: %d %s", status, body)
	}
	if !strings.Contains(string(body), `"content_type":"application/pdf"`) {
		t.Fatalf("upload answer %s", body)
	}

	res = doLookup(t, h, "officer-gsc", "residence-permit", "GSC-2026-0101", "居住证申领")
	m := find(t, res, "household-register")
	if m.Status != lookup.Supplied || m.Source != lookup.SourceMaterialLibrary || m.Upload == nil || m.Upload.Validity != "valid" || m.Record == nil {
		t.Fatalf("second lookup: %+v", m)
	}
	for _, b := range res.ToBring {
		if b == "居民户口簿" {
			t.Fatalf("to_bring still lists the household register: %v", res.ToBring)
		}
	}
	// The case the lookup opened records where the material came from.
	var kase casefile.Case
	if r := h.Do("GET", "/api/v1/cases/GSC-2026-0101", "officer-gsc", nil); r.Status != 200 {
		t.Fatalf("case: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &kase)
	}
	var src casefile.Source
	for _, km := range kase.Materials {
		if km.Code == "household-register" {
			src = km.Source
		}
	}
	if src != casefile.SourceMaterialLibrary {
		t.Fatalf("the case records the household register's source as %q: %+v", src, kase.Materials)
	}
	got := events(t, h, url.Values{"principal": {"officer-gsc"}, "action": {audit.ActionReuse}, "resource": {material.Resource}})
	if got.Total != 1 || !strings.Contains(got.Events[0].Reason, "source=material_library") || got.Events[0].Outcome != audit.Allowed {
		t.Fatalf("reuse events = %+v", got)
	}

	// The officer downloads the file (gate-checked, audited) and gets the bytes back.
	r := h.Do("GET", "/api/v1/materials/"+m.Upload.ID+"/content?purpose="+url.QueryEscape("居住证申领")+"&case_number=GSC-2026-0101", "officer-gsc", nil)
	if r.Status != 200 || !bytes.Equal(r.Body, content) {
		t.Fatalf("download: %d, %d bytes", r.Status, len(r.Body))
	}

	// The street service centre has no grant of the material library.
	res = doLookup(t, h, "officer-lp", "residence-permit", "LP-2026-0007", "居住证申领")
	if m := find(t, res, "household-register"); m.Status != lookup.NotPermitted || m.Upload != nil || m.Record != nil {
		t.Fatalf("without a grant: %+v", m)
	}
	denied := events(t, h, url.Values{"principal": {"officer-lp"}, "outcome": {"denied"}, "resource": {material.Resource}})
	if denied.Total != 1 || denied.Events[0].CaseNumber != "LP-2026-0007" || !strings.Contains(denied.Events[0].Reason, "denied=") {
		t.Fatalf("denial events = %+v", denied)
	}
	r = h.Do("GET", "/api/v1/materials/"+m.Upload.ID+"/content?purpose="+url.QueryEscape("居住证申领")+"&case_number=LP-2026-0007", "officer-lp", nil)
	if r.Status != 403 {
		t.Fatalf("download without a grant: %d %s", r.Status, r.Body)
	}
	denied = events(t, h, url.Values{"principal": {"officer-lp"}, "action": {material.ActionDownload}, "outcome": {"denied"}})
	if denied.Total != 1 {
		t.Fatalf("refused download not audited: %+v", denied)
	}

	// An expired upload is reported with its validity, not supplied.
	fields["valid_until"] = time.Now().AddDate(0, 0, -3).Format(time.DateOnly)
	fields["issue_date"] = "2020-01-01"
	if status, body := upload(t, h, "officer-gsc", fields, "户口簿-旧.pdf", pdf(1000)); status != 201 {
		t.Fatalf("upload: %d %s", status, body)
	}
	res = doLookup(t, h, "officer-gsc", "residence-permit", "GSC-2026-0102", "居住证申领")
	m = find(t, res, "household-register")
	if m.Status != lookup.NotAvailable || m.Upload == nil || m.Upload.Validity != "expired" || !strings.HasPrefix(m.Reason, "material_expired") {
		t.Fatalf("expired upload: %+v", m)
	}
	if !strings.Contains(strings.Join(res.ToBring, ","), "居民户口簿") {
		t.Fatalf("to_bring = %v", res.ToBring)
	}

	// The citizen sees the uploads and every access in their own views.
	r = h.Do("GET", "/api/v1/materials", "citizen-demo", nil)
	if r.Status != 200 || strings.Count(string(r.Body), `"material_type":"household-register"`) != 2 {
		t.Fatalf("citizen's materials: %d %s", r.Status, r.Body)
	}
	r = h.Do("GET", "/api/v1/my-data-access", "citizen-demo", nil)
	for _, action := range []string{material.ActionUpload, material.ActionDownload, audit.ActionReuse} {
		if !strings.Contains(string(r.Body), `"action":"`+action+`"`) {
			t.Errorf("my-data-access lacks %s: %s", action, r.Body)
		}
	}
}

// TestUploadRefusals: content that is not PDF, JPEG or PNG is refused
// whatever its name; bad metadata and a missing file are clear errors.
func TestUploadRefusals(t *testing.T) {
	h := hubtest.Start(t)
	fields := map[string]string{"applicant": lookupdemo.Citizen, "material_type": "household-register", "case_number": "GSC-1", "purpose": "结婚登记"}
	for name, content := range map[string][]byte{
		"scan.pdf":  []byte("MZ\x90\x00\x03 an executable"),
		"photo.jpg": []byte("<html><script>alert(1)</script></html>"),
		"page.png":  []byte("GIF89a\x01\x00"),
	} {
		status, body := upload(t, h, "officer-gsc", fields, name, content)
		if status != 400 || !strings.Contains(string(body), `"code":"unsupported_material_file"`) {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	bad := map[string]string{"applicant": "123", "material_type": "household-register", "case_number": "GSC-1", "purpose": "结婚登记"}
	if status, body := upload(t, h, "officer-gsc", bad, "a.pdf", pdf(100)); status != 400 || !strings.Contains(string(body), "invalid_applicant") {
		t.Errorf("bad applicant: %d %s", status, body)
	}
	r := h.Do("POST", "/api/v1/materials", "officer-gsc", map[string]string{"applicant": lookupdemo.Citizen})
	if r.Status != 400 || !strings.Contains(string(r.Body), "multipart_required") {
		t.Errorf("JSON body: %d %s", r.Status, r.Body)
	}
	if status, _ := upload(t, h, "reviewer", fields, "a.pdf", pdf(100)); status != 403 {
		t.Errorf("reviewer upload: %d", status)
	}
	// Over 20 MB: 413 whatever the name.
	if status, body := upload(t, h, "officer-gsc", fields, "big.pdf", pdf(20<<20+1)); status != 413 {
		t.Errorf("21 MB: %d %s", status, body)
	}
}

// TestRemovalRequestThroughTheEGovOffice: the citizen asks to remove their
// upload; the e-government office approves; the file is deleted, the
// upload is removed and no longer reused.
func TestRemovalRequestThroughTheEGovOffice(t *testing.T) {
	h := hubtest.Start(t)
	fields := map[string]string{"applicant": lookupdemo.Citizen, "material_type": "household-register", "case_number": "GSC-9", "purpose": "结婚登记"}
	status, body := upload(t, h, "officer-gsc", fields, "a.pdf", pdf(5000))
	if status != 201 {
		t.Fatalf("upload: %d %s", status, body)
	}
	var u material.Upload
	if err := jsonUnmarshal(body, &u); err != nil {
		t.Fatal(err)
	}
	if r := h.Do("POST", "/api/v1/material-removal-requests", "officer-lp", map[string]string{"upload_id": u.ID, "reason": "申请人要求"}); r.Status != 403 {
		t.Fatalf("officer of another department: %d %s", r.Status, r.Body)
	}
	r := h.Do("POST", "/api/v1/material-removal-requests", "citizen-demo", map[string]string{"upload_id": u.ID, "reason": "户口簿已换发，旧件请删除"})
	if r.Status != 201 {
		t.Fatalf("request: %d %s", r.Status, r.Body)
	}
	var req material.Removal
	r.JSON(t, &req)
	if r := h.Do("POST", "/api/v1/material-removal-requests/"+req.ID+"/approve", "citizen-demo", map[string]string{"reason": "x"}); r.Status != 403 {
		t.Fatalf("citizen approves: %d", r.Status)
	}
	r = h.Do("GET", "/api/v1/material-removal-requests?status=pending", "catalog-admin", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), req.ID) {
		t.Fatalf("pending list: %d %s", r.Status, r.Body)
	}
	r = h.Do("POST", "/api/v1/material-removal-requests/"+req.ID+"/approve", "catalog-admin", map[string]string{"reason": "同意删除"})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"status":"approved"`) {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/api/v1/material-removal-requests/"+req.ID+"/reject", "catalog-admin", map[string]string{"reason": "again"}); r.Status != 409 {
		t.Fatalf("decided twice: %d %s", r.Status, r.Body)
	}
	r = h.Do("GET", "/api/v1/materials/"+u.ID, "reviewer", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"status":"removed"`) {
		t.Fatalf("after approval: %d %s", r.Status, r.Body)
	}
	r = h.Do("GET", "/api/v1/materials/"+u.ID+"/content", "citizen-demo", nil)
	if r.Status != 404 || !strings.Contains(string(r.Body), "material_file_deleted") {
		t.Fatalf("content after removal: %d %s", r.Status, r.Body)
	}
	if got := events(t, h, url.Values{"action": {material.ActionRemovalApprove}}); got.Total != 1 {
		t.Fatalf("approval events = %+v", got)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
