package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// The console's browser tests drive Debian's headless Chromium with
// chromedp. Under `make test` (YIKU_REQUIRE_BROWSER=1, after
// scripts/browser-deps.sh installed chromium and a CJK font) a missing
// browser fails the run; under plain `go test` it skips the test.

// browserPath finds the Chromium binary.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("YIKU_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("YIKU_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium not found: run scripts/browser-deps.sh (make test does)")
	}
	t.Skip("chromium not found: the browser tests need Debian's chromium (scripts/browser-deps.sh installs it)")
	return ""
}

// artifactDir is where screenshots go (git-ignored).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("YIKU_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", ".artifacts", "console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium shared by a test's tabs; each tab runs
// in its own browser context (its own cookies), and every request any tab
// makes is recorded for the same-origin check.
type browser struct {
	t      *testing.T
	alloc  context.Context
	base   string
	shots  string
	mu     sync.Mutex
	urls   []string
	cancel func()
}

func newBrowser(t *testing.T, base string) *browser {
	path := browserPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "zh-CN"), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	// The first context starts the browser; tabs are opened from it.
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return &browser{t: t, alloc: root, base: base, shots: artifactDir(t), cancel: cancel}
}

// tab opens a tab in a fresh browser context (its own cookies) and
// records every request it makes.
func (b *browser) tab() context.Context {
	ctx, cancel := chromedp.NewContext(b.alloc, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.urls = append(b.urls, e.Request.URL)
			b.mu.Unlock()
		}
	})
	if err == nil {
		_, err = chromedp.Call(ctx, network.Enable, network.EnableParams{})
	}
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return ctx
}

// run runs steps with a time limit, failing the test on error.
func (b *browser) run(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 600) : ''`))
		b.t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, text)
	}
}

// value runs one action returning a value, failing the test on error.
func value[T any](b *browser, ctx context.Context, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// media emulates a CSS media type ("print"; "" for the screen).
func media(m string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
		return err
	})
}

// shot writes a full-page screenshot to the artifacts.
func (b *browser) shot(ctx context.Context, name string) {
	b.t.Helper()
	png := value(b, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs the tab in by pasting secret into the sign-in form.
func (b *browser) signIn(ctx context.Context, secret string) {
	b.t.Helper()
	b.run(ctx, "sign in",
		chromedp.Navigate(b.base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("#credential")),
		chromedp.SetValue(chromedp.ID("#credential"), secret),
		chromedp.Click(chromedp.CSS("form.form button[type=submit]")),
		chromedp.WaitNotPresent(chromedp.ID("#credential")),
	)
}

// text returns the text of the first node matching sel.
func (b *browser) text(ctx context.Context, sel string) string {
	b.t.Helper()
	return value(b, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// eval evaluates a JavaScript expression through DevTools (not through
// the page, so the CSP does not apply to it).
func eval[T any](b *browser, ctx context.Context, expr string) T {
	b.t.Helper()
	return value(b, ctx, "eval "+expr, chromedp.Evaluate[T](expr))
}

// js runs a JavaScript statement as a step.
func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](expr + "; undefined")
}

// checkPage checks what every page must have: lang, a label for every
// form field, and that Tab reaches the main content's first control.
func (b *browser) checkPage(ctx context.Context, name string) {
	b.t.Helper()
	var lang string
	lang = eval[string](b, ctx, `document.documentElement.lang`)
	if lang != "zh-CN" {
		b.t.Errorf("%s: lang=%q", name, lang)
	}
	var unlabelled []string
	unlabelled = eval[[]string](b, ctx, `Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea')).filter(function (el) {
		return !(el.id && document.querySelector('label[for="' + el.id + '"]')) && !el.getAttribute('aria-label') && !el.closest('label');
	}).map(function (el) { return el.name || el.outerHTML; })`)
	if len(unlabelled) > 0 {
		b.t.Errorf("%s: form fields without a label: %v", name, unlabelled)
	}
	// Keyboard: Tab from the top first reaches the skip link, and every
	// control of the page is reachable (none has a negative tabindex).
	var skip string
	b.run(ctx, "tab", chromedp.KeyEvent("\t"))
	skip = eval[string](b, ctx, `document.activeElement ? (document.activeElement.className || document.activeElement.tagName) : ''`)
	if skip != "skip" {
		b.t.Errorf("%s: the first Tab focuses %q, not the skip link", name, skip)
	}
	var negative int
	negative = eval[int](b, ctx, `document.querySelectorAll('a[tabindex^="-"], button[tabindex^="-"], input[tabindex^="-"], select[tabindex^="-"]').length`)
	if negative > 0 {
		b.t.Errorf("%s: %d controls are out of the tab order", name, negative)
	}
	b.run(ctx, "blur", js(`document.activeElement && document.activeElement.blur()`))
}

// open navigates, checks the page's status marker and basics, and screenshots it.
func (b *browser) open(ctx context.Context, path, waitSel, shot string) {
	b.t.Helper()
	b.run(ctx, "open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(waitSel)))
	b.checkPage(ctx, path)
	if shot != "" {
		b.shot(ctx, shot)
	}
}

// sameOrigin checks that no tab requested anything outside the hub.
func (b *browser) sameOrigin() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.urls) == 0 {
		b.t.Fatal("no requests recorded")
	}
	for _, u := range b.urls {
		if !strings.HasPrefix(u, b.base+"/") && !strings.HasPrefix(u, "data:") {
			b.t.Errorf("a page requested %s, outside the hub %s", u, b.base)
		}
	}
}

// lookupInBrowser fills and sends the lookup form.
func (b *browser) lookup(ctx context.Context, applicant, item, caseNo string) {
	b.t.Helper()
	b.run(ctx, "lookup form",
		chromedp.Navigate(b.base+"/console/lookup"),
		chromedp.WaitVisible(chromedp.ID("#applicant")),
		chromedp.SendKeys(chromedp.ID("#applicant"), applicant),
		chromedp.SetValue(chromedp.ID("#service_item"), item),
		js(`document.getElementById('service_item').dispatchEvent(new Event('change'))`),
		chromedp.SendKeys(chromedp.ID("#case_number"), caseNo),
		chromedp.Click(chromedp.CSS("form.lookup-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("section.result")),
	)
}

func (b *browser) status(ctx context.Context, material string) string {
	b.t.Helper()
	var s string
	s = eval[string](b, ctx, fmt.Sprintf(`(document.querySelector('[data-material=%q]') || {dataset: {}}).dataset.status || ''`, material))
	return s
}

func TestBrowser(t *testing.T) {
	path := browserPath(t)
	_ = path
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	b := newBrowser(t, h.URL)

	t.Run("officer lookup end to end", func(t *testing.T) {
		b.t = t
		ctx := b.tab()
		b.signIn(ctx, h.Secret("officer-gsc"))
		b.open(ctx, "/console/lookup", "#applicant", "officer-lookup-form")

		// The ID number is checked as it is typed.
		b.run(ctx, "type a bad ID", chromedp.SendKeys(chromedp.ID("#applicant"), "431302198506159914"))
		var invalid string
		invalid = eval[string](b, ctx, `document.getElementById('applicant').getAttribute('aria-invalid')`)
		if msg := b.text(ctx, "#applicant-error"); invalid != "true" || !strings.Contains(msg, "校验位") {
			t.Fatalf("a bad check digit is not flagged as typed: aria-invalid=%q message=%q", invalid, msg)
		}
		// … and again on the server when the form is sent anyway.
		b.run(ctx, "send a bad ID",
			chromedp.SetValue(chromedp.ID("#service_item"), lookupdemo.ItemSocialSecurity),
			js(`document.getElementById('service_item').dispatchEvent(new Event('change'))`),
			chromedp.SendKeys(chromedp.ID("#case_number"), "BAD-1"),
			chromedp.Click(chromedp.CSS("form.lookup-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".field.has-error #applicant")))
		b.shot(ctx, "officer-lookup-field-error")

		b.lookup(ctx, lookupdemo.Citizen, lookupdemo.ItemSocialSecurity, "LX-SB-2025-0100")
		if s := b.status(ctx, "identity"); s != "supplied" {
			t.Errorf("identity: %q", s)
		}
		if s := b.status(ctx, "insurance"); s != "supplied" {
			t.Errorf("insurance: %q", s)
		}
		if s := b.status(ctx, "photo"); s != "not_available" {
			t.Errorf("photo: %q", s)
		}
		var page string
		page = eval[string](b, ctx, `document.body.innerText`)
		if strings.Contains(page, lookupdemo.Citizen) {
			t.Error("the result page shows the plain ID number")
		}
		if !strings.Contains(b.text(ctx, ".receipt-supplied"), "居民身份信息") || !strings.Contains(b.text(ctx, ".receipt-bring"), "近期免冠彩色证件照") {
			t.Errorf("receipt: %q / %q", b.text(ctx, ".receipt-supplied"), b.text(ctx, ".receipt-bring"))
		}
		b.checkPage(ctx, "lookup result")
		b.shot(ctx, "officer-lookup-result")
		// The printed receipt: navigation, form and result details hidden.
		b.run(ctx, "print media", media("print"))
		var formShown bool
		formShown = eval[bool](b, ctx, `getComputedStyle(document.querySelector('form.lookup-form')).display !== 'none'`)
		if formShown {
			t.Error("the print stylesheet shows the form")
		}
		b.shot(ctx, "officer-receipt-print")
		b.run(ctx, "screen media", media(""))

		// A form sent without its CSRF token is refused.
		b.run(ctx, "csrf-less post",
			chromedp.Navigate(b.base+"/console/lookup"),
			chromedp.WaitVisible(chromedp.ID("#applicant")),
			js(`document.querySelector('form.lookup-form input[name=csrf]').remove()`),
			chromedp.Click(chromedp.CSS("form.lookup-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(`section.error-page[data-status="403"]`)))
		if s := b.text(ctx, "h1"); !strings.Contains(s, "请求已被拒绝") {
			t.Errorf("csrf-less post answered %q", s)
		}

		// The lookup opened the case: the department's list links its page,
		// which shows each material's source.
		b.open(ctx, "/console/cases", `tr[data-case="LX-SB-2025-0100"]`, "officer-cases")
		b.run(ctx, "open the case", chromedp.Click(chromedp.CSS(`tr[data-case="LX-SB-2025-0100"] a`)), chromedp.WaitVisible(chromedp.CSS("table.case-materials")))
		var sources string
		sources = eval[string](b, ctx, `[...document.querySelectorAll('tr[data-material]')].map(r => r.dataset.material + '=' + r.dataset.source).join(',')`)
		if sources != "identity=library,insurance=library,photo=brought" {
			t.Errorf("case materials: %q", sources)
		}
		b.checkPage(ctx, "case page")
		b.shot(ctx, "officer-case")

		// Another role's page answers the 403 page.
		b.open(ctx, "/console/audit", `section.error-page[data-status="403"]`, "officer-on-audit-403")
	})

	t.Run("officer uploads a material, looks up again, moves the case", func(t *testing.T) {
		b.t = t
		ctx := b.tab()
		b.signIn(ctx, h.Secret("officer-gsc"))
		dir := t.TempDir()
		text := filepath.Join(dir, "photo.pdf")
		scan := filepath.Join(dir, "证件照.pdf")
		scanBytes := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
		if err := os.WriteFile(text, []byte("not a scan, whatever the name says"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(scan, scanBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		b.lookup(ctx, lookupdemo.Citizen2, lookupdemo.ItemSocialSecurity, "LX-SB-2025-0300")
		if s := b.status(ctx, "photo"); s != "not_available" {
			t.Fatalf("photo before the upload: %q", s)
		}
		if n := eval[int](b, ctx, `document.querySelectorAll('form.upload-material').length`); n != 1 {
			t.Errorf("%d upload forms on the result page, want 1 (the photo)", n)
		}
		b.checkPage(ctx, "lookup result with the upload form")
		b.run(ctx, "open the upload form",
			chromedp.Click(chromedp.CSS(`[data-material=photo] details.upload summary`)),
			chromedp.WaitVisible(chromedp.ID("up-photo-file")))
		b.shot(ctx, "officer-upload-form")
		// Text named .pdf: the API's refusal beside the file field.
		b.run(ctx, "upload text as a PDF",
			chromedp.SetValue(chromedp.ID("up-photo-authority"), "娄星区政务服务中心"),
			chromedp.SetUploadFiles(chromedp.ID("up-photo-file"), []string{text}),
			chromedp.Click(chromedp.CSS(`[data-material=photo] form.upload-material button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID("up-file-error")))
		if s := b.text(ctx, "#up-file-error"); !strings.Contains(s, "不是 PDF") {
			t.Errorf("field error for text: %q", s)
		}
		b.checkPage(ctx, "upload form with errors")
		b.shot(ctx, "officer-upload-field-error")
		b.run(ctx, "upload the scan",
			chromedp.SetUploadFiles(chromedp.ID("up-file"), []string{scan}),
			chromedp.Click(chromedp.CSS(`form.upload-material button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("section.uploaded")))
		sum := sha256.Sum256(scanBytes)
		if got := b.text(ctx, ".upload-hash"); got != hex.EncodeToString(sum[:]) {
			t.Errorf("hash shown %q", got)
		}
		if got := b.text(ctx, ".upload-type"); got != "id-photo" {
			t.Errorf("type shown %q", got)
		}
		b.checkPage(ctx, "uploaded")
		b.shot(ctx, "officer-material-uploaded")
		// Looking up again supplies it from the material library, and so
		// does a lookup under a new case number.
		b.run(ctx, "look up again", chromedp.Click(chromedp.CSS("form.relookup button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("section.result")))
		for _, caseNo := range []string{"LX-SB-2025-0300", "LX-SB-2025-0301"} {
			if caseNo != "LX-SB-2025-0300" {
				b.lookup(ctx, lookupdemo.Citizen2, lookupdemo.ItemSocialSecurity, caseNo)
			}
			if s := b.status(ctx, "photo"); s != "supplied" {
				t.Errorf("%s: photo after the upload: %q", caseNo, s)
			}
			if n := eval[int](b, ctx, `document.querySelectorAll('[data-material=photo] [data-source=material_library]').length`); n != 1 {
				t.Errorf("%s: the photo is not shown as from the material library", caseNo)
			}
		}
		b.shot(ctx, "officer-lookup-material-library")

		// The case: its photo now from the material library; the officer
		// accepts it with the state form.
		b.open(ctx, "/console/cases/LX-SB-2025-0300", "form.case-state", "")
		if src := eval[string](b, ctx, `document.querySelector('tr[data-material=photo]').dataset.source`); src != "material_library" {
			t.Errorf("the case's photo source: %q", src)
		}
		moves := eval[[]string](b, ctx, `Array.from(document.querySelectorAll('form.case-state input[name=state]')).map(function (i) { return i.value; })`)
		if strings.Join(moves, ",") != "accepted,rejected" {
			t.Errorf("moves offered: %v", moves)
		}
		b.shot(ctx, "officer-case-state-form")
		b.run(ctx, "accept",
			chromedp.Click(chromedp.ID("move-accepted")),
			chromedp.SetValue(chromedp.ID("move-note"), "材料齐全，予以受理"),
			chromedp.Click(chromedp.CSS("form.case-state button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("p.notice")))
		if s := b.text(ctx, "#case-state"); s != "已受理" {
			t.Errorf("state after accepting: %q", s)
		}
		b.checkPage(ctx, "case accepted")
		b.shot(ctx, "officer-case-accepted")
	})

	t.Run("not permitted", func(t *testing.T) {
		b.t = t
		ctx := b.tab()
		b.signIn(ctx, h.Secret("officer-lp"))
		b.lookup(ctx, lookupdemo.Citizen, lookupdemo.ItemSocialSecurity, "LP-2025-0100")
		if s := b.status(ctx, "insurance"); s != "not_permitted" {
			t.Errorf("insurance for officer-lp: %q", s)
		}
		if s := b.status(ctx, "identity"); s != "supplied" {
			t.Errorf("identity for officer-lp: %q", s)
		}
		b.shot(ctx, "officer-lookup-not-permitted")
	})

	t.Run("narrower approval then lookup", func(t *testing.T) {
		b.t = t
		// The street's service centre gets an administrator, who asks the
		// social-security bureau for its insurance data (all fields).
		var created struct{ ID string }
		r := h.Do("POST", "/api/v1/admin/principals", "catalog-admin", map[string]string{"name": "admin-lp", "display_name": "乐坪便民服务中心管理员",
			"kind": "person", "role": "department_admin", "department_code": "lx-gsc-lp"})
		if r.Status != 201 {
			t.Fatalf("create admin-lp: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &created)
		var tok struct{ Token string }
		r = h.Do("POST", "/api/v1/admin/principals/"+created.ID+"/tokens", "catalog-admin", map[string]string{"expires_in": "30m"})
		if r.Status != 201 {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &tok)
		var res struct {
			Fields []struct{ Name string } `json:"fields"`
		}
		h.Do("GET", "/api/v1/catalog/resources/social-security", "catalog-admin", nil).JSON(t, &res)
		var fields []string
		for _, f := range res.Fields {
			fields = append(fields, f.Name)
		}
		body, _ := json.Marshal(map[string]any{"resource_id": "social-security", "fields": fields, "purposes": []string{"社会保障卡申领", "就业服务"},
			"legal_basis": "国发〔2018〕27号：申请材料能通过共享获取的，不再要求申请人提交", "service_items": []string{"社会保障卡申领（431302-SC-HRSS-0007）"},
			"valid_until": time.Now().AddDate(1, 0, 0).Format(time.RFC3339)})
		r = h.DoSecret("POST", "/api/v1/share-requests", tok.Token, body)
		if r.Status != 201 {
			t.Fatalf("apply: %d %s", r.Status, r.Body)
		}
		var req struct{ ID string }
		r.JSON(t, &req)
		dropped := "start_date"
		if !has(fields, dropped) {
			dropped = fields[len(fields)-1]
		}

		// The provider's administrator approves fewer fields and one purpose.
		ctx := b.tab()
		b.signIn(ctx, h.Secret("admin-hrss"))
		b.open(ctx, "/console/share-requests", "table.requests", "deptadmin-share-requests")
		b.run(ctx, "open the request", chromedp.Click(chromedp.CSS(`tr[data-request="`+req.ID+`"] a`)), chromedp.WaitVisible(chromedp.CSS("form.approve")))
		b.checkPage(ctx, "share request")
		b.run(ctx, "narrow and approve",
			chromedp.Click(chromedp.CSS(`form.approve input[name=fields][value="`+dropped+`"]`)),
			chromedp.Click(chromedp.CSS(`form.approve input[name=purposes][value="就业服务"]`)),
			chromedp.SetValue(chromedp.ID("#approve-reason"), "仅批准办理社保卡所需字段"))
		b.shot(ctx, "deptadmin-approve-narrower")
		b.run(ctx, "approve", chromedp.Click(chromedp.CSS("form.approve button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(`[data-status="approved"]`)))
		var grant struct {
			Grant struct {
				Fields   []string `json:"fields"`
				Purposes []string `json:"purposes"`
			} `json:"grant"`
		}
		r = h.DoSecret("GET", "/api/v1/share-requests/"+req.ID, tok.Token, nil)
		var got struct {
			Status  string `json:"status"`
			GrantID string `json:"grant_id"`
		}
		r.JSON(t, &got)
		if got.Status != "approved" || got.GrantID == "" {
			t.Fatalf("request after approval: %s", r.Body)
		}
		_ = grant
		gr := h.DoSecret("GET", "/api/v1/grants/"+got.GrantID, tok.Token, nil)
		var g struct {
			Fields   []string `json:"fields"`
			Purposes []string `json:"purposes"`
		}
		gr.JSON(t, &g)
		if has(g.Fields, dropped) || len(g.Fields) != len(fields)-1 || len(g.Purposes) != 1 || g.Purposes[0] != "社会保障卡申领" {
			t.Fatalf("grant = %s", gr.Body)
		}
		b.open(ctx, "/console/access", "table.access", "deptadmin-access")
		b.open(ctx, "/console/exchange", "table.lags", "deptadmin-exchange")

		// The requester's officer now gets the insurance material, with the granted fields only.
		octx := b.tab()
		b.signIn(octx, h.Secret("officer-lp"))
		deadline := time.Now().Add(20 * time.Second)
		for {
			b.lookup(octx, lookupdemo.Citizen, lookupdemo.ItemSocialSecurity, "LP-2025-0101")
			if b.status(octx, "insurance") == "supplied" || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if s := b.status(octx, "insurance"); s != "supplied" {
			t.Fatalf("insurance after the grant: %q", s)
		}
		var keys []string
		keys = eval[[]string](b, octx, `Array.from(document.querySelectorAll('[data-material=insurance] dl.record dt')).map(function (d) { return d.textContent; })`)
		if has(keys, dropped) || len(keys) == 0 {
			t.Errorf("insurance record fields %v include the field not granted (%s)", keys, dropped)
		}
		b.shot(octx, "officer-lookup-after-grant")
	})

	t.Run("reviewer finds the access by ID number", func(t *testing.T) {
		b.t = t
		ctx := b.tab()
		b.signIn(ctx, h.Secret("reviewer"))
		b.open(ctx, "/console/audit", "form.filters", "")
		b.run(ctx, "search by subject",
			chromedp.SendKeys(chromedp.ID("#f-subject"), lookupdemo.Citizen),
			chromedp.Click(chromedp.CSS("form.filters button[type=submit]")),
			// The unfiltered page before it lists lookups too: wait for the
			// search's answer, whose export link carries the subject.
			chromedp.WaitVisible(chromedp.CSS(`a[download][href*="subject="]`)),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-action="lookup"]`)))
		var rows []string
		rows = eval[[]string](b, ctx, `Array.from(document.querySelectorAll('tr[data-action=lookup]')).map(function (r) { return r.cells[1].textContent; })`)
		if !has(rows, "officer-gsc") || !has(rows, "officer-lp") {
			t.Errorf("lookups of the citizen found for %v", rows)
		}
		var exportHref string
		exportHref = eval[string](b, ctx, `document.querySelector('a[download]').getAttribute('href')`)
		if !strings.Contains(exportHref, "/console/audit/export?") || !strings.Contains(exportHref, lookupdemo.Citizen) {
			t.Errorf("export link %q", exportHref)
		}
		b.checkPage(ctx, "audit search")
		b.shot(ctx, "reviewer-audit-search")
		// Each row links to its event's detail with its place in the chain.
		href := eval[string](b, ctx, `document.querySelector('tr[data-action=lookup] a.event-link').getAttribute('href')`)
		if !strings.HasPrefix(href, "/console/audit/events/") {
			t.Fatalf("event link %q", href)
		}
		b.open(ctx, href, "section.chain-position", "")
		if seq := b.text(ctx, "section.chain-position dd.seq"); seq == "" || seq == "0" {
			t.Errorf("chain seq %q", seq)
		}
		if cov := b.text(ctx, "section.chain-position dd.coverage"); cov == "" {
			t.Error("no checkpoint coverage shown")
		}
		b.shot(ctx, "reviewer-event-detail")
		// A verification started from the page reloads itself until its result.
		b.open(ctx, "/console/audit/verify", "form.verify-start", "")
		b.run(ctx, "start verification",
			chromedp.Click(chromedp.CSS("form.verify-start button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(`section.verify-run[data-state="done"]`)))
		if ok := eval[string](b, ctx, `document.querySelector('section.verify-run p.result').getAttribute('data-ok')`); ok != "true" {
			t.Errorf("verification of an intact trail: data-ok=%q: %s", ok, b.text(ctx, "section.verify-run"))
		}
		if chains := b.text(ctx, "section.verify-run dd.chains"); chains == "" || chains == "0" {
			t.Errorf("chains verified: %q", chains)
		}
		b.checkPage(ctx, "verification")
		b.shot(ctx, "reviewer-verification")
		b.open(ctx, "/console/anomalies", "main h1", "reviewer-anomalies")
		// The reviewer does not look applicants up: the lookup page is the 403 page.
		b.open(ctx, "/console/lookup", `section.error-page[data-status="403"]`, "")
	})

	t.Run("citizen on a phone", func(t *testing.T) {
		b.t = t
		ctx := b.tab()
		b.run(ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile))
		b.signIn(ctx, h.Secret("citizen-demo"))
		b.open(ctx, "/console/my-data", "main h1", "citizen-my-data-390px")
		var n int
		n = eval[int](b, ctx, `document.querySelectorAll('li.access').length`)
		if n == 0 {
			t.Fatal("the citizen sees no access, though officers looked the citizen up")
		}
		var width int
		width = eval[int](b, ctx, `document.documentElement.scrollWidth`)
		if width > 390 {
			t.Errorf("the page is %d px wide on a 390 px phone", width)
		}
		// The citizen's own cases: the officers' lookups opened them.
		b.open(ctx, "/console/cases", "main h1", "citizen-cases-390px")
		if n = eval[int](b, ctx, `document.querySelectorAll('tr[data-case]').length`); n == 0 {
			t.Error("the citizen sees no case, though officers looked the citizen up with case numbers")
		}
		if width = eval[int](b, ctx, `document.documentElement.scrollWidth`); width > 390 {
			t.Errorf("the cases page is %d px wide on a 390 px phone", width)
		}
		b.open(ctx, "/console/lookup", `section.error-page[data-status="403"]`, "")
	})

	t.Run("catalog admin", func(t *testing.T) {
		b.t = t
		ctx := b.tab()
		b.signIn(ctx, h.Secret("catalog-admin"))
		b.open(ctx, "/console/resources", "table.resources", "catalog-resources")
		b.open(ctx, "/console/resources?share_type=conditional", "table.resources", "")
		var shares []string
		shares = eval[[]string](b, ctx, `Array.from(document.querySelectorAll('table.resources tbody tr')).map(function (r) { return r.cells[3].textContent; })`)
		for _, s := range shares {
			if s != "有条件共享" {
				t.Errorf("conditional filter shows %q", s)
			}
		}
		b.open(ctx, "/console/departments", "ul.tree", "catalog-departments")
		var nested int
		nested = eval[int](b, ctx, `document.querySelectorAll('ul.tree ul.tree ul.tree li').length`)
		if nested == 0 {
			t.Error("the department tree has no third level")
		}
		b.open(ctx, "/console/reuse", "figure.chart", "catalog-reuse")
		var bars int
		bars = eval[int](b, ctx, `document.querySelectorAll('svg rect.chart-bar').length`)
		if bars == 0 {
			t.Error("the reuse dashboard draws no bars after lookups")
		}
		// Every department's requests, a pending one past its deadline
		// highlighted as overdue.
		r := h.Do("POST", "/api/v1/share-requests", "admin-hrss", map[string]any{"resource_id": "marriage-registration", "fields": []string{"id_number"},
			"purposes": []string{"生育登记"}, "legal_basis": "《婚姻登记条例》", "service_items": []string{"生育登记"},
			"valid_until": time.Now().AddDate(0, 1, 0).Format(time.RFC3339)})
		if r.Status != 201 {
			t.Fatalf("apply: %d %s", r.Status, r.Body)
		}
		var late struct{ ID string }
		r.JSON(t, &late)
		if err := h.DB.Gorm.Exec("UPDATE share_requests SET deadline = ? WHERE id = ?", time.Now().Add(-time.Hour).UTC(), late.ID).Error; err != nil {
			t.Fatal(err)
		}
		b.open(ctx, "/console/share-requests", `tr.overdue[data-request="`+late.ID+`"]`, "catalog-share-requests")
		if n := eval[int](b, ctx, `document.querySelectorAll('table.requests tbody tr').length`); n < 2 {
			t.Errorf("all requests lists %d rows", n)
		}

		// A resource's detail, and the compatibility dry run of a proposed
		// schema: the latest schema unchanged is compatible (the same
		// version); one that makes an optional field required is not.
		b.open(ctx, "/console/resources/population", "table.fields", "catalog-resource-detail")
		b.run(ctx, "dry run unchanged", chromedp.Click(chromedp.CSS("form.compat button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("section.report")))
		var compatible string
		compatible = eval[string](b, ctx, `document.querySelector('section.report').dataset.compatible`)
		if compatible != "true" {
			t.Errorf("the unchanged schema is reported compatible=%s", compatible)
		}
		b.run(ctx, "dry run breaking",
			js(`(function () { var ta = document.getElementById('schema'); var s = JSON.parse(ta.value);
				var req = s.required || [], opt = Object.keys(s.properties).filter(function (p) { return req.indexOf(p) < 0; });
				s.required = req.concat([opt[0]]); ta.value = JSON.stringify(s, null, 2); })()`),
			chromedp.Click(chromedp.CSS("form.compat button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(`section.report[data-compatible="false"] ul.issues li`)))
		b.shot(ctx, "catalog-resource-compat")
		if n := eval[int](b, ctx, `document.querySelectorAll('ul.versions li[data-version]').length`); n != 1 {
			t.Errorf("the dry run registered a version: %d versions", n)
		}

		// Registering a resource: a malformed field line is an error beside
		// the field; corrected, the resource is registered and editable.
		b.open(ctx, "/console/resources/new", "form.resource-form", "")
		b.run(ctx, "register with a bad field line",
			chromedp.SetValue(chromedp.ID("rf-id"), "console-test-list"),
			chromedp.SetValue(chromedp.ID("rf-name"), "控制台登记测试清单"),
			chromedp.SetValue(chromedp.ID("rf-class_code"), "201099"),
			chromedp.SetValue(chromedp.ID("rf-provider_code"), "lx-egov"),
			chromedp.SetValue(chromedp.ID("rf-share_type"), "unconditional"),
			chromedp.SetValue(chromedp.ID("rf-base_library"), "theme"),
			chromedp.SetValue(chromedp.ID("rf-subject_type"), "none"),
			chromedp.SetValue(chromedp.ID("rf-summary"), "用于控制台登记流程的测试清单。"),
			chromedp.SetValue(chromedp.ID("rf-fields"), "item_code | 事项编码"),
			chromedp.Click(chromedp.CSS("form.resource-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".has-error #rf-fields")))
		b.shot(ctx, "catalog-register-field-error")
		b.run(ctx, "register",
			chromedp.SetValue(chromedp.ID("rf-fields"), "item_code | 事项编码 | C | public\nitem_name | 事项名称 | C | public"),
			chromedp.Click(chromedp.CSS("form.resource-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("table.fields")))
		if s := b.text(ctx, "p.notice"); !strings.Contains(s, "资源已保存") {
			t.Errorf("after registering: %q", s)
		}
		b.run(ctx, "edit", chromedp.Click(chromedp.CSS(`a[href$="/edit"]`)), chromedp.WaitVisible(chromedp.ID("rf-name")),
			chromedp.SetValue(chromedp.ID("rf-name"), "控制台登记测试清单（修订）"),
			chromedp.Click(chromedp.CSS("form.resource-form button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("table.fields")))
		if s := b.text(ctx, "main h1"); !strings.Contains(s, "（修订）") {
			t.Errorf("after editing: %q", s)
		}

		// Principals and keys: a key is issued, shown once, works, and is revoked.
		b.open(ctx, "/console/principals", "table.principals", "catalog-principals")
		b.run(ctx, "open psb-system", chromedp.Click(chromedp.CSS(`tr[data-principal="psb-system"] a`)), chromedp.WaitVisible(chromedp.CSS("form.issue-key")))
		b.checkPage(ctx, "principal")
		b.run(ctx, "issue key", chromedp.SetValue(chromedp.ID("k-label"), "控制台测试"), chromedp.SetValue(chromedp.ID("k-expires"), "24h"),
			chromedp.Click(chromedp.CSS("form.issue-key button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("[data-secret]")))
		secret := b.text(ctx, "[data-secret]")
		if r := h.DoSecret("GET", "/api/v1/me", secret, nil); r.Status != 200 {
			t.Fatalf("the issued key does not work: %d", r.Status)
		}
		b.shot(ctx, "catalog-key-issued")
		loc := strings.TrimSuffix(value(b, ctx, "location", chromedp.Location()), "/api-keys")
		b.run(ctx, "open again", chromedp.Navigate(loc), chromedp.WaitVisible(chromedp.CSS("table.keys")))
		if n := eval[int](b, ctx, `document.querySelectorAll('[data-secret]').length`); n != 0 {
			t.Error("the key's secret is shown again")
		}
		keyID := secret[len("yk_"):]
		keyID = keyID[:strings.Index(keyID, "_")]
		row := `tr[data-key="` + keyID + `"]`
		// Expiry: a time an hour ago is refused beside the key's field; one
		// two hours ahead (China Standard Time) is taken and the key still works.
		cst := time.FixedZone("CST", 8*3600)
		b.run(ctx, "expire in the past", chromedp.SetValue(chromedp.ID("x-"+keyID), time.Now().Add(-time.Hour).In(cst).Format("2006-01-02T15:04")),
			chromedp.Click(chromedp.CSS(row+" form.expire-key button")), chromedp.WaitVisible(chromedp.ID("x-"+keyID+"-error")))
		if s := b.text(ctx, "#x-"+keyID+"-error"); !strings.Contains(s, "不能早于现在") {
			t.Errorf("the past expiry's field error: %q", s)
		}
		b.shot(ctx, "catalog-key-expiry-error")
		soon := time.Now().Add(2 * time.Hour).In(cst)
		b.run(ctx, "expire in two hours", chromedp.SetValue(chromedp.ID("x-"+keyID), soon.Format("2006-01-02T15:04")),
			chromedp.Click(chromedp.CSS(row+" form.expire-key button")), chromedp.WaitVisible(chromedp.CSS("p.notice")))
		if s := b.text(ctx, row+" td:nth-child(4)"); !strings.Contains(s, soon.Format("15:04")) {
			t.Errorf("the key's expiry shows %q, want %s", s, soon.Format("2006-01-02 15:04"))
		}
		if r := h.DoSecret("GET", "/api/v1/me", secret, nil); r.Status != 200 {
			t.Errorf("a key expiring in two hours does not work: %d", r.Status)
		}
		b.run(ctx, "revoke", chromedp.Click(chromedp.CSS(row+" form.revoke-key button")), chromedp.WaitVisible(chromedp.CSS(row+" .badge.revoked")))
		if r := h.DoSecret("GET", "/api/v1/me", secret, nil); r.Status != 401 {
			t.Errorf("a revoked key still works: %d", r.Status)
		}
		// A second key, expired now (the field left empty).
		b.run(ctx, "issue another key", chromedp.SetValue(chromedp.ID("k-label"), "到期测试"),
			chromedp.Click(chromedp.CSS("form.issue-key button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("[data-secret]")))
		secret = b.text(ctx, "[data-secret]")
		keyID = secret[len("yk_"):]
		keyID = keyID[:strings.Index(keyID, "_")]
		row = `tr[data-key="` + keyID + `"]`
		if r := h.DoSecret("GET", "/api/v1/me", secret, nil); r.Status != 200 {
			t.Fatalf("the second key does not work: %d", r.Status)
		}
		b.run(ctx, "expire now", chromedp.Click(chromedp.CSS(row+" form.expire-key button")), chromedp.WaitVisible(chromedp.CSS(row+" .badge.expired")))
		b.checkPage(ctx, "principal after expiry")
		b.shot(ctx, "catalog-key-expired")
		if r := h.DoSecret("GET", "/api/v1/me", secret, nil); r.Status != 401 {
			t.Errorf("an expired key still works: %d", r.Status)
		}
		b.open(ctx, "/docs", "section.doc-group", "api-docs")
	})

	t.Run("objection raised, rejected, escalated; supervision pages", func(t *testing.T) {
		b.t = t
		// The officer disputes the identity record the lookup supplied:
		// sent without a field chosen, the API's 400 comes back beside the
		// fields; with one, the objection is raised.
		octx := b.tab()
		b.signIn(octx, h.Secret("officer-gsc"))
		b.lookup(octx, lookupdemo.Citizen, lookupdemo.ItemSocialSecurity, "LX-SB-2025-0200")
		b.run(octx, "open the objection form",
			chromedp.Click(chromedp.CSS(`[data-material=identity] details.raise summary`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-material=identity] form.raise-objection textarea[name=problem]`)))
		b.shot(octx, "officer-raise-objection-form")
		b.run(octx, "raise without a field",
			chromedp.SetValue(chromedp.CSS(`[data-material=identity] form.raise-objection textarea[name=problem]`), "姓名与户籍底册不符"),
			chromedp.Click(chromedp.CSS(`[data-material=identity] form.raise-objection button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`form.raise-objection fieldset.has-error`)))
		b.checkPage(octx, "raise form with errors")
		b.shot(octx, "officer-raise-objection-field-error")
		b.run(octx, "raise",
			chromedp.Click(chromedp.CSS(`form.raise-objection input[name=fields][value="name"]`)),
			chromedp.SetValue(chromedp.CSS(`form.raise-objection textarea[name=evidence]`), "户籍底册第12页"),
			chromedp.Click(chromedp.CSS(`form.raise-objection button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`dl.objection-facts [data-status="open"]`)))
		loc := value(b, octx, "location", chromedp.Location())
		id := loc[strings.LastIndex(loc, "/")+1:]
		if i := strings.Index(id, "?"); i >= 0 {
			id = id[:i]
		}
		if !strings.HasPrefix(id, "obj-") {
			t.Fatalf("after raising: %s", loc)
		}
		if s := b.text(octx, "p.notice"); !strings.Contains(s, "疑义已提出") {
			t.Errorf("after raising: %q", s)
		}
		b.checkPage(octx, "objection (raiser)")
		b.shot(octx, "officer-objection-raised")
		b.open(octx, "/console/objections", `section.mine tr[data-objection="`+id+`"]`, "")
		// The officer's role has no supervision page: the API's 403.
		b.open(octx, "/console/supervision/reports", `section.error-page[data-status="403"]`, "")

		// The provider's administrator finds it in the queue and rejects
		// it: without a reason the API's 400 comes back beside the field.
		ctx := b.tab()
		b.signIn(ctx, h.Secret("admin-psb"))
		b.open(ctx, "/console/objections", `section.to-me tr[data-objection="`+id+`"]`, "deptadmin-objections")
		b.run(ctx, "open the objection", chromedp.Click(chromedp.CSS(`section.to-me tr[data-objection="`+id+`"] a`)), chromedp.WaitVisible(chromedp.CSS("form.reject")))
		if n := eval[int](b, ctx, `document.querySelectorAll('table.history tr[data-step="raised"]').length`); n != 1 {
			t.Errorf("history shows %d raised steps", n)
		}
		if n := eval[int](b, ctx, `document.querySelectorAll('section.correct a[href="/console/resources/population"]').length`); n != 1 {
			t.Error("no instructions to correct by publishing")
		}
		b.checkPage(ctx, "objection (provider)")
		b.run(ctx, "reject without a reason", chromedp.Click(chromedp.CSS("form.reject button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".has-error #reject-reason")))
		if s := b.text(ctx, "#reject-reason-error"); !strings.Contains(s, "理由") {
			t.Errorf("reject without a reason: %q", s)
		}
		b.shot(ctx, "deptadmin-objection-reject-error")
		b.run(ctx, "reject",
			chromedp.SetValue(chromedp.ID("reject-reason"), "经核对户籍底册，姓名无误"),
			chromedp.Click(chromedp.CSS("form.reject button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(`dl.objection-facts [data-status="rejected"]`)))
		if n := eval[int](b, ctx, `document.querySelectorAll('table.history tr[data-step="rejected"]').length`); n != 1 {
			t.Errorf("history shows %d rejected steps", n)
		}
		b.shot(ctx, "deptadmin-objection-rejected")
		b.open(ctx, "/console/supervision/freshness", "table.freshness", "deptadmin-freshness")
		b.open(ctx, "/console/supervision/reports", "table.assessment", "deptadmin-assessment")
		if rows := eval[[]string](b, ctx, `Array.from(document.querySelectorAll('table.assessment tbody tr[data-department]')).map(function (r) { return r.dataset.department; })`); len(rows) != 1 || rows[0] != "lx-psb" {
			t.Errorf("a department admin's report shows the lines of %v", rows)
		}

		// Another objection, left unanswered past its deadline: the
		// sweep escalates it onto the e-government office's list.
		late := raiseObjection(t, h, "officer-gsc", "population", lookupdemo.Citizen2, "name")
		if err := h.Objections.Service.Sweep(context.Background(), time.Now().AddDate(0, 1, 0)); err != nil {
			t.Fatal(err)
		}
		cctx := b.tab()
		b.signIn(cctx, h.Secret("catalog-admin"))
		b.open(cctx, "/console/objections", `tr.overdue[data-objection="`+late+`"] .badge.escalated`, "catalog-overdue-objections")
		if n := eval[int](b, cctx, `document.querySelectorAll('tr[data-objection="`+id+`"]').length`); n != 0 {
			t.Error("the rejected objection is on the overdue list")
		}
		b.open(cctx, "/console/supervision/freshness", "table.freshness", "catalog-freshness")
		if n := eval[int](b, cctx, `document.querySelectorAll('table.freshness tbody tr[data-resource]').length`); n == 0 {
			t.Error("the freshness page lists no resource")
		}
		b.open(cctx, "/console/supervision/reports", "table.assessment", "catalog-assessment")
		if n := eval[int](b, cctx, `document.querySelectorAll('table.assessment tbody tr[data-department]').length`); n < 2 {
			t.Errorf("the office's report has %d department lines", n)
		}
		// The downloads go through the console: the session authenticates them.
		for _, format := range []string{"csv", "xlsx"} {
			got := eval[string](b, cctx, `(function () { var x = new XMLHttpRequest(); x.open('GET', document.querySelector('a.download-`+format+`').getAttribute('href'), false); x.send();
				return x.status + ' ' + x.getResponseHeader('Content-Type') + ' ' + x.getResponseHeader('Content-Disposition'); })()`)
			if !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "assessment-") || !strings.Contains(got, "."+format) {
				t.Errorf("%s download: %s", format, got)
			}
		}
		b.run(cctx, "a bad period", chromedp.Navigate(b.base+"/console/supervision/reports?period=2026-13"), chromedp.WaitVisible(chromedp.CSS(".has-error #period")))
		b.checkPage(cctx, "report with a bad period")
	})

	t.Run("no request leaves the hub", func(t *testing.T) {
		b.t = t
		b.sameOrigin()
	})
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
