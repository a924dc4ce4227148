-- +goose Up
-- Web console sessions: the browser holds a random session id in an
-- HttpOnly cookie; the hub keeps only its SHA-256, the principal, the
-- session's CSRF token and its idle and absolute expiry, so every hub
-- instance behind a load balancer sees the same sessions.
CREATE TABLE console_sessions (
    id_hash      TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    client_addr  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_principal ON console_sessions (principal_id);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- +goose Down
DROP TABLE console_sessions;
