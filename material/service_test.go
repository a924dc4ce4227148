package material_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
	"time"

	"gocloud.dev/blob"

	"yiku/audit"
	"yiku/cryptosuite"
	"yiku/fault"
	"yiku/identity"
	"yiku/keyring"
	"yiku/material"
	"yiku/material/blobtest"
	"yiku/material/sqlstore"
	"yiku/storage/storagetest"
)

const applicant = "431302198506159913"

// eachStore runs test once on a file store and once on the S3-compatible
// store of YIKU_TEST_S3_URL (skipped without it).
func eachStore(t *testing.T, test func(t *testing.T, store string)) {
	for _, store := range blobtest.Stores {
		t.Run(store, func(t *testing.T) { test(t, store) })
	}
}

// newService returns a service on a store of kind store that only this test
// uses, and a second handle on the same store, opened by its URL as the
// hub opens it, to look at the stored objects through the driver itself.
func newService(t *testing.T, store string) (*material.Service, *blob.Bucket) {
	t.Helper()
	u := blobtest.URL(t, store)
	db := storagetest.Open(t)
	svc := &material.Service{Store: sqlstore.New(db.Gorm), Bucket: blobtest.Open(t, u), Keys: keyring.NewForTest(cryptosuite.Must(cryptosuite.Default))}
	return svc, blobtest.Open(t, u)
}

var officer = identity.Principal{ID: "p-1", Name: "officer-gsc", Role: identity.RoleOfficer, DepartmentCode: "lx-gsc"}

func meta(typ string) material.Meta {
	return material.Meta{Applicant: applicant, MaterialType: typ, IssuingAuthority: "娄星区公安分局", IssueDate: "2020-01-02",
		CaseNumber: "GSC-2026-0001", Purpose: "结婚登记", FileName: "hukou.pdf"}
}

// pdf returns a PDF-looking file of n bytes with a recognisable marker.
func pdf(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	copy(b, "%PDF-1.7\n")
	copy(b[100:], "MARKER-OF-THE-PLAINTEXT")
	return b
}

// blobFiles lists the objects in the store.
func blobFiles(t *testing.T, raw *blob.Bucket) []string { return blobtest.Keys(t, raw) }

func TestEncryptedAtRestAndStoredOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		for _, suite := range []cryptosuite.Name{cryptosuite.Default, cryptosuite.SM} {
			t.Run(string(suite), func(t *testing.T) { encryptedAtRest(t, store, suite) })
		}
	})
}

func encryptedAtRest(t *testing.T, store string, suite cryptosuite.Name) {
	ctx := context.Background()
	svc, raw := newService(t, store)
	svc.Keys = keyring.NewForTest(cryptosuite.Must(suite))
	data := pdf(200_000)
	u1, err := svc.Upload(ctx, officer, meta("household-register"), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if u1.ContentType != material.PDF || u1.Size != int64(len(data)) || u1.Status != material.StatusCurrent {
		t.Fatalf("upload = %+v", u1)
	}
	u2, err := svc.Upload(ctx, officer, meta("household-register"), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if u2.ID == u1.ID || u2.ContentHash != u1.ContentHash {
		t.Fatalf("second upload %s/%s, first %s/%s", u2.ID, u2.ContentHash, u1.ID, u1.ContentHash)
	}
	files := blobFiles(t, raw)
	if len(files) != 1 {
		t.Fatalf("the same file uploaded twice is stored as %d blobs: %v", len(files), files)
	}
	stored, err := raw.ReadAll(ctx, files[0])
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("MARKER-OF-THE-PLAINTEXT")) || bytes.Contains(stored, data[1000:1064]) || bytes.Contains(stored, []byte("%PDF-")) {
		t.Fatal("the stored blob holds the file's plaintext")
	}
	if len(stored) <= len(data) {
		t.Fatalf("stored blob %d bytes, plaintext %d: not sealed", len(stored), len(data))
	}
	r, err := svc.Content(ctx, u2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	_ = r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (err %v), want the %d uploaded", len(got), err, len(data))
	}

	// A hub with another key cannot read the file.
	other := *svc
	other.Keys = keyring.NewForTest(cryptosuite.Must(suite))
	if r, err := other.Content(ctx, u1); err == nil {
		_, err = io.ReadAll(r)
		_ = r.Close()
		if err == nil {
			t.Fatal("a wrong key read the file")
		}
	}
	// A tampered blob fails to read.
	stored[len(stored)/2] ^= 1
	if err := raw.WriteAll(ctx, files[0], stored, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		t.Fatal(err)
	}
	r, err = svc.Content(ctx, u1)
	if err == nil {
		_, err = io.ReadAll(r)
		_ = r.Close()
	}
	if !errors.Is(err, keyring.ErrStream) {
		t.Fatalf("tampered blob read: %v, want keyring.ErrStream", err)
	}
}

func TestContentSniffedNotNamed(t *testing.T) { eachStore(t, contentSniffed) }

func contentSniffed(t *testing.T, store string) {
	ctx := context.Background()
	svc, raw := newService(t, store)
	for name, body := range map[string][]byte{
		"scan.pdf":   []byte("MZ\x90\x00 this is a Windows executable, named as a PDF"),
		"photo.jpg":  []byte("<html><body>not a photo</body></html>"),
		"empty.png":  []byte("GIF89a not accepted either"),
		"report.pdf": []byte("PK\x03\x04 a zip file"),
	} {
		m := meta("household-register")
		m.FileName = name
		_, err := svc.Upload(ctx, officer, m, bytes.NewReader(body))
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.Invalid || fe.Code != "unsupported_material_file" {
			t.Errorf("%s: %v, want invalid unsupported_material_file", name, err)
		}
	}
	for name, head := range map[string][]byte{"a.bin": {0xFF, 0xD8, 0xFF, 0xE0}, "b.dat": []byte("\x89PNG\r\n\x1a\n")} {
		m := meta("photo")
		m.FileName = name
		body := append(append([]byte{}, head...), make([]byte, 1000)...)
		if _, err := svc.Upload(ctx, officer, m, bytes.NewReader(body)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(blobFiles(t, raw)); n != 2 {
		t.Errorf("%d blobs after 2 accepted uploads and 4 refused", n)
	}
}

func TestTooLargeKeepsNothing(t *testing.T) { eachStore(t, tooLarge) }

func tooLarge(t *testing.T, store string) {
	ctx := context.Background()
	svc, raw := newService(t, store)
	svc.MaxBytes = 100_000
	_, err := svc.Upload(ctx, officer, meta("household-register"), bytes.NewReader(pdf(100_001)))
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.TooLarge || fe.Code != "material_too_large" {
		t.Fatalf("over the limit: %v", err)
	}
	if n := len(blobFiles(t, raw)); n != 0 {
		t.Fatalf("%d blobs left after a refused upload", n)
	}
	if _, err := svc.Upload(ctx, officer, meta("household-register"), bytes.NewReader(pdf(100_000))); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}

type events []audit.Event

func (e *events) Record(_ context.Context, ev audit.Event) error { *e = append(*e, ev); return nil }

func TestSupersedeAndRetention(t *testing.T) { eachStore(t, supersedeAndRetention) }

func supersedeAndRetention(t *testing.T, store string) {
	ctx := context.Background()
	svc, raw := newService(t, store)
	now := time.Now()
	svc.Now = func() time.Time { return now }
	old, err := svc.Upload(ctx, officer, meta("household-register"), bytes.NewReader(pdf(5000)))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	newer, err := svc.Upload(ctx, officer, meta("household-register"), bytes.NewReader(pdf(6000)))
	if err != nil {
		t.Fatal(err)
	}
	outsider := officer
	outsider.DepartmentCode = "lx-hrss"
	if _, err := svc.Supersede(ctx, outsider, old.ID, newer.ID, "newer scan"); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("another department superseded: %v", err)
	}
	if _, err := svc.Supersede(ctx, officer, newer.ID, old.ID, "backwards"); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("superseded by an older upload: %v", err)
	}
	got, err := svc.Supersede(ctx, officer, old.ID, newer.ID, "newer scan")
	if err != nil || got.Status != material.StatusSuperseded || got.SupersededBy != newer.ID {
		t.Fatalf("supersede: %+v %v", got, err)
	}
	cur, err := svc.Current(ctx, applicant, []string{"household-register"})
	if err != nil || cur["household-register"].ID != newer.ID {
		t.Fatalf("current = %+v %v", cur, err)
	}

	svc.Retention = map[string]time.Duration{"household-register": 24 * time.Hour}
	var rec events
	if n, err := svc.Sweep(ctx, &rec); err != nil || n != 0 {
		t.Fatalf("sweep within retention: %d %v", n, err)
	}
	now = now.Add(25 * time.Hour)
	if n, err := svc.Sweep(ctx, &rec); err != nil || n != 2 {
		t.Fatalf("sweep after retention: %d %v", n, err)
	}
	if len(rec) != 2 || rec[0].Action != material.ActionRetention || rec[0].Subjects[0] != applicant {
		t.Fatalf("audit events %+v", rec)
	}
	if n := len(blobFiles(t, raw)); n != 0 {
		t.Fatalf("%d blobs left after retention", n)
	}
	gone, err := svc.Get(ctx, newer.ID)
	if err != nil || gone.Status != material.StatusRetentionExpired {
		t.Fatalf("after retention: %+v %v", gone, err)
	}
	if _, err := svc.Content(ctx, gone); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("content of an expired upload: %v", err)
	}
}

type brokenReader struct{ data []byte }

func (b *brokenReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func TestBrokenBodyIsTheClientsFault(t *testing.T) { eachStore(t, brokenBody) }

func brokenBody(t *testing.T, store string) {
	svc, raw := newService(t, store)
	_, err := svc.Upload(context.Background(), officer, meta("household-register"), &brokenReader{data: pdf(100_000)})
	if fe, ok := fault.As(err); !ok || fe.Kind != fault.Invalid || fe.Code != "incomplete_material_file" {
		t.Fatalf("broken body: %v", err)
	}
	if n := len(blobFiles(t, raw)); n != 0 {
		t.Fatalf("%d blobs left after a broken upload", n)
	}
}
