-- +goose Up
-- The one library: the current record per (resource, subject key) ...
CREATE TABLE library_records (
    resource_id     TEXT NOT NULL,
    subject_key     TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    version         INTEGER NOT NULL,
    schema_version  INTEGER NOT NULL,
    publisher       TEXT NOT NULL,
    data            TEXT,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    delete_reason   TEXT NOT NULL DEFAULT '',
    trace_id        TEXT NOT NULL DEFAULT '',
    kafka_partition INTEGER NOT NULL,
    kafka_offset    BIGINT NOT NULL,
    published_at    DATETIME NOT NULL,
    applied_at      DATETIME NOT NULL,
    PRIMARY KEY (resource_id, subject_key)
);

-- ... and every version it had, in the order the library applied them.
CREATE TABLE library_history (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id     TEXT NOT NULL,
    subject_key     TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    version         INTEGER NOT NULL,
    schema_version  INTEGER NOT NULL,
    publisher       TEXT NOT NULL,
    data            TEXT,
    deleted         BOOLEAN NOT NULL DEFAULT FALSE,
    delete_reason   TEXT NOT NULL DEFAULT '',
    trace_id        TEXT NOT NULL DEFAULT '',
    kafka_partition INTEGER NOT NULL,
    kafka_offset    BIGINT NOT NULL,
    published_at    DATETIME NOT NULL,
    applied_at      DATETIME NOT NULL
);
CREATE UNIQUE INDEX library_history_offset_idx ON library_history (resource_id, kafka_partition, kafka_offset);
CREATE INDEX library_history_subject_idx ON library_history (resource_id, subject_key, version);
CREATE INDEX library_history_seq_idx ON library_history (resource_id, seq);

-- The library sink's Kafka offsets, written in the same transaction as the
-- records they cover.
CREATE TABLE library_offsets (
    topic           TEXT NOT NULL,
    kafka_partition INTEGER NOT NULL,
    next_offset     BIGINT NOT NULL,
    updated_at      DATETIME NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);

-- Resource topics the hub has created; the sink consumes these.
CREATE TABLE exchange_topics (
    resource_id TEXT PRIMARY KEY,
    topic       TEXT NOT NULL UNIQUE,
    created_at  DATETIME NOT NULL
);

-- Responses to publishes made with an Idempotency-Key.
CREATE TABLE exchange_idempotency (
    scope        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response     TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX exchange_idempotency_created_idx ON exchange_idempotency (created_at);

-- Subscriptions of reading departments to a resource, with the cursor of
-- each delivery mode (library_history.seq of the last delivered record).
CREATE TABLE subscriptions (
    id              TEXT PRIMARY KEY,
    department_code TEXT NOT NULL,
    principal_id    TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    case_number     TEXT NOT NULL DEFAULT '',
    filter_field    TEXT NOT NULL DEFAULT '',
    filter_prefix   TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    pull_cursor     BIGINT NOT NULL DEFAULT 0,
    webhook_url     TEXT NOT NULL DEFAULT '',
    push_cursor     BIGINT NOT NULL DEFAULT 0,
    push_state      TEXT NOT NULL DEFAULT 'none' CHECK (push_state IN ('none', 'active', 'retrying', 'parked')),
    push_attempts   INTEGER NOT NULL DEFAULT 0,
    push_next_at    DATETIME,
    push_last_error TEXT NOT NULL DEFAULT '',
    egress_topic    TEXT NOT NULL DEFAULT '',
    egress_cursor   BIGINT NOT NULL DEFAULT 0,
    stopped_reason  TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);
CREATE INDEX subscriptions_department_idx ON subscriptions (department_code);
CREATE INDEX subscriptions_resource_idx ON subscriptions (resource_id);

-- +goose Down
DROP TABLE subscriptions;
DROP TABLE exchange_idempotency;
DROP TABLE exchange_topics;
DROP TABLE library_offsets;
DROP TABLE library_history;
DROP TABLE library_records;
