-- +goose Up
-- Case records (办件库): a lookup with a case number opens or updates the
-- case; department systems move it through accepted, approved or rejected,
-- and finished. Materials are kept with the source each came from (library,
-- brought, …). Processing times are counted in working days against the
-- service item's time limit, copied here when the case opened.
-- The applicant is kept with its keyed hash (the audit trail's subject
-- hash), by which a citizen finds their own cases.
CREATE TABLE cases (
    case_number        TEXT PRIMARY KEY,
    applicant          TEXT NOT NULL,
    applicant_hash     TEXT NOT NULL,
    applicant_type     TEXT NOT NULL,
    service_item       TEXT NOT NULL,
    item_name          TEXT NOT NULL DEFAULT '',
    department_code    TEXT NOT NULL,
    officer            TEXT NOT NULL DEFAULT '',
    officer_department TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL,
    time_limit_days    INTEGER NOT NULL DEFAULT 0,
    note               TEXT NOT NULL DEFAULT '',
    revision           INTEGER NOT NULL DEFAULT 1,
    opened_at          TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    accepted_at        TIMESTAMPTZ,
    decided_at         TIMESTAMPTZ,
    finished_at        TIMESTAMPTZ
);
CREATE INDEX cases_department_idx ON cases (department_code, opened_at);
CREATE INDEX cases_applicant_idx ON cases (applicant_hash, opened_at);
CREATE INDEX cases_item_idx ON cases (service_item);

CREATE TABLE case_materials (
    case_number TEXT NOT NULL REFERENCES cases (case_number) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    type_code   TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT '',
    resource_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (case_number, code)
);

-- +goose Down
DROP TABLE case_materials;
DROP TABLE cases;
