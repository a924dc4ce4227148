-- +goose Up
-- Service items (政务服务事项) and the materials (申请材料) each requires.
-- A material that the one library can supply names the resource holding it;
-- one without a resource must be brought by the applicant. Reuse lookups
-- read these; what a lookup supplied is recorded in the audit trail, not here.
CREATE TABLE service_items (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    item_code       TEXT NOT NULL DEFAULT '',
    department_code TEXT NOT NULL REFERENCES departments (code),
    applicant_type  TEXT NOT NULL CHECK (applicant_type IN ('natural_person', 'legal_person')),
    description     TEXT NOT NULL DEFAULT '',
    revision        INTEGER NOT NULL DEFAULT 1,
    created_by      TEXT NOT NULL DEFAULT '',
    updated_by      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX service_items_department_idx ON service_items (department_code);

CREATE TABLE service_item_materials (
    item_code   TEXT NOT NULL REFERENCES service_items (code) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    resource_id TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (item_code, code)
);
CREATE INDEX service_item_materials_resource_idx ON service_item_materials (resource_id);

-- +goose Down
DROP TABLE service_item_materials;
DROP TABLE service_items;
