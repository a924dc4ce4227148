package materialapi_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"yiku/config"
	"yiku/hub/hubtest"
	"yiku/lookup"
	"yiku/lookup/lookupdemo"
	"yiku/material"
	"yiku/material/blobtest"
)

// TestMaterialStoreOverHTTP runs a hub with --material-store on a file store
// and on the S3-compatible store of YIKU_TEST_S3_URL (skipped without it):
// an upload through the API is stored once, sealed; a lookup reuses it; the
// download gives back the same bytes. The object in the store, read through
// the blob driver itself, holds none of the plaintext.
func TestMaterialStoreOverHTTP(t *testing.T) {
	for _, store := range blobtest.Stores {
		t.Run(store, func(t *testing.T) { materialStoreOverHTTP(t, store) })
	}
}

func materialStoreOverHTTP(t *testing.T, store string) {
	storeURL := blobtest.URL(t, store)
	hubURL, requests := storeURL, func() []string { return nil }
	if store == "s3" {
		// The hub reaches S3 through a recording proxy, to see the operations.
		hubURL, requests = blobtest.Requests(t, storeURL)
	}
	h := hubtest.StartWith(t, hubtest.Options{Configure: func(c *config.Config) { c.MaterialStore = hubURL }})
	h.WaitDemoLibrary(t)

	// 18 MB, under the 20 MiB upload limit and over the S3 writer's 16 MiB
	// threshold: S3 gets a multipart upload (three 8 MiB parts).
	content := pdf(18_000_000)
	marker := []byte("MARKER-OF-THE-PLAINTEXT-" + store)
	copy(content[4096:], marker)
	fields := map[string]string{"applicant": lookupdemo.Citizen, "material_type": "household-register", "issuing_authority": "娄底市公安局娄星分局",
		"issue_date": "2019-05-01", "case_number": "GSC-2026-0300", "purpose": "结婚登记"}
	var uploads []material.Upload
	for i := 0; i < 2; i++ {
		status, body := upload(t, h, "officer-gsc", fields, "户口簿.pdf", content)
		if status != 201 {
			t.Fatalf("upload %d: %d %s", i+1, status, body)
		}
		var u material.Upload
		if err := jsonUnmarshal(body, &u); err != nil {
			t.Fatal(err)
		}
		uploads = append(uploads, u)
	}
	if uploads[0].ID == uploads[1].ID || uploads[0].ContentHash != uploads[1].ContentHash {
		t.Fatalf("two uploads of one file: %+v", uploads)
	}

	// One object for the two uploads, sealed.
	raw := blobtest.Open(t, storeURL)
	keys := blobtest.Keys(t, raw)
	if len(keys) != 1 {
		t.Fatalf("the same file uploaded twice is stored as %d objects: %v", len(keys), keys)
	}
	stored, err := raw.ReadAll(context.Background(), keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) <= len(content) || bytes.Contains(stored, marker) || bytes.Contains(stored, []byte("%PDF-")) ||
		bytes.Contains(stored, content[100_000:100_064]) {
		t.Fatalf("the stored object (%d bytes for %d of plaintext) is not sealed", len(stored), len(content))
	}

	// A lookup supplies the household register from the material library.
	res := doLookup(t, h, "officer-gsc", lookupdemo.ItemMarriage, "GSC-2026-0301", "结婚登记")
	m := find(t, res, "household-register")
	if m.Status != lookup.Supplied || m.Source != lookup.SourceMaterialLibrary || m.Upload == nil {
		t.Fatalf("lookup after the upload: %+v", m)
	}
	if (m.Upload.ID != uploads[0].ID && m.Upload.ID != uploads[1].ID) || m.Upload.Size != int64(len(content)) {
		t.Fatalf("lookup supplied %+v, want one of the uploads %s, %s", m.Upload, uploads[0].ID, uploads[1].ID)
	}

	// The download gives back the uploaded bytes.
	r := h.Do("GET", "/api/v1/materials/"+m.Upload.ID+"/content?purpose="+url.QueryEscape("结婚登记")+"&case_number=GSC-2026-0301", "officer-gsc", nil)
	if r.Status != 200 || !bytes.Equal(r.Body, content) {
		t.Fatalf("download: %d, %d bytes, want the %d uploaded", r.Status, len(r.Body), len(content))
	}
	if !strings.HasPrefix(h.Cfg.MaterialStore, store) {
		t.Fatalf("the hub runs on %q, not the %s store", h.Cfg.MaterialStore, store)
	}
	if store == "s3" {
		var multipart, parts int
		for _, r := range requests() {
			switch {
			case strings.HasPrefix(r, "POST ?uploads"):
				multipart++
			case strings.HasPrefix(r, "PUT ?") && strings.Contains(r, "partNumber="):
				parts++
			}
		}
		// Each of the two uploads streams its own object (the second is
		// deleted once its hash is found stored).
		if multipart != 2 || parts != 6 {
			t.Fatalf("S3 saw %d multipart uploads of %d parts, want 2 of 3 parts each: %v", multipart, parts, requests())
		}
	}
}
