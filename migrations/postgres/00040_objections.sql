-- +goose Up
-- Data objections (疑义校核): a reader disputes fields of one version of a
-- shared record; the provider corrects the record (a newer version closes
-- the objection) or rejects it with a reason, within a number of working
-- days; the raiser may withdraw it. No foreign keys: an objection outlives
-- the principal that raised it and never blocks a department's removal.
CREATE TABLE objections (
    id                TEXT PRIMARY KEY,
    resource_id       TEXT NOT NULL,
    subject_key       TEXT NOT NULL,
    record_version    INTEGER NOT NULL,
    fields            TEXT NOT NULL,
    problem           TEXT NOT NULL,
    evidence          TEXT NOT NULL DEFAULT '',
    provider_code     TEXT NOT NULL,
    raiser_code       TEXT NOT NULL,
    raised_by         TEXT NOT NULL,
    raised_by_name    TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL CHECK (status IN ('open', 'corrected', 'rejected', 'withdrawn')),
    deadline          TIMESTAMPTZ NOT NULL,
    escalated_at      TIMESTAMPTZ,
    resolved_by       TEXT NOT NULL DEFAULT '',
    resolved_at       TIMESTAMPTZ,
    resolution_reason TEXT NOT NULL DEFAULT '',
    corrected_version INTEGER NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Every read asks for the open objections of its records: a partial index
-- holds only the open ones, so the answer is cheap when there are none.
CREATE INDEX objections_open_idx ON objections (resource_id, subject_key) WHERE status = 'open';
CREATE INDEX objections_provider_idx ON objections (provider_code, created_at);
CREATE INDEX objections_raiser_idx ON objections (raiser_code, created_at);
CREATE INDEX objections_deadline_idx ON objections (status, deadline);

-- Every step of an objection: who, when, what, why. Append only.
CREATE TABLE objection_history (
    id           BIGSERIAL PRIMARY KEY,
    objection_id TEXT NOT NULL,
    action       TEXT NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    actor_name   TEXT NOT NULL DEFAULT '',
    department   TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 0,
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX objection_history_objection_idx ON objection_history (objection_id, id);

-- +goose Down
DROP TABLE objection_history;
DROP TABLE objections;
