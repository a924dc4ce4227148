-- +goose Up
CREATE TABLE departments (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('district', 'township', 'village')),
    parent_code   TEXT REFERENCES departments (code),
    division_code TEXT NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX departments_parent_idx ON departments (parent_code);

CREATE TABLE principals (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL CHECK (kind IN ('system', 'person')),
    role            TEXT NOT NULL,
    department_code TEXT NOT NULL REFERENCES departments (code),
    id_number_hash  TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    disabled_at     DATETIME
);
CREATE INDEX principals_department_idx ON principals (department_code);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    secret_hash  TEXT NOT NULL,
    label        TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at   DATETIME,
    revoked_at   DATETIME,
    last_used_at DATETIME
);
CREATE INDEX api_keys_principal_idx ON api_keys (principal_id);

CREATE TABLE casbin_rule (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    ptype VARCHAR(100),
    v0    VARCHAR(100),
    v1    VARCHAR(100),
    v2    VARCHAR(100),
    v3    VARCHAR(100),
    v4    VARCHAR(100),
    v5    VARCHAR(100)
);
CREATE UNIQUE INDEX idx_casbin_rule ON casbin_rule (ptype, v0, v1, v2, v3, v4, v5);

-- +goose Down
DROP TABLE casbin_rule;
DROP TABLE api_keys;
DROP TABLE principals;
DROP TABLE departments;
