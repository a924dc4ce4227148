// Package library is the one library (一库): the database tables that hold
// the current record per (resource, subject key) with its full history of
// versions, the store that reads and writes them, and the Sink — the Kafka
// consumer that applies resource topics to those tables. The sink stores
// its Kafka offsets in the same transaction as the records it applies and
// fences on them, so a crash at any point neither loses nor double-applies
// a record, and re-applying a record whose content is already current adds
// no version. It also keeps the exchange's idempotency keys and topic
// registry. It does not decide who may read records (policies/sharing) or
// deliver them (exchange/subscription).
package library
