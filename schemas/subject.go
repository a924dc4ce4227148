package schemas

import "strings"

// SubjectKind says which identifier a subject key is.
type SubjectKind int

const (
	// SubjectPerson is a resident ID number (GB 11643).
	SubjectPerson SubjectKind = iota + 1
	// SubjectEntity is a unified social credit code (GB 32100).
	SubjectEntity
)

// ParseSubject reads an identifier a person typed — a resident ID number
// (lenient: spaces trimmed, x upper-cased, 15-digit numbers upgraded) or a
// unified social credit code (upper-cased) — and returns its canonical form
// and kind. ok is false when it is neither.
func ParseSubject(s string) (key string, kind SubjectKind, ok bool) {
	s = strings.TrimSpace(s)
	if id, err := NormalizeResidentID(s); err == nil {
		return id, SubjectPerson, true
	}
	up := strings.ToUpper(s)
	if _, err := ValidateUSCC(up); err == nil {
		return up, SubjectEntity, true
	}
	return "", 0, false
}
