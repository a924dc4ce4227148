package material

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"yiku/audit"
	"yiku/fault"
	"yiku/identity"
	"yiku/keyring"
	"yiku/periodic"
)

// DefaultMaxBytes is the default size limit of one file (20 MB).
const DefaultMaxBytes = 20 << 20

// Resource is the catalog resource the material library is shared as: the
// sharing gate decides reads of uploads against it.
const Resource = "material-library"

// Service stores, reads and ages uploads.
type Service struct {
	Store  Store
	Bucket *blob.Bucket
	// Keys wrap each file's data key; nil refuses uploads and downloads
	// (a hub without a data key file).
	Keys *keyring.Ring
	// MaxBytes limits one file (DefaultMaxBytes when 0).
	MaxBytes int64
	// Retention keeps the files of a material type for a duration after
	// their upload; types not named are kept until removed.
	Retention map[string]time.Duration
	// SubjectHash is the audit trail's keyed hash of an applicant, stored
	// with each upload so the citizen view finds the applicant's own.
	SubjectHash func(subject string) string
	Now         func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) maxBytes() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return DefaultMaxBytes
}

func (s *Service) keys() (*keyring.Ring, error) {
	if s.Bucket == nil {
		return nil, fault.New(fault.Unavailable, "material_store_missing", "this hub has no material store (--material-store), so it stores and reads no materials")
	}
	if s.Keys == nil {
		return nil, fault.New(fault.Unavailable, "material_keys_missing", "this hub has no data key file, so it stores and reads no materials; an operator creates one with yiku keys init and starts the hub with --data-key-file")
	}
	return s.Keys, nil
}

// Upload stores one file with its metadata for principal p. The content is
// read once, in a stream: its first bytes decide the type (PDF, JPEG, PNG;
// anything else is refused with unsupported_material_file whatever the
// file name says), then it passes through SHA-256 and the encrypting
// writer into a fresh blob. When the library already holds a file of the
// same hash, the fresh blob is deleted and the upload points at the stored
// one. A file over MaxBytes is refused (TooLarge) and nothing is kept.
func (s *Service) Upload(ctx context.Context, p identity.Principal, m Meta, content io.Reader) (Upload, error) {
	ring, err := s.keys()
	if err != nil {
		return Upload{}, err
	}
	if m, err = CheckMeta(m); err != nil {
		return Upload{}, err
	}
	br := bufio.NewReaderSize(content, 4096)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Upload{}, fmt.Errorf("material: read the file: %w", err)
	}
	if len(head) == 0 {
		return Upload{}, fault.Invalidf("empty_material_file", "the file is empty").WithDetails(fault.Detail{Field: "file", Reason: "no content"})
	}
	ct := Sniff(head)
	if ct == "" {
		seen := http.DetectContentType(head)
		return Upload{}, fault.Invalidf("unsupported_material_file", "the file's content is %s; the material library accepts PDF, JPEG and PNG files only, judged by content, not by name", seen).
			WithDetails(fault.Detail{Field: "file", Rule: "content_type", Reason: "content is " + seen + ", not application/pdf, image/jpeg or image/png"})
	}
	dk, wrapped, err := ring.NewDataKey()
	if err != nil {
		return Upload{}, fmt.Errorf("material: data key: %w", err)
	}
	key := "blobs/" + uuid.NewString()
	hash, size, err := s.write(ctx, key, dk, br)
	if err != nil {
		return Upload{}, err
	}
	now := s.now().UTC()
	stored, added, err := s.Store.AddBlob(ctx, Blob{ContentHash: hash, BlobKey: key, WrappedKey: wrapped, ContentType: ct, Size: size, CreatedAt: now})
	if err != nil {
		s.deleteObject(key)
		return Upload{}, fmt.Errorf("material: record blob: %w", err)
	}
	if !added {
		// Stored once per content hash: the library already holds these
		// bytes, so the fresh copy goes.
		s.deleteObject(key)
	}
	u := Upload{ID: uuid.NewString(), Meta: m, ContentHash: stored.ContentHash, ContentType: stored.ContentType, Size: stored.Size,
		DepartmentCode: p.DepartmentCode, UploadedBy: p.ID, UploadedByName: p.Name, Status: StatusCurrent, CreatedAt: now}
	if err := s.Store.Create(ctx, u, s.subjectHash(m.Applicant)); err != nil {
		return Upload{}, fmt.Errorf("material: record upload: %w", err)
	}
	u.Validity = ValidityAt(u.ValidUntil, s.now())
	return u, nil
}

func (s *Service) subjectHash(subject string) string {
	if s.SubjectHash == nil {
		return ""
	}
	return s.SubjectHash(subject)
}

// write streams r, encrypted under dk, into the blob key and returns the
// plaintext's SHA-256 and size. On any failure the blob is not left behind.
func (s *Service) write(ctx context.Context, key string, dk keyring.DataKey, r io.Reader) (string, int64, error) {
	// Cancelling the writer's context before Close aborts the write.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bw, err := s.Bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return "", 0, fmt.Errorf("material: open blob: %w", err)
	}
	fail := func(err error) (string, int64, error) {
		cancel()
		_ = bw.Close()
		s.deleteObject(key)
		return "", 0, err
	}
	ew, err := keyring.NewWriter(bw, dk, []byte(key))
	if err != nil {
		return fail(fmt.Errorf("material: encrypt: %w", err))
	}
	h := sha256.New()
	limit := s.maxBytes()
	src := &readErr{r: r}
	n, err := io.Copy(io.MultiWriter(h, ew), io.LimitReader(src, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return fail(tooLarge(limit))
		case src.err != nil:
			// The client's body broke off or is malformed: its fault.
			return fail(fault.Invalidf("incomplete_material_file", "the file could not be read to its end: %s", src.err.Error()).
				WithDetails(fault.Detail{Field: "file", Reason: "body ended early or is malformed"}))
		}
		return fail(fmt.Errorf("material: store the file: %w", err))
	}
	if n > limit {
		return fail(tooLarge(limit))
	}
	if err := ew.Close(); err != nil {
		return fail(fmt.Errorf("material: encrypt: %w", err))
	}
	if err := bw.Close(); err != nil {
		s.deleteObject(key)
		return "", 0, fmt.Errorf("material: close blob: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func tooLarge(limit int64) error {
	return fault.New(fault.TooLarge, "material_too_large", "the file is larger than the limit of %d bytes", limit).
		WithDetails(fault.Detail{Field: "file", Rule: "max_bytes", Reason: fmt.Sprintf("at most %d bytes", limit)})
}

// deleteObject removes a blob that must not stay; a failure leaves an
// unreferenced blob, which is logged and harmless.
func (s *Service) deleteObject(key string) {
	if err := s.Bucket.Delete(context.Background(), key); err != nil && !gcerrorsNotFound(err) {
		slog.Default().Warn("material: delete blob", "key", key, "err", err)
	}
}

// Get returns an upload's metadata with its validity today.
func (s *Service) Get(ctx context.Context, id string) (Upload, error) {
	u, err := s.Store.Get(ctx, id)
	if err != nil {
		return Upload{}, err
	}
	u.Validity = ValidityAt(u.ValidUntil, s.now())
	return u, nil
}

// List returns uploads by f, each with its validity today.
func (s *Service) List(ctx context.Context, f Filter) ([]Upload, error) {
	us, err := s.Store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for i := range us {
		us[i].Validity = ValidityAt(us[i].ValidUntil, now)
	}
	return us, nil
}

// Content opens an upload's file, decrypted as it is read. The reader
// fails on a wrong key or a tampered or truncated blob.
func (s *Service) Content(ctx context.Context, u Upload) (io.ReadCloser, error) {
	ring, err := s.keys()
	if err != nil {
		return nil, err
	}
	if u.Status == StatusRemoved || u.Status == StatusRetentionExpired {
		return nil, fault.NotFoundf("material_file_deleted", "the file of upload %s was deleted (%s)", u.ID, u.Status)
	}
	b, err := s.Store.BlobOf(ctx, u.ContentHash)
	if err != nil {
		return nil, fmt.Errorf("material: blob of %s: %w", u.ID, err)
	}
	dk, err := ring.Unwrap(b.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("material: data key of %s: %w", u.ID, err)
	}
	r, err := s.Bucket.NewReader(ctx, b.BlobKey, nil)
	if err != nil {
		return nil, fmt.Errorf("material: open blob of %s: %w", u.ID, err)
	}
	dr, err := keyring.NewReader(r, dk, []byte(b.BlobKey))
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("material: decrypt %s: %w", u.ID, err)
	}
	return readCloser{Reader: dr, Closer: r}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Supersede marks upload id as superseded by the newer upload by: the
// same applicant's same material type, uploaded no earlier. Only an
// officer of the department that uploaded id may.
func (s *Service) Supersede(ctx context.Context, p identity.Principal, id, by, reason string) (Upload, error) {
	old, err := s.Store.Get(ctx, id)
	if err != nil {
		return Upload{}, err
	}
	if p.DepartmentCode != old.DepartmentCode {
		return Upload{}, fault.Forbiddenf("not_uploading_department", "only the department that uploaded %s (%s) may supersede it", id, old.DepartmentCode)
	}
	if old.Status != StatusCurrent {
		return Upload{}, fault.Conflictf("material_not_current", "upload %s is %s, not current", id, old.Status)
	}
	if by == "" || by == id {
		return Upload{}, invalid("invalid_superseded_by", "superseded_by", "superseded_by names another, newer upload")
	}
	newer, err := s.Store.Get(ctx, by)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Upload{}, invalid("invalid_superseded_by", "superseded_by", "no upload "+by)
		}
		return Upload{}, err
	}
	if newer.Applicant != old.Applicant || newer.MaterialType != old.MaterialType || newer.Status != StatusCurrent || newer.CreatedAt.Before(old.CreatedAt) {
		return Upload{}, invalid("invalid_superseded_by", "superseded_by", "superseded_by must be a current upload of the same applicant's same material type, uploaded no earlier")
	}
	now := s.now().UTC()
	if err := s.Store.SetStatus(ctx, id, StatusSuperseded, by, reason, now); err != nil {
		return Upload{}, err
	}
	return s.Get(ctx, id)
}

// Current returns, per material type, the newest current upload of
// applicant, with its validity today.
func (s *Service) Current(ctx context.Context, applicant string, types []string) (map[string]Upload, error) {
	if len(types) == 0 {
		return map[string]Upload{}, nil
	}
	us, err := s.Store.CurrentOf(ctx, applicant, types)
	if err != nil {
		return nil, fmt.Errorf("material: current uploads: %w", err)
	}
	now := s.now()
	out := make(map[string]Upload, len(types))
	for _, u := range us {
		if _, ok := out[u.MaterialType]; !ok {
			u.Validity = ValidityAt(u.ValidUntil, now)
			out[u.MaterialType] = u
		}
	}
	return out, nil
}

// deleteFile removes upload u's file when no other live upload shares it.
func (s *Service) deleteFile(ctx context.Context, hash string) error {
	live, err := s.Store.Live(ctx, hash)
	if err != nil {
		return err
	}
	if live > 0 {
		return nil
	}
	b, err := s.Store.BlobOf(ctx, hash)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return nil
		}
		return err
	}
	if err := s.Bucket.Delete(ctx, b.BlobKey); err != nil && !gcerrorsNotFound(err) {
		return fmt.Errorf("material: delete blob %s: %w", b.BlobKey, err)
	}
	return s.Store.DeleteBlob(ctx, hash)
}

// Sweep applies the retention of each material type: uploads older than
// their type's retention become retention_expired and their files are
// deleted (a file shared with a younger upload stays until that one goes
// too). Each one leaves an audit event through rec. It returns how many
// uploads it expired.
func (s *Service) Sweep(ctx context.Context, rec audit.Recorder) (int, error) {
	now := s.now().UTC()
	n := 0
	for typ, keep := range s.Retention {
		if keep <= 0 {
			continue
		}
		us, err := s.Store.Older(ctx, typ, now.Add(-keep), 200)
		if err != nil {
			return n, fmt.Errorf("material: retention of %s: %w", typ, err)
		}
		for _, u := range us {
			reason := fmt.Sprintf("retention of %s is %s", typ, keep)
			if err := s.Store.SetStatus(ctx, u.ID, StatusRetentionExpired, "", reason, now); err != nil {
				if fault.KindOf(err) == fault.Conflict {
					continue
				}
				return n, err
			}
			if err := s.deleteFile(ctx, u.ContentHash); err != nil {
				return n, err
			}
			if err := rec.Record(ctx, audit.Event{Time: now, PrincipalID: "material-retention", PrincipalName: "material-retention", Role: "system",
				Action: ActionRetention, Resource: Resource, Subjects: []string{u.Applicant}, CaseNumber: u.CaseNumber,
				Outcome: audit.Allowed, Reason: "upload=" + u.ID + " type=" + typ + " " + reason, Count: 1}); err != nil {
				return n, fmt.Errorf("material: audit retention of %s: %w", u.ID, err)
			}
			n++
		}
	}
	return n, nil
}

// Audit actions of the material library.
const (
	ActionUpload    = "material.upload"
	ActionRead      = "material.read"
	ActionList      = "material.list"
	ActionDownload  = "material.download"
	ActionSupersede = "material.supersede"
	ActionRetention = "material.retention_delete"
	// Removal requests: filed by the applicant (or an officer for them),
	// listed and decided by the e-government office.
	ActionRemovalRequest = "material.removal_request"
	ActionRemovalList    = "material.removal_list"
	ActionRemovalApprove = "material.removal_approve"
	ActionRemovalReject  = "material.removal_reject"
)

func gcerrorsNotFound(err error) bool { return gcerrors.Code(err) == gcerrors.NotFound }

// Sweeper runs the retention sweep on an interval, as a hub worker.
type Sweeper struct {
	Service  *Service
	Recorder audit.Recorder
	Interval time.Duration
	Log      *slog.Logger
}

// Name names the worker.
func (w *Sweeper) Name() string { return "material-retention" }

// Run sweeps at once and then every Interval until ctx ends.
func (w *Sweeper) Run(ctx context.Context) error {
	periodic.Run(ctx, w.Interval, w.Log, "material retention sweep failed", func(ctx context.Context) error {
		_, err := w.Service.Sweep(ctx, w.Recorder)
		return err
	})
	return nil
}

// readErr remembers the error its reader returned, to tell the client's
// broken body from a failing store.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
