-- +goose Up
-- The audit trail (see the PostgreSQL migration for the design). SQLite has
-- no trigger-level privileges, but the same triggers refuse UPDATE and
-- DELETE so the embedded mode behaves like production.
CREATE TABLE audit_events (
    chain_id       TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    id             TEXT    NOT NULL UNIQUE,
    at_us          INTEGER NOT NULL,
    request_id     TEXT    NOT NULL DEFAULT '',
    principal_id   TEXT    NOT NULL DEFAULT '',
    principal_name TEXT    NOT NULL DEFAULT '',
    department     TEXT    NOT NULL DEFAULT '',
    role           TEXT    NOT NULL DEFAULT '',
    action         TEXT    NOT NULL,
    resource       TEXT    NOT NULL DEFAULT '',
    subjects       TEXT    NOT NULL DEFAULT '',
    fields         TEXT    NOT NULL DEFAULT '',
    purpose        TEXT    NOT NULL DEFAULT '',
    case_number    TEXT    NOT NULL DEFAULT '',
    outcome        TEXT    NOT NULL,
    reason         TEXT    NOT NULL DEFAULT '',
    client_addr    TEXT    NOT NULL DEFAULT '',
    count          INTEGER NOT NULL DEFAULT 0,
    prev_hash      BLOB    NOT NULL,
    hash           BLOB    NOT NULL,
    PRIMARY KEY (chain_id, seq)
);
CREATE INDEX audit_events_at_idx ON audit_events (at_us);
CREATE INDEX audit_events_principal_idx ON audit_events (principal_id, at_us);
CREATE INDEX audit_events_department_idx ON audit_events (department, at_us);
CREATE INDEX audit_events_resource_idx ON audit_events (resource, at_us);
CREATE INDEX audit_events_action_idx ON audit_events (action, at_us);
CREATE INDEX audit_events_case_idx ON audit_events (case_number);

CREATE TABLE audit_subjects (
    subject_hash TEXT    NOT NULL,
    at_us        INTEGER NOT NULL,
    chain_id     TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (subject_hash, at_us, chain_id, seq)
);

CREATE TABLE audit_checkpoints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_id   TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    hash       BLOB    NOT NULL,
    at_us      INTEGER NOT NULL,
    public_key BLOB    NOT NULL,
    signature  BLOB    NOT NULL
);
CREATE INDEX audit_checkpoints_chain_idx ON audit_checkpoints (chain_id, seq);

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: UPDATE on audit_events refused'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: DELETE on audit_events refused'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_subjects_no_update BEFORE UPDATE ON audit_subjects
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: UPDATE on audit_subjects refused'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_subjects_no_delete BEFORE DELETE ON audit_subjects
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: DELETE on audit_subjects refused'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: UPDATE on audit_checkpoints refused'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: DELETE on audit_checkpoints refused'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_subjects;
DROP TABLE audit_events;
