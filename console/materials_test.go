package console_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"yiku/console"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
	"yiku/material"
)

// part is one field of a multipart form, in order; file marks the file.
type part struct {
	name, value string
	file        io.Reader
}

// postMultipart sends parts as the browser sends a form: in order, with a
// Content-Length.
func (c *client) postMultipart(path string, parts []part) (int, string) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.file != nil {
			w, err := mw.CreateFormFile(p.name, p.value)
			if err != nil {
				c.t.Fatal(err)
			}
			if _, err := io.Copy(w, p.file); err != nil {
				c.t.Fatal(err)
			}
			continue
		}
		if err := mw.WriteField(p.name, p.value); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// pdf is a file whose content is a PDF of n bytes.
func pdf(n int) []byte {
	b := bytes.Repeat([]byte{'x'}, n)
	copy(b, "%PDF-1.4\n")
	return b
}

// The upload form on the lookup result page: the console reads the form
// as a stream, checks its CSRF token (the first part) before the API sees
// anything, and forwards the rest to POST /api/v1/materials.
func TestMaterialUploadForm(t *testing.T) {
	h := hubtest.Start(t)
	officer := newClient(t, h.URL)
	page := officer.signIn(h, "officer-gsc")
	const caseNo = "UPLOAD-CASE-1"
	lookupForm := url.Values{"csrf": {csrf(t, page)}, "applicant": {lookupdemo.Citizen}, "service_item": {lookupdemo.ItemSocialSecurity},
		"case_number": {caseNo}, "purpose": {lookupdemo.ItemSocialSecurity + "::社会保障卡申领"}}
	code, page := officer.post("/console/lookup", lookupForm)
	if code != 200 || !strings.Contains(page, `data-material="photo" data-status="not_available"`) {
		t.Fatalf("lookup: %d %.2000s", code, page)
	}
	// A form for the photo (no catalog resource), none for the identity
	// the library supplies.
	if n := strings.Count(page, `action="/console/materials"`); n != 1 || !strings.Contains(page, `name="material_type" value="id-photo"`) {
		t.Fatalf("upload forms on the result page: %d %.3000s", n, page)
	}
	token := csrf(t, page)
	meta := []part{{"material_code", "photo", nil}, {"material_name", "近期免冠彩色证件照", nil}, {"service_item", lookupdemo.ItemSocialSecurity, nil},
		{"applicant", lookupdemo.Citizen, nil}, {"material_type", "id-photo", nil}, {"case_number", caseNo, nil}, {"purpose", "社会保障卡申领", nil},
		{"issuing_authority", "娄星区政务服务中心", nil}, {"issue_date", "2026-01-05", nil}, {"valid_until", "", nil}}
	form := func(csrfValue string, file []byte, name string) []part {
		ps := append([]part{{"csrf", csrfValue, nil}}, meta...)
		return append(ps, part{"file", name, bytes.NewReader(file)})
	}
	stored := func() int {
		t.Helper()
		r := h.Do("GET", "/api/v1/materials?"+url.Values{"applicant": {lookupdemo.Citizen}, "purpose": {"社会保障卡申领"}, "case_number": {caseNo}, "all": {"true"}}.Encode(), "officer-gsc", nil)
		var body struct {
			Materials []material.Upload `json:"materials"`
		}
		r.JSON(t, &body)
		return len(body.Materials)
	}

	// Without the token, with a wrong one, or with it after other fields:
	// the 403 page, and nothing reaches the material library.
	for name, ps := range map[string][]part{
		"missing":   append(append([]part{}, meta...), part{"file", "photo.pdf", bytes.NewReader(pdf(1000))}),
		"wrong":     form(strings.Repeat("A", len(token)), pdf(1000), "photo.pdf"),
		"not first": append(append(append([]part{}, meta...), part{"csrf", token, nil}), part{"file", "photo.pdf", bytes.NewReader(pdf(1000))}),
	} {
		code, body := officer.postMultipart(console.UploadPath, ps)
		if code != 403 || !strings.Contains(body, "请求已被拒绝") {
			t.Errorf("csrf %s: %d %.500s", name, code, body)
		}
	}
	if n := stored(); n != 0 {
		t.Fatalf("%d uploads stored by forms failing the CSRF check", n)
	}

	// Content that is not PDF, JPEG or PNG, whatever its name: the API's
	// refusal beside the file field, the other values kept.
	code, body := officer.postMultipart(console.UploadPath, form(token, []byte("just some text, not a scan"), "photo.pdf"))
	if code != 422 || !regexp.MustCompile(`id="up-file-error">文件内容不是 PDF、JPEG 或 PNG`).MatchString(body) || !strings.Contains(body, `value="娄星区政务服务中心"`) {
		t.Fatalf("text as a PDF: %d %.3000s", code, body)
	}
	// A date the API refuses comes back beside its field.
	bad := form(token, pdf(1000), "photo.pdf")
	bad[9] = part{"issue_date", "2026-13-40", nil}
	if code, body := officer.postMultipart(console.UploadPath, bad); code != 422 || !strings.Contains(body, `id="up-issued-error"`) {
		t.Fatalf("bad date: %d %.3000s", code, body)
	}
	if n := stored(); n != 0 {
		t.Fatalf("%d uploads stored by refused forms", n)
	}

	// A good one: stored, and the page shows its id, type and hash.
	file := pdf(200 << 10)
	sum := sha256.Sum256(file)
	code, body = officer.postMultipart(console.UploadPath, form(token, file, "证件照.pdf"))
	if code != 201 || !strings.Contains(body, hex.EncodeToString(sum[:])) || !strings.Contains(body, `<dd class="mono upload-type">id-photo</dd>`) {
		t.Fatalf("upload: %d %.3000s", code, body)
	}
	if n := stored(); n != 1 {
		t.Fatalf("%d uploads stored, want 1", n)
	}
	// Looking up again (the page's button) answers the photo from the
	// material library.
	if !strings.Contains(body, `action="/console/lookup"`) || !strings.Contains(body, `name="purpose" value="`+lookupdemo.ItemSocialSecurity+`::社会保障卡申领"`) {
		t.Fatalf("no lookup-again form: %.3000s", body)
	}
	lookupForm.Set("csrf", csrf(t, body))
	code, page = officer.post("/console/lookup", lookupForm)
	if code != 200 || !strings.Contains(page, `data-material="photo" data-status="supplied"`) || !strings.Contains(page, `data-source="material_library"`) {
		t.Fatalf("lookup again: %d %.3000s", code, page)
	}
	if strings.Contains(page, `action="/console/materials"`) {
		t.Error("an upload form is offered for a material the material library supplied")
	}

	// 20 MB, the default limit, goes through; one byte more is the
	// clear 413 page, and so is a body over the console's own limit,
	// refused before it is read.
	code, body = officer.postMultipart(console.UploadPath, form(token, pdf(material.DefaultMaxBytes), "big.pdf"))
	if code != 201 {
		t.Fatalf("20 MB upload: %d %.1000s", code, body)
	}
	for name, n := range map[string]int{"limit + 1": material.DefaultMaxBytes + 1, "over the form's limit": int(console.UploadLimit(0)) + 1} {
		code, body = officer.postMultipart(console.UploadPath, form(token, pdf(n), "big.pdf"))
		if code != 413 || !strings.Contains(body, "文件过大") || !strings.Contains(body, "单个材料文件不能超过 20 MB") {
			t.Errorf("%s: %d %.1000s", name, code, body)
		}
	}
	if n := stored(); n != 2 {
		t.Fatalf("%d uploads stored, want 2", n)
	}
	// The API audited each forwarded form as the officer, from the
	// visitor's address; the forms failing the CSRF check and the body
	// over the console's limit never reached it.
	var outcomes []string
	for _, e := range events(t, h, url.Values{"action": {"material.upload"}}) {
		if e.PrincipalName != "officer-gsc" || e.ClientAddr != "127.0.0.1" || e.CaseNumber != caseNo {
			t.Errorf("upload event %+v", e)
		}
		outcomes = append(outcomes, string(e.Outcome))
	}
	sort.Strings(outcomes)
	if got := strings.Join(outcomes, ","); got != "allowed,allowed,error,error,error" {
		t.Errorf("upload events: %s", got)
	}
}

// pdfStream is a PDF of n bytes made on the fly, so the client holds none
// of it.
type pdfStream struct{ n, off int64 }

func (p *pdfStream) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n-p.off {
		b = b[:p.n-p.off]
	}
	for i := range b {
		b[i] = byte(p.off + int64(i))
	}
	if p.off == 0 {
		copy(b, "%PDF-1.7\n")
	}
	p.off += int64(len(b))
	return len(b), nil
}

// A 20 MiB upload through the console keeps the heap flat: neither the
// console nor the API holds the file (a buffered file alone would add
// 20 MiB). The heap in use is sampled every 2 ms during the upload, with
// the collector run at GOGC=5 so that the heap in use is close to what
// is live: at the default GOGC=100 the garbage of the hub's other
// goroutines alone let the heap grow by 33 MiB in a CI run under -race.
func TestMaterialUploadStreams(t *testing.T) {
	h := hubtest.Start(t)
	// The hub's start-up (the demo feeds flowing into the library) is
	// over before the heap is measured.
	h.WaitDemoLibrary(t)
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	officer := newClient(t, h.URL)
	token := csrf(t, officer.signIn(h, "officer-gsc"))
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, kv := range [][2]string{{"csrf", token}, {"applicant", lookupdemo.Citizen}, {"material_type", "household-register"},
			{"case_number", "STREAM-1"}, {"purpose", "结婚登记"}} {
			_ = mw.WriteField(kv[0], kv[1])
		}
		fw, _ := mw.CreateFormFile("file", "scan.pdf")
		_, err := io.Copy(fw, &pdfStream{n: material.DefaultMaxBytes})
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, h.URL+console.UploadPath, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	code, body := officer.do(req)
	close(stop)
	<-sampled
	if code != 201 {
		t.Fatalf("streamed upload: %d %.1000s", code, body)
	}
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use: %.1f MiB before, peak %.1f MiB during a 20 MiB upload through the console", float64(base.HeapInuse)/(1<<20), float64(peak.Load())/(1<<20))
	// Streamed, the upload's own buffers are a few hundred KiB; the rest
	// of the growth is the test hub's other goroutines (sink, delivery,
	// audit) and the garbage GOGC=5 still allows: 0.4 MiB in all once the
	// start-up is over. A console that holds the file whole grew by 67 MiB
	// (the file is live, and more while the buffer doubles): the file's
	// size is the line between the two.
	if grew >= material.DefaultMaxBytes {
		t.Errorf("the heap grew by %.1f MiB during a 20 MiB upload: the console holds the file", float64(grew)/(1<<20))
	}
}
