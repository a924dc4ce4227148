-- +goose Up
-- Subscription delivery leases: every hub instance runs the delivery
-- worker; an instance delivers a subscription's webhook and egress batches
-- only while it holds the subscription's lease, claimed by a conditional
-- UPDATE, so a batch is not sent once per instance.
ALTER TABLE subscriptions ADD COLUMN leased_by TEXT NOT NULL DEFAULT '';
ALTER TABLE subscriptions ADD COLUMN lease_until DATETIME;

-- +goose Down
ALTER TABLE subscriptions DROP COLUMN lease_until;
ALTER TABLE subscriptions DROP COLUMN leased_by;
