-- +goose Up
-- Share requests (共享申请): a department asks a provider for fields of one
-- resource, for stated purposes, under a legal basis, for a validity period.
CREATE TABLE share_requests (
    id                     TEXT PRIMARY KEY,
    resource_id            TEXT NOT NULL,
    resource_name          TEXT NOT NULL DEFAULT '',
    provider_code          TEXT NOT NULL REFERENCES departments (code),
    requester_code         TEXT NOT NULL REFERENCES departments (code),
    requested_by           TEXT NOT NULL,
    fields                 TEXT NOT NULL,
    plain_fields           TEXT NOT NULL DEFAULT '[]',
    purposes               TEXT NOT NULL,
    legal_basis            TEXT NOT NULL,
    service_items          TEXT NOT NULL DEFAULT '[]',
    extend_to_subordinates BOOLEAN NOT NULL DEFAULT FALSE,
    valid_from             TIMESTAMPTZ NOT NULL,
    valid_until            TIMESTAMPTZ NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    deadline               TIMESTAMPTZ NOT NULL,
    decided_by             TEXT NOT NULL DEFAULT '',
    decided_at             TIMESTAMPTZ,
    decision_reason        TEXT NOT NULL DEFAULT '',
    grant_id               TEXT NOT NULL DEFAULT '',
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX share_requests_requester_idx ON share_requests (requester_code, created_at);
CREATE INDEX share_requests_provider_idx ON share_requests (provider_code, created_at);
CREATE INDEX share_requests_pending_idx ON share_requests (status, deadline);

-- Grants: an approved request, department x resource x fields x purposes x validity.
CREATE TABLE share_grants (
    id                     TEXT PRIMARY KEY,
    request_id             TEXT NOT NULL REFERENCES share_requests (id),
    resource_id            TEXT NOT NULL,
    provider_code          TEXT NOT NULL REFERENCES departments (code),
    grantee_code           TEXT NOT NULL REFERENCES departments (code),
    extend_to_subordinates BOOLEAN NOT NULL DEFAULT FALSE,
    fields                 TEXT NOT NULL,
    plain_fields           TEXT NOT NULL DEFAULT '[]',
    purposes               TEXT NOT NULL,
    valid_from             TIMESTAMPTZ NOT NULL,
    valid_until            TIMESTAMPTZ NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('active', 'revoked', 'expired')),
    approved_by            TEXT NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    ended_at               TIMESTAMPTZ,
    ended_by               TEXT NOT NULL DEFAULT '',
    end_reason             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX share_grants_grantee_idx ON share_grants (grantee_code, status);
CREATE INDEX share_grants_provider_idx ON share_grants (provider_code, status);
CREATE INDEX share_grants_expiry_idx ON share_grants (status, valid_until);

-- Every state change of a request or grant: who, when, why. Append only; no
-- foreign keys, so history never blocks or cascades.
CREATE TABLE share_history (
    id               BIGSERIAL PRIMARY KEY,
    request_id       TEXT NOT NULL,
    grant_id         TEXT NOT NULL DEFAULT '',
    action           TEXT NOT NULL,
    from_status      TEXT NOT NULL DEFAULT '',
    to_status        TEXT NOT NULL,
    actor_id         TEXT NOT NULL,
    actor_name       TEXT NOT NULL DEFAULT '',
    actor_department TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT '',
    detail           TEXT NOT NULL DEFAULT '',
    at               TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX share_history_request_idx ON share_history (request_id, id);
CREATE INDEX share_history_grant_idx ON share_history (grant_id, id);

-- One row counting changes to the data policies; every hub instance polls it
-- to catch a change notification it missed.
CREATE TABLE share_policy_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO share_policy_version (id, version) VALUES (1, 0);

-- Casbin data-access rules (policies/sharing/data_model.conf), in the shape
-- github.com/casbin/gorm-adapter expects; kept apart from casbin_rule, which
-- holds the API rules of another model.
CREATE TABLE casbin_data_rule (
    id    BIGSERIAL PRIMARY KEY,
    ptype VARCHAR(100),
    v0    VARCHAR(100),
    v1    VARCHAR(100),
    v2    VARCHAR(100),
    v3    VARCHAR(100),
    v4    VARCHAR(100),
    v5    VARCHAR(100)
);
CREATE UNIQUE INDEX idx_casbin_data_rule ON casbin_data_rule (ptype, v0, v1, v2, v3, v4, v5);

-- +goose Down
DROP TABLE casbin_data_rule;
DROP TABLE share_policy_version;
DROP TABLE share_history;
DROP TABLE share_grants;
DROP TABLE share_requests;
