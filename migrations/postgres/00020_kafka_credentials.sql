-- +goose Up
-- Kafka SCRAM credentials the hub issued: one per department that
-- publishes over Kafka (kind ingress) and one per Kafka-egress
-- subscription (kind egress). The password is never stored; the broker
-- keeps only its salted SCRAM form. State: active, revoked (the broker may
-- still hold the credential: the reconciler deletes it), removed.
CREATE TABLE kafka_credentials (
    username        TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    owner           TEXT NOT NULL,
    department_code TEXT NOT NULL,
    state           TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    rotated_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX kafka_credentials_state ON kafka_credentials (state);
CREATE INDEX kafka_credentials_owner ON kafka_credentials (kind, owner);

-- +goose Down
DROP TABLE kafka_credentials;
