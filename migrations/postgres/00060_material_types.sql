-- +goose Up
-- The material directory (材料目录): material types with stable codes
-- (结婚证, 户口簿, 营业执照 …), each optionally supplied by a catalog
-- resource. A service item's material names its type, so the same material
-- means the same thing in every item. The item carries the service guide's
-- elements (办事指南): category, level, legal basis, conditions, time limit
-- in working days and flow. Existing items keep empty elements and
-- materials without a type (free text, as before).
CREATE TABLE material_types (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    resource_id TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    revision    INTEGER NOT NULL DEFAULT 1,
    created_by  TEXT NOT NULL DEFAULT '',
    updated_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE service_item_materials ADD COLUMN type_code TEXT NOT NULL DEFAULT '';
CREATE INDEX service_item_materials_type_idx ON service_item_materials (type_code);

ALTER TABLE service_items ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE service_items ADD COLUMN level TEXT NOT NULL DEFAULT '';
ALTER TABLE service_items ADD COLUMN legal_basis TEXT NOT NULL DEFAULT '';
ALTER TABLE service_items ADD COLUMN conditions TEXT NOT NULL DEFAULT '';
ALTER TABLE service_items ADD COLUMN time_limit_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE service_items ADD COLUMN flow TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE service_items DROP COLUMN flow;
ALTER TABLE service_items DROP COLUMN time_limit_days;
ALTER TABLE service_items DROP COLUMN conditions;
ALTER TABLE service_items DROP COLUMN legal_basis;
ALTER TABLE service_items DROP COLUMN level;
ALTER TABLE service_items DROP COLUMN category;
DROP INDEX service_item_materials_type_idx;
ALTER TABLE service_item_materials DROP COLUMN type_code;
DROP TABLE material_types;
