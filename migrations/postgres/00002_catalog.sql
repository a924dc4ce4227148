-- +goose Up
-- The resource directory: resources with the catalog guide's metadata,
-- their immutable schema versions, and the history of every change.
CREATE TABLE resources (
    id               TEXT PRIMARY KEY,
    code             TEXT NOT NULL UNIQUE,
    class_code       TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    name             TEXT NOT NULL,
    summary          TEXT NOT NULL DEFAULT '',
    provider_code    TEXT NOT NULL REFERENCES departments (code),
    format           TEXT NOT NULL,
    fields           TEXT NOT NULL DEFAULT '[]',
    share_type       TEXT NOT NULL CHECK (share_type IN ('unconditional', 'conditional', 'not_shared')),
    share_conditions TEXT NOT NULL DEFAULT '',
    share_mode       TEXT NOT NULL DEFAULT '',
    legal_basis      TEXT NOT NULL DEFAULT '',
    open_to_public   BOOLEAN NOT NULL DEFAULT FALSE,
    open_conditions  TEXT NOT NULL DEFAULT '',
    update_cycle     TEXT NOT NULL,
    publish_date     TEXT NOT NULL DEFAULT '',
    related_codes    TEXT NOT NULL DEFAULT '[]',
    base_library     TEXT NOT NULL,
    subject_type     TEXT NOT NULL,
    subject_key      TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL CHECK (status IN ('draft', 'published', 'deprecated', 'retired')),
    compatibility    TEXT NOT NULL DEFAULT 'BACKWARD',
    latest_version   INTEGER NOT NULL DEFAULT 0,
    revision         INTEGER NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (class_code, seq)
);
CREATE INDEX resources_provider_idx ON resources (provider_code);
CREATE INDEX resources_status_idx ON resources (status);

CREATE TABLE schema_versions (
    resource_id TEXT NOT NULL REFERENCES resources (id),
    version     INTEGER NOT NULL CHECK (version > 0),
    fingerprint TEXT NOT NULL,
    schema_json TEXT NOT NULL,
    fields      TEXT NOT NULL DEFAULT '[]',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_id, version),
    UNIQUE (resource_id, fingerprint)
);

-- Who changed what, when: one row per metadata revision. No foreign key to
-- principals, so history survives any change to them.
CREATE TABLE resource_changes (
    id              BIGSERIAL PRIMARY KEY,
    resource_id     TEXT NOT NULL REFERENCES resources (id),
    revision        INTEGER NOT NULL,
    action          TEXT NOT NULL,
    principal_id    TEXT NOT NULL DEFAULT '',
    principal_name  TEXT NOT NULL DEFAULT '',
    department_code TEXT NOT NULL DEFAULT '',
    elements        TEXT NOT NULL DEFAULT '[]',
    reason          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (resource_id, revision)
);

-- +goose Down
DROP TABLE resource_changes;
DROP TABLE schema_versions;
DROP TABLE resources;
