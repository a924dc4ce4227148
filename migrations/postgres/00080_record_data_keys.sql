-- +goose Up
-- Each resource's data keys for the sensitive fields of its records
-- (package fieldcrypt): only the wrapped form, with the key-encryption key
-- that wraps it and the crypto suite of the data key. Rotation re-wraps a
-- key in place (wrapped, kek_id, rewrapped_at); the data it encrypts is
-- never rewritten. A new version is added when the newest key-encryption
-- key is of another suite; older versions stay for what they encrypted.
CREATE TABLE record_data_keys (
    resource_id  TEXT NOT NULL,
    key_version  INTEGER NOT NULL,
    suite        TEXT NOT NULL,
    kek_id       TEXT NOT NULL,
    wrapped      BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    rewrapped_at TIMESTAMPTZ,
    PRIMARY KEY (resource_id, key_version)
);

-- +goose Down
DROP TABLE record_data_keys;
