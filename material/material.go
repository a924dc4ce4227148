// Package material is the material library (材料库): the scanned files
// applicants bring to a service window for a material the one library could
// not supply, with their metadata (applicant, material type, issuing
// authority, validity, who uploaded them for which case). A file is sniffed
// from its content (PDF, JPEG or PNG only), streamed once through a SHA-256
// hash and an encrypting writer into blob storage (gocloud.dev/blob), and
// stored once per content hash under a per-file data key wrapped by the
// hub's key ring; every further upload of the same bytes is a new metadata
// row pointing at the same blob. Lookups reuse the current upload of a
// material type (Current); officers supersede uploads; a retention sweep
// deletes the files of material types kept for a limited time. The package
// holds no HTTP (material/materialapi) and no SQL (material/sqlstore); it
// does not decide who may read (the sharing gate does, in materialapi and
// lookup).
package material

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"yiku/fault"
	"yiku/inputtext"
	"yiku/schemas"
)

// Status of an upload.
type Status string

const (
	// Current: the upload may be reused.
	StatusCurrent Status = "current"
	// Superseded by a newer upload of the same material (SupersededBy).
	StatusSuperseded Status = "superseded"
	// Removed at the applicant's request; the file is deleted.
	StatusRemoved Status = "removed"
	// RetentionExpired: kept longer than its material type's retention; the
	// file is deleted.
	StatusRetentionExpired Status = "retention_expired"
)

// Validity of an upload at a given day.
const (
	Valid   = "valid"
	Expired = "expired"
)

// Content types the library accepts.
const (
	PDF  = "application/pdf"
	JPEG = "image/jpeg"
	PNG  = "image/png"
)

// Meta is what the uploading officer says about a file.
type Meta struct {
	// Applicant is the applicant's resident ID number or unified social
	// credit code.
	Applicant string `json:"applicant"`
	// MaterialType is the material type's code (the service item
	// material's type), the key of reuse across service items.
	MaterialType     string `json:"material_type"`
	IssuingAuthority string `json:"issuing_authority,omitempty"`
	// IssueDate and ValidUntil are dates (YYYY-MM-DD); ValidUntil is empty
	// for a material without an end of validity.
	IssueDate  string `json:"issue_date,omitempty"`
	ValidUntil string `json:"valid_until,omitempty"`
	CaseNumber string `json:"case_number"`
	Purpose    string `json:"purpose"`
	// FileName is the name the file had on the officer's computer; only
	// shown, never trusted for the type.
	FileName string `json:"file_name,omitempty"`
}

// Upload is one stored upload.
type Upload struct {
	ID string `json:"id"`
	Meta
	ContentHash    string    `json:"content_hash"`
	ContentType    string    `json:"content_type"`
	Size           int64     `json:"size"`
	DepartmentCode string    `json:"department_code"`
	UploadedBy     string    `json:"uploaded_by"`
	UploadedByName string    `json:"uploaded_by_name,omitempty"`
	Status         Status    `json:"status"`
	SupersededBy   string    `json:"superseded_by,omitempty"`
	StatusReason   string    `json:"status_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	// StatusAt is when the upload left the current status.
	StatusAt *time.Time `json:"status_at,omitempty"`
	// Validity is valid or expired at the time of reading (by ValidUntil,
	// Asia/Shanghai calendar date).
	Validity string `json:"validity"`
}

// Blob is the stored file of one content hash.
type Blob struct {
	ContentHash string
	BlobKey     string
	WrappedKey  []byte
	ContentType string
	Size        int64
	CreatedAt   time.Time
}

var (
	typeCode = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)
	cst      = time.FixedZone("CST", 8*3600)
)

const (
	maxAuthorityRunes = 200
	maxPurposeRunes   = 100
	maxCaseNumber     = 64
	maxFileName       = 255
)

// CheckMeta validates and normalises m.
func CheckMeta(m Meta) (Meta, error) {
	key, _, ok := schemas.ParseSubject(strings.TrimSpace(m.Applicant))
	if !ok {
		return m, invalid("invalid_applicant", "applicant", "applicant must be an 18-digit resident ID number or an 18-character unified social credit code")
	}
	m.Applicant = key
	m.MaterialType = strings.TrimSpace(m.MaterialType)
	if !typeCode.MatchString(m.MaterialType) {
		return m, invalid("invalid_material_type", "material_type", "material_type is a material type code: 2-63 characters, a lower-case letter, then lower-case letters, digits or '-'")
	}
	m.IssuingAuthority = strings.TrimSpace(m.IssuingAuthority)
	if utf8.RuneCountInString(m.IssuingAuthority) > maxAuthorityRunes || inputtext.Problem(m.IssuingAuthority) != "" {
		return m, invalid("invalid_issuing_authority", "issuing_authority", "issuing_authority is at most 200 characters of text")
	}
	m.IssueDate, m.ValidUntil = strings.TrimSpace(m.IssueDate), strings.TrimSpace(m.ValidUntil)
	for _, d := range []struct{ name, v string }{{"issue_date", m.IssueDate}, {"valid_until", m.ValidUntil}} {
		if d.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d.v); err != nil {
			return m, invalid("invalid_date", d.name, d.name+" is a date (YYYY-MM-DD)")
		}
	}
	if m.IssueDate != "" && m.ValidUntil != "" && m.ValidUntil < m.IssueDate {
		return m, invalid("invalid_date", "valid_until", "valid_until is before issue_date")
	}
	m.CaseNumber, m.Purpose = strings.TrimSpace(m.CaseNumber), strings.TrimSpace(m.Purpose)
	if m.CaseNumber == "" {
		return m, invalid("case_number_required", "case_number", "every upload names its case_number")
	}
	if len(m.CaseNumber) > maxCaseNumber || inputtext.Problem(m.CaseNumber) != "" {
		return m, invalid("invalid_case_number", "case_number", "case_number is at most 64 bytes of text")
	}
	if m.Purpose == "" {
		return m, invalid("purpose_required", "purpose", "every upload names its purpose")
	}
	if utf8.RuneCountInString(m.Purpose) > maxPurposeRunes || inputtext.Problem(m.Purpose) != "" {
		return m, invalid("invalid_purpose", "purpose", "purpose is at most 100 characters of text")
	}
	m.FileName = strings.TrimSpace(m.FileName)
	if len(m.FileName) > maxFileName || !utf8.ValidString(m.FileName) || inputtext.Problem(m.FileName) != "" {
		return m, invalid("invalid_file_name", "file_name", "the file name is at most 255 bytes of text")
	}
	return m, nil
}

func invalid(code, field, msg string) error {
	return fault.Invalidf(code, "%s", msg).WithDetails(fault.Detail{Field: field, Reason: msg})
}

// ValidityAt is Valid or Expired: expired when validUntil (a date) is
// before now's calendar day in Asia/Shanghai.
func ValidityAt(validUntil string, now time.Time) string {
	if validUntil == "" {
		return Valid
	}
	if validUntil < now.In(cst).Format(time.DateOnly) {
		return Expired
	}
	return Valid
}

// Sniff names the content type of a file from its first bytes: PDF, JPEG
// or PNG, or "" for anything else.
func Sniff(head []byte) string {
	switch {
	case len(head) >= 5 && string(head[:5]) == "%PDF-":
		return PDF
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return JPEG
	case len(head) >= 8 && string(head[:8]) == "\x89PNG\r\n\x1a\n":
		return PNG
	}
	return ""
}

// Filter selects uploads.
type Filter struct {
	Applicant    string
	MaterialType string
	Department   string
	// SubjectHash selects a citizen's own uploads (the audit subject key).
	SubjectHash string
	// All includes uploads that are not current.
	All           bool
	Limit, Offset int
}

// Store keeps blobs' and uploads' rows.
type Store interface {
	// BlobOf returns the blob of a content hash (fault NotFound if none).
	BlobOf(ctx context.Context, hash string) (Blob, error)
	// AddBlob stores b unless a blob of its hash exists; it returns the
	// blob that holds the hash and whether b was the one stored.
	AddBlob(ctx context.Context, b Blob) (Blob, bool, error)
	// DeleteBlob removes the row of a hash.
	DeleteBlob(ctx context.Context, hash string) error
	Create(ctx context.Context, u Upload, applicantHash string) error
	Get(ctx context.Context, id string) (Upload, error)
	List(ctx context.Context, f Filter) ([]Upload, error)
	// CurrentOf returns the current uploads of applicant for the types,
	// newest first.
	CurrentOf(ctx context.Context, applicant string, types []string) ([]Upload, error)
	// SetStatus moves an upload to status: superseded from current only,
	// removed or retention_expired from current or superseded (fault
	// Conflict otherwise).
	SetStatus(ctx context.Context, id string, to Status, supersededBy, reason string, at time.Time) error
	// Live counts the uploads of a hash still holding their file (current
	// or superseded).
	Live(ctx context.Context, hash string) (int64, error)
	// Older returns up to limit live uploads of a type created before t.
	Older(ctx context.Context, materialType string, t time.Time, limit int) ([]Upload, error)
}
