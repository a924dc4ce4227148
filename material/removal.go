package material

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"yiku/fault"
	"yiku/identity"
	"yiku/inputtext"
)

// RemovalStatus is the state of a removal request.
type RemovalStatus string

const (
	RemovalPending  RemovalStatus = "pending"
	RemovalApproved RemovalStatus = "approved"
	RemovalRejected RemovalStatus = "rejected"
)

// Removal is an applicant's request to remove an upload from the library,
// decided by the e-government office.
type Removal struct {
	ID             string        `json:"id"`
	UploadID       string        `json:"upload_id"`
	Reason         string        `json:"reason"`
	RequestedBy    string        `json:"requested_by"`
	RequestedRole  string        `json:"requested_role"`
	Status         RemovalStatus `json:"status"`
	DecidedBy      string        `json:"decided_by,omitempty"`
	DecisionReason string        `json:"decision_reason,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	DecidedAt      *time.Time    `json:"decided_at,omitempty"`
}

// RemovalStore keeps removal requests.
type RemovalStore interface {
	CreateRemoval(ctx context.Context, r Removal, applicantHash string) error
	Removal(ctx context.Context, id string) (Removal, error)
	Removals(ctx context.Context, status RemovalStatus, limit, offset int) ([]Removal, error)
	// DecideRemoval moves a pending request (fault Conflict otherwise).
	DecideRemoval(ctx context.Context, id string, to RemovalStatus, by, reason string, at time.Time) error
}

const maxReasonRunes = 500

func reasonOf(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > maxReasonRunes || inputtext.Problem(s) != "" {
		return "", invalid("invalid_reason", "reason", "reason is required, at most 500 characters of text")
	}
	return s, nil
}

// RequestRemoval files the applicant's request to remove upload id: by the
// citizen it belongs to (subjectHash is the caller's linked ID number
// hash), or by an officer of the uploading department on the applicant's
// behalf.
func (s *Service) RequestRemoval(ctx context.Context, p identity.Principal, id, reason string) (Removal, Upload, error) {
	rs, ok := s.Store.(RemovalStore)
	if !ok {
		return Removal{}, Upload{}, fault.New(fault.Unavailable, "removal_unsupported", "this store keeps no removal requests")
	}
	reason, err := reasonOf(reason)
	if err != nil {
		return Removal{}, Upload{}, err
	}
	u, err := s.Get(ctx, id)
	if err != nil {
		return Removal{}, Upload{}, err
	}
	switch p.Role {
	case identity.RoleCitizen:
		if p.IDNumberHash == "" || p.IDNumberHash != s.subjectHash(u.Applicant) {
			return Removal{}, Upload{}, fault.NotFoundf("material_not_found", "no material upload %s", id)
		}
	case identity.RoleOfficer:
		if p.DepartmentCode != u.DepartmentCode {
			return Removal{}, Upload{}, fault.Forbiddenf("not_uploading_department", "an officer files a removal request only for uploads of their own department (%s)", u.DepartmentCode)
		}
	default:
		return Removal{}, Upload{}, fault.Forbiddenf("forbidden", "the applicant or an officer of the uploading department files removal requests")
	}
	if u.Status != StatusCurrent && u.Status != StatusSuperseded {
		return Removal{}, Upload{}, fault.Conflictf("material_file_deleted", "upload %s is %s; its file is gone", id, u.Status)
	}
	r := Removal{ID: uuid.NewString(), UploadID: id, Reason: reason, RequestedBy: p.ID, RequestedRole: string(p.Role), Status: RemovalPending, CreatedAt: s.now().UTC()}
	if err := rs.CreateRemoval(ctx, r, s.subjectHash(u.Applicant)); err != nil {
		return Removal{}, Upload{}, err
	}
	return r, u, nil
}

// Removals lists removal requests (all statuses when status is empty).
func (s *Service) Removals(ctx context.Context, status RemovalStatus, limit, offset int) ([]Removal, error) {
	rs, ok := s.Store.(RemovalStore)
	if !ok {
		return nil, fault.New(fault.Unavailable, "removal_unsupported", "this store keeps no removal requests")
	}
	return rs.Removals(ctx, status, limit, offset)
}

// DecideRemoval approves or rejects a pending request (the e-government
// office: the API lets catalog administrators call it). Approval marks the
// upload removed and deletes its file unless another live upload shares
// it.
func (s *Service) DecideRemoval(ctx context.Context, p identity.Principal, id string, approve bool, reason string) (Removal, Upload, error) {
	rs, ok := s.Store.(RemovalStore)
	if !ok {
		return Removal{}, Upload{}, fault.New(fault.Unavailable, "removal_unsupported", "this store keeps no removal requests")
	}
	reason, err := reasonOf(reason)
	if err != nil {
		return Removal{}, Upload{}, err
	}
	r, err := rs.Removal(ctx, id)
	if err != nil {
		return Removal{}, Upload{}, err
	}
	u, err := s.Get(ctx, r.UploadID)
	if err != nil {
		return Removal{}, Upload{}, err
	}
	to := RemovalRejected
	if approve {
		to = RemovalApproved
	}
	now := s.now().UTC()
	if err := rs.DecideRemoval(ctx, id, to, p.ID, reason, now); err != nil {
		return Removal{}, Upload{}, err
	}
	if approve {
		if err := s.Store.SetStatus(ctx, u.ID, StatusRemoved, "", "removal request "+id+": "+reason, now); err != nil && fault.KindOf(err) != fault.Conflict {
			return Removal{}, Upload{}, err
		}
		if err := s.deleteFile(ctx, u.ContentHash); err != nil {
			return Removal{}, Upload{}, err
		}
	}
	r, err = rs.Removal(ctx, id)
	if err != nil {
		return Removal{}, Upload{}, err
	}
	return r, u, nil
}
