-- +goose Up
-- The material library (材料库): files applicants brought to a service
-- window, stored once per content hash (material_blobs: where the encrypted
-- blob lies and its data key, wrapped by the hub's key-encryption key) and
-- described by one metadata row per upload (material_uploads). No foreign
-- keys: a blob row outlives any one upload and an upload row outlives its
-- blob (a removed or expired upload keeps its metadata for the audit).
CREATE TABLE material_blobs (
    content_hash TEXT PRIMARY KEY,
    blob_key     TEXT NOT NULL,
    wrapped_key  BYTEA NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE material_uploads (
    id                TEXT PRIMARY KEY,
    applicant         TEXT NOT NULL,
    applicant_hash    TEXT NOT NULL,
    material_type     TEXT NOT NULL,
    issuing_authority TEXT NOT NULL DEFAULT '',
    issue_date        TEXT NOT NULL DEFAULT '',
    valid_until       TEXT NOT NULL DEFAULT '',
    content_hash      TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    size              BIGINT NOT NULL,
    file_name         TEXT NOT NULL DEFAULT '',
    department_code   TEXT NOT NULL,
    uploaded_by       TEXT NOT NULL,
    uploaded_by_name  TEXT NOT NULL DEFAULT '',
    case_number       TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('current', 'superseded', 'removed', 'retention_expired')),
    superseded_by     TEXT NOT NULL DEFAULT '',
    status_reason     TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    status_at         TIMESTAMPTZ
);
CREATE INDEX material_uploads_applicant_idx ON material_uploads (applicant, material_type, created_at);
CREATE INDEX material_uploads_hash_idx ON material_uploads (content_hash);
CREATE INDEX material_uploads_status_idx ON material_uploads (status, material_type, created_at);
CREATE INDEX material_uploads_subject_idx ON material_uploads (applicant_hash, created_at);

-- An applicant's request to remove an upload, decided by the e-government
-- office: approval deletes the file and marks the upload removed.
CREATE TABLE material_removal_requests (
    id              TEXT PRIMARY KEY,
    upload_id       TEXT NOT NULL,
    applicant_hash  TEXT NOT NULL,
    reason          TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_role  TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by      TEXT NOT NULL DEFAULT '',
    decision_reason TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at      TIMESTAMPTZ
);
CREATE INDEX material_removal_requests_status_idx ON material_removal_requests (status, created_at);
CREATE INDEX material_removal_requests_upload_idx ON material_removal_requests (upload_id);

-- +goose Down
DROP TABLE material_removal_requests;
DROP TABLE material_uploads;
DROP TABLE material_blobs;
