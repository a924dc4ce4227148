-- +goose Up
-- The audit trail. One row per audited event, hash-chained per chain_id
-- (one chain per running hub instance). Append only: the trigger below
-- refuses UPDATE and DELETE, and no foreign keys can block or cascade.
CREATE TABLE audit_events (
    chain_id       TEXT    NOT NULL,
    seq            BIGINT  NOT NULL,
    id             TEXT    NOT NULL UNIQUE,
    at_us          BIGINT  NOT NULL,
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
    count          BIGINT  NOT NULL DEFAULT 0,
    prev_hash      BYTEA   NOT NULL,
    hash           BYTEA   NOT NULL,
    PRIMARY KEY (chain_id, seq)
);
CREATE INDEX audit_events_at_idx ON audit_events (at_us);
CREATE INDEX audit_events_principal_idx ON audit_events (principal_id, at_us);
CREATE INDEX audit_events_department_idx ON audit_events (department, at_us);
CREATE INDEX audit_events_resource_idx ON audit_events (resource, at_us);
CREATE INDEX audit_events_action_idx ON audit_events (action, at_us);
CREATE INDEX audit_events_case_idx ON audit_events (case_number);

-- Search index: one row per (event, subject hash), for "who accessed this
-- person's data". The chained row's subjects column is authoritative.
CREATE TABLE audit_subjects (
    subject_hash TEXT   NOT NULL,
    at_us        BIGINT NOT NULL,
    chain_id     TEXT   NOT NULL,
    seq          BIGINT NOT NULL,
    PRIMARY KEY (subject_hash, at_us, chain_id, seq)
);

-- Signed chain heads.
CREATE TABLE audit_checkpoints (
    id         BIGSERIAL PRIMARY KEY,
    chain_id   TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    hash       BYTEA  NOT NULL,
    at_us      BIGINT NOT NULL,
    public_key BYTEA  NOT NULL,
    signature  BYTEA  NOT NULL
);
CREATE INDEX audit_checkpoints_chain_idx ON audit_checkpoints (chain_id, seq);

-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_subjects_append_only BEFORE UPDATE OR DELETE ON audit_subjects
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_subjects_no_truncate BEFORE TRUNCATE ON audit_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_subjects;
DROP TABLE audit_events;
DROP FUNCTION audit_append_only();
