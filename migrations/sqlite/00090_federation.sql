-- +goose Up
-- Vertical federation (纵向共享, docs/federation.md). A peering is one hub's
-- side of its link to another level's hub: direction 'upstream' (this hub
-- asked to join the peer) or 'downstream' (the peer asked to join this hub).
-- status is this side's own state, peer_status what the other side last
-- reported; traffic flows only while both are active. fingerprint is the
-- SHA-256 of the peer's pinned certificate.
CREATE TABLE federation_peerings (
    id           TEXT PRIMARY KEY,
    direction    TEXT NOT NULL CHECK (direction IN ('upstream', 'downstream')),
    peer_hub     TEXT NOT NULL,
    peer_name    TEXT NOT NULL DEFAULT '',
    peer_level   TEXT NOT NULL,
    url          TEXT NOT NULL DEFAULT '',
    fingerprint  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('requested', 'pending', 'active', 'suspended', 'ended')),
    peer_status  TEXT NOT NULL DEFAULT '',
    requested_by TEXT NOT NULL DEFAULT '',
    decided_by   TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX federation_peerings_fp_idx ON federation_peerings (fingerprint);

-- Resources a department marks for upward sharing, and what of each was last
-- delivered to the upstream hub (its revision and status).
CREATE TABLE federation_upward (
    resource_id       TEXT PRIMARY KEY,
    department        TEXT NOT NULL,
    marked            BOOLEAN NOT NULL,
    marked_by         TEXT NOT NULL,
    sent_revision     INTEGER NOT NULL DEFAULT 0,
    sent_status       TEXT NOT NULL DEFAULT '',
    updated_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Directory entries of other hubs shown here read-only: from a downstream
-- peer (its upward-shared resources) or from the upstream peer (its
-- shareable resources), tagged with their origin.
CREATE TABLE federation_entries (
    peering_id       TEXT NOT NULL,
    resource_id      TEXT NOT NULL,
    origin_hub       TEXT NOT NULL,
    origin_level     TEXT NOT NULL,
    origin_dept      TEXT NOT NULL,
    origin_dept_name TEXT NOT NULL DEFAULT '',
    revision         INTEGER NOT NULL,
    status           TEXT NOT NULL,
    entry            TEXT NOT NULL,
    -- The origin's records topic of the resource (copied to this hub's
    -- cluster by MirrorMaker 2 as <origin hub>.<topic>).
    topic            TEXT NOT NULL DEFAULT '',
    updated_at       DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (peering_id, resource_id)
);
CREATE INDEX federation_entries_resource_idx ON federation_entries (resource_id);

-- Share requests a department filed here for a resource of the upstream
-- hub: carried there, decided there; remote_id is the request's id there.
CREATE TABLE federation_share_requests (
    id             TEXT PRIMARY KEY,
    peering_id     TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    requester_code TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    application    TEXT NOT NULL,
    status         TEXT NOT NULL,
    remote_id      TEXT NOT NULL DEFAULT '',
    grant_id       TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    created_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX federation_share_requests_status_idx ON federation_share_requests (status);

-- +goose Down
DROP TABLE federation_share_requests;
DROP TABLE federation_entries;
DROP TABLE federation_upward;
DROP TABLE federation_peerings;
