// Package subscription is delivery of library records to the departments
// entitled to them: subscriptions to a resource (optionally filtered by a
// field prefix such as a division code), and three ways to receive —
// HTTP pull with a cursor that advances only on acknowledgement, a
// per-subscription Kafka egress topic, and webhook push signed with HMAC,
// retried with back-off and parked when it keeps failing. Every delivery
// asks the sharing Gate first and sends records projected and masked by
// the Gate's plan, so revoking a grant stops all three modes at once.
// Deliveries read the library's history (exchange/library) in the order
// the library applied it, hence in order per subject.
package subscription
