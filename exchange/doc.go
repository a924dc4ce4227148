// Package exchange is the hub's data plane in domain terms: the records
// departments publish, their canonical form and content hash (the record
// id), batch parsing (JSON array or NDJSON), validation against the
// catalog's compiled schema, topic naming, the Kafka message layout
// (key = subject key, headers = resource, schema version, publisher, record
// id, content hash, trace id), the router that produces to a resource topic
// and waits for acks=all, and the Publisher that puts these together with
// idempotency keys, per-department rate limits and bounded in-flight work.
//
// It holds no database code: the library sink and its store live in
// exchange/library, subscriptions and delivery in exchange/subscription,
// HTTP handlers in exchange/exchangeapi, Kafka ingress in exchange/ingress
// and the load generator in exchange/loadgen.
package exchange
