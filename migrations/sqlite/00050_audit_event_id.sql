-- +goose Up
-- A reviewer opens one event by its id (the event detail page).
CREATE INDEX audit_events_id_idx ON audit_events (id);

-- +goose Down
DROP INDEX audit_events_id_idx;
