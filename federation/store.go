package federation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"yiku/catalog"
	"yiku/fault"
	"yiku/federation/peer"
	"yiku/storage"
)

// Store keeps peerings, marks, federated entries and cross-level share
// requests on gorm.
type Store struct{ db *gorm.DB }

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

type peeringRow struct {
	ID          string `gorm:"primaryKey"`
	Direction   string
	PeerHub     string
	PeerName    string
	PeerLevel   string
	URL         string
	Fingerprint string
	Status      string
	PeerStatus  string
	RequestedBy string
	DecidedBy   string
	Reason      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (peeringRow) TableName() string { return "federation_peerings" }

func (r peeringRow) domain() Peering {
	return Peering{ID: r.ID, Direction: Direction(r.Direction), PeerHub: r.PeerHub, PeerName: r.PeerName, PeerLevel: peer.Level(r.PeerLevel),
		URL: r.URL, Fingerprint: r.Fingerprint, Status: Status(r.Status), PeerStatus: Status(r.PeerStatus), RequestedBy: r.RequestedBy,
		DecidedBy: r.DecidedBy, Reason: r.Reason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// CreatePeering stores a new peering.
func (s *Store) CreatePeering(ctx context.Context, p Peering) (Peering, error) {
	now := time.Now().UTC()
	p.ID, p.CreatedAt, p.UpdatedAt = newID("peer-"), now, now
	r := peeringRow{ID: p.ID, Direction: string(p.Direction), PeerHub: p.PeerHub, PeerName: p.PeerName, PeerLevel: string(p.PeerLevel),
		URL: p.URL, Fingerprint: p.Fingerprint, Status: string(p.Status), PeerStatus: string(p.PeerStatus), RequestedBy: p.RequestedBy,
		Reason: p.Reason, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Create(&r).Error; err != nil {
		return Peering{}, storage.MapError(err, "peering")
	}
	return r.domain(), nil
}

// Peering returns one peering.
func (s *Store) Peering(ctx context.Context, id string) (Peering, error) {
	var rs []peeringRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rs).Error; err != nil {
		return Peering{}, storage.MapError(err, "peering")
	}
	if len(rs) == 0 {
		return Peering{}, fault.NotFoundf("not_found", "peering %s not found", id)
	}
	return rs[0].domain(), nil
}

// Peerings lists peerings, newest first; a non-empty direction filters.
func (s *Store) Peerings(ctx context.Context, dir Direction) ([]Peering, error) {
	q := s.db.WithContext(ctx).Order("created_at DESC, id")
	if dir != "" {
		q = q.Where("direction = ?", string(dir))
	}
	var rs []peeringRow
	if err := q.Find(&rs).Error; err != nil {
		return nil, storage.MapError(err, "peering")
	}
	out := make([]Peering, len(rs))
	for i, r := range rs {
		out[i] = r.domain()
	}
	return out, nil
}

// Current returns the peering in direction that has not ended (ok false if none).
func (s *Store) Current(ctx context.Context, dir Direction) (Peering, bool, error) {
	var rs []peeringRow
	if err := s.db.WithContext(ctx).Where("direction = ? AND status <> ?", string(dir), string(StatusEnded)).
		Order("created_at DESC").Limit(1).Find(&rs).Error; err != nil {
		return Peering{}, false, storage.MapError(err, "peering")
	}
	if len(rs) == 0 {
		return Peering{}, false, nil
	}
	return rs[0].domain(), true, nil
}

// ByFingerprint returns the downstream peering, not ended, of a presented
// certificate (ok false if none).
func (s *Store) ByFingerprint(ctx context.Context, fp string) (Peering, bool, error) {
	var rs []peeringRow
	if err := s.db.WithContext(ctx).Where("direction = ? AND fingerprint = ? AND status <> ?", string(Downstream), fp, string(StatusEnded)).
		Limit(1).Find(&rs).Error; err != nil {
		return Peering{}, false, storage.MapError(err, "peering")
	}
	if len(rs) == 0 {
		return Peering{}, false, nil
	}
	return rs[0].domain(), true, nil
}

// SetStatus moves a peering from one of from to status (and records by and
// reason); it answers 409 when the peering is in none of from.
func (s *Store) SetStatus(ctx context.Context, id string, from []Status, to Status, by, reason string) (Peering, error) {
	fs := make([]string, len(from))
	for i, f := range from {
		fs[i] = string(f)
	}
	upd := map[string]any{"status": string(to), "reason": reason, "updated_at": time.Now().UTC()}
	if by != "" {
		upd["decided_by"] = by
	}
	res := s.db.WithContext(ctx).Model(&peeringRow{}).Where("id = ? AND status IN ?", id, fs).Updates(upd)
	if res.Error != nil {
		return Peering{}, storage.MapError(res.Error, "peering")
	}
	p, err := s.Peering(ctx, id)
	if err != nil {
		return Peering{}, err
	}
	if res.RowsAffected == 0 {
		return Peering{}, fault.Conflictf("peering_state", "peering %s is %s; this step needs it %v", id, p.Status, fs)
	}
	return p, nil
}

// SetPeerStatus records what the other side reported.
func (s *Store) SetPeerStatus(ctx context.Context, id string, st Status) error {
	err := s.db.WithContext(ctx).Model(&peeringRow{}).Where("id = ? AND peer_status <> ?", id, string(st)).
		Updates(map[string]any{"peer_status": string(st), "updated_at": time.Now().UTC()}).Error
	return storage.MapError(err, "peering")
}

type markRow struct {
	ResourceID   string `gorm:"primaryKey"`
	Department   string
	Marked       bool
	MarkedBy     string
	SentRevision int
	SentStatus   string
	UpdatedAt    time.Time
}

func (markRow) TableName() string { return "federation_upward" }

func (r markRow) domain() Mark {
	return Mark{ResourceID: r.ResourceID, Department: r.Department, Marked: r.Marked, MarkedBy: r.MarkedBy,
		SentRevision: r.SentRevision, SentStatus: catalog.Status(r.SentStatus), UpdatedAt: r.UpdatedAt.UTC()}
}

// SetMark marks or unmarks a resource for upward sharing. Unmarking keeps
// the row until the upstream hub has been told the entry is retired.
func (s *Store) SetMark(ctx context.Context, m Mark) (Mark, error) {
	r := markRow{ResourceID: m.ResourceID, Department: m.Department, Marked: m.Marked, MarkedBy: m.MarkedBy, UpdatedAt: time.Now().UTC()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "resource_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"department", "marked", "marked_by", "updated_at"})}).Create(&r).Error
	if err != nil {
		return Mark{}, storage.MapError(err, "upward mark")
	}
	return s.Mark(ctx, m.ResourceID)
}

// Mark returns one mark.
func (s *Store) Mark(ctx context.Context, resource string) (Mark, error) {
	var rs []markRow
	if err := s.db.WithContext(ctx).Where("resource_id = ?", resource).Limit(1).Find(&rs).Error; err != nil {
		return Mark{}, storage.MapError(err, "upward mark")
	}
	if len(rs) == 0 {
		return Mark{}, fault.NotFoundf("not_found", "resource %s is not marked for upward sharing", resource)
	}
	return rs[0].domain(), nil
}

// Marks lists the marks (all, or of one department).
func (s *Store) Marks(ctx context.Context, department string) ([]Mark, error) {
	q := s.db.WithContext(ctx).Order("resource_id")
	if department != "" {
		q = q.Where("department = ?", department)
	}
	var rs []markRow
	if err := q.Find(&rs).Error; err != nil {
		return nil, storage.MapError(err, "upward mark")
	}
	out := make([]Mark, len(rs))
	for i, r := range rs {
		out[i] = r.domain()
	}
	return out, nil
}

// Sent records what the upstream hub received of a resource; an unmarked
// resource whose retirement was delivered is forgotten.
func (s *Store) Sent(ctx context.Context, resource string, revision int, status catalog.Status, marked bool) error {
	db := s.db.WithContext(ctx)
	var err error
	if !marked && status == catalog.StatusRetired {
		err = db.Where("resource_id = ? AND marked = ?", resource, false).Delete(&markRow{}).Error
	} else {
		err = db.Model(&markRow{}).Where("resource_id = ?", resource).
			Updates(map[string]any{"sent_revision": revision, "sent_status": string(status)}).Error
	}
	return storage.MapError(err, "upward mark")
}

type entryRow struct {
	PeeringID      string `gorm:"primaryKey"`
	ResourceID     string `gorm:"primaryKey"`
	OriginHub      string
	OriginLevel    string
	OriginDept     string
	OriginDeptName string
	Revision       int
	Status         string
	Entry          string
	Topic          string
	UpdatedAt      time.Time
}

func (entryRow) TableName() string { return "federation_entries" }

func (r entryRow) domain() (Entry, error) {
	e := Entry{PeeringID: r.PeeringID, ResourceID: r.ResourceID, OriginHub: r.OriginHub, OriginLevel: peer.Level(r.OriginLevel),
		OriginDept: r.OriginDept, OriginDeptName: r.OriginDeptName, Revision: r.Revision, Status: catalog.Status(r.Status), Topic: r.Topic, UpdatedAt: r.UpdatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Entry), &e.Resource); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// PutEntry stores an entry unless the stored one has a higher revision (an
// update delivered late never overwrites a newer one); a retirement always
// applies.
func (s *Store) PutEntry(ctx context.Context, e Entry) error {
	data, err := json.Marshal(e.Resource)
	if err != nil {
		return err
	}
	r := entryRow{PeeringID: e.PeeringID, ResourceID: e.ResourceID, OriginHub: e.OriginHub, OriginLevel: string(e.OriginLevel),
		OriginDept: e.OriginDept, OriginDeptName: e.OriginDeptName, Revision: e.Revision, Status: string(e.Status), Entry: string(data),
		Topic: e.Topic, UpdatedAt: time.Now().UTC()}
	return storage.MapError(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur []entryRow
		if err := tx.Where("peering_id = ? AND resource_id = ?", e.PeeringID, e.ResourceID).Limit(1).Find(&cur).Error; err != nil {
			return err
		}
		if len(cur) == 0 {
			return tx.Create(&r).Error
		}
		if cur[0].Revision > e.Revision && e.Status != catalog.StatusRetired {
			return nil
		}
		return tx.Model(&entryRow{}).Where("peering_id = ? AND resource_id = ?", e.PeeringID, e.ResourceID).Updates(map[string]any{
			"origin_hub": r.OriginHub, "origin_level": r.OriginLevel, "origin_dept": r.OriginDept, "origin_dept_name": r.OriginDeptName,
			"revision": r.Revision, "status": r.Status, "entry": r.Entry, "topic": r.Topic, "updated_at": r.UpdatedAt}).Error
	}), "federated entry")
}

// Entries lists the entries of peerings in direction (all when empty),
// retired ones only when asked.
func (s *Store) Entries(ctx context.Context, peerings []string, withRetired bool) ([]Entry, error) {
	if len(peerings) == 0 {
		return []Entry{}, nil
	}
	q := s.db.WithContext(ctx).Where("peering_id IN ?", peerings).Order("origin_hub, resource_id")
	if !withRetired {
		q = q.Where("status <> ?", string(catalog.StatusRetired))
	}
	var rs []entryRow
	if err := q.Find(&rs).Error; err != nil {
		return nil, storage.MapError(err, "federated entry")
	}
	out := make([]Entry, 0, len(rs))
	for _, r := range rs {
		e, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Entry returns one entry of a peering.
func (s *Store) Entry(ctx context.Context, peering, resource string) (Entry, bool, error) {
	var rs []entryRow
	if err := s.db.WithContext(ctx).Where("peering_id = ? AND resource_id = ?", peering, resource).Limit(1).Find(&rs).Error; err != nil {
		return Entry{}, false, storage.MapError(err, "federated entry")
	}
	if len(rs) == 0 {
		return Entry{}, false, nil
	}
	e, err := rs[0].domain()
	return e, err == nil, err
}

// RetireMissing marks retired the entries of a peering whose resource is
// not in keep (the origin stopped offering them).
func (s *Store) RetireMissing(ctx context.Context, peering string, keep []string) error {
	q := s.db.WithContext(ctx).Model(&entryRow{}).Where("peering_id = ? AND status <> ?", peering, string(catalog.StatusRetired))
	if len(keep) > 0 {
		q = q.Where("resource_id NOT IN ?", keep)
	}
	return storage.MapError(q.Updates(map[string]any{"status": string(catalog.StatusRetired), "updated_at": time.Now().UTC()}).Error, "federated entry")
}

type shareRow struct {
	ID            string `gorm:"primaryKey"`
	PeeringID     string
	ResourceID    string
	RequesterCode string
	RequestedBy   string
	Application   string
	Status        string
	RemoteID      string
	GrantID       string
	Reason        string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (shareRow) TableName() string { return "federation_share_requests" }

func (r shareRow) domain() (ShareRequest, error) {
	sr := ShareRequest{ID: r.ID, PeeringID: r.PeeringID, ResourceID: r.ResourceID, RequesterCode: r.RequesterCode, RequestedBy: r.RequestedBy,
		Status: r.Status, RemoteID: r.RemoteID, GrantID: r.GrantID, Reason: r.Reason, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	err := json.Unmarshal([]byte(r.Application), &sr.Application)
	return sr, err
}

// CreateShare stores a new cross-level share request, waiting for delivery.
func (s *Store) CreateShare(ctx context.Context, sr ShareRequest) (ShareRequest, error) {
	app, err := json.Marshal(sr.Application)
	if err != nil {
		return ShareRequest{}, err
	}
	now := time.Now().UTC()
	r := shareRow{ID: newID("xsr-"), PeeringID: sr.PeeringID, ResourceID: sr.ResourceID, RequesterCode: sr.RequesterCode,
		RequestedBy: sr.RequestedBy, Application: string(app), Status: ShareWaiting, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Create(&r).Error; err != nil {
		return ShareRequest{}, storage.MapError(err, "share request")
	}
	return r.domain()
}

// Shares lists cross-level share requests: of one department (all when
// empty), in given statuses (all when none), oldest first.
func (s *Store) Shares(ctx context.Context, department string, statuses ...string) ([]ShareRequest, error) {
	q := s.db.WithContext(ctx).Order("created_at, id")
	if department != "" {
		q = q.Where("requester_code = ?", department)
	}
	if len(statuses) > 0 {
		q = q.Where("status IN ?", statuses)
	}
	var rs []shareRow
	if err := q.Find(&rs).Error; err != nil {
		return nil, storage.MapError(err, "share request")
	}
	out := make([]ShareRequest, 0, len(rs))
	for _, r := range rs {
		sr, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, sr)
	}
	return out, nil
}

// UpdateShare records the upstream hub's answer about a request.
func (s *Store) UpdateShare(ctx context.Context, id string, st RemoteShareState) error {
	return storage.MapError(s.db.WithContext(ctx).Model(&shareRow{}).Where("id = ?", id).Updates(map[string]any{
		"status": st.Status, "remote_id": st.RemoteID, "grant_id": st.GrantID, "reason": st.Reason, "updated_at": time.Now().UTC()}).Error, "share request")
}
