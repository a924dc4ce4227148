-- +goose Up
-- Kafka ingress: the index of dead letters (the records themselves stay on
-- the department's <prefix>.dlq.<department> topic) and the idempotency keys
-- adapters send, so a re-sent ingress record is routed once.
CREATE TABLE exchange_dead_letters (
    id                 TEXT PRIMARY KEY,
    department_code    TEXT NOT NULL,
    resource_id        TEXT NOT NULL DEFAULT '',
    subject_key        TEXT NOT NULL DEFAULT '',
    idempotency_key    TEXT NOT NULL DEFAULT '',
    reasons            TEXT NOT NULL,
    source_topic       TEXT NOT NULL,
    source_partition   INTEGER NOT NULL,
    source_offset      BIGINT NOT NULL,
    dlq_topic          TEXT NOT NULL,
    dlq_partition      INTEGER NOT NULL,
    dlq_offset         BIGINT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed')),
    replayed_record_id TEXT NOT NULL DEFAULT '',
    replayed_by        TEXT NOT NULL DEFAULT '',
    replayed_at        TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    UNIQUE (source_topic, source_partition, source_offset)
);
CREATE INDEX exchange_dead_letters_department_idx ON exchange_dead_letters (department_code, status, created_at);

CREATE TABLE exchange_ingress_keys (
    department_code TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (department_code, idem_key)
);

-- +goose Down
DROP TABLE exchange_ingress_keys;
DROP TABLE exchange_dead_letters;
